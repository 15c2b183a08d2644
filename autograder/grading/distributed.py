"""Grade the notebooks on a Dask cluster (``autograder grade ... --scheduler ADDRESS``).

The workers may be other machines, so a task neither reads nor writes the grader's paths:
the grader's process packs one student's submitted folder (its notebooks as bytes) and the
assignment (source and release notebooks, the release's data files) into plain data; on a
Dask worker, :func:`run_task` lays them out as a course in a private temporary folder and
calls :func:`.submission.grade_submission` there, so that a missing, renamed, symlinked or
unreadable notebook gets the status it gets on one machine; it returns the result with the
executed notebooks and logs as bytes. Back in the grader's process, :class:`ClusterPool`
writes those files under the ``work`` folder where ``grade_submission`` would have put them,
and ``grade_class`` records the result in its own thread: the gradebook keeps one writer.

A task that fails is retried (``RETRIES`` times; a task whose worker died is rescheduled by
the scheduler itself); one that still fails becomes an ``error`` result, never a crash of
the run nor a stale grade.
"""

import asyncio
import dataclasses
import hashlib
import os
import stat
import tempfile
import uuid
from pathlib import Path

from .course import Course
from .execute import MAX_NOTEBOOK_BYTES
from .submission import grade_submission
from .workdir import NotebookFolder

RETRIES = 2  # more attempts of a task that raised (e.g. a worker whose disk is full)
CONNECT_TIMEOUT = "20s"
MAX_STAMP_BYTES = 2**20  # a larger timestamp.txt is not sent (the notebooks' times are used instead)


class ClusterError(RuntimeError):
    """A submission the cluster could not grade, even after the retries."""


class ClusterPool:
    """Submit submissions to a Dask scheduler and collect their results, for ``grade_class``.

    Use as a context manager (it holds the connection to the scheduler).

    Parameters
    ----------
    scheduler : str
        The scheduler's address, e.g. ``tcp://10.0.0.5:8786``.
    course : Course
    assignment : str
    limits : Limits
        The limits of each notebook's worker process (resource limits are computed on the
        machine that runs it).
    work : path
        The grader's working folder; results are written to ``work/<student>/<stem>/``.
    """

    def __init__(self, scheduler, course, assignment, *, limits, work):
        self.scheduler, self.work = scheduler, Path(work)
        self.kit = pack_assignment(course, assignment, limits)
        self.client, self.futures = None, []

    def __enter__(self):
        from distributed import Client  # imported here: grading on one machine does not need dask

        try:
            self.client = Client(self.scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError) as err:
            raise RuntimeError(f"cannot reach the Dask scheduler at {self.scheduler}: {err}") from None
        return self

    def __exit__(self, kind, *_):
        if kind is not None:  # interrupted: the tasks still queued must not keep the cluster busy
            self.client.cancel(self.futures, force=True)
        self.client.close()
        return False

    def submit(self, student, folder):
        """Send one student's folder (``folder/<assignment>/``) to the cluster; returns a :class:`Task`."""
        try:
            job = {"student": student, "submission": pack_submission(Path(folder) / self.kit["assignment"])}
        except OSError as err:  # an unreadable file: this submission fails, not the run
            return Task(student, self.work, error=ClusterError(f"could not read the submission: {err}"))
        key = f"grade-{self.kit['assignment']}-{student}-{uuid.uuid4().hex[:8]}"
        future = self.client.submit(run_task, self.kit, job, key=key, pure=False, retries=RETRIES)
        self.futures.append(future)
        return Task(student, self.work, future)

    def as_completed(self, tasks):
        """Yield the tasks (as :meth:`submit` returned them) as they finish, failed ones too."""
        from distributed import as_completed

        pending = {}
        for task in tasks:
            if task.future is None:
                yield task
            else:
                pending[task.future.key] = task
        for future in as_completed([task.future for task in pending.values()], loop=self.client.loop):
            yield pending[future.key]


