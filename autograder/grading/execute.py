"""The grading worker: runs ONE submitted notebook, in its own process, and exits.

``python -m autograder.grading.execute --submission S --source SRC --output DIR ...``

The grader starts this process (or forks it, :mod:`.prefork`) with resource limits already
set (:mod:`.limits`); the kernel it starts inherits them. It reads the submission (any problem
with the file is a status, not a crash), rebuilds it around the source's test and locked cells
(:mod:`.rebuild`), judges the graded functions in a separate sandboxed process (the
verification pass, :mod:`.verify`), then executes the notebook cell by cell with
nbclient, its kernel in bubblewrap, in a private temporary folder, and scores the test cells
(:mod:`.score`). It writes into DIR:

- ``result.json``: ``{"status", "detail", "notes", "cells": {grade_id: {"points", "max",
  "message"}}, "verified": {grade_id: {"points", "max", "message", "public"}}, "complete"}``,
  rewritten after every test cell, so that a worker killed from outside still leaves the
  scores it had (the runner lets the verified scores stand, :func:`.runner.apply_verification`);
- ``notebook.ipynb``: the executed notebook (also rewritten as it goes);
- ``kernel.pid``: ``pid start_time`` of the kernel, so the grader can stop the kernel's
  process group, which is not the worker's.

Nothing from the student's code reaches the grader's terminal: the kernel's output goes to
the notebook, its stderr to the worker's log.
"""

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from ..sandbox import bubblewrap
from ..sandbox.policy import DEFAULTS, Limits, kernel_env
from ..sandbox.processes import exit_reason, start_time
from . import verify
from .cells import cell_name, is_graded
from .rebuild import rebuild
from .score import CellScore, score_cells
from .workdir import NotebookFolder, add_detail

KERNEL_NAME = "autograder-python"
MAX_NOTEBOOK_BYTES = 64 * 2**20
MAX_OUTPUT_CHARS = 200_000  # per cell: more is dropped, so that a printing loop cannot fill memory or disk
MAX_ERROR_CHARS = 10_000
INTERRUPT_GRACE = 10.0  # seconds an interrupted kernel has to answer again


class InvalidNotebook(Exception):
    """The submitted file is not a notebook that can be graded (a student-caused status)."""


def read_submission(path):
    """The submitted notebook as nbformat v4, or :class:`InvalidNotebook` saying why."""
    path = Path(path)
    if path.is_symlink():
        raise InvalidNotebook("the notebook is a symbolic link")
    if not path.is_file():
        raise InvalidNotebook("the notebook is not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise InvalidNotebook("the notebook file is empty")
    if size > MAX_NOTEBOOK_BYTES:
        raise InvalidNotebook(f"the notebook file is too large ({size / 2**20:.0f} MB)")
    try:
        text = path.read_bytes().decode("utf-8")
        raw = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise InvalidNotebook(f"the file is not valid JSON ({type(err).__name__}: {str(err)[:200]})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells", []), list):
        raise InvalidNotebook("the file is JSON but not a notebook")
    version = raw.get("nbformat")
    if version != 4:
        raise InvalidNotebook(f"unsupported notebook format version {version!r} (expected 4)")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # noqa: BLE001 - nbformat raises many kinds on malformed input
        raise InvalidNotebook(f"the notebook is malformed ({type(err).__name__}: {str(err)[:200]})") from None
    return nb


def kernel_spec_manager(folder, sandbox=None):
    """A kernel spec of our own: this interpreter, whatever the notebook's metadata names.

    ``sandbox`` is a bubblewrap command line to start the kernel in. A sandboxed kernel
    lives in its own process tree, so it is interrupted by a message (ipykernel then
    signals itself) rather than by a signal from outside.
    """
    spec = Path(folder) / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    argv = [*(sandbox or []), sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "autograder", "language": "python",
                                                  "interrupt_mode": "message" if sandbox else "signal"}))
    return KernelSpecManager(kernel_dirs=[str(spec.parent)])


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose connection file the sandboxed kernel, running as ``owner``, can read."""

    owner = None  # the sandbox's uid where the grader is root (:func:`autograder.sandbox.bubblewrap.sandbox_uid`)

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        if self.owner is not None:
            os.chown(self.connection_file, self.owner, self.owner)


def give_to_sandbox(*folders):
    """Hand ``folders`` (and everything in them) to the sandbox's unprivileged uid, where there is one."""
    uid = bubblewrap.sandbox_uid()
    if uid is None:
        return
    for folder in folders:
        os.chown(folder, uid, uid)
        for parent, dirs, files in os.walk(folder):
            for name in dirs + files:
                os.chown(os.path.join(parent, name), uid, uid, follow_symlinks=False)


