"""Grade a class: every submission in its own worker, in parallel, with one writer.

``grade_class`` finds ``DIR/<student>/<assignment>/<notebook>.ipynb`` (nbgrader's submitted
layout), runs the workers on a thread pool (threads only wait for their subprocesses), and in
the calling thread, as each submission finishes: moves its executed notebooks to
``autograded/<student>/<assignment>/``, records it in the gradebook, and writes its feedback
to ``feedback/<student>/<assignment>/``. Nothing is written outside the course's grading
folders; a folder name that is not a safe student id is refused and reported, not used.
"""

import itertools
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import nbformat

from . import feedback, gradebook, prefork, release
from .course import NOT_STUDENTS, is_safe_id
from .limits import Limits
from .rebuild import nbgrader
from .runner import NotebookResult, run_worker, worker_env
from .score import CellScore

# From the worst to the best; a submission's status is the worst of its notebooks'.
STATUSES = {
    "error": "the grader failed on this submission (see its log under grading/logs/); scored 0, re-grade it",
    "invalid_student": "the folder name is not a safe student id, or the folder is a symbolic link; not graded",
    "missing": "no notebook of the assignment in the student's folder; scored 0",
    "invalid_notebook": "the file is not a readable notebook (empty, not JSON, wrong nbformat, a symlink); scored 0",
    "crashed": "the kernel died (os._exit, a signal, a resource limit); its functions are scored by the "
               "verification pass",
    "timeout": "a cell or the whole notebook hit its time limit; its functions are scored by the verification pass",
    "memory": "a cell raised MemoryError (the --memory limit); it ran to the end and is scored as usual",
    "flagged": "the notebook's own test results claim more than the verification pass gives; the verified "
               "scores stand: review it (patched checks, or functions that use the notebook's other variables)",
    "ok": "ran to the end; every test cell scored",
}


@dataclass
class SubmissionResult:
    """One student's result for one assignment."""

    student: str
    assignment: str
    status: str
    detail: str = ""
    notebooks: list = field(default_factory=list)  # NotebookResult, one per source notebook
    timestamp: datetime | None = None
    feedback: list = field(default_factory=list)  # paths of the feedback pages
    folder: str = ""  # the submission folder's name as found (differs from student when refused)

    @property
    def graded_in_gradebook(self):
        return self.status != "invalid_student"

    @property
    def score(self):
        return sum(nb.score for nb in self.notebooks)

    @property
    def max_score(self):
        return sum(nb.max_score for nb in self.notebooks)


def worst(statuses):
    order = list(STATUSES)
    return min(statuses, key=order.index, default="ok")


def find_submissions(folder):
    """``[(student, path or None, problem or None)]`` for the entries of a submissions folder.

    Hidden and tool folders (``.ipynb_checkpoints``) and plain files are skipped; a folder
    whose name is not a safe id, or that is a symbolic link, comes back with a problem and
    a printable stand-in for its name.
    """
    found = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name in NOT_STUDENTS or (entry.is_file(follow_symlinks=False) and not entry.is_symlink()):
            continue
        if entry.is_symlink():
            found.append((_printable(entry.name), None, "the student folder is a symbolic link"))
        elif not is_safe_id(entry.name):
            found.append((_printable(entry.name), None, f"unsafe folder name {_printable(entry.name)!r}"))
        elif entry.is_dir(follow_symlinks=False):
            found.append((entry.name, Path(entry.path), None))
    return found


def _printable(name):
    return ascii(name)[1:-1][:100]


def zero_scores(source, reason):
    """``{grade_id: CellScore(0)}`` for every test cell of a source notebook."""
    nb = nbformat.read(source, as_version=4)
    return {nbgrader(c)["grade_id"]: CellScore(0.0, float(nbgrader(c).get("points", 0)), reason)
            for c in nb.cells if nbgrader(c).get("grade")}


