"""``autograder validate``: the course's own notebooks grade as they should.

For each notebook of each assignment, through the same worker as grading:

- the solution (``solutions/``) scores full marks in every test cell, with no error and
  nothing written to stderr in any cell; cells graded by hand (nbgrader ``grade`` cells with no
  test, such as a written report) are listed as such, not scored;
- every test cell is worth its check's points (the check's value is the cell's partial credit
  for nbgrader, so a cell worth less than its check fails plain ``nbgrader autograde`` on a
  right answer, and one worth more never gets full marks);
- the blank release (``course/``) runs to the end and scores 0, and fails only with
  student-facing messages: ``CheckFailed`` errors in test cells (no traceback from the
  grading code), and no error or stderr output in any other cell.

Unlike ``nbgrader validate``, a failure is a non-zero exit status.
"""

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..sandbox.policy import Limits, worker_env
from . import prefork
from .cells import cell_name, is_test_cell, points
from .runner import run_worker
from .verify import graded_checks


@dataclass
class Validation:
    """The problems found in one notebook run (none: it is valid)."""

    assignment: str
    notebook: str
    kind: str  # "solution" or "release"
    score: float = 0.0
    max_score: float = 0.0
    problems: list = field(default_factory=list)
    manual: list = field(default_factory=list)  # grade_ids of the cells a person grades


def _outputs(cell, kind):
    return [o for o in cell.get("outputs", []) if o.get("output_type") == kind]


def _stderr(cell):
    return [o for o in _outputs(cell, "stream") if o.get("name") == "stderr"]


def points_problems(source_nb):
    """A message for each test cell whose points differ from its check's."""
    from ..checks import REGISTRY  # the checks load only when a course is validated

    return [f"{grade_id}: the cell is worth {cell_points:g} points, its check {name!r} {REGISTRY[name].points:g}"
            for grade_id, name, _, cell_points in graded_checks(source_nb) if cell_points != REGISTRY[name].points]


def solution_problems(result, nb):
    problems = [f"status {result.status}: {result.detail}"] if result.status != "ok" else []
    for grade_id, cell in result.cells.items():
        if cell.points is not None and cell.points != cell.max:  # None: graded by hand
            problems.append(f"{grade_id}: {cell.points} of {cell.max:g} points: {cell.message[:300]}")
    for index, cell in enumerate(nb.cells if nb else []):
        for err in _outputs(cell, "error"):
            problems.append(f"{cell_name(cell, index)}: {err.get('ename')}: {str(err.get('evalue'))[:200]}")
        for out in _stderr(cell):
            problems.append(f"{cell_name(cell, index)}: wrote to stderr: {out.get('text', '')[:200]!r}")
    return problems


def release_problems(result, nb):
    problems = [f"status {result.status}: {result.detail}"] if result.status != "ok" else []
    for grade_id, cell in result.cells.items():
        if cell.points:
            problems.append(f"{grade_id}: a blank answer got {cell.points:g} of {cell.max:g} points")
    for index, cell in enumerate(nb.cells if nb else []):
        name = cell_name(cell, index)
        for out in _stderr(cell):
            problems.append(f"{name}: wrote to stderr: {out.get('text', '')[:200]!r}")
        errors = _outputs(cell, "error")
        if not is_test_cell(cell):
            problems += [f"{name}: a non-test cell failed: {e.get('ename')}: {str(e.get('evalue'))[:200]}"
                         for e in errors]
            continue
        if not points(cell):
            continue
        if not errors:
            problems.append(f"{name}: a blank answer shows no failure")
        for err in errors:
            shown = "\n".join(err.get("traceback", []))
            if err.get("ename") != "CheckFailed":
                problems.append(f"{name}: {err.get('ename')}: {str(err.get('evalue'))[:200]} (not a check's message)")
            elif "Traceback" in shown or "autograder/" in shown:
                problems.append(f"{name}: the message shows a traceback from the grading code")
    return problems


def validate_notebook(course, assignment, source, kind, limits):
    """Run the solution or the blank release of one notebook; returns a :class:`Validation`."""
    release = course.release_notebook(assignment, source.name)
    check = Validation(assignment, source.name, kind)
    if kind == "release" and release is None:
        check.problems.append(f"no release {course.release / assignment / source.name}: run `autograder release`")
        return check
    submitted = source if kind == "solution" else release
    with tempfile.TemporaryDirectory(prefix="autograder-validate-") as tmp:
        result = run_worker(submitted, source, Path(tmp) / "run", limits=limits, release=release,
                            files=course.release / assignment if release else None)
        nb = nbformat.read(result.executed, as_version=4) if result.executed else None
    check.score, check.max_score = result.score, result.max_score
    check.manual = [grade_id for grade_id, cell in result.cells.items() if cell.points is None]
    check.problems = (solution_problems if kind == "solution" else release_problems)(result, nb)
    if kind == "solution":
        check.problems = points_problems(nbformat.read(source, as_version=4)) + check.problems
    return check


def validate(course, assignments, *, limits=None, workers=2):
    """Validations of every notebook of ``assignments``, solution and release, in order."""
    limits = limits or Limits(cell_timeout=course.cell_timeout)
    jobs = [(a, source, kind) for a in assignments for source in course.source_notebooks(a)
            for kind in ("solution", "release")]
    prefork.start(worker_env())  # before the threads (see grade_class)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(lambda job: validate_notebook(course, *job, limits), jobs))
