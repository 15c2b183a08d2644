"""Every solution notebook scores full marks; every blank release runs to the end, fails only
in its test cells, and shows the student a message, not a traceback from the grading code."""

from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import determine_grade
from notebook_runner import errors, execute, is_test_cell, nbgrader_meta

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted(ROOT.glob("solutions/*/*.ipynb"))
RELEASES = sorted(ROOT.glob("course/*/*.ipynb"))


def _ids(paths):
    return [p.parent.name for p in paths]


@pytest.mark.parametrize("path", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_solution_notebook_scores_full_marks(path):
    nb = execute(path)
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        assert not errors(cell), f"{grade_id}: the solution raised {errors(cell)[0].get('evalue')!r}"
        stderr = [o.text for o in cell.get("outputs", []) if o.output_type == "stream" and o.name == "stderr"]
        assert not stderr, f"{grade_id}: the solution wrote to stderr: {stderr[0][:200]!r}"
        if is_test_cell(cell):
            score, max_score = determine_grade(cell)
            assert score == max_score, f"{grade_id}: {score} of {max_score} points"


@pytest.mark.parametrize("path", RELEASES, ids=_ids(RELEASES))
def test_blank_release_fails_only_in_test_cells_with_a_student_message(path):
    nb = execute(path)
    tests = [cell for cell in nb.cells if is_test_cell(cell)]
    assert tests, "the release has no test cells"
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if not is_test_cell(cell):
            assert not errors(cell), f"{grade_id}: a non-test cell failed: {errors(cell)[0].get('evalue')!r}"
            continue
        score, max_score = determine_grade(cell)
        assert score == 0, f"{grade_id}: a blank answer got {score} of {max_score} points"
        if max_score == 0:
            continue
        (error,) = errors(cell)
        shown = "\n".join(error.traceback)
        assert error.ename == "CheckFailed", f"{grade_id}: {error.ename}: {error.evalue}"
        assert "not implemented yet" in shown, f"{grade_id}: {shown[:300]}"
        assert "Traceback" not in shown and "autograder/" not in shown, f"{grade_id} shows grading code: {shown}"


@pytest.mark.parametrize("path", RELEASES, ids=_ids(RELEASES))
def test_release_stores_no_outputs_and_no_solutions(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        assert not cell.get("outputs"), f"{nbgrader_meta(cell).get('grade_id')} stores outputs"
        assert "BEGIN SOLUTION" not in cell.source and "BEGIN HIDDEN TESTS" not in cell.source


def test_every_solution_has_a_release():
    assert _ids(SOLUTIONS) == _ids(RELEASES)