def grade_submission(course, assignment, student, folder, *, limits, work, rlimits=None, hidden=()):
    """Grade one student's folder (``folder/<assignment>/``) into ``work``; returns a SubmissionResult.

    ``hidden``: folders the sandbox hides from student code (see :func:`secret_paths`).
    """
    result = SubmissionResult(student, assignment, "ok", folder=student)
    sub_dir = Path(folder) / assignment
    if sub_dir.is_symlink() or not sub_dir.is_dir():
        result.status, result.detail = "missing", f"no folder {assignment}/ in the submission"
    else:
        result.timestamp = _timestamp(sub_dir)
    sources = course.source_notebooks(assignment)
    for source in sources:
        path = sub_dir / source.name
        if result.status != "missing" and not path.exists() and not path.is_symlink() and len(sources) == 1:
            others = sorted(sub_dir.glob("*.ipynb"))
            if len(others) == 1:  # a renamed download, e.g. "a1_splits (1).ipynb"
                path = others[0]
                result.detail = f"graded {path.name} (expected {source.name})"
        if result.status == "missing" or not (path.exists() or path.is_symlink()):
            reason = f"no {source.name} in the submission"
            result.notebooks.append(NotebookResult(source.name, "missing", reason, cells=zero_scores(source, reason)))
            continue
        release_nb = course.release_notebook(assignment, source.name)
        files = course.release / assignment
        outcome = run_worker(path, source, Path(work) / student / source.stem, limits=limits,
                             release=release_nb, files=files if files.is_dir() else None, rlimits=rlimits,
                             hidden=hidden)
        outcome.notebook = source.name
        result.notebooks.append(outcome)
    result.status = worst(nb.status for nb in result.notebooks)
    details = [nb.detail for nb in result.notebooks if nb.status != "ok" and nb.detail]
    result.detail = "; ".join(filter(None, [*details, result.detail]))
    return result


def secret_paths(course, submissions, db_url):
    """What student code must never see: solutions, the grading folder, the submissions, the gradebook."""
    paths = [course.source, course.grading, course.autograded, course.feedback, Path(submissions)]
    if db_url.startswith("sqlite:///") and db_url != "sqlite:///:memory:":
        paths.append(Path(db_url[len("sqlite:///"):]))
    return [str(Path(p).resolve()) for p in paths]


def _timestamp(sub_dir):
    """nbgrader's timestamp.txt when present, else the newest notebook's modification time."""
    stamp = sub_dir / "timestamp.txt"
    if stamp.is_file() and not stamp.is_symlink():
        try:
            from nbgrader.utils import parse_utc
            return parse_utc(stamp.read_text()[:64].strip())
        except (ValueError, OverflowError, TypeError):
            pass
    times = [p.lstat().st_mtime for p in sub_dir.glob("*.ipynb")]
    return datetime.fromtimestamp(max(times), UTC).replace(tzinfo=None) if times else None


def grade_class(course, assignment, submissions, *, workers=None, limits=None, db_url=None,
                on_start=None, on_result=None, scheduler=None):
    """Grade every student folder in ``submissions``; returns the SubmissionResults by student.

    ``on_start(n)`` is called with the number of submissions, ``on_result(result)`` after each
    one is recorded (for a progress bar). ``scheduler``, a Dask scheduler's address, runs the
    notebooks on that cluster instead of here (:mod:`.distributed`); they are recorded here all the same.
    """
    limits = limits or Limits(cell_timeout=course.cell_timeout)
    db_url = db_url or course.db_url
    course.source_notebooks(assignment)  # an unknown assignment fails before anything is written
    for folder in (course.grading, course.autograded, course.feedback):
        folder.mkdir(parents=True, exist_ok=True)
    if not scheduler:  # first, so that it imports the workers' modules while the gradebook is prepared
        prefork.start(worker_env())  # before the threads: workers fork from it (no interpreter start each)
    gradebook.prepare(db_url)
    registration = ThreadPoolExecutor(1)  # runs while the first notebooks do; joined before the first record
    registered = registration.submit(_register, course, assignment, db_url)
    registration.shutdown(wait=False)
    found = find_submissions(submissions)
    if on_start:
        on_start(len(found))
    results, rlimits = [], limits.rlimits()
    hidden = secret_paths(course, submissions, db_url)
    html = feedback.exporter()
    work = Path(tempfile.mkdtemp(prefix=".work-", dir=course.grading))
    try:
        if scheduler:
            from .distributed import ClusterPool

            pool = ClusterPool(scheduler, course, assignment, limits=limits, work=work)
        else:
            pool = ThreadPoolExecutor(max_workers=max(1, workers or default_workers()))
        with pool:
            futures, refused = {}, []
            for student, folder, problem in found:
                if problem:
                    refused.append(_unscored(course, assignment, student, "invalid_student", problem, problem))
                elif scheduler:  # the folder is sent as bytes; the worker's result comes back under work
                    futures[pool.submit(student, folder)] = student
                else:
                    futures[pool.submit(grade_submission, course, assignment, student, folder,
                                        limits=limits, work=work, rlimits=rlimits, hidden=hidden)] = student
            try:
                # chain, not a tuple: each result is recorded as soon as it is in, while the rest still run
                for result in itertools.chain(refused, _completed(pool, futures, assignment, course, scheduler)):
                    _finish(course, result, db_url, work, html, registered)
                    results.append(result)
                    if on_result:
                        on_result(result)
                registered.result()  # a class without submissions still registers its assignment
            except BaseException:
                if isinstance(pool, ThreadPoolExecutor):  # e.g. the registration failed: stop the rest
                    pool.shutdown(wait=False, cancel_futures=True)
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return sorted(results, key=lambda r: r.student)


