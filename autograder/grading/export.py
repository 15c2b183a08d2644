"""Export the gradebook: one row per student and assignment, one column per graded question.

Columns: ``student, assignment, score, max_score, status, detail, similarity``, then each graded
cell's score (named by its grade_id, in notebook order; blank while a cell awaits grading by
hand). ``detail`` says what happened when the status is not plain ``ok`` (a limit hit, a flag, why
a folder was refused). ``similarity`` names copy detection's best match and its score, blank when
its last pass found none or none ran (``autograder similarity``). Every student of the gradebook
gets a row for every exported assignment, as in ``nbgrader export``; one who has no submission
has a blank score (not a 0 that an LMS would import as a grade) and status ``not_submitted``. A
submission graded by plain nbgrader (no status recorded by this tool) has status ``nbgrader``.
Refused folders (status ``invalid_student``) are listed too, so nothing graded in a run is
missing from the export.
"""

import csv
import io
import json

import nbformat
from nbgrader.api import MissingEntry

from .cells import grade_id, is_graded
from .course import _natural
from .gradebook import open_gradebook, similarity_flags, statuses

FIXED = ["student", "assignment", "score", "max_score", "status", "detail", "similarity"]


def _number(x):
    return round(float(x), 6) if x is not None else None


def _question_order(course, assignment, notebook):
    """grade_ids of a notebook in the source's cell order (None without the source)."""
    if course is None:
        return None
    path = course.source / assignment / f"{notebook}.ipynb"
    if not path.is_file():
        return None
    nb = nbformat.read(path, as_version=4)
    return [grade_id(c) for c in nb.cells if is_graded(c)]


def table(db_url, assignment=None, course=None):
    """``(columns, rows)``: the rows are dicts keyed by the columns (numbers as floats, blank as None)."""
    status_rows = statuses(db_url, assignment)
    similar = similarity_flags(db_url, assignment)
    rows, questions = [], []
    with open_gradebook(db_url) as gb:
        assignments = sorted((a for a in gb.assignments if assignment in (None, a.name)),
                             key=lambda a: _natural(a.name))
        students = sorted(s.id for s in gb.students)
        for a in assignments:
            keys = []
            for notebook in sorted(a.notebooks, key=lambda n: n.name):
                names = [c.name for c in notebook.grade_cells]
                order = _question_order(course, a.name, notebook.name) or sorted(names)
                keys += [(a.name, notebook.name, g) for g in sorted(names, key=lambda g: (
                    order.index(g) if g in order else len(order), g))]
            questions += keys
            for student in students:
                row = {"student": student, "assignment": a.name, "score": None, "max_score": _number(a.max_score)}
                try:
                    submission = gb.find_submission(a.name, student)
                except MissingEntry:
                    submission = None
                if submission is not None:
                    row["score"] = _number(submission.score)
                    for notebook in submission.notebooks:
                        for grade in notebook.grades:
                            row[(a.name, notebook.name, grade.name)] = _number(grade.score)
                recorded = status_rows.get((a.name, student))
                row["status"] = (recorded["status"] if recorded else
                                 "nbgrader" if submission is not None else "not_submitted")
                row["detail"] = (recorded or {}).get("detail") or None
                row["similarity"] = similar.get((a.name, student))
                rows.append(row)
            for (name, student), recorded in sorted(status_rows.items()):
                if name == a.name and recorded["status"] == "invalid_student" and student not in students:
                    rows.append({"student": student, "assignment": name, "score": 0.0,
                                 "max_score": _number(a.max_score), "status": "invalid_student",
                                 "detail": recorded.get("detail") or None})
    names = [q[2] for q in questions]
    column = {q: q[2] if names.count(q[2]) == 1 else "/".join(q) for q in questions}
    columns = FIXED + [column[q] for q in questions]
    return columns, [{c: row.get(c) for c in FIXED} | {column[q]: row.get(q) for q in questions} for row in rows]


def to_csv(columns, rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([_inert(c) for c in columns])
    for row in rows:
        writer.writerow(["" if row[c] is None else _inert(row[c]) for c in columns])
    return out.getvalue()


def _inert(value):
    """A text cell that a spreadsheet would read as a formula (``=2+5``, ``@SUM(...)``) gets a leading ``'``."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_json(columns, rows):
    return json.dumps([{c: row[c] for c in columns} for row in rows], indent=1, ensure_ascii=False) + "\n"


def export(db_url, *, assignment=None, fmt="csv", course=None):
    """The export as text, in ``fmt`` ("csv" or "json")."""
    columns, rows = table(db_url, assignment, course)
    return (to_csv if fmt == "csv" else to_json)(columns, rows)