class LimitedClient(NotebookClient):
    """nbclient, keeping at most MAX_OUTPUT_CHARS of output per cell as it arrives.

    Errors and results are always kept, since they decide the score, but bounded: an error's
    message and traceback to MAX_ERROR_CHARS each, and a result past the budget to its
    ``text/plain`` (what nbgrader reads for partial credit), cut to MAX_ERROR_CHARS. Past the
    budget, streams and displays are dropped with one note, and a dropped stderr still leaves a
    short stderr output, so the cell scores as nbgrader would.
    """

    def output(self, outs, msg, display_id, cell_index):
        used = getattr(self, "_used", {})
        self._used = used
        kind = msg.get("msg_type")
        size = len(json.dumps(msg.get("content", {}), default=str))
        over = used.get(cell_index, 0) + size > MAX_OUTPUT_CHARS
        if over and kind in ("stream", "display_data", "update_display_data"):
            notes = getattr(self, "_notes", set())
            self._notes = notes
            name = msg.get("content", {}).get("name")
            key = (cell_index, name if kind == "stream" else "display")
            if key not in notes:
                notes.add(key)
                outs.append(nbformat.v4.new_output("stream", name="stderr" if name == "stderr" else "stdout",
                                                   text="\n[output cut: more than the grader keeps]\n"))
            return None
        if over and kind == "execute_result":
            self._notes = getattr(self, "_notes", set()) | {(cell_index, "result")}
            content = dict(msg.get("content", {}))
            plain = content.get("data", {}).get("text/plain", "")
            content["data"] = {"text/plain": str(plain)[:MAX_ERROR_CHARS]}
            content["metadata"] = {}
            msg = {**msg, "content": content}
            size = len(json.dumps(content, default=str))
        used[cell_index] = used.get(cell_index, 0) + size
        out = super().output(outs, msg, display_id, cell_index)
        if out is not None and kind == "error":
            out.evalue = str(out.get("evalue", ""))[:MAX_ERROR_CHARS]
            out.traceback = _cut_lines(out.get("traceback", []), MAX_ERROR_CHARS)
        return out


def _cut_lines(lines, budget):
    """The first lines of ``lines`` that fit in ``budget`` characters (the last one cut)."""
    kept = []
    for line in map(str, lines):
        if budget <= 0:
            break
        kept.append(line[:budget])
        budget -= len(kept[-1])
    return kept


