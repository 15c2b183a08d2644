"""The grading tool's steps without a kernel: rebuilding submissions, scoring, reading files, names;
and the runner's ``launcher`` hook (one worker)."""

import json
import os
import threading

import nbformat
import pytest
from fixtures.grading_support import ASSIGNMENT, NOTEBOOK, copy_course, release_nb, solutions, submit

from autograder.grading.cells import is_test_cell, nbgrader
from autograder.grading.course import is_safe_id, resolve_db_url
from autograder.grading.execute import InvalidNotebook, read_submission
from autograder.grading.feedback import student_copy
from autograder.grading.rebuild import rebuild
from autograder.grading.score import score_cells
from autograder.grading.submission import find_submissions, worst


@pytest.fixture
def course(tmp_path):
    return copy_course(tmp_path)


@pytest.fixture
def source(course):
    return nbformat.read(course.source / ASSIGNMENT / NOTEBOOK, as_version=4)


def _ids(nb):
    return [nbgrader(c).get("grade_id") for c in nb.cells]


def _tests(nb):
    return {nbgrader(c)["grade_id"]: c.source for c in nb.cells if is_test_cell(c)}


def test_rebuild_restores_deleted_edited_and_reordered_test_cells(course, source):
    nb = release_nb(course)
    tests = [c for c in nb.cells if is_test_cell(c)]
    nb.cells.remove(tests[0])  # deleted
    tests[1].source = "2.0"  # edited to claim points
    tests[1].metadata["nbgrader"]["points"] = 100
    nb.cells.insert(0, nb.cells.pop(nb.cells.index(tests[1])))  # moved to the top
    rebuilt, notes = rebuild(nb, source, release_nb(course))
    assert _ids(rebuilt) == _ids(source), "the source's cells, in the source's order"
    assert _tests(rebuilt) == _tests(source), "test cells (with hidden tests) come from the source"
    assert all(nbgrader(c).get("points", 0) <= 2 for c in rebuilt.cells)
    assert any("missing: restored" in n for n in notes) and any("edited: restored" in n for n in notes)


def test_rebuild_keeps_answers_and_added_cells_but_never_grades_them(course, source):
    nb = release_nb(course)
    answers = solutions(course)
    for cell in nb.cells:
        if nbgrader(cell).get("grade_id") in answers:
            cell.source = answers[nbgrader(cell)["grade_id"]]
            cell.metadata["nbgrader"].update(grade=True, points=50)  # tampered metadata
    helper = nbformat.v4.new_code_cell("def helper():\n    return 1")
    fake = nbformat.v4.new_code_cell("3.0", metadata={"nbgrader": {"grade": True, "grade_id": "fake", "points": 9}})
    nb.cells[3:3] = [helper, fake]
    duplicate = nbformat.from_dict(json.loads(json.dumps(nb.cells[-1])))  # a copy of a test cell
    nb.cells.append(duplicate)
    rebuilt, _ = rebuild(nb, source, release_nb(course))
    sources = [c.source for c in rebuilt.cells]
    assert helper.source in sources and "3.0" in sources
    graded = [nbgrader(c)["grade_id"] for c in rebuilt.cells if nbgrader(c).get("grade")]
    assert graded == ["f1-test_split_sizes", "f1-test_error_rate"], "added or duplicated cells are not graded"
    assert sources.index(helper.source) == 3, "an added cell stays after the cell it followed"
    for cell in rebuilt.cells:
        if nbgrader(cell).get("solution"):
            assert cell.source == answers[nbgrader(cell)["grade_id"]]
            assert not nbgrader(cell).get("grade"), "answer metadata comes from the release"
    assert len({c.id for c in rebuilt.cells}) == len(rebuilt.cells)


def test_rebuild_grades_a_deleted_answer_cell_as_blank(course, source):
    nb = release_nb(course)
    nb.cells = [c for c in nb.cells if nbgrader(c).get("grade_id") != "f1-split_sizes"]
    rebuilt, notes = rebuild(nb, source, release_nb(course))
    (answer,) = [c for c in rebuilt.cells if nbgrader(c).get("grade_id") == "f1-split_sizes"]
    assert "raise NotImplementedError()" in answer.source
    assert notes == ["answer cell f1-split_sizes was missing: graded as blank"]


def _test_cell(outputs, points=2):
    cell = nbformat.v4.new_code_cell("check(...)", metadata={"nbgrader": {
        "grade": True, "solution": False, "grade_id": "t", "points": points}})
    cell.outputs = [nbformat.v4.new_output(**o) for o in outputs]
    return nbformat.v4.new_notebook(cells=[cell])


