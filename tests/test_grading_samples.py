"""The demo's sample submissions (samples/demo/) stay what their script writes, and grade as described."""

import shutil
from pathlib import Path

import pytest
from fixtures.grading_support import run_cli

from autograder.grading import course as courses
from autograder.grading.export import table
from tools.samples import STUDENTS, write_samples

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "demo"


def test_samples_are_in_sync_with_their_script(tmp_path):
    written = write_samples(courses.load(ROOT), tmp_path / "demo")
    fresh = {p.relative_to(tmp_path / "demo") for p in written}
    committed = {p.relative_to(SAMPLES) for p in SAMPLES.rglob("*") if p.is_file()}
    assert fresh == committed, "run `python tools/samples.py` and commit samples/demo"
    stale = [str(p) for p in sorted(fresh) if (tmp_path / "demo" / p).read_bytes() != (SAMPLES / p).read_bytes()]
    assert not stale, f"out of date (run `python tools/samples.py`): {stale}"


def test_every_sample_student_has_every_sample_assignment():
    assert sorted(p.name for p in SAMPLES.iterdir()) == sorted(STUDENTS)


@pytest.fixture
def a1_course(tmp_path):
    """A course with only assignment 1 (the real notebooks), so grading writes nothing in the repo."""
    root = tmp_path / "course-root"
    for part in ("solutions", "course"):
        shutil.copytree(ROOT / part / "a1_splits", root / part / "a1_splits")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    return courses.load(root)


def test_real_samples_grade_as_described(a1_course, tmp_path, capsys):
    subs = tmp_path / "submitted"
    for student in ("ada-complete", "dee-blank", "eli-crash"):
        shutil.copytree(SAMPLES / student, subs / student)
    code, out = run_cli(capsys, "grade", "a1_splits", "--submissions", subs, "--root", a1_course.root,
                        "--workers", "2", "--cell-timeout", "60")
    assert code == 0, out
    rows = {r["student"]: r for r in table(a1_course.db_url, "a1_splits", a1_course)[1]}
    assert (rows["ada-complete"]["score"], rows["ada-complete"]["status"]) == (7.0, "ok")
    assert (rows["dee-blank"]["score"], rows["dee-blank"]["status"]) == (0.0, "ok")
    assert rows["eli-crash"]["status"] == "crashed"
    # The kernel died before the diagnose test ran, but the function is right: the verification
    # pass (which runs the definitions, not the os._exit cell) gives it its points.
    assert rows["eli-crash"]["a1-test_split_sizes"] == 2.0 and rows["eli-crash"]["a1-test_diagnose"] == 2.0
    pages = sorted(p.relative_to(a1_course.feedback) for p in a1_course.feedback.rglob("*.html"))
    assert [str(p) for p in pages] == [f"{s}/a1_splits/a1_splits.html" for s in ("ada-complete", "dee-blank",
                                                                                   "eli-crash")]