class Run:
    """One execution: the notebook, what ran, and the files it keeps up to date."""

    def __init__(self, nb, output, notes, *, cell_timeout, deadline, sandbox=None):
        self.nb, self.folder, self.notes = nb, NotebookFolder(output), notes
        self.cell_timeout, self.deadline, self.sandbox = cell_timeout, deadline, sandbox
        self.status, self.detail = "ok", ""
        self.ran, self.not_run = set(), {}
        self.verified = {}  # grade_id -> CellScore of the verification pass

    def save(self, complete=False):
        """Write the executed notebook and the scores so far (atomically)."""
        if complete:  # test cells that never ran show why, so that nbgrader too scores them 0
            for index, reason in self.not_run.items():
                cell = self.nb.cells[index]
                if cell.cell_type == "code" and is_graded(cell):
                    cell.outputs = [nbformat.v4.new_output("error", ename="NotRun", evalue=reason,
                                                           traceback=[f"NotRun: {reason}"])]
        scores = score_cells(self.nb, self.not_run if complete else {
            **{i: "the grading stopped before this cell" for i in range(len(self.nb.cells))
               if i not in self.ran}, **self.not_run})
        _write(self.folder.executed, nbformat.writes(self.nb))
        _write(self.folder.result, json.dumps({
            "status": self.status, "detail": self.detail, "notes": self.notes, "complete": complete,
            "cells": {k: v.to_dict() for k, v in scores.items()},
            "verified": {k: v.to_dict() for k, v in self.verified.items()}}, indent=1))

    def execute(self, workdir, home):
        asyncio.run(self._execute(workdir, home))

    async def _execute(self, workdir, home):
        # The async kernel manager: with a blocking client nbclient cannot notice a dead kernel.
        km = SandboxKernelManager(kernel_name=KERNEL_NAME,
                                  kernel_spec_manager=kernel_spec_manager(home.parent, self.sandbox),
                                  transport="ipc", ip=str(home / "runtime" / "k"),
                                  connection_file=str(home / "runtime" / "kernel.json"))
        km.owner = bubblewrap.sandbox_uid() if self.sandbox else None
        client = LimitedClient(self.nb, km=km, allow_errors=True, interrupt_on_timeout=False,
                                timeout_func=self._cell_timeout, startup_timeout=60, record_timing=False,
                                skip_cells_with_tag="\0never-skip", resources={"metadata": {"path": str(workdir)}})
        try:
            async with client.async_setup_kernel(env=kernel_env(home), cwd=str(workdir)):
                pid = km.provisioner.process.pid
                _write(self.folder.kernel_pid, f"{pid} {start_time(pid) or '?'}")
                await self._run_cells(client, km)
        except DeadKernelError:
            self._dead(km)
        except Exception as err:  # noqa: BLE001 - e.g. the kernel could not start
            if not self.ran:
                self.status, self.detail = "error", f"the kernel could not start: {type(err).__name__}: {err}"
            else:
                self._dead(km)
        finally:  # the client does not own the kernel manager: stop the kernel here
            cut = sorted({index for index, _ in getattr(client, "_notes", ())})
            if cut:
                names = ", ".join(f"{i + 1} ({cell_name(self.nb.cells[i], i)})" for i in cut)
                cut_note = f"output cut at {MAX_OUTPUT_CHARS:,} characters in cell(s) {names}"
                self.detail = add_detail(self.detail, cut_note)
            if km.has_kernel:
                await km.shutdown_kernel(now=True)

    def _cell_timeout(self, cell):
        return max(1.0, min(self.cell_timeout, self.deadline - time.monotonic()))

    async def _run_cells(self, client, km):
        for index, cell in enumerate(self.nb.cells):
            if cell.cell_type != "code":
                self.ran.add(index)
                continue
            if time.monotonic() >= self.deadline:
                self._stop(index, "timeout", "the notebook ran out of time")
                return
            try:
                await client.async_execute_cell(cell, index)
            except CellTimeoutError:
                self.ran.add(index)
                late = time.monotonic() >= self.deadline - 1
                limit = "the notebook's time limit" if late else f"the {self.cell_timeout:g} s cell time limit"
                cell.outputs.append(nbformat.v4.new_output(
                    "error", ename="TimeoutError", evalue=f"this cell did not finish within {limit}",
                    traceback=[f"TimeoutError: this cell did not finish within {limit}"]))
                self.status = "timeout"
                self.detail = self.detail or f"cell {index + 1} ({cell_name(cell, index)}) exceeded {limit}"
                if late or not await self._interrupt(client, km):
                    self._stop(index + 1, "timeout", "an earlier cell did not stop when interrupted"
                               if not late else "the notebook ran out of time")
                    return
                continue
            except DeadKernelError:
                self.ran.add(index)
                raise
            self.ran.add(index)
            if is_graded(cell):
                self.save()

    async def _interrupt(self, client, km):
        """Interrupt the kernel; True when it answers again within the grace period."""
        await km.interrupt_kernel()
        msg_id = client.kc.kernel_info()
        end = time.monotonic() + INTERRUPT_GRACE
        while time.monotonic() < end:
            try:
                msg = await client.kc.get_shell_msg(timeout=0.5)
            except Empty:
                if not await km.is_alive():
                    return False
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return True
        return False

    def _stop(self, first, status, reason):
        if self.status == "ok" or status == "crashed":
            self.status = status
        self.detail = self.detail or reason
        for index in range(first, len(self.nb.cells)):
            if index not in self.ran:
                self.not_run[index] = reason

    def _dead(self, km):
        code = None
        try:
            code = km.provisioner.process.poll() if km.provisioner and km.provisioner.process else None
        except Exception:  # noqa: BLE001 - the provisioner may already be gone
            code = None
        reason = exit_reason(code)
        reason += ": os._exit, exit() or a crash" if reason.startswith("exit code") else ""
        first = max(self.ran) + 1 if self.ran else 0
        self.detail = f"the kernel died ({reason})" + (f" in cell {first}" if self.ran else "")
        self._stop(first, "crashed", f"the kernel died earlier ({reason})")
        self.status = "crashed"


def _write(path, text):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def verification(nb, source_nb, *, limits, hidden):
    """``{grade_id: CellScore}``: each graded function judged out of the student's reach (:mod:`.verify`).

    ``public`` is the score on the cases the notebook's own test cell ran, to compare with it.
    """
    results = verify.verify(nb, source_nb, limits=limits, sandbox=limits.sandbox, hidden_paths=hidden)
    return {gid: CellScore(float(v.result.score), float(v.result.points), v.result.report(),
                           public=float(v.public.score)) for gid, v in results.items()}


def _data_files(folder):
    """The release's data files and folders next to its notebook (never a notebook or a hidden file)."""
    if not folder or not Path(folder).is_dir():
        return []
    return sorted(p for p in Path(folder).iterdir() if not p.name.startswith(".") and p.suffix != ".ipynb")


