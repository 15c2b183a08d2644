"""HTML feedback for each student, as ``nbgrader generate_feedback`` makes it, without the hidden tests.

The page is nbgrader's feedback template with the scores the grader records, given as data
(the renderer never opens the gradebook). Before rendering, the copy loses what a student must
not see: the hidden-test blocks of the test cells' code, and any traceback of a test cell (it
would quote the hidden test's line); the messages of the checks stay, and so do their hints. A
submission that was not graded normally starts with a note saying why.

What the student wrote is sanitised (:mod:`.sanitize`): no script, event handler, ``javascript:``
URL, frame, object or form reaches the page; images and math stay. Widgets and JavaScript
outputs, which a static page cannot show, are left out (their text form stays); a markdown
image whose attachment is gone (a pasted screenshot) shows its name instead.

Math is typeset in the browser by MathJax 2 from the package jupyter-server-mathjax (the copy
Jupyter itself serves), never from a CDN, so a page opened from disk renders its math offline.
The page's head loads it from ``../../_mathjax/`` (:data:`MATHJAX_URL`): one shared copy that
:func:`share_mathjax` puts in the feedback folder, beside the students' folders, once per course.
MathJax runs in its ``Safe`` mode, so the student's TeX cannot add links, styles or extensions.

The markdown and outputs are the student's, and some markdown takes the renderer minutes, so
each page is rendered in a process of its own (:func:`render_pages` starts it, forked from
:mod:`.prefork`'s server when it runs; :func:`main` is that process) under
:data:`autograder.sandbox.policy.FEEDBACK`'s time, memory and size limits. A page that fails
or hits a limit makes its notebook's status ``error`` with the reason; the score stands, and
the student gets the short status page (:func:`write_status_page`) instead.
"""

import argparse
import copy
import html
import importlib.metadata
import importlib.util
import json
import os
import shutil
import sys
import traceback
from pathlib import Path

import nbformat
import nbgrader
from jinja2 import DictLoader, pass_context
from mistune.util import striptags
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from traitlets.config import Config

from ..sandbox import policy
from ..sandbox.processes import exit_reason, wait_or_kill
from . import prefork
from .cells import grade_id, is_answer, is_graded, is_test_cell
from .cells import nbgrader as nbgrader_meta
from .rebuild import strip_hidden_tests
from .sanitize import clean, page
from .workdir import NotebookFolder, add_detail

_TEMPLATES = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader")
NOT_SHOWN = ("application/vnd.jupyter.widget-view+json", "application/vnd.jupyter.widget-state+json",
             "application/javascript")  # nothing to show them with on a static page

STATUS_NOTES = {
    "timeout": "A time limit was reached; cells that did not finish score 0.",
    "crashed": "The notebook's kernel died; the cells after that point were not run and score 0.",
    "memory": "A cell ran out of memory.",
    "invalid_notebook": "The submitted file could not be read as a notebook; everything scores 0.",
    "missing": "No notebook was found for this assignment; everything scores 0.",
    "error": "The grader could not grade this notebook; your instructor has been told.",
}
# The shared MathJax, in the feedback folder beside feedback/<student>/<assignment>/<notebook>.html; "_" is
# never the first character of a student id (course.STUDENT_ID), so no student's folder can be it.
MATHJAX_FOLDER = "_mathjax"
# TeX (and MathML) input with HTML-CSS output, in one file of the package; Safe mode.
MATHJAX_URL = f"../../{MATHJAX_FOLDER}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
MATHJAX_STAMP = "SOURCE"  # in the shared copy: which package version it was copied from
# nbconvert's macro of the same name (templates/base/mathjax.html.j2) with MATHJAX_URL for its CDN and
# the fonts the package has: only the STIX web fonts (MathJax's default TeX fonts would be fetched and missed).
MATHJAX_MACRO = "{%- macro mathjax(url='" + MATHJAX_URL + "') -%}" + r"""
<script type="text/x-mathjax-config">
MathJax.Hub.Config({
    TeX: {equationNumbers: {autoNumber: "AMS", useLabelIds: true}},
    tex2jax: {inlineMath: [["$", "$"], ["\\(", "\\)"]], displayMath: [["$$", "$$"], ["\\[", "\\]"]],
              processEscapes: true, processEnvironments: true},
    "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null,
                 linebreaks: {automatic: true}},
    displayAlign: "center",
    messageStyle: "none"
});
</script>
<script src="{{ url }}"></script>
{%- endmacro %}
"""
NOT_RENDERED = ("Your notebook was graded and the score above stands, but its feedback page could not be "
                "made; your instructor has been told.")


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTMLExporter with the student's content sanitised (see the module's doc)."""

    def default_filters(self):
        yield from super().default_filters()
        yield ("clean_html", clean)  # the templates' own filter (HTML outputs) keeps paragraphs, tables, images

    @pass_context
    def markdown2html(self, context, source):
        """nbconvert's filter of the same name, where a missing attachment shows its name instead of failing."""
        cell = context.get("cell", {})
        renderer = _Renderer(escape=False, attachments=cell.get("attachments", {}), embed_images=False,
                             path="", anchor_link_text=self.anchor_link_text,
                             exclude_anchor_links=self.exclude_anchor_links, **self.lexer_options)
        return MarkdownWithMath(renderer=renderer).render(source)

    def from_notebook_node(self, nb, resources=None, **kw):
        body, resources = super().from_notebook_node(nb, resources=resources, **kw)
        return page(body), resources


