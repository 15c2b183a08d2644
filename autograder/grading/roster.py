"""Students' names from a roster: a CSV file read into nbgrader's gradebook.

The columns are those of ``nbgrader db student import``: ``id`` (required: the student's
folder name under ``grading/submitted``), and any of ``first_name``, ``last_name``, ``email``,
``lms_user_id``; other columns are ignored. As there, an empty cell clears the field and a
column the file does not have leaves the field as it was. Unlike there, a roster is checked
whole before anything is written: a missing ``id`` column, an empty, unusable or repeated id
is an error naming the rows, and the gradebook is not touched.

Grading keeps these names: it adds a student it does not know by id only and never changes
the fields of one it knows (``gradebook.record``).
"""

import csv
from dataclasses import dataclass, field
from pathlib import Path

from .course import is_safe_id
from .gradebook import open_gradebook

FIELDS = ("first_name", "last_name", "email", "lms_user_id")  # nbgrader's Student columns besides id


class RosterError(ValueError):
    """A roster that cannot be imported; the message names the file and the rows."""


@dataclass(frozen=True)
class Student:
    """One row of a roster: the id and the fields the file has (``None`` for an empty cell)."""

    id: str
    fields: dict = field(default_factory=dict)


def read_roster(path):
    """The students of the roster CSV at ``path``, in file order.

    Header names are matched without regard to case or surrounding spaces, and a UTF-8
    byte-order mark (as spreadsheet programs write) is skipped.

    Raises
    ------
    RosterError
        Not readable as UTF-8 CSV, no ``id`` column, no students, or an id that is empty,
        not usable as a folder name, or on more than one row.
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [name.strip().lower() for name in next(reader, [])]
            rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise RosterError(f"cannot read the roster {path}: {err}") from None
    if "id" not in header:
        found = ", ".join(name for name in header if name) or "none"
        raise RosterError(f"the roster {path} has no 'id' column (its columns: {found}); "
                          f"expected id and any of {', '.join(FIELDS)}")
    students = [_student(header, line, row, path) for line, row in rows]
    if not students:
        raise RosterError(f"the roster {path} has no students (only a header)")
    _refuse_duplicates(students, [line for line, _ in rows], path)
    return students


def _student(header, line, row, path):
    cells = dict(zip(header, (cell.strip() for cell in row), strict=False))
    student_id = cells.get("id", "")
    if not student_id:
        raise RosterError(f"the roster {path} has a row without an id (line {line})")
    if not is_safe_id(student_id):
        raise RosterError(f"the roster {path} has an id that cannot be a submission folder name, "
                          f"{student_id!r} (line {line}): use letters, digits and . _ @ + -")
    # A short row lacks its last cells: they count as empty, as in nbgrader's csv.DictReader.
    return Student(student_id, {name: cells.get(name) or None for name in FIELDS if name in header})


def _refuse_duplicates(students, lines, path):
    seen = {}
    for student, line in zip(students, lines, strict=True):
        seen.setdefault(student.id, []).append(line)
    repeated = {sid: where for sid, where in seen.items() if len(where) > 1}
    if repeated:
        listed = "; ".join(f"{sid} (lines {', '.join(map(str, where))})" for sid, where in repeated.items())
        raise RosterError(f"the roster {path} has the same id on more than one row: {listed}")


def import_roster(db_url, students):
    """Add or update ``students`` in the gradebook at ``db_url`` (nbgrader's ``update_or_create_student``).

    Returns
    -------
    (added, updated, unlisted) : tuple of lists of str
        The ids new to the gradebook, those that were there already, and the gradebook's
        students that the roster does not list (graded under an id the roster lacks, say).
    """
    with open_gradebook(db_url) as gb:
        known = {student.id for student in gb.students}
        for student in students:
            gb.update_or_create_student(student.id, **student.fields)
        listed = {student.id for student in students}
        added = [s.id for s in students if s.id not in known]
        updated = [s.id for s in students if s.id in known]
        return added, updated, sorted(known - listed)
