"""``autograder check NOTEBOOK``: a self-learner's per-question report, with hints, no gradebook."""

from pathlib import Path

from fixtures.grading_support import ASSIGNMENT, FLOOR_ALL, NOTEBOOK, copy_course, run_cli, solutions, submit

ROOT = Path(__file__).resolve().parent.parent


def test_check_reports_points_verdicts_and_hints(tmp_path, capsys):
    course = copy_course(tmp_path)
    mine = submit(course.release.parent / "work", "me", course, {"f1-split_sizes": FLOOR_ALL,
                                                                 "f1-error_rate": solutions(course)["f1-error_rate"]})
    moved = course.release / ASSIGNMENT / "mine" / NOTEBOOK  # not the course's own notebook name/folder
    code, out = run_cli(capsys, "check", mine, "--root", course.root)
    assert code == 0, out
    assert "f1-test_split_sizes" in out and "~ partial" in out and "✓ passed" in out
    assert "1 / 1" in out and "Hint: the three sizes do not add up to m" in out
    assert "hidden case (inputs not shown)" in out, "the hidden tests ran (the course has the solutions)"
    assert not (course.grading / "gradebook.db").exists(), "no gradebook is needed or written"
    assert not moved.exists()
    assert sorted(p.name for p in mine.parent.iterdir()) == [NOTEBOOK], "nothing is written next to the notebook"


def test_check_a_blank_course_notebook_names_every_unfinished_function(capsys):
    """On the real a1 release, found from the notebook's own folder (no --root)."""
    code, out = run_cli(capsys, "check", ROOT / "course" / "a1_splits" / "a1_splits.ipynb")
    assert code == 0, out
    assert "0 of 7 points" in out
    assert out.count("✗ failed") == 4 and out.replace("\n", " ").count("not implemented yet") >= 4
    assert "Traceback" not in out
