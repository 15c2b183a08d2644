"""Rebuild a submitted notebook around the instructor's cells before it runs.

Every test cell and every locked cell comes from the source notebook (``solutions/``, which
has the hidden tests), matched by ``grade_id``, in the source's order. The student's answer
cells keep their code but get the source's metadata back. Cells the student added stay
where they were (after the instructor cell they followed), without nbgrader metadata, so
they can never count as test cells. Deleting, editing, duplicating, re-ordering or
re-tagging a test cell therefore changes nothing about grading.
"""

import copy
import uuid

import nbformat

from .cells import is_answer, is_protected, is_test_cell, nbgrader


def rebuild(submission, source, release=None):
    """The notebook to execute, and notes on what was restored.

    Parameters
    ----------
    submission : NotebookNode (v4), the student's notebook; not modified.
    source : NotebookNode, the source notebook with solutions and hidden tests.
    release : NotebookNode or None, the student version, for the blank answers of answer
        cells that the student deleted (without it the source's answer is not used: the
        answer becomes an empty cell).

    Returns
    -------
    (NotebookNode, list of str)
    """
    slots = [(nbgrader(c)["grade_id"], c) for c in source.cells
             if nbgrader(c).get("grade_id") and (is_answer(c) or is_protected(c))]
    known = dict(slots)
    blanks = {nbgrader(c).get("grade_id"): c for c in (release.cells if release else []) if is_answer(c)}
    found, added, anchor = {}, {None: []}, None
    for cell in submission.cells:
        grade_id = nbgrader(cell).get("grade_id")
        if grade_id in known and grade_id not in found:
            found[grade_id], anchor = cell, grade_id
            added.setdefault(grade_id, [])
            continue
        added.setdefault(anchor, []).append(_student_cell(cell))

    notes, cells = [], list(added[None])
    for grade_id, src in slots:
        mine = found.get(grade_id)
        if is_answer(src):
            if mine is None:
                notes.append(f"answer cell {grade_id} was missing: graded as blank")
                mine = blanks.get(grade_id) or nbformat.v4.new_code_cell("")
            # The release's metadata has nbgrader's checksum of the blank answer (manual grading).
            cells.append(_answer_cell(blanks.get(grade_id, src), mine))
        else:
            if is_test_cell(src):
                if mine is None:
                    notes.append(f"test cell {grade_id} was missing: restored")
                elif mine.get("source") != _release_source(src) and mine.get("source") != src.source:
                    notes.append(f"test cell {grade_id} was edited: restored")
            cells.append(_instructor_cell(src))
        cells.extend(added.get(grade_id, []))
    nb = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(source.metadata))
    nb.nbformat_minor = max(source.get("nbformat_minor", 5), 5)
    _unique_ids(nb)
    return nb, notes


def _release_source(cell):
    """A test cell's source as the student sees it (without the hidden tests)."""
    return strip_hidden_tests(cell.source)


def strip_hidden_tests(source):
    """``source`` without its ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` blocks."""
    lines, hidden = [], False
    for line in source.splitlines(keepends=True):
        if "BEGIN HIDDEN TESTS" in line:  # the markers nbgrader looks for
            hidden = True
        elif "END HIDDEN TESTS" in line:
            hidden = False
        elif not hidden:
            lines.append(line)
    return "".join(lines).rstrip("\n")


def _instructor_cell(src):
    cell = copy.deepcopy(src)
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


def _answer_cell(src, mine):
    """The student's answer in a cell with the source's type and metadata."""
    cell = copy.deepcopy(src)
    text = mine.get("source", "")
    cell.source = "".join(text) if isinstance(text, list) else str(text)
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    if "attachments" in mine and cell.cell_type == "markdown":
        cell.attachments = copy.deepcopy(mine["attachments"])
    return cell


def _student_cell(cell):
    """A cell the student added (or a duplicate): kept as plain content, never graded."""
    kind = cell.get("cell_type")
    text = cell.get("source", "")
    text = "".join(text) if isinstance(text, list) else str(text)
    if kind == "code":
        new = nbformat.v4.new_code_cell(text)
    elif kind == "markdown":
        new = nbformat.v4.new_markdown_cell(text)
        if cell.get("attachments"):  # a pasted screenshot: the page shows it
            new.attachments = copy.deepcopy(cell["attachments"])
    else:
        new = nbformat.v4.new_raw_cell(text)
    return new


def _unique_ids(nb):
    seen = set()
    for cell in nb.cells:
        if not isinstance(cell.get("id"), str) or cell.get("id") in seen:
            cell.id = uuid.uuid4().hex[:8]
        seen.add(cell.id)