class Task:
    """One submission sent to the cluster; :meth:`result` returns its SubmissionResult."""

    def __init__(self, student, work, future=None, *, error=None):
        self.student, self.work, self.future, self.error = student, Path(work), future, error

    def result(self):
        """The SubmissionResult, its files written under ``work``; raises :class:`ClusterError`."""
        if self.error is not None:
            raise self.error
        try:
            plain = self.future.result()
        except (Exception, asyncio.CancelledError) as err:  # noqa: BLE001 - any failure is this submission's
            raise ClusterError(f"the Dask cluster failed to grade it, retries included: "
                               f"{type(err).__name__}: {err}") from None
        finally:
            self.future.release()  # the workers may forget the executed notebooks now
        return unpack_result(plain, self.student, self.work)


# --- in the grader's process: what a task carries ------------------------------------------------


def pack_assignment(course, assignment, limits):
    """What every task of an assignment needs: notebooks and data files as bytes, and the limits."""
    release = course.release / assignment
    return {"assignment": assignment, "limits": limits, "seed": seed_digest(),
            "sources": {p.name: p.read_bytes() for p in course.source_notebooks(assignment)},
            "release": _release_files(release) if release.is_dir() else None}


def _release_files(folder):
    """``{relative path: bytes}``: the release notebooks, and the files a worker copies next to them.

    The worker copies the folder without notebooks and hidden entries (``.*``); notebooks
    are sent only from the top, where the release notebooks are.
    """
    files = {}
    for parent, dirs, names in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        top = Path(parent) == Path(folder)
        for name in sorted(names):
            path = Path(parent) / name
            if name.startswith(".") or (name.endswith(".ipynb") and not top) or not path.is_file():
                continue
            files[path.relative_to(folder).as_posix()] = path.read_bytes()
    return files


def pack_submission(sub_dir):
    """The entries of ``sub_dir`` that grading looks at (``*.ipynb``, ``timestamp.txt``), or None.

    None when the folder is missing or a symbolic link. Each entry keeps its kind and time:
    a symbolic link or a non-regular entry is sent as such (never followed), and a notebook
    larger than any gradable one is sent as its size only.
    """
    if sub_dir.is_symlink() or not sub_dir.is_dir():
        return None
    entries = {}
    for entry in sorted(os.scandir(sub_dir), key=lambda e: e.name):
        if entry.name == "timestamp.txt" or (entry.name.endswith(".ipynb") and not entry.name.startswith(".")):
            packed = _pack_entry(Path(entry.path))
            if packed is not None:
                entries[entry.name] = packed
    return entries


def _pack_entry(path):
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return {"kind": "symlink", "mtime": info.st_mtime_ns}
    if not stat.S_ISREG(info.st_mode):
        return {"kind": "other", "mtime": info.st_mtime_ns}
    if path.name == "timestamp.txt" and info.st_size > MAX_STAMP_BYTES:
        return None
    if info.st_size > MAX_NOTEBOOK_BYTES:  # refused for its size alone: no need to send it
        return {"kind": "sized", "size": info.st_size, "mtime": info.st_mtime_ns}
    return {"kind": "file", "data": path.read_bytes(), "mtime": info.st_mtime_ns}


def seed_digest():
    """A digest of ``AUTOGRADER_HIDDEN_SEED`` (never the secret itself), to compare machines."""
    seed = os.environ.get("AUTOGRADER_HIDDEN_SEED") or ""
    return hashlib.sha256(b"autograder-hidden-seed\0" + seed.encode()).hexdigest()


def unpack_result(plain, student, work):
    """The SubmissionResult of a task, with its executed notebooks and logs written under ``work``."""
    result = plain["result"]
    result.student = student
    remote_work = plain["work"]
    result.detail = result.detail.replace(remote_work, str(work))  # e.g. "see <work>/.../worker.log"
    for nb, files in zip(result.notebooks, plain["files"], strict=True):
        folder = NotebookFolder.under(work, student, nb.notebook)
        folder.path.mkdir(parents=True, exist_ok=True)
        nb.detail = nb.detail.replace(remote_work, str(work))
        if files["log"] is not None:
            folder.log.write_bytes(files["log"])
        if files["executed"] is not None:
            nb.executed = folder.executed
            nb.executed.write_bytes(files["executed"])
    return result