@pytest.mark.parametrize(("outputs", "points"), [
    ([], 2.0),
    ([{"output_type": "execute_result", "data": {"text/plain": "0.5"}, "execution_count": 1}], 0.5),
    ([{"output_type": "execute_result", "data": {"text/plain": "7.0"}, "execution_count": 1}], 0.0),
    ([{"output_type": "stream", "name": "stderr", "text": "warning"}], 0.0),
    ([{"output_type": "error", "ename": "CheckFailed", "evalue": "✗ f: hint", "traceback": []}], 0.0),
])
def test_scores_follow_nbgrader_except_a_value_above_the_points_fails_only_its_cell(outputs, points):
    assert score_cells(_test_cell(outputs))["t"].points == points


def test_a_test_cell_that_never_ran_scores_zero_not_full_marks():
    scores = score_cells(_test_cell([]), not_run={0: "the kernel died earlier"})
    assert scores["t"].points == 0.0 and "kernel died" in scores["t"].message


def test_check_failed_message_is_what_the_student_reads():
    out = {"output_type": "error", "ename": "CheckFailed", "evalue": "✗ f: 0 of 3\n    Hint: divide", "traceback": []}
    assert score_cells(_test_cell([out]))["t"].message == "✗ f: 0 of 3\n    Hint: divide"


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "empty"),
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b"[1, 2]", "not a notebook"),
    (json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": [], "metadata": {}}).encode(), "version 3"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "cells": [{"cell_type": "bogus"}], "metadata": {}}).encode(),
     "malformed"),
])
def test_unreadable_submissions_are_invalid_notebooks(tmp_path, content, reason):
    path = tmp_path / "nb.ipynb"
    path.write_bytes(content)
    with pytest.raises(InvalidNotebook, match=reason):
        read_submission(path)


def test_a_symlinked_notebook_is_refused(tmp_path, course):
    link = tmp_path / "nb.ipynb"
    link.symlink_to(course.source / ASSIGNMENT / NOTEBOOK)
    with pytest.raises(InvalidNotebook, match="symbolic link"):
        read_submission(link)


@pytest.mark.parametrize("name", ["alice", "bob.smith", "s123", "x@uni.edu", "a-b_c+d"])
def test_safe_student_ids(name):
    assert is_safe_id(name)


@pytest.mark.parametrize("name", ["..", ".", "../x", "a/b", "/abs", ".hidden", "a..b", "spa ce", "new\nline",
                                  "", "x" * 65, "é\udcff"])
def test_unsafe_student_ids(name):
    assert not is_safe_id(name)


def test_find_submissions_refuses_odd_names_and_symlinks(tmp_path):
    for name in ("alice", "bad name", ".ipynb_checkpoints", "-dash"):
        (tmp_path / name).mkdir()
    (tmp_path / "README.txt").write_text("not a student")
    (tmp_path / "linked").symlink_to(tmp_path / "alice")
    os.mkdir(os.path.join(os.fsencode(tmp_path), b"bytes\xff"))
    found = {student: problem for student, _, problem in find_submissions(tmp_path)}
    assert found["alice"] is None
    assert "unsafe folder name" in found["bad name"] and "unsafe" in found["-dash"]
    assert "symbolic link" in found["linked"]
    assert found["bytes\\udcff"].startswith("unsafe"), "undecodable names are shown escaped"
    assert ".ipynb_checkpoints" not in found and "README.txt" not in found


def test_worst_status_wins():
    assert worst(["ok", "timeout", "memory"]) == "timeout"
    assert worst(["ok", "crashed", "missing"]) == "missing"


def test_relative_sqlite_url_is_relative_to_the_course_root(tmp_path):
    assert resolve_db_url("sqlite:///grading/gb.db", tmp_path) == f"sqlite:///{tmp_path}/grading/gb.db"
    assert resolve_db_url("postgresql://u@h/db", tmp_path) == "postgresql://u@h/db"


def test_feedback_copy_hides_hidden_tests_and_test_tracebacks(course, source):
    rebuilt, _ = rebuild(release_nb(course), source, release_nb(course))
    test = next(c for c in rebuilt.cells if is_test_cell(c))
    test.outputs = [nbformat.v4.new_output("error", ename="NameError", evalue="name 'split_sizes' is not defined",
                                           traceback=['----> 3 check("split_sizes", split_sizes, hidden=True)'])]
    shown = student_copy(rebuilt, "crashed", "the kernel died")
    text = json.dumps(shown)
    assert "hidden=True" not in text and "HIDDEN TESTS" not in text
    assert "name 'split_sizes' is not defined" in text
    assert shown.cells[0].source.startswith("**Grading status: crashed.**")


