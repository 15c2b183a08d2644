"""``autograder grade`` and ``export`` end to end on the fixture course: one class graded in one run.

The class has a complete answer, a partly wrong one, a blank one, and one submission for
each way a notebook can fail: a kernel that exits or is killed, an endless loop (one that
ignores interrupts too), a memory bomb under --memory, a tampered test cell, unreadable files,
a missing notebook and an unsafe folder name. Every one gets a recorded status and score.
"""

import contextlib
import csv
import io
import json

import nbformat
import pytest
from fixtures.grading_support import (
    ACCURACY,
    ASSIGNMENT,
    FLOOR_ALL,
    NOTEBOOK,
    copy_course,
    run_cli,
    solutions,
    submit,
)

from autograder.grading.cli import main
from autograder.grading.export import table
from autograder.grading.gradebook import open_gradebook, statuses

SPLIT, ERROR = "f1-test_split_sizes", "f1-test_error_rate"


def _tamper(nb):
    """Replace the first test cell by one that claims full marks, and delete the second."""
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    tests[0].source = "2.0"
    nb.cells.remove(tests[1])


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The fixture course after grading the whole class once: (course, submissions, exit code, stdout)."""
    tmp = tmp_path_factory.mktemp("grade")
    course = copy_course(tmp)
    done = solutions(course)
    subs = tmp / "submitted"
    submit(subs, "alice", course, done)
    submit(subs, "bob", course, {**done, "f1-split_sizes": FLOOR_ALL, "f1-error_rate": ACCURACY})
    submit(subs, "carol", course)
    submit(subs, "dave", course, {**done, "f1-error_rate": "import os\nos._exit(3)"})
    submit(subs, "kim", course, {**done, "f1-error_rate": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"})
    submit(subs, "erin", course, {**done, "f1-split_sizes": "while True:\n    pass"})
    submit(subs, "hal", course, {**done, "f1-error_rate": (
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass")})
    submit(subs, "ivy", course, {**done, "f1-error_rate": done["f1-error_rate"] + "\n\nhog = bytearray(3 * 2**30)"})
    submit(subs, "mallory", course, {"f1-split_sizes": FLOOR_ALL}, edit=_tamper)
    submit(subs, "frank", course, raw="{not json")
    submit(subs, "gina", course, raw="")
    (subs / "nora" / ASSIGNMENT).mkdir(parents=True)  # no notebook at all
    (subs / "bad name" / ASSIGNMENT).mkdir(parents=True)
    return course, subs


@pytest.fixture(scope="module")
def run(graded):
    """``autograder grade`` on the class (module scope: no capsys, so stdout is redirected here)."""
    course, subs = graded
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["grade", ASSIGNMENT, "--submissions", str(subs), "--root", str(course.root),
                     "--workers", "2", "--cell-timeout", "4", "--timeout", "60", "--memory", "1024"])
    assert not err.getvalue(), err.getvalue()
    return code, out.getvalue()


@pytest.fixture(scope="module")
def export(graded, run):
    course, _ = graded
    columns, rows = table(course.db_url, ASSIGNMENT, course)
    return columns, {row["student"]: row for row in rows}


EXPECTED = {  # student: (status, split_sizes points, error_rate points); None: strictly between 0 and max
    "alice": ("ok", 2.0, 1.0),
    "bob": ("ok", None, 0.0),
    "carol": ("ok", 0.0, 0.0),
    "dave": ("crashed", 2.0, 0.0),
    "kim": ("crashed", 2.0, 0.0),
    "erin": ("timeout", 0.0, 1.0),
    "hal": ("timeout", 2.0, 0.0),
    "ivy": ("memory", 2.0, 1.0),
    "mallory": ("ok", None, 0.0),
    "frank": ("invalid_notebook", 0.0, 0.0),
    "gina": ("invalid_notebook", 0.0, 0.0),
    "nora": ("missing", 0.0, 0.0),
}


def test_grade_exits_0_with_a_recorded_result_for_every_submission(run, export):
    code, out = run
    assert code == 0, out
    columns, rows = export
    assert columns == ["student", "assignment", "score", "max_score", "status", SPLIT, ERROR]
    assert set(rows) == {*EXPECTED, "bad name"}


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_each_submission_gets_its_status_and_scores(export, student):
    status, split, error = EXPECTED[student]
    row = export[1][student]
    assert row["status"] == status, row
    if split is None:
        assert 0 < row[SPLIT] < 2, f"expected partial credit: {row}"
    else:
        assert row[SPLIT] == split, row
    assert row[ERROR] == error, row
    assert row["score"] == pytest.approx(row[SPLIT] + row[ERROR]) and row["max_score"] == 3.0


def test_unsafe_folder_name_is_reported_and_nothing_is_written_for_it(graded, run, export):
    course, _ = graded
    assert export[1]["bad name"]["status"] == "invalid_student"
    assert not (course.autograded / "bad name").exists() and not (course.feedback / "bad name").exists()
    with open_gradebook(course.db_url) as gb:
        assert "bad name" not in {s.id for s in gb.students}


def test_table_lists_every_student_with_score_status_and_feedback_folder(run):
    _, out = run
    for student, (status, _, _) in EXPECTED.items():
        line = next(line for line in out.splitlines() if f" {student} " in line)
        assert status in line, line
    assert "feedback: " in out and "gradebook: sqlite:///" in out
    assert "SAWarning" not in out and "Traceback" not in out


def test_statuses_say_why(export, graded):
    course, _ = graded
    detail = {k[1]: v["detail"] for k, v in statuses(course.db_url, ASSIGNMENT).items()}
    assert "exit code 3" in detail["dave"] and "SIGKILL" in detail["kim"]
    assert "4 s cell time limit" in detail["erin"] and "4 s cell time limit" in detail["hal"]
    assert "MemoryError" in detail["ivy"] and "not valid JSON" in detail["frank"] and "empty" in detail["gina"]


def test_autograded_notebooks_keep_scores_that_plain_nbgrader_would_agree_with(graded, run):
    from nbgrader.utils import determine_grade

    course, _ = graded
    for student, (_, split, error) in EXPECTED.items():
        if student in ("frank", "gina", "nora") or split is None:
            continue
        nb = nbformat.read(course.autograded / student / ASSIGNMENT / NOTEBOOK, as_version=4)
        scores = {c.metadata["nbgrader"]["grade_id"]: determine_grade(c)[0] for c in nb.cells
                  if c.metadata.get("nbgrader", {}).get("grade")}
        assert scores == {SPLIT: split, ERROR: error}, student


def test_feedback_shows_scores_and_hints_but_no_hidden_tests(graded, run):
    course, _ = graded
    pages = {p.parent.parent.name: p.read_text() for p in course.feedback.glob(f"*/{ASSIGNMENT}/*.html")}
    assert set(pages) == set(EXPECTED)
    for page in pages.values():
        assert "hidden=True" not in page and "HIDDEN TESTS" not in page
    assert "Score: 3.0 / 3.0" in pages["alice"]
    assert "Hint:" in pages["bob"] and "hidden case" in pages["bob"]
    assert "Grading status: crashed" in pages["dave"] and "Grading status: missing" in pages["nora"]


def test_export_csv_and_json_hold_the_same_rows(graded, run, tmp_path, capsys):
    course, _ = graded
    csv_file, json_file = tmp_path / "grades.csv", tmp_path / "grades.json"
    assert run_cli(capsys, "export", "--root", course.root, "--output", csv_file)[0] == 0
    code, out = run_cli(capsys, "export", "--root", course.root, "--format", "json", "--assignment", ASSIGNMENT)
    assert code == 0
    json_file.write_text(out)
    from_json = json.loads(json_file.read_text())
    from_csv = list(csv.DictReader(io.StringIO(csv_file.read_text())))
    assert len(from_csv) == len(from_json) == len(EXPECTED) + 1
    for c_row, j_row in zip(from_csv, from_json, strict=True):
        assert list(c_row) == list(j_row)
        for key, value in j_row.items():
            assert c_row[key] == ("" if value is None else str(value)), (key, c_row, j_row)


def test_regrading_replaces_results_and_a_failure_never_keeps_a_stale_score(graded, run, tmp_path, capsys):
    course, _ = graded
    again = tmp_path / "again"
    submit(again, "alice", course, raw="{broken")  # alice's new submission cannot be read
    submit(again, "carol", course, solutions(course))  # carol finished hers
    code, _ = run_cli(capsys, "grade", ASSIGNMENT, "--submissions", again, "--root", course.root, "--workers", "2")
    assert code == 0
    rows = {r["student"]: r for r in table(course.db_url, ASSIGNMENT, course)[1]}
    assert (rows["alice"]["status"], rows["alice"]["score"]) == ("invalid_notebook", 0.0)
    assert (rows["carol"]["status"], rows["carol"]["score"]) == ("ok", 3.0)
    assert rows["bob"] == {**rows["bob"], "status": "ok"}, "students not re-graded keep their result"
    with open_gradebook(course.db_url) as gb:
        assert len(gb.find_assignment(ASSIGNMENT).submissions) == len(EXPECTED)
    assert not (course.autograded / "alice" / ASSIGNMENT / NOTEBOOK).read_text().count("def split_sizes(m, ratios):\n"
                                                                                        "    n_dev")


def test_whole_notebook_time_limit(tmp_path, capsys):
    course = copy_course(tmp_path)
    done = solutions(course)
    slow = "import time\ntime.sleep(3)\n"
    submit(tmp_path / "subs", "sam", course, {"f1-split_sizes": slow + done["f1-split_sizes"],
                                              "f1-error_rate": slow + done["f1-error_rate"]})
    code, out = run_cli(capsys, "grade", ASSIGNMENT, "--submissions", tmp_path / "subs", "--root", course.root,
                        "--timeout", "5", "--cell-timeout", "10")
    assert code == 0
    (row,) = table(course.db_url, ASSIGNMENT, course)[1]
    assert row["status"] == "timeout" and row[SPLIT] == 2.0 and row[ERROR] == 0.0, row
    assert "ran out of time" in out or "time limit" in out
