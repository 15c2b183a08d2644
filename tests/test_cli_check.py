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


# Right on the three visible cases, wrong (the sizes do not add up) on other sizes m.
VISIBLE_ONLY = """def split_sizes(m, ratios):
    if m in (10_000, 1_000_000, 1797):
        n_dev, n_test = round(m * ratios[1]), round(m * ratios[2])
        return m - n_dev - n_test, n_dev, n_test
    return int(m * ratios[0]), int(m * ratios[1]), int(m * ratios[2])"""


def test_an_honest_notebook_is_never_flagged_by_self_check(tmp_path, capsys):
    """Without solutions/ (the students' set-up) and renamed: the notebook's test ran the visible
    cases only, and so does the comparison; the hidden cases still count in the score."""
    import shutil

    course = copy_course(tmp_path)
    shutil.rmtree(course.source)
    mine = submit(tmp_path / "work", "me", course, {"f1-split_sizes": VISIBLE_ONLY,
                                                     "f1-error_rate": "def error_rate(y_pred, y_true):\n"
                                                                      "    return float(np.mean(y_pred != y_true))"})
    renamed = mine.with_name("mine.ipynb")
    mine.rename(renamed)
    code, out = run_cli(capsys, "check", renamed, "--root", course.root)
    assert code == 0, out
    assert "flagged" not in out and "claim more" not in out, out
    assert "~ partial" in out, "the hidden cases of the verification pass still count"
