"""``autograder grade`` and ``export`` end to end on the fixture course: one class graded in one run.

The class has a complete answer, a partly wrong one, a blank one, and one submission for
each way a notebook can fail: a kernel that exits or is killed, an endless loop (one that
ignores interrupts too), a memory bomb under --memory, a tampered test cell, unreadable files,
a missing notebook and an unsafe folder name. Every one gets a recorded status and score.
"""

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
from nbgrader.utils import determine_grade

from autograder.grading.export import table
from autograder.grading.gradebook import open_gradebook, statuses

SPLIT, ERROR = "f1-test_split_sizes", "f1-test_error_rate"


def _tamper(nb):
    """Replace the first test cell by one that claims full marks, and delete the second."""
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    tests[0].source = "2.0"
    nb.cells.remove(tests[1])


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


def _class(tmp_path):
    """The fixture course and a class folder with one submission per case above (and an unsafe name)."""
    course = copy_course(tmp_path)
    done = solutions(course)
    subs = tmp_path / "submitted"
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


def _check_rows(rows):
    problems = []
    for student, (status, split, error) in EXPECTED.items():
        row = rows[student]
        partial_ok = split is None and 0 < row[SPLIT] < 2
        if row["status"] != status or not (partial_ok or row[SPLIT] == split) or row[ERROR] != error \
                or row["score"] != pytest.approx(row[SPLIT] + row[ERROR]) or row["max_score"] != 3.0:
            problems.append(f"{student}: expected {status} {split} {error}, got {row}")
    assert not problems, "\n".join(problems)


def test_grading_a_class_records_every_submission_and_regrading_replaces_results(tmp_path, capsys):
    """One test (the class is graded once; xdist would run a shared fixture on both workers)."""
    course, subs = _class(tmp_path)
    code, out = run_cli(capsys, "grade", ASSIGNMENT, "--submissions", subs, "--root", course.root,
                        "--workers", "2", "--cell-timeout", "4", "--timeout", "60", "--memory", "1024")
    assert code == 0, out

    # the table: every student with its status, then where the feedback is
    for student, (status, _, _) in EXPECTED.items():
        line = next(line for line in out.splitlines() if f" {student} " in line)
        assert status in line, line
    assert "feedback: " in out and "gradebook: sqlite:///" in out
    assert "SAWarning" not in out and "Traceback" not in out

    # the gradebook: scores and statuses, and why
    columns, rows = table(course.db_url, ASSIGNMENT, course)
    rows = {row["student"]: row for row in rows}
    assert columns == ["student", "assignment", "score", "max_score", "status", "detail", "similarity", SPLIT, ERROR]
    assert set(rows) == {*EXPECTED, "bad name"}
    _check_rows(rows)
    detail = {k[1]: v["detail"] for k, v in statuses(course.db_url, ASSIGNMENT).items()}
    assert "exit code 3" in detail["dave"] and "SIGKILL" in detail["kim"]
    assert "4 s cell time limit" in detail["erin"] and "4 s cell time limit" in detail["hal"]
    assert "MemoryError" in detail["ivy"] and "not valid JSON" in detail["frank"] and "empty" in detail["gina"]

    # an unsafe folder name is reported, and nothing is written for it
    assert rows["bad name"]["status"] == "invalid_student"
    assert not (course.autograded / "bad name").exists() and not (course.feedback / "bad name").exists()
    with open_gradebook(course.db_url) as gb:
        assert "bad name" not in {s.id for s in gb.students}

    # autograded notebooks: plain nbgrader reads the same scores from them
    for student, (_, split, error) in EXPECTED.items():
        if student in ("frank", "gina", "nora") or split is None:
            continue
        nb = nbformat.read(course.autograded / student / ASSIGNMENT / NOTEBOOK, as_version=4)
        scores = {c.metadata["nbgrader"]["grade_id"]: determine_grade(c)[0] for c in nb.cells
                  if c.metadata.get("nbgrader", {}).get("grade")}
        assert scores == {SPLIT: split, ERROR: error}, student

    # feedback: scores and hints, never the hidden tests
    pages = {p.parent.parent.name: p.read_text() for p in course.feedback.glob(f"*/{ASSIGNMENT}/*.html")}
    assert set(pages) == set(EXPECTED)
    for page in pages.values():
        assert "hidden=True" not in page and "HIDDEN TESTS" not in page
    assert "Score: 3.0 / 3.0" in pages["alice"]
    assert "Hint:" in pages["bob"] and "hidden case" in pages["bob"]
    assert "Grading status: crashed" in pages["dave"] and "Grading status: missing" in pages["nora"]

    # export: CSV and JSON hold the same rows
    csv_file = tmp_path / "grades.csv"
    assert run_cli(capsys, "export", "--root", course.root, "--output", csv_file)[0] == 0
    code, text = run_cli(capsys, "export", "--root", course.root, "--format", "json", "--assignment", ASSIGNMENT)
    assert code == 0
    from_json = json.loads(text)
    from_csv = list(csv.DictReader(io.StringIO(csv_file.read_text())))
    assert len(from_csv) == len(from_json) == len(EXPECTED) + 1
    for c_row, j_row in zip(from_csv, from_json, strict=True):
        assert list(c_row) == list(j_row)
        for key, value in j_row.items():
            assert c_row[key] == ("" if value is None else str(value)), (key, c_row, j_row)

    # re-grading replaces results; a submission that fails now never keeps its old score
    again = tmp_path / "again"
    submit(again, "alice", course, raw="{broken")
    submit(again, "carol", course, solutions(course))
    code, out = run_cli(capsys, "grade", ASSIGNMENT, "--submissions", again, "--root", course.root, "--workers", "2")
    assert code == 0, out
    regraded = {r["student"]: r for r in table(course.db_url, ASSIGNMENT, course)[1]}
    assert (regraded["alice"]["status"], regraded["alice"]["score"]) == ("invalid_notebook", 0.0)
    assert (regraded["carol"]["status"], regraded["carol"]["score"]) == ("ok", 3.0)
    assert regraded["bob"] == rows["bob"], "students not re-graded keep their result"
    with open_gradebook(course.db_url) as gb:
        assert len(gb.find_assignment(ASSIGNMENT).submissions) == len(EXPECTED)
    page = course.feedback / "alice" / ASSIGNMENT / "f1_fixture.html"
    assert "Grading status: invalid_notebook" in page.read_text()


