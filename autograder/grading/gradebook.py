"""The gradebook: nbgrader's database, written through nbgrader's own API, by one writer.

Scores go where ``nbgrader autograde`` puts them (``Grade.auto_score`` of a submission), so
formgrader and ``nbgrader export`` read them as usual. What nbgrader has no place for, the
grading status of each submission (ok, timeout, crashed, ...), lives in one extra table,
``autograder_status``, in the same database and the same transaction; copy detection's flags
(``grading/similarity.py``) live in ``autograder_similarity``. nbgrader ignores both.

Re-grading a student removes the old submission first (nbgrader's ``remove_submission``),
so a submission that now fails to grade shows its failure and zero, never an older score.
"""

import contextlib
import os
import sys
import warnings
from datetime import UTC, datetime
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy import Column, Float, MetaData, String, Table, Text, select
from sqlalchemy.exc import SAWarning


@contextlib.contextmanager
def known_warnings_hidden():
    """nbgrader 0.9.6 with SQLAlchemy 2.1 warns on every new submission that an object is "not
    in session" while it builds the submission's grades (the rows are saved all the same)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Object of type <\w+> not in session", category=SAWarning)
        yield

STATUS = Table(
    "autograder_status", MetaData(),
    Column("assignment", String(128), primary_key=True),
    Column("student", String(128), primary_key=True),
    Column("status", String(32), nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Column("score", Float, nullable=False, default=0.0),
    Column("max_score", Float, nullable=False, default=0.0),
    Column("graded_at", String(32), nullable=False),
)


DETAIL_CHARS = 2000  # a status detail is cut to this length

# Copy detection's flag per submission (grading/similarity.py): evidence for a person, never a score.
SIMILARITY = Table(
    "autograder_similarity", MetaData(),
    Column("assignment", String(128), primary_key=True),
    Column("student", String(128), primary_key=True),
    Column("best", Text, nullable=False),  # the best match: "<function>: <kind> <name> <score>", "(+N more)"
    Column("score", Float, nullable=False),
    Column("checked_at", String(32), nullable=False),
)
SIMILARITY_NOTE = "similarity: "  # starts the flag's part of a status detail

REGISTERED = Table(  # which version of each assignment's source notebooks nbgrader's tables describe
    "autograder_registered", MetaData(),
    Column("assignment", String(128), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
)


def prepare(url):
    """Make ``url`` usable by nbgrader's Gradebook in this process.

    SQLite creates the file but not its folder (both are made here); and nbgrader 0.9.6 runs ``alembic`` by name
    when it creates a gradebook, so this interpreter's bin goes first on PATH (whatever the
    caller's PATH was).
    """
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()  # exists from now on, so that the sandbox can hide it (SQLite takes an empty file as new)
    bin_dir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bin_dir:
        os.environ["PATH"] = os.pathsep.join(filter(None, [bin_dir, os.environ.get("PATH")]))


def open_gradebook(url):
    """nbgrader's Gradebook at ``url`` (created when new), with the tables of this tool."""
    prepare(url)
    gb = Gradebook(url)
    for table in (STATUS, REGISTERED, SIMILARITY):
        table.create(gb.engine, checkfirst=True)
    return gb


def is_registered(url, assignment, fingerprint):
    """True when the gradebook already holds the cells of this version of the assignment."""
    with open_gradebook(url) as gb:
        row = gb.db.execute(select(REGISTERED.c.fingerprint).where(REGISTERED.c.assignment == assignment)).first()
        return row is not None and row.fingerprint == fingerprint


def mark_registered(url, assignment, fingerprint):
    """Remember that nbgrader registered this version of the assignment's cells (after it did)."""
    with open_gradebook(url) as gb:
        gb.db.execute(REGISTERED.delete().where(REGISTERED.c.assignment == assignment))
        gb.db.execute(REGISTERED.insert().values(assignment=assignment, fingerprint=fingerprint))
        gb.db.commit()


def record(url, result):
    """Store one graded submission (a :class:`~.submission.SubmissionResult`), replacing any earlier one."""
    with known_warnings_hidden(), open_gradebook(url) as gb:
        if result.graded_in_gradebook:
            gb.update_or_create_student(result.student)
            try:
                gb.remove_submission(result.assignment, result.student)
            except MissingEntry:
                pass
            submission = gb.add_submission(result.assignment, result.student, timestamp=result.timestamp)
            scores = {(nb.notebook.rsplit(".", 1)[0], grade_id): cell
                      for nb in result.notebooks for grade_id, cell in nb.cells.items()}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cell = scores.get((notebook.name, grade.name))
                    if cell is not None:
                        grade.auto_score = cell.points
                    elif not grade.cell.cell_type == "markdown":
                        grade.auto_score = 0.0  # a notebook that could not be graded scores 0
        for table in (STATUS, SIMILARITY):  # a flag belongs to the submission that was compared
            gb.db.execute(table.delete().where(table.c.assignment == result.assignment,
                                               table.c.student == result.student))
        gb.db.execute(STATUS.insert().values(
            assignment=result.assignment, student=result.student, status=result.status,
            detail=result.detail[:DETAIL_CHARS], score=result.score, max_score=result.max_score,
            graded_at=datetime.now(UTC).isoformat(timespec="seconds")))
        gb.db.commit()


def statuses(url, assignment=None):
    """``{(assignment, student): row}`` of the status table."""
    with open_gradebook(url) as gb:
        query = select(STATUS)
        if assignment:
            query = query.where(STATUS.c.assignment == assignment)
        return {(row.assignment, row.student): row._asdict() for row in gb.db.execute(query)}


def record_similarity(url, assignment, students, flags):
    """Replace the copy-detection flags of ``students`` (the ones just compared) with ``flags``.

    ``flags`` is ``{student: (text, score)}``. A flag is appended to the student's status
    detail (an earlier flag there is replaced) and kept in the similarity table for the
    export; no score or status changes. Returns ``(recorded, not_graded)``: the flagged
    students written, and those without a graded result to attach the flag to (grade first).
    """
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with open_gradebook(url) as gb:
        graded = {row.student: row.detail for row in gb.db.execute(
            select(STATUS.c.student, STATUS.c.detail).where(STATUS.c.assignment == assignment))}
        for student in students:
            if student not in graded:
                continue
            gb.db.execute(SIMILARITY.delete().where(SIMILARITY.c.assignment == assignment,
                                                    SIMILARITY.c.student == student))
            detail = "; ".join(part for part in (graded[student] or "").split("; ")
                               if part and not part.startswith(SIMILARITY_NOTE))
            if student in flags:
                text, score = flags[student]
                gb.db.execute(SIMILARITY.insert().values(assignment=assignment, student=student, best=text,
                                                         score=score, checked_at=now))
                note = SIMILARITY_NOTE + text.replace("; ", ", ")
                detail = "; ".join(filter(None, [detail[:DETAIL_CHARS - len(note) - 2], note]))
            gb.db.execute(STATUS.update().where(STATUS.c.assignment == assignment, STATUS.c.student == student)
                          .values(detail=detail[:DETAIL_CHARS]))
        gb.db.commit()
    return sorted(s for s in flags if s in graded), sorted(s for s in flags if s not in graded)


def similarity_flags(url, assignment=None):
    """``{(assignment, student): "best match score (+N more)"}`` of the similarity table."""
    with open_gradebook(url) as gb:
        query = select(SIMILARITY)
        if assignment:
            query = query.where(SIMILARITY.c.assignment == assignment)
        return {(row.assignment, row.student): row.best for row in gb.db.execute(query)}