def _unscored(course, assignment, student, status, detail, reason):
    """A result with every test cell at 0: a folder refused (``invalid_student``) or a grader failure (``error``)."""
    result = SubmissionResult(student, assignment, status, detail, folder=student)
    result.notebooks = [NotebookResult(s.name, status, cells=zero_scores(s, reason))
                        for s in course.source_notebooks(assignment)]
    return result


def _completed(pool, futures, assignment, course, scheduler):
    """The SubmissionResults as they finish; a grader failure becomes an ``error`` result."""
    for future in (pool.as_completed if scheduler else as_completed)(futures):
        try:
            yield future.result()
        except Exception as err:  # noqa: BLE001 - a grader bug must still leave a record
            yield _unscored(course, assignment, futures[future], "error", f"{type(err).__name__}: {err}",
                            "not graded")


def default_workers():
    """One worker more than the cores: a worker waiting for its kernel or its files leaves a core idle."""
    return (os.cpu_count() or 1) + 1


def _register(course, assignment, db_url):
    """Register the assignment's cells in the gradebook, as a release does (before anything is recorded).

    Skipped when this gradebook already holds this version of the source notebooks (after a
    release, or an earlier grading run).
    """
    if gradebook.is_registered(db_url, assignment, release.fingerprint(course, assignment)):
        return
    with tempfile.TemporaryDirectory(prefix="autograder-gradebook-") as tmp:
        release.generate(course, assignment, release_dir=Path(tmp) / "release", db_url=db_url)


def _finish(course, result, db_url, work, html, registered):
    """Move the executed notebooks into place, record the result, write the feedback (one writer).

    ``registered``: the future of :func:`_register`; a failed registration stops the run here.
    """
    registered.result()
    if result.graded_in_gradebook:
        autograded = course.autograded / result.student / result.assignment
        shutil.rmtree(autograded, ignore_errors=True)
        autograded.mkdir(parents=True)
        logs = course.grading / "logs" / result.assignment / result.student
        shutil.rmtree(logs, ignore_errors=True)
        for nb in result.notebooks:
            log = Path(work) / result.student / Path(nb.notebook).stem / "worker.log"
            if log.is_file() and log.stat().st_size:
                logs.mkdir(parents=True, exist_ok=True)
                shutil.move(log, logs / f"{Path(nb.notebook).stem}.log")
            if nb.executed is not None and nb.executed.is_file():
                target = autograded / nb.notebook
                shutil.move(nb.executed, target)
                nb.executed = target
    gradebook.record(db_url, result)
    if result.graded_in_gradebook:
        _write_feedback(course, result, db_url, html)


def _write_feedback(course, result, db_url, html):
    folder = course.feedback / result.student / result.assignment
    shutil.rmtree(folder, ignore_errors=True)
    for nb in result.notebooks:
        page = folder / f"{Path(nb.notebook).stem}.html"
        if nb.executed is not None:
            feedback.write(nb.executed, page, db_url=db_url, assignment=result.assignment,
                           student=result.student, status=nb.status, detail=nb.detail, html_exporter=html)
        else:
            feedback.write_status_page(page, notebook=nb.notebook, status=nb.status, detail=nb.detail)
        result.feedback.append(page)