def test_the_assignment_is_registered_once_per_version_of_its_source(course, monkeypatch):
    from autograder.grading import grade, release

    calls = []
    real = release.generate
    monkeypatch.setattr(release, "generate", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    grade._register(course, ASSIGNMENT, course.db_url)
    grade._register(course, ASSIGNMENT, course.db_url)
    assert calls == [ASSIGNMENT], "the second run finds this version registered"
    source = course.source / ASSIGNMENT / NOTEBOOK
    nb = nbformat.read(source, as_version=4)
    nb.cells[0].source += "\n\nA new sentence."
    nbformat.write(nb, source)
    grade._register(course, ASSIGNMENT, course.db_url)
    assert calls == [ASSIGNMENT, ASSIGNMENT], "a new version is registered again"


def test_each_result_is_recorded_while_the_others_still_run(course, tmp_path, monkeypatch):
    from autograder.grading import grade

    first_recorded = threading.Event()

    def fake_grade(course, assignment, student, folder, **kwargs):
        # b finishes only once a's result is recorded (or gives up after 120 s and says so)
        detail = "after a" if student == "a" or first_recorded.wait(120) else "a was not recorded yet"
        return grade._unscored(course, assignment, student, "error", detail, "not graded")

    monkeypatch.setattr(grade, "grade_submission", fake_grade)
    for student in ("a", "b"):
        (tmp_path / "subs" / student).mkdir(parents=True)
    results = grade.grade_class(course, ASSIGNMENT, tmp_path / "subs", workers=2,
                                on_result=lambda r: r.student == "a" and first_recorded.set())
    assert [(r.student, r.detail) for r in results] == [("a", "after a"), ("b", "after a")]


def test_a_forged_early_timestamp_does_not_hide_a_late_notebook(tmp_path):
    """timestamp.txt is the student's word; the notebook file's own time, as received, counts too."""
    from datetime import datetime

    from autograder.grading.submission import _timestamp

    (tmp_path / NOTEBOOK).write_text("{}")
    os.utime(tmp_path / NOTEBOOK, (1_700_000_000, 1_700_000_000))  # 2023-11-14 22:13:20 UTC
    (tmp_path / "timestamp.txt").write_text("2000-01-01 00:00:00.000000 UTC")
    assert _timestamp(tmp_path) == datetime(2023, 11, 14, 22, 13, 20)
    (tmp_path / "timestamp.txt").write_text("2024-01-01 00:00:00.000000 UTC")  # submitted after the last save
    assert _timestamp(tmp_path) == datetime(2024, 1, 1)


def test_a_huge_timestamp_file_is_not_read_whole(tmp_path):
    """A 3 GB sparse timestamp.txt: only its first bytes are read (it is then not a date)."""
    from datetime import datetime

    from autograder.grading.submission import _timestamp

    (tmp_path / NOTEBOOK).write_text("{}")
    os.utime(tmp_path / NOTEBOOK, (1_700_000_000, 1_700_000_000))
    with open(tmp_path / "timestamp.txt", "wb") as f:
        f.truncate(3 * 2**30)
    assert _timestamp(tmp_path) == datetime(2023, 11, 14, 22, 13, 20)


@pytest.mark.parametrize("name", ["=2+5", "+SUM(A1:A9)", "-1+1", "@cmd", "\t=1", "\r=1"])
def test_export_cells_a_spreadsheet_would_run_are_made_inert(name):
    from autograder.grading.export import to_csv

    text = to_csv(["student", "score"], [{"student": name, "score": -0.5}])
    assert text.splitlines()[1].startswith(("'", "\"'")), text
    assert text.rstrip("\n").endswith(",-0.5"), "numbers stay numbers"


def test_a_launcher_sees_the_worker_start_and_grading_is_unchanged(course, tmp_path):
    from autograder.grading import runner

    submission = submit(tmp_path / "subs", "ada", course, solutions(course))
    where = {"source": course.source / ASSIGNMENT / NOTEBOOK, "release": course.release / ASSIGNMENT / NOTEBOOK,
             "files": course.release / ASSIGNMENT}
    started = []

    def launcher(args, output, rlimits, group):
        proc = runner.start_worker(args, output, rlimits, group)
        started.append((proc.pid, os.path.isdir(f"/proc/{proc.pid}"), str(output)))
        return proc

    plain = runner.run_worker(submission, where["source"], tmp_path / "plain", release=where["release"],
                              files=where["files"])
    hooked = runner.run_worker(submission, where["source"], tmp_path / "hooked", release=where["release"],
                               files=where["files"], launcher=launcher)
    assert len(started) == 1, "called once, with the started worker"
    pid, running, output = started[0]
    assert pid != os.getpid() and running and output == str(tmp_path / "hooked")
    assert (plain.status, plain.score, plain.max_score) == ("ok", 3.0, 3.0)
    assert (hooked.status, hooked.detail, hooked.notes) == (plain.status, plain.detail, plain.notes)
    assert hooked.cells == plain.cells

