"""``autograder validate``: solutions score full marks, blank releases 0 with student messages only."""

import nbformat
from fixtures.grading_support import ASSIGNMENT, NOTEBOOK, copy_course, run_cli


def test_validate_passes_on_a_sound_assignment(tmp_path, capsys):
    course = copy_course(tmp_path)
    code, out = run_cli(capsys, "validate", "--root", course.root, "--workers", "2")
    assert code == 0, out
    assert f"ok     {ASSIGNMENT}/{NOTEBOOK} solution: 3 of 3 points" in out
    assert f"ok     {ASSIGNMENT}/{NOTEBOOK} release: 0 of 3 points" in out


def test_validate_fails_with_the_reasons(tmp_path, capsys):
    """A wrong solution, a locked cell that writes to stderr, and a release cell that fails."""
    course = copy_course(tmp_path)
    source = course.source / ASSIGNMENT / NOTEBOOK
    nb = nbformat.read(source, as_version=4)
    nb.cells[5].source = nb.cells[5].source.replace("!=", "==")  # error_rate computes the accuracy
    nb.cells[1].source += "\nimport sys\nprint('noise', file=sys.stderr)"
    nbformat.write(nb, source)
    release = course.release / ASSIGNMENT / NOTEBOOK
    nb = nbformat.read(release, as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell("undefined_name"))
    nbformat.write(nb, release)
    code, out = run_cli(capsys, "validate", "--root", course.root, "--workers", "2")
    assert code == 1
    assert "FAILED f1_fixture/f1_fixture.ipynb solution: 2 of 3 points" in out
    assert "f1-test_error_rate: 0.0 of 1 points" in out
    assert "a non-test cell failed: NameError" in out
    assert "wrote to stderr" in out


def test_the_shipped_course_validates(capsys):
    """Every assignment as committed: solutions full marks, releases 0, the report graded by hand."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    code, out = run_cli(capsys, "validate", "--root", root, "--workers", "2")
    assert code == 0, out
    assert out.count("ok     ") == 2 * len(list((root / "solutions").glob("a*/*.ipynb"))), out
    assert "a9_project/a9_project.ipynb solution: 3 of 5 points (expected full marks; graded by hand: a9-report)" in out
