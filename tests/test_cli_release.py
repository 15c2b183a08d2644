"""``autograder release`` builds course/ through nbgrader; ``release --check`` finds what is out of sync."""

from pathlib import Path

import nbformat
from fixtures.grading_support import ASSIGNMENT, NOTEBOOK, copy_course, run_cli

ROOT = Path(__file__).resolve().parent.parent


def test_release_writes_the_student_version_without_solutions_hidden_tests_or_outputs(tmp_path, capsys, monkeypatch):
    course = copy_course(tmp_path)
    (course.release / ASSIGNMENT / NOTEBOOK).unlink()
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # nbgrader needs alembic: the tool must not rely on PATH
    code, out = run_cli(capsys, "release", "--root", course.root)
    assert code == 0, out
    assert f"released course/{ASSIGNMENT}/{NOTEBOOK}" in out
    text = (course.release / ASSIGNMENT / NOTEBOOK).read_text()
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "hidden=True" not in text
    nb = nbformat.read(course.release / ASSIGNMENT / NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells)
    assert "raise NotImplementedError()" in text
    assert text == (Path(__file__).parent / "fixtures" / "course" / "course" / ASSIGNMENT / NOTEBOOK).read_text(), \
        "the committed fixture release is what release writes (byte for byte)"


def test_release_check_lists_the_notebooks_that_differ(tmp_path, capsys):
    course = copy_course(tmp_path)
    code, out = run_cli(capsys, "release", "--check", "--root", course.root)
    assert code == 0 and "in sync" in out, out
    path = course.release / ASSIGNMENT / NOTEBOOK
    nb = nbformat.read(path, as_version=4)
    nb.cells[2].source += "\n# an edit made in course/ instead of solutions/"
    nbformat.write(nb, path)
    (course.release / ASSIGNMENT / "stray.txt").write_text("not released")
    code, out = run_cli(capsys, "release", "--check", "--root", course.root)
    assert code == 1
    assert f"out of sync: course/{ASSIGNMENT}/{NOTEBOOK}" in out and f"course/{ASSIGNMENT}/stray.txt" in out


def test_unknown_assignment_is_an_error(tmp_path, capsys):
    course = copy_course(tmp_path)
    from autograder.grading.cli import main

    code = main(["release", "nope", "--root", str(course.root)])
    out, err = capsys.readouterr()
    assert code == 1 and not out and "autograder: error: unknown assignment(s) nope" in err


def test_the_course_release_is_in_sync_with_the_solutions(capsys):
    """course/ is generated from solutions/ and committed: this keeps the two equal."""
    code, out = run_cli(capsys, "release", "--check", "--root", ROOT)
    assert code == 0, f"{out}\nrun `autograder release` (make release) and commit course/"