# --- on a Dask worker ---------------------------------------------------------------------------


def run_task(kit, job):
    """The Dask task: grade one submission in a private temporary folder; returns plain data.

    Returns ``{"result": SubmissionResult (no paths), "files": [{"executed", "log"}: bytes or
    None, one per notebook], "work": the temporary work folder (to rewrite paths in details)}``.
    """
    if kit["seed"] != seed_digest():
        raise RuntimeError("AUTOGRADER_HIDDEN_SEED on this worker differs from the grader's: the hidden "
                           "tests would differ; start the workers with the same value")

    assignment, student = kit["assignment"], job["student"]
    with tempfile.TemporaryDirectory(prefix="autograder-task-") as tmp:
        inputs, work = Path(tmp) / "in", Path(tmp) / "work"
        course = _unpack_course(kit, inputs / "course")
        folder = inputs / "submitted" / student
        _unpack_submission(job["submission"], folder / assignment)
        # The inputs hold the solutions and the submission: the sandbox hides them from student code.
        result = grade_submission(course, assignment, student, folder, limits=kit["limits"], work=work,
                                  hidden=(str(inputs),))
        files = [_result_files(nb, work, student) for nb in result.notebooks]
        result.notebooks = [dataclasses.replace(nb, executed=None) for nb in result.notebooks]
        return {"result": result, "files": files, "work": str(work)}


def _unpack_course(kit, root):
    """A course folder with this assignment's source and release, as ``grade_submission`` reads it."""
    assignment = kit["assignment"]
    source, release = root / "source" / assignment, root / "release" / assignment
    source.mkdir(parents=True)
    for name, data in kit["sources"].items():
        (source / _name(name)).write_bytes(data)
    if kit["release"] is not None:
        release.mkdir(parents=True)
        for relative, data in kit["release"].items():
            parts = Path(relative).parts
            if Path(relative).is_absolute() or ".." in parts:
                raise ValueError(f"unsafe path {relative!r} in the release files")
            (release / relative).parent.mkdir(parents=True, exist_ok=True)
            (release / relative).write_bytes(data)
    return Course(root=root, source=root / "source", release=root / "release",
                  autograded=root / "grading" / "autograded", feedback=root / "grading" / "feedback",
                  db_url="sqlite://", cell_timeout=kit["limits"].cell_timeout)


def _unpack_submission(entries, sub_dir):
    """Recreate the submitted folder: same names, kinds and times (a link points nowhere)."""
    if entries is None:
        return  # no folder at all, as in the submission
    sub_dir.mkdir(parents=True)
    for name, entry in entries.items():
        path = sub_dir / _name(name)
        kind = entry["kind"]
        if kind == "symlink":
            path.symlink_to("the-link-was-not-followed")
        elif kind == "other":
            path.mkdir()
        elif kind == "sized":
            with open(path, "wb") as f:
                f.truncate(entry["size"])  # sparse: only its size is read before it is refused
        else:
            path.write_bytes(entry["data"])
        os.utime(path, ns=(entry["mtime"], entry["mtime"]), follow_symlinks=False)


def _name(name):
    """A plain file name (the names come from the grader's listing, but a task checks them)."""
    if Path(name).name != name or name in ("", ".", ".."):
        raise ValueError(f"unsafe file name {name!r}")
    return name


def _result_files(nb, work, student):
    """``{"executed", "log"}``: the executed notebook and the worker's log of one notebook, as bytes."""
    log = NotebookFolder.under(work, student, nb.notebook).log
    executed = nb.executed if nb.executed is not None and Path(nb.executed).is_file() else None
    return {"executed": Path(executed).read_bytes() if executed else None,
            "log": log.read_bytes() if log.is_file() else None}
