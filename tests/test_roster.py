"""``autograder roster import``: students' names from a CSV into the gradebook, kept by grading.

formgrader's student list is the gradebook's ``student`` table (``NbGraderAPI.get_students``),
so a name there is a name in formgrader; tests/test_lab.py reads it from a running formgrader.
"""

from pathlib import Path

import pytest
from fixtures.grading_support import ASSIGNMENT, copy_course, run_cli, solutions, submit
from nbgrader.api import Gradebook

from autograder.grading.cli import main


def write(path, text, encoding="utf-8"):
    Path(path).write_bytes(text.encode(encoding))
    return Path(path)


def names(course):
    """``{id: (first_name, last_name, email)}`` of every student in the course's gradebook."""
    with Gradebook(course.db_url) as gb:
        return {s.id: (s.first_name, s.last_name, s.email) for s in gb.students}


ROSTER = ("id,first_name,last_name,email\n"
          "ada,Ada,Lovelace,ada@example.org\n"
          "ben,Ben,Okafor,\n")


def test_import_writes_names_and_emails_into_the_gradebook(tmp_path, capsys):
    course = copy_course(tmp_path)
    code, out = run_cli(capsys, "roster", "import", write(tmp_path / "roster.csv", ROSTER), "--root", course.root)
    assert code == 0, out
    assert "imported 2 student(s): 2 new, 0 updated" in out
    assert names(course) == {"ada": ("Ada", "Lovelace", "ada@example.org"), "ben": ("Ben", "Okafor", None)}


def test_spreadsheet_export_with_bom_spaces_and_other_columns_is_read(tmp_path, capsys):
    course = copy_course(tmp_path)
    roster = write(tmp_path / "roster.csv", " ID , Last_Name ,section\r\nada, Lovelace ,B\r\n\r\n", "utf-8-sig")
    code, out = run_cli(capsys, "roster", "import", roster, "--root", course.root)
    assert code == 0, out
    assert names(course) == {"ada": (None, "Lovelace", None)}


def test_grading_keeps_imported_names_and_adds_unlisted_students_by_id(tmp_path, capsys):
    course = copy_course(tmp_path)
    run_cli(capsys, "roster", "import", write(tmp_path / "roster.csv", ROSTER), "--root", course.root)
    subs = tmp_path / "subs"
    submit(subs, "ada", course, solutions(course))
    submit(subs, "zed", course)  # not on the roster
    code, out = run_cli(capsys, "grade", ASSIGNMENT, "--submissions", subs, "--root", course.root, "--workers", "2")
    assert code == 0, out
    assert names(course) == {"ada": ("Ada", "Lovelace", "ada@example.org"), "ben": ("Ben", "Okafor", None),
                             "zed": (None, None, None)}
    with Gradebook(course.db_url) as gb:
        assert gb.find_submission(ASSIGNMENT, "ada").score == 3.0  # the fixture's full marks: 2 + 1
    # Importing again updates in place and names the graded student the roster lacks.
    code, out = run_cli(capsys, "roster", "import", tmp_path / "roster.csv", "--root", course.root)
    assert code == 0, out
    assert "2 new" not in out and "0 new, 2 updated" in out
    assert "not on the roster: zed" in out


def test_a_new_roster_updates_its_columns_and_leaves_the_others(tmp_path, capsys):
    course = copy_course(tmp_path)
    run_cli(capsys, "roster", "import", write(tmp_path / "first.csv", ROSTER), "--root", course.root)
    # No email column: emails stay. An empty cell clears its field, as nbgrader's importer does.
    second = write(tmp_path / "second.csv", "id,first_name,last_name\nada,Augusta Ada,King\nben,,Okafor\n")
    code, out = run_cli(capsys, "roster", "import", second, "--root", course.root)
    assert code == 0, out
    assert names(course) == {"ada": ("Augusta Ada", "King", "ada@example.org"), "ben": (None, "Okafor", None)}


BAD_ROSTERS = [  # (file content, words of the one-line error)
    ("first_name,last_name\nAda,Lovelace\n", "has no 'id' column (its columns: first_name, last_name)"),
    ("id,first_name\nada,Ada\nben,Ben\nada,Augusta\n", "same id on more than one row: ada (lines 2, 4)"),
    ("id,first_name\nada,Ada\n,Ben\n", "a row without an id (line 3)"),
    ("id\n../etc\n", "cannot be a submission folder name, '../etc' (line 2)"),
    ("id\n", "has no students"),
    ("", "has no 'id' column (its columns: none)"),
]


@pytest.mark.parametrize(("content", "words"), BAD_ROSTERS, ids=[w.split(" (")[0] for _, w in BAD_ROSTERS])
def test_a_bad_roster_is_one_line_exit_1_and_writes_nothing(tmp_path, capsys, content, words):
    course = copy_course(tmp_path)
    roster = write(tmp_path / "roster.csv", content)
    code = main(["roster", "import", str(roster), "--root", str(course.root)])
    out, err = capsys.readouterr()
    assert code == 1 and out == "", out
    assert err.startswith("autograder: error: the roster ") and err.count("\n") == 1, err
    assert words in err, err
    gradebook = course.grading / "gradebook.db"
    assert course.db_url == f"sqlite:///{gradebook}" and not gradebook.exists(), "nothing should be written"


def test_a_roster_that_is_not_utf8_text_is_one_line_exit_1(tmp_path, capsys):
    course = copy_course(tmp_path)
    roster = write(tmp_path / "roster.csv", "id,last_name\nzoe,Müller\n", "latin-1")
    code = main(["roster", "import", str(roster), "--root", str(course.root)])
    out, err = capsys.readouterr()
    assert code == 1 and err.count("\n") == 1 and "cannot read the roster" in err, err


def test_a_missing_roster_file_is_a_usage_error(tmp_path, capsys):
    course = copy_course(tmp_path)
    code = main(["roster", "import", str(tmp_path / "nope.csv"), "--root", str(course.root)])
    out, err = capsys.readouterr()
    assert code == 2 and out == "", out
    assert err == f"autograder: error: Invalid value for 'roster': file '{tmp_path / 'nope.csv'}' does not exist.\n"
