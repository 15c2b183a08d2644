"""Start one grading worker (:mod:`.execute`) as a limited subprocess and collect its result.

The grader's process never runs student code: each notebook runs in a worker process that
gets the resource limits before it starts (:mod:`autograder.sandbox.policy`), a minimal environment, and a
wall-clock limit. On that limit the worker's and the kernel's process groups are killed,
and the scores the worker had written so far are kept (the rest score 0).
"""

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..sandbox import cgroup
from ..sandbox.policy import Limits, worker_env
from ..sandbox.processes import exit_reason, kill_group, start_time, wait_or_kill
from . import prefork
from .score import CellScore
from .workdir import NotebookFolder, add_detail

GRACE = 20.0  # seconds the worker gets beyond the notebook's limit to stop its kernel and write


@dataclass
class NotebookResult:
    """What one worker reported for one notebook."""

    notebook: str
    status: str
    detail: str = ""
    notes: list = field(default_factory=list)
    cells: dict = field(default_factory=dict)  # grade_id -> CellScore
    executed: Path | None = None  # the executed notebook, when the worker wrote one
    page: Path | None = None  # its feedback page, once rendered (feedback.render_pages)
    page_log: Path | None = None  # the renderer's log, when the page could not be rendered
    seconds: float = 0.0

    @property
    def score(self):
        return sum(c.points or 0.0 for c in self.cells.values())

    @property
    def max_score(self):
        return sum(c.max for c in self.cells.values())


def run_worker(submission, source, output, *, limits=None, release=None, files=None, rlimits=None, hidden=(),
               launcher=None):
    """Grade one notebook in a worker process.

    Parameters
    ----------
    submission, source : path
        The student's notebook and the assignment's source notebook.
    output : path
        A fresh folder for the worker's files (result.json, notebook.ipynb, worker.log).
    limits : Limits, optional
        Default ``Limits()``.
    release : path, optional
        The released notebook the submission is rebuilt against.
    files : path, optional
        A folder whose data files (not its notebooks) are copied next to the notebook.
    rlimits : list, optional
        ``limits.rlimits()``, which can be computed once per class.
    hidden : iterable of path
        Folders the sandboxed student code must not see (solutions, the gradebook, the
        submissions); ``output`` is always hidden.
    launcher : callable, optional
        Starts the worker instead of :func:`start_worker`: called once with the same arguments
        ``(args, output, rlimits, group)``, it returns the started process (``pid`` and
        ``wait(timeout=None)`` as :class:`subprocess.Popen`), usually what it got from
        :func:`start_worker`. For observing a worker (the grading benchmark reads its memory from
        /proc and times its phases); grading never passes one.

    Returns
    -------
    NotebookResult
    """
    limits = limits or Limits()
    output = Path(output).absolute()
    output.mkdir(parents=True, exist_ok=True)
    args = ["--submission", os.path.abspath(submission), "--source", os.path.abspath(source), "--output", str(output),
            "--cell-timeout", str(limits.cell_timeout), "--timeout", str(limits.timeout),
            "--memory", str(limits.memory_mb), "--disk", str(limits.disk_mb)]
    if not limits.sandbox:
        args.append("--no-sandbox")
    for folder in hidden:
        args += ["--hide", os.path.abspath(folder)]
    if release:
        args += ["--release", os.path.abspath(release)]
    if files:
        args += ["--files", os.path.abspath(files)]
    started = time.monotonic()
    group = cgroup.create(limits.processes, limits.tree_memory_mb)
    try:
        proc = (launcher or start_worker)(args, output, rlimits or limits.rlimits(), group)
        code, killed = wait_or_kill(proc, limits.timeout + GRACE)
        _kill_kernel(NotebookFolder(output).kernel_pid)
        oom_kills = group.oom_kills() if group else 0
        refused = group.refused_processes() if group else 0
    finally:
        if group:  # whatever the student's code left running, wherever it moved
            group.close()
    result = _read_result(output, Path(source).name, code, killed, limits)
    # The cgroup's memory limit explains a kernel that died or crawled (reclaim) into a time limit.
    if oom_kills and result.status in ("ok", "crashed", "error", "timeout", "memory"):
        result.status = "memory"
        result.detail = add_detail(f"the submission's processes together went over {limits.tree_memory_mb} MB "
                                   "(its memory cgroup stopped one)", result.detail)
    if refused:
        result.detail = add_detail(result.detail, f"the limit of {limits.processes} processes and threads "
                                                  f"refused {refused} new one(s)")
    result.seconds = time.monotonic() - started
    return result