def _kernel_sandbox(limits, *, hidden, home, workdir, data):
    """The kernel's bubblewrap command line, or None without bubblewrap.

    Its home and working folder are private scratch tmpfs of ``limits.disk_mb`` (what the
    notebook writes is bounded and never reaches the disk), with the release's data files bound
    read-only into the working folder and only the runtime folder shared with this worker.
    In its own pid namespace the kernel cannot watch the worker's pid (it would think its
    parent exited); bubblewrap's --die-with-parent stops it with the worker instead.
    """
    return bubblewrap.bubblewrap_prefix(hidden=hidden, scratch=[home, workdir], writable=[home / "runtime"],
                                        readonly=[(path, workdir / path.name) for path in data],
                                        unset_env=["JPY_PARENT_PID"], scratch_mb=limits.disk_mb)


def run(submission, source, output, *, limits=DEFAULTS, release=None, files=None, hidden=()):
    """Grade one notebook into ``output`` (see the module docstring); returns the status.

    ``limits.sandbox``: run the kernel and the verification in bubblewrap (when installed),
    with ``hidden`` folders (solutions, the grading folder, the submissions) replaced by empty ones.
    """
    cell_timeout, sandbox = limits.cell_timeout, limits.sandbox
    started = time.monotonic()
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    source_nb = nbformat.read(source, as_version=4)
    release_nb = nbformat.read(release, as_version=4) if release else None
    try:
        submitted = read_submission(submission)
    except InvalidNotebook as err:
        blank, _ = rebuild(nbformat.v4.new_notebook(), source_nb, release_nb)
        empty = Run(blank, output, [], cell_timeout=cell_timeout, deadline=0)
        empty.status, empty.detail = "invalid_notebook", str(err)
        empty.not_run = {i: str(err) for i in range(len(empty.nb.cells))}
        empty.save(complete=True)
        return empty.status
    nb, notes = rebuild(submitted, source_nb, release_nb)
    with tempfile.TemporaryDirectory(prefix="autograder-") as tmp:
        home, workdir = Path(tmp) / "home", Path(tmp) / "work"
        runtime = home / "runtime"  # the kernel's connection file and sockets: shared with this worker
        runtime.mkdir(parents=True)
        workdir.mkdir()
        data = _data_files(files)
        bwrap = _kernel_sandbox(limits, hidden=[*hidden, str(output)], home=home, workdir=workdir, data=data) \
            if sandbox else None
        if sandbox and bwrap is None:
            notes.append("bubblewrap (or, as root, setpriv) is not installed: the kernel ran without the sandbox")
        if bwrap is None:
            for path in data:
                (shutil.copytree if path.is_dir() else shutil.copy)(path, workdir / path.name)
        else:
            give_to_sandbox(runtime)
        job = Run(nb, output, notes, cell_timeout=cell_timeout, deadline=started + limits.timeout, sandbox=bwrap)
        # Verified first: a notebook that runs out of time still gets its verified scores.
        job.verified = verification(nb, source_nb, limits=limits, hidden=[*hidden, str(output)])
        job.save()
        job.execute(workdir, home)
    if any(o.get("ename") == "MemoryError" for c in job.nb.cells for o in c.get("outputs", [])) \
            and job.status == "ok":
        first = next(i for i, c in enumerate(job.nb.cells)
                     if any(o.get("ename") == "MemoryError" for o in c.get("outputs", [])))
        job.status = "memory"
        job.detail = f"cell {first + 1} ({cell_name(job.nb.cells[first], first)}) ran out of memory (MemoryError)"
    job.save(complete=True)
    return job.status


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submission", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--release")
    parser.add_argument("--output", required=True)
    parser.add_argument("--files", help="folder whose non-notebook files are copied next to the notebook")
    parser.add_argument("--cell-timeout", type=float, default=DEFAULTS.cell_timeout)
    parser.add_argument("--timeout", type=float, default=DEFAULTS.timeout)
    parser.add_argument("--memory", type=int, default=DEFAULTS.memory_mb, help="MB per process of student code")
    parser.add_argument("--disk", type=int, default=DEFAULTS.disk_mb, help="MB of each scratch folder of the sandbox")
    parser.add_argument("--no-sandbox", action="store_true", help="run the kernel without bubblewrap")
    parser.add_argument("--hide", action="append", default=[], help="a folder the sandbox must not see")
    args = parser.parse_args(argv)
    limits = Limits(memory_mb=args.memory, timeout=args.timeout, cell_timeout=args.cell_timeout,
                    disk_mb=args.disk, sandbox=not args.no_sandbox)
    run(args.submission, args.source, args.output, limits=limits, release=args.release, files=args.files,
        hidden=args.hide)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # no interpreter shutdown: closing the kernel client's sockets lingers for a second
