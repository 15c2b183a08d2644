"""One student's submission: find it, grade each of its notebooks in a worker, and say how it went.

``grade_submission`` is what runs for each student, on this machine (:mod:`.grade`) or on a
Dask worker (:mod:`.distributed`); its result is recorded by the grading process alone.
"""

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import nbformat

from .cells import grade_id, is_graded, points
from .course import NOT_STUDENTS, is_safe_id
from .runner import NotebookResult, run_worker
from .score import CellScore
from .workdir import NotebookFolder, add_detail

# From the worst to the best; a submission's status is the worst of its notebooks'.
STATUSES = {
    "error": "the grader failed on this submission (scored 0), or only on its feedback page (its score stands); "
             "see its log under grading/logs/, then re-grade it",
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


def submitted_notebook(sub_dir, name, only_notebook):
    """``(path, note)``: the student's file for the source notebook ``name`` in ``sub_dir``.

    When the file is not there and the assignment has only this notebook (``only_notebook``),
    the folder's one notebook stands for it, a renamed download such as "a1_splits (1).ipynb";
    ``note`` then says so (else it is "").
    """
    path = Path(sub_dir) / name
    if only_notebook and not path.exists() and not path.is_symlink():
        others = sorted(Path(sub_dir).glob("*.ipynb"))
        if len(others) == 1:
            return others[0], f"graded {others[0].name} (expected {name})"
    return path, ""


def _printable(name):
    return ascii(name)[1:-1][:100]


def zero_scores(source, reason):
    """``{grade_id: CellScore(0)}`` for every test cell of a source notebook."""
    nb = nbformat.read(source, as_version=4)
    return {grade_id(c): CellScore(0.0, points(c), reason) for c in nb.cells if is_graded(c)}


def grade_submission(course, assignment, student, folder, *, limits, work, rlimits=None, hidden=()):
    """Grade one student's folder (``folder/<assignment>/``) into ``work``; returns a SubmissionResult.

    ``hidden``: folders the sandbox hides from student code (see :func:`autograder.sandbox.policy.secret_paths`).
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
        if result.status != "missing":
            path, renamed = submitted_notebook(sub_dir, source.name, len(sources) == 1)
            result.detail = renamed or result.detail
        if result.status == "missing" or not (path.exists() or path.is_symlink()):
            reason = f"no {source.name} in the submission"
            result.notebooks.append(NotebookResult(source.name, "missing", reason, cells=zero_scores(source, reason)))
            continue
        release_nb = course.release_notebook(assignment, source.name)
        files = course.release / assignment
        outcome = run_worker(path, source, NotebookFolder.under(work, student, source.name).path, limits=limits,
                             release=release_nb, files=files if files.is_dir() else None, rlimits=rlimits,
                             hidden=hidden)
        outcome.notebook = source.name
        result.notebooks.append(outcome)
    result.status = worst(nb.status for nb in result.notebooks)
    details = [nb.detail for nb in result.notebooks if nb.detail]  # also limits hit by an ok notebook
    result.detail = add_detail(*details, result.detail)
    return result


def _timestamp(sub_dir):
    """When the submission was handed in: the later of nbgrader's timestamp.txt and the notebooks' times.

    timestamp.txt is written on the student's side (``nbgrader submit``), so it alone could be
    forged to avoid a late penalty; the notebook files' modification times are those of the
    files as the grader received them. Only the first bytes of timestamp.txt are read.
    """
    times = [datetime.fromtimestamp(p.lstat().st_mtime, UTC).replace(tzinfo=None) for p in sub_dir.glob("*.ipynb")]
    stamp = sub_dir / "timestamp.txt"
    if stamp.is_file() and not stamp.is_symlink():
        try:
            from nbgrader.utils import parse_utc

            with open(stamp, "rb") as f:
                times.append(parse_utc(f.read(64).decode("utf-8", "replace").strip()))
        except (OSError, ValueError, OverflowError, TypeError):
            pass
    return max(times, default=None)