def start_worker(args, output, rlimits, group, *, command=None):
    """Start the worker process, in its own process group, cgroup and limits (see :func:`run_worker`).

    Parameters
    ----------
    args : list of str
        The arguments of :mod:`.execute`.
    output : Path
        The worker's folder: its working directory; its log takes stdout and stderr.
    rlimits : list
        The resource limits, set in the worker before it runs.
    group : cgroup.WorkerCgroup or None
        The cgroup the worker joins before it runs.
    command : list of str, optional
        The program run with ``args`` instead of ``python -m autograder.grading.execute``, always
        in a fresh process (the grading benchmark times the worker's phases this way).

    Returns
    -------
    prefork.ForkedWorker or subprocess.Popen
        Forked from the preloaded server when it runs (:mod:`.prefork`) and no ``command`` is
        given, else a fresh interpreter.
    """
    return prefork.spawn("autograder.grading.execute", args, cwd=output, log=NotebookFolder(output).log,
                         env=worker_env(), rlimits=rlimits, group=group, command=command)


def _read_result(output, notebook, code, killed, limits):
    try:
        data = json.loads(NotebookFolder(output).result.read_text())
    except (OSError, ValueError):
        data = None
    executed = NotebookFolder(output).executed
    executed = executed if executed.is_file() else None
    if data is None:
        status = "timeout" if killed else "error"
        log = NotebookFolder(output).log
        detail = (f"the notebook did not finish within {limits.timeout:g} s" if killed
                  else f"the grading worker stopped without a result ({exit_reason(code)}); see {log}")
        return NotebookResult(notebook, status, detail, executed=None)
    cells = {k: CellScore(**v) for k, v in data.get("cells", {}).items()}
    result = NotebookResult(notebook, data.get("status", "error"), data.get("detail", ""),
                            data.get("notes", []), cells, executed)
    verified = {k: CellScore(**v) for k, v in data.get("verified", {}).items()}
    if not data.get("complete"):
        for cell in cells.values():
            if cell.message.startswith("not run"):
                cell.points = 0.0
        if killed:
            result.status = "timeout"
            result.detail = f"the notebook did not finish within {limits.timeout:g} s"
        else:
            result.status = "crashed"
            result.detail = f"the grading worker died ({exit_reason(code)}): out of memory?"
    apply_verification(result, verified)
    return result


def apply_verification(result, verified):
    """Let the verified score stand for every test cell the verification pass judged.

    The notebook's own score of a cell comes from the student's kernel, which the student's
    code could have patched. A notebook that claims more than the verification pass gives
    is ``flagged`` for the instructor (a worse status stays) and the detail names the cells.
    Cells that scored less in the notebook (they never ran after a crash or a timeout, or an
    earlier cell failed) get the verified score too: the functions themselves are right.
    """
    claimed = []
    for grade_id, checked in verified.items():
        cell = result.cells.get(grade_id)
        notebook = (cell.points or 0.0) if cell else 0.0
        if cell is not None and abs(notebook - checked.points) <= 1e-6:
            continue
        same_cases = checked.points if checked.public is None else checked.public
        if notebook > same_cases + 1e-6:
            claimed.append(f"{grade_id} (notebook {notebook:.3g}, verified {same_cases:.3g})")
        if cell is None:
            note = "verified"
        elif abs(notebook - same_cases) <= 1e-6:  # the same cases agree: the hidden ones make the difference
            note = "verified, with the hidden cases too"
        else:
            note = f"verified (the notebook gave {notebook:.3g})"
        result.cells[grade_id] = CellScore(checked.points, checked.max, f"{note}: {checked.message}")
    if claimed:
        if result.status == "ok":
            result.status = "flagged"
        result.detail = add_detail(result.detail, "the notebook's own test results claim more than the verification "
                                   "pass in " + ", ".join(claimed) + "; the verified scores stand")


def _kill_kernel(pid_file):
    """Kill the kernel's process group (it has its own), and whatever the student left running in it."""
    try:
        pid, start = pid_file.read_text().split()
        pid = int(pid)
    except (OSError, ValueError):
        return
    now = start_time(pid)
    if now is not None and now != start:
        return  # the pid belongs to another process now
    kill_group(pid)  # the kernel may be gone; processes it left may still hold its group
