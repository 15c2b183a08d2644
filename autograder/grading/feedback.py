"""HTML feedback for each student, as ``nbgrader generate_feedback`` makes it, without the hidden tests.

The page is nbgrader's feedback template with the scores read back from the gradebook
(nbgrader's ``GetGrades``). Before rendering, the copy loses what a student must not see:
the hidden-test blocks of the test cells' code, and any traceback of a test cell (it would
quote the hidden test's line); the messages of the checks stay, and so do their hints. A
submission that was not graded normally starts with a note saying why.
"""

import copy
import html
import os

import nbformat
import nbgrader
from nbconvert.exporters import HTMLExporter
from nbgrader.preprocessors import GetGrades
from traitlets.config import Config

from .cells import is_test_cell
from .gradebook import known_warnings_hidden
from .rebuild import strip_hidden_tests

_TEMPLATES = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader")

STATUS_NOTES = {
    "timeout": "A time limit was reached; cells that did not finish score 0.",
    "crashed": "The notebook's kernel died; the cells after that point were not run and score 0.",
    "memory": "A cell ran out of memory.",
    "invalid_notebook": "The submitted file could not be read as a notebook; everything scores 0.",
    "missing": "No notebook was found for this assignment; everything scores 0.",
    "error": "The grader could not grade this notebook; your instructor has been told.",
}


def exporter():
    """An HTMLExporter configured like nbgrader's GenerateFeedback (build once, reuse)."""
    config = Config()
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.extra_template_basedirs = [os.path.join(_TEMPLATES, "templates")]
    config.HTMLExporter.extra_template_paths = [
        os.path.join(_TEMPLATES, "static", "node_modules", "bootstrap", "dist", "css")]
    return HTMLExporter(config=config)


def student_copy(nb, status="ok", detail=""):
    """The notebook as the student may see it: no hidden tests, no test-cell tracebacks."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if not is_test_cell(cell):
            continue
        cell.source = strip_hidden_tests(cell.source)
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                out.traceback = [f"{out.get('ename')}: {line}" if i == 0 else line
                                 for i, line in enumerate(str(out.get("evalue", "")).splitlines() or [""])]
    if status != "ok":
        text = f"**Grading status: {status}.** {STATUS_NOTES.get(status, '')}"
        if detail:
            text += f"\n\nDetails: {detail}"
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(text))
    return nb


def write(executed, html_path, *, db_url, assignment, student, status="ok", detail="", html_exporter=None):
    """Render one executed (autograded) notebook's feedback page to ``html_path``."""
    nb = student_copy(nbformat.read(executed, as_version=4), status, detail)
    notebook = os.path.splitext(os.path.basename(html_path))[0]
    resources = {"nbgrader": {"notebook": notebook, "assignment": assignment, "student": student,
                              "db_url": db_url}}
    with known_warnings_hidden():
        nb, resources = GetGrades().preprocess(nb, resources)
    body, _ = (html_exporter or exporter()).from_notebook_node(nb, resources=resources)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(body, encoding="utf-8")


def write_status_page(html_path, *, notebook, status, detail):
    """A short page for a notebook that has nothing to render (missing, or not graded)."""
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(notebook)}</title></head>"
        f"<body><h4>{html.escape(notebook)} (Score: 0)</h4><p><b>Grading status: {html.escape(status)}.</b> "
        f"{html.escape(STATUS_NOTES.get(status, ''))}</p><p>{html.escape(detail)}</p></body></html>",
        encoding="utf-8")