class _Renderer(IPythonRenderer):
    def image(self, text, url, title=None):
        name = url[len("attachment:"):] if url.startswith("attachment:") else None
        if name is not None and name not in self.attachments:
            shown = html.escape(striptags(text) or name)
            return f'<em class="missing-attachment">[image {shown}: not in the notebook]</em>'
        return super().image(text, url, title)


def exporter():
    """A :class:`FeedbackExporter` configured like nbgrader's GenerateFeedback (build once, reuse)."""
    config = Config()
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.extra_template_basedirs = [os.path.join(_TEMPLATES, "templates")]
    config.HTMLExporter.extra_template_paths = [
        os.path.join(_TEMPLATES, "static", "node_modules", "bootstrap", "dist", "css")]
    config.HTMLExporter.sanitize_html = True  # the templates leave out scripts and widgets, and clean HTML outputs
    # Found before nbconvert's own templates: the page's MathJax is the shared copy (see the module's doc).
    return FeedbackExporter(config=config, extra_loaders=[DictLoader({"mathjax.html.j2": MATHJAX_MACRO})])


def share_mathjax(folder):
    """Copy jupyter-server-mathjax's MathJax to ``folder/_mathjax`` for the pages below ``folder``; its path.

    ``folder`` is the course's feedback folder. The copy (12 MB, once per course, not per page) is
    made when it is missing or comes from another version of the package, into a temporary folder
    first, so that a copy cut short is never taken for a complete one.
    """
    files, version = _mathjax_package()
    target = Path(folder) / MATHJAX_FOLDER
    wanted = f"jupyter-server-mathjax {version}\n"
    if _read(target / MATHJAX_STAMP) == wanted:
        return target
    partial = Path(folder) / f".{MATHJAX_FOLDER}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    try:
        shutil.copytree(files, partial)
        (partial / MATHJAX_STAMP).write_text(wanted, encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target


def _mathjax_package():
    """``(folder of MathJax's files, version)`` of jupyter-server-mathjax, found without importing it."""
    spec = importlib.util.find_spec("jupyter_server_mathjax")  # importing it would start loading Jupyter Server
    if spec is None:
        raise RuntimeError("the package jupyter-server-mathjax is not installed (pip install -e '.[grader]'); "
                           "the feedback pages need it for their math")
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    return folder, importlib.metadata.version("jupyter-server-mathjax")


def _read(path):
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def student_copy(nb, status="ok", detail=""):
    """The notebook as the student may see it: no hidden tests, no test-cell tracebacks, nothing active."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            for mime in NOT_SHOWN:
                out.get("data", {}).pop(mime, None)
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


def with_scores(nb, cells):
    """Put the scores on the graded cells, as nbgrader's GetGrades does from the gradebook.

    ``cells``: ``{grade_id: (points or None, max)}``, what the gradebook records; a graded code
    cell without a score scores 0 there, a written answer waits for a person (None).
    """
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if is_graded(cell) or meta.get("task"):
            points, most = cells.get(grade_id(cell), (0.0 if cell.cell_type == "code" else None, None))
            meta["score"], meta["points"] = points, most if most is not None else float(meta.get("points", 0) or 0)
        if is_answer(cell) or meta.get("task"):
            meta["comment"] = None  # no grader's comment yet (the gradebook has none after grading)
    return nb


def render(executed, *, notebook, assignment, student, cells, score, max_score, status="ok", detail="",
           html_exporter=None):
    """The feedback page of one executed (autograded) notebook, as HTML text."""
    nb = with_scores(student_copy(nbformat.read(executed, as_version=4), status, detail), cells)
    resources = {"nbgrader": {"notebook": notebook, "assignment": assignment, "student": student,
                              "score": score, "max_score": max_score, "late_penalty": 0}}
    body, _ = (html_exporter or exporter()).from_notebook_node(nb, resources=resources)
    return body


def write_status_page(html_path, *, notebook, status, detail, score=0.0, max_score=None, note=None):
    """A short page for a notebook that has nothing to render (missing, not graded, or its page failed)."""
    html_path.parent.mkdir(parents=True, exist_ok=True)
    shown = f"{score:g}" if max_score is None else f"{score:g} / {max_score:g}"
    html_path.write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(notebook)}</title></head>"
        f"<body><h4>{html.escape(notebook)} (Score: {shown})</h4><p><b>Grading status: {html.escape(status)}.</b> "
        f"{html.escape(note or STATUS_NOTES.get(status, ''))}</p><p>{html.escape(detail)}</p></body></html>",
        encoding="utf-8")


# --- in the grader: one limited process per page --------------------------------------------------------


def render_pages(result, work, limits=None):
    """Render the feedback page of each executed notebook of ``result`` (a SubmissionResult) into ``work``.

    Each page is rendered by a process of its own under ``limits`` (a
    :class:`~autograder.sandbox.policy.RenderLimits`, default :data:`~autograder.sandbox.policy.FEEDBACK`):
    ``nb.page`` is the page on success; otherwise the notebook's status becomes ``error`` with
    the reason (its scores stay), the submission's too, and the log is kept as ``nb.page_log``.
    """
    limits = limits or policy.FEEDBACK
    for nb in result.notebooks:
        if nb.executed is None:
            continue
        folder = NotebookFolder.under(work, result.student, nb.notebook)
        try:
            reason = _render_in_process(folder, nb, result, limits)
        except Exception as err:  # noqa: BLE001 - e.g. no process could be started: this page fails, not the run
            reason = f"the feedback page could not be rendered ({type(err).__name__}: {err})"
        if reason is None:
            nb.page = folder.page
            continue
        folder.page.unlink(missing_ok=True)  # what a killed process left
        nb.status, nb.page_log = "error", folder.page_log
        nb.detail = add_detail(nb.detail, reason)
        result.status = "error"  # the worst status
        result.detail = add_detail(result.detail, f"{nb.notebook}: {reason}")


def _render_in_process(folder, nb, result, limits):
    """None when the page was rendered, else why not."""
    folder.path.mkdir(parents=True, exist_ok=True)
    job = {"executed": str(Path(nb.executed).absolute()), "page": str(folder.page.absolute()),
           "notebook": Path(nb.notebook).stem, "assignment": result.assignment, "student": result.student,
           "status": nb.status, "detail": nb.detail, "score": nb.score, "max_score": nb.max_score,
           "cells": {gid: [cell.points, cell.max] for gid, cell in nb.cells.items()}}
    folder.render_job.write_text(json.dumps(job), encoding="utf-8")
    proc = prefork.spawn("autograder.grading.feedback", ["--job", str(folder.render_job.absolute())],
                         cwd=folder.path.absolute(), log=folder.page_log, env=policy.render_env(),
                         rlimits=limits.rlimits())
    code, killed = wait_or_kill(proc, limits.timeout)
    if killed:
        return f"the feedback page could not be rendered within {limits.timeout:g} s"
    if code != 0 or not folder.page.is_file():
        last = _last_line(folder.page_log)
        return f"the feedback page could not be rendered ({exit_reason(code)}{': ' + last if last else ''})"
    return None


def _last_line(log, limit=300):
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1][:limit] if lines else ""


def main(argv=None):
    """The rendering process: ``--job FILE`` (JSON, written by :func:`render_pages`); writes the page."""
    parser = argparse.ArgumentParser(description="Render one feedback page (run by the grader).")
    parser.add_argument("--job", required=True)
    job = json.loads(Path(parser.parse_args(argv).job).read_text(encoding="utf-8"))
    try:
        body = render(job["executed"], notebook=job["notebook"], assignment=job["assignment"],
                      student=job["student"], status=job["status"], detail=job["detail"], score=job["score"],
                      max_score=job["max_score"], cells={k: tuple(v) for k, v in job["cells"].items()})
        Path(job["page"]).write_text(body, encoding="utf-8")
    except Exception as err:  # noqa: BLE001 - reported to the grader, which records it
        traceback.print_exc()
        print(f"{type(err).__name__}: {str(err)[:200]}", file=sys.stderr)  # the last line: the reason
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

