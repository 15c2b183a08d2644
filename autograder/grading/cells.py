"""What a notebook cell is to nbgrader, decided in one place.

nbgrader keeps its facts in ``cell.metadata["nbgrader"]``: ``grade_id`` (the cell's name),
``grade`` (the cell is worth ``points``), ``solution`` (the student writes in it), ``locked``
and ``task``. The combinations this course uses:

- an **answer** cell: ``solution`` (the student's code; restored metadata, kept code);
- a **test** cell: a code cell with ``grade`` and not ``solution`` (autograded: it calls a check);
- a **graded** cell: any cell with ``grade`` (test cells, and answers a person grades by hand,
  such as a written report); these carry the points of the gradebook;
- a **protected** cell: test, task or locked cells, restored from the source before grading.
"""


def nbgrader(cell):
    """The cell's nbgrader metadata ({} when it has none or it is not a dict)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def grade_id(cell):
    """The cell's nbgrader name, or None."""
    return nbgrader(cell).get("grade_id")


def cell_name(cell, index):
    """The cell's name for messages: its grade_id, or ``cell N`` (counted from 1)."""
    return grade_id(cell) or f"cell {index + 1}"


def is_answer(cell):
    """A cell the student writes in."""
    return bool(nbgrader(cell).get("solution"))


def is_graded(cell):
    """A cell worth points: a test cell, or an answer graded by hand."""
    return bool(nbgrader(cell).get("grade"))


def is_test_cell(cell):
    """An autograded test cell (nbgrader: grade but not solution)."""
    return cell.get("cell_type") == "code" and is_graded(cell) and not is_answer(cell)


def is_protected(cell):
    """Test, task and locked cells: the instructor's, restored from the source."""
    meta = nbgrader(cell)
    return bool(meta.get("grade_id")) and not meta.get("solution") and bool(
        meta.get("grade") or meta.get("locked") or meta.get("task"))


def points(cell):
    """The cell's points (0 when it has none)."""
    return float(nbgrader(cell).get("points", 0) or 0)
