"""Scores of an executed notebook's test cells, the way nbgrader computes them.

A test cell scores 0 when it shows an error or writes to stderr, the value of its last
expression when that is a number (partial credit), and full marks otherwise
(:func:`nbgrader.utils.determine_grade`). Unlike plain nbgrader, a value above the cell's
points fails that cell only (not the whole submission), and a cell that never ran (after a
crash or a timeout) scores 0 instead of full marks.
"""

import re
from dataclasses import asdict, dataclass

from nbgrader.utils import determine_grade

from . import cells

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MAX_MESSAGE = 8000


@dataclass
class CellScore:
    """One test cell: its points (None: needs manual grading), its maximum and the message."""

    points: float | None
    max: float
    message: str = ""
    public: float | None = None  # verification only: the score on the cases the notebook ran

    def to_dict(self):
        return asdict(self)


def score_cells(nb, not_run=None):
    """``{grade_id: CellScore}`` for every grade cell of ``nb``, in notebook order.

    ``not_run`` maps the index of each cell that did not run to the reason.
    """
    not_run = not_run or {}
    scores = {}
    for index, cell in enumerate(nb.cells):
        if not cells.is_graded(cell):
            continue
        meta, max_points = cells.nbgrader(cell), cells.points(cell)
        if index in not_run and cell.cell_type == "code" and not cells.is_answer(cell):
            scores[meta["grade_id"]] = CellScore(0.0, max_points, f"not run: {not_run[index]}")
            continue
        try:
            points, max_points = determine_grade(cell)
        except (ValueError, KeyError, TypeError) as err:  # e.g. a number above the points
            scores[meta["grade_id"]] = CellScore(0.0, max_points, f"no credit: {err}")
            continue
        scores[meta["grade_id"]] = CellScore(
            None if points is None else float(points), float(max_points), cell_message(cell))
    return scores


def cell_message(cell):
    """What the student should read from a test cell's outputs: the check's report, or the error."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            if out.get("ename") == "CheckFailed":
                parts.append(out.get("evalue", ""))
            else:
                parts.append(f"{out.get('ename')}: {out.get('evalue')}")
        elif out.get("output_type") == "stream":
            text = out.get("text", "")
            parts.append(text if out.get("name") == "stdout" else f"(written to stderr, which scores 0) {text}")
    message = ANSI.sub("", "\n".join(p.strip("\n") for p in parts if p)).strip()
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + "\n[... cut]"


def total(scores):
    """(points, max points) of a ``{grade_id: CellScore}``; cells awaiting manual grading count 0."""
    return (sum(s.points or 0.0 for s in scores.values()), sum(s.max for s in scores.values()))