def test_whole_notebook_time_limit(tmp_path, capsys):
    course = copy_course(tmp_path)
    done = solutions(course)
    submit(tmp_path / "subs", "sam", course, {"f1-split_sizes": done["f1-split_sizes"],
                                              "f1-error_rate": "import time\ntime.sleep(60)\n" + done["f1-error_rate"]})
    code, out = run_cli(capsys, "grade", ASSIGNMENT, "--submissions", tmp_path / "subs", "--root", course.root,
                        "--timeout", "10", "--cell-timeout", "50")
    assert code == 0
    (row,) = table(course.db_url, ASSIGNMENT, course)[1]
    # error_rate's cell never finished, yet the function it defines (after the sleep) is right:
    # the verification pass, which skips top-level statements, gives it its point.
    assert row["status"] == "timeout" and row[SPLIT] == 2.0 and row[ERROR] == 1.0, row
    assert "the notebook's time limit" in statuses(course.db_url, ASSIGNMENT)[ASSIGNMENT, "sam"]["detail"], out


def test_the_export_says_what_happened_and_leaves_unsubmitted_scores_blank(tmp_path, capsys):
    """A detail column for every non-ok status; a student with no submission gets no 0."""
    import csv
    import io

    from autograder.grading.gradebook import open_gradebook

    course = copy_course(tmp_path)
    submit(tmp_path / "subs", "ann", course, solutions(course))
    submit(tmp_path / "subs", "bob", course, raw=b'{"cells": [')
    code, out = run_cli(capsys, "grade", ASSIGNMENT, "--submissions", tmp_path / "subs", "--root", course.root)
    assert code == 0, out
    with open_gradebook(course.db_url) as gb:
        gb.add_student("cat")
    code, out = run_cli(capsys, "export", "--assignment", ASSIGNMENT, "--root", course.root)
    rows = {row["student"]: row for row in csv.DictReader(io.StringIO(out))}
    assert list(rows["ann"])[:6] == ["student", "assignment", "score", "max_score", "status", "detail"]
    assert (rows["ann"]["score"], rows["ann"]["status"], rows["ann"]["detail"]) == ("3.0", "ok", "")
    assert (rows["bob"]["score"], rows["bob"]["status"]) == ("0.0", "invalid_notebook")
    assert "not valid JSON" in rows["bob"]["detail"], rows["bob"]
    assert (rows["cat"]["score"], rows["cat"]["status"]) == ("", "not_submitted"), rows["cat"]


def test_a_students_figure_is_on_the_feedback_page(tmp_path, capsys):
    """plt.show() as a student writes it (no %matplotlib magic): the kernel draws inline, so the
    executed notebook holds the figure and the feedback page shows it, inline (works offline)."""
    import nbformat

    course = copy_course(tmp_path)
    figure = "import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.title('my costs')\nplt.show()"
    submit(tmp_path / "subs", "ann", course, solutions(course),
           edit=lambda nb: nb.cells.append(nbformat.v4.new_code_cell(figure)))
    code, out = run_cli(capsys, "grade", ASSIGNMENT, "--submissions", tmp_path / "subs", "--root", course.root)
    assert code == 0, out
    executed = nbformat.read(course.autograded / "ann" / ASSIGNMENT / NOTEBOOK, as_version=4)
    assert any("image/png" in o.get("data", {}) for o in executed.cells[-1].outputs), executed.cells[-1].outputs
    page = (course.feedback / "ann" / ASSIGNMENT / "f1_fixture.html").read_text()
    assert page.count("data:image/png;base64,") == 1
