"""Feedback pages cannot stop a class, stall it, or run the student's JavaScript (issue "grading safety, round 2").

One class is graded in one run: a pasted screenshot whose attachment is gone, a widget display
without a model id, markdown that takes the renderer minutes, and markdown and outputs full of
scripts, event handlers and ``javascript:`` links; then an honest student (sorting last), whose
page has a plot and math. Every student is recorded, with the score the grading gave.

The renderer's time limit is set small here (``policy.FEEDBACK``); the slow markdown would take
far longer than that (minutes: its time grows with the cube of its size), and the other pages
take a fraction of it. No assertion is about a duration.
"""

import base64
import contextlib
import importlib.util
import io
import re

import nbformat
import pytest
from bs4 import BeautifulSoup
from fixtures.grading_support import ASSIGNMENT, FLOOR_ALL, copy_course, solutions, submit

from autograder.grading import feedback, sanitize
from autograder.grading.cli import main
from autograder.grading.export import table
from autograder.grading.gradebook import statuses
from autograder.sandbox import policy

RENDER_LIMIT = policy.RenderLimits(timeout=8.0)
SLOW_MARKDOWN = "*a [" * 16000 + "b" + "](c) a*" * 16000  # 176 KB of emphasis across nested links
# a 1x1 PNG
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154"
    "78da63f8cfc0f01f0005000201a2d7a3e30000000049454e44ae426082")).decode()
HOSTILE_MARKDOWN = (
    "Look: <script>document.querySelector('h4').innerText = 'Score: 10 / 10'</script>"
    "<img src=x onerror=\"alert('img')\"> [a link](javascript:alert('md')) "
    "<a href=\"JaVaScRiPt:alert('html')\" onclick=\"alert('click')\">another</a> "
    "<iframe src=\"https://example.org\"></iframe><object data=\"x.swf\"></object><embed src=\"x.swf\">"
    "<form action=\"https://example.org\"><input name=\"q\"><button>send</button></form>"
    "<style>h4 { display: none }</style><svg onload=\"alert('svg')\"></svg>")
HOSTILE_OUTPUTS = f"""from IPython.display import HTML, Javascript, display
display(HTML("<b>bold stays</b><script>document.querySelector('h4').innerText = 'Score: 10 / 10'</script>"
             "<img src=x onerror=alert('html-output')><a href='javascript:alert(1)'>link</a>"))
display(Javascript("document.querySelector('h4').innerText = 'Score: 10 / 10'"))
display({{"image/png": "{PNG}", "text/plain": "a picture"}},
        metadata={{"image/png": {{"width": "1 onerror=alert('width')"}}}}, raw=True)
display({{"text/html": "<p>in a frame</p><script>alert('isolated')</script>"}},
        metadata={{"text/html": {{"isolated": True}}}}, raw=True)
"""
WIDGET = """from IPython.display import display
display({"application/vnd.jupyter.widget-view+json": {"version_major": 2, "version_minor": 0},
         "text/plain": "IntSlider(value=3)"}, raw=True)
"""
PLOT = """%matplotlib inline
import matplotlib.pyplot as plt
plt.plot([0, 1, 2], [0, 1, 4])
plt.show()
"""
STUDENTS = {  # folder: (status, score); the honest student sorts after every hostile one
    "ann-screenshot": ("ok", 3.0),
    "bea-widget": ("ok", 3.0),
    "cal-slow-markdown": ("error", 3.0),  # graded; only its page could not be rendered in time
    "dan-scripts": ("ok", None),  # FLOOR_ALL: split_sizes partly right
    "zoe-honest": ("ok", 3.0),
}


def _cells(*cells):
    """An ``edit`` for :func:`submit`: the student's own cells after the imports."""
    def edit(nb):
        nb.cells[2:2] = list(cells)
    return edit


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("feedback-safety")
    course = copy_course(tmp)
    done, subs = solutions(course), tmp / "submitted"
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    submit(subs, "ann-screenshot", course, done, edit=_cells(md("My result:\n\n![image.png](attachment:image.png)")))
    submit(subs, "bea-widget", course, done, edit=_cells(code(WIDGET)))
    submit(subs, "cal-slow-markdown", course, done, edit=_cells(md(SLOW_MARKDOWN)))
    submit(subs, "dan-scripts", course, {**done, "f1-split_sizes": FLOOR_ALL},
           edit=_cells(md(HOSTILE_MARKDOWN), code(HOSTILE_OUTPUTS)))
    submit(subs, "zoe-honest", course, done, edit=_cells(
        md("The error is $\\frac{1}{m}\\sum_i [\\hat y_i \\ne y_i]$, see ![plot](attachment:plot.png)",
           attachments={"plot.png": {"image/png": PNG}}),
        code(PLOT)))
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out):
        patch.setattr(policy, "FEEDBACK", RENDER_LIMIT)
        code = main(["grade", ASSIGNMENT, "--submissions", str(subs), "--root", str(course.root),
                     "--workers", "2", "--cell-timeout", "60"])
    assert code == 1, out.getvalue()  # a submission in error: exit 1, once every student is recorded
    rows = {r["student"]: r for r in table(course.db_url, ASSIGNMENT, course)[1]}
    pages = {p.parent.parent.name: p.read_text() for p in course.feedback.glob(f"*/{ASSIGNMENT}/*.html")}
    return course, rows, pages


def test_every_student_is_recorded_with_the_status_and_score_of_the_grading(graded):
    course, rows, pages = graded
    assert set(rows) == set(STUDENTS) == set(pages)
    for student, (status, score) in STUDENTS.items():
        assert rows[student]["status"] == status, rows[student]
        if score is None:
            assert 0.0 < rows[student]["score"] < 3.0, rows[student]
        else:
            assert rows[student]["score"] == score, rows[student]
    detail = statuses(course.db_url, ASSIGNMENT)[ASSIGNMENT, "cal-slow-markdown"]["detail"]
    assert f"could not be rendered within {RENDER_LIMIT.timeout:g} s" in detail, detail


def test_a_page_that_cannot_be_rendered_is_the_status_page_with_the_score_that_stands(graded):
    course, _, pages = graded
    page = pages["cal-slow-markdown"]
    assert "Grading status: error." in page and "could not be rendered" in page and feedback.NOT_RENDERED in page
    assert "(Score: 3 / 3)" in page
    assert "*a [" not in page, "the status page has nothing of the notebook"


def test_a_missing_attachment_and_a_widget_without_model_render_as_text(graded):
    _, _, pages = graded
    assert "[image image.png: not in the notebook]" in pages["ann-screenshot"]
    assert "IntSlider(value=3)" in pages["bea-widget"]
    for student in ("ann-screenshot", "bea-widget"):
        assert "Score: 3.0 / 3.0" in pages[student] and "Grading status" not in pages[student]


def _student_part(page):
    """What follows the template's <body>: the score table and the student's cells."""
    return page.partition("<body>")[2]


ACTIVE = ("script", "iframe", "frame", "object", "embed", "form", "input", "button", "style", "svg", "math", "base",
          "meta", "link")


def test_hostile_pages_carry_no_script_handler_javascript_url_frame_or_form(graded):
    """Checked in the markup (tags and attributes): the student's code is shown as text, and it says "onerror="""
    _, _, pages = graded
    for student, page in pages.items():
        body = _student_part(page)
        assert body, student
        assert "<script" not in body.lower(), student
        assert not re.search(r"<[^>]*\son\w+\s*=", body, re.IGNORECASE), student
        assert not re.search(r"<[^>]*javascript:", body, re.IGNORECASE), student
        for element in BeautifulSoup(body, "html.parser").find_all(True):
            assert element.name not in ACTIVE, (student, str(element)[:200])
            for name, value in element.attrs.items():
                value = " ".join(value) if isinstance(value, list) else value
                assert not name.lower().startswith("on"), (student, str(element)[:200])
                assert "javascript:" not in re.sub(r"\s", "", value).lower(), (student, str(element)[:200])
                assert not value.lower().startswith("data:") or value.startswith("data:image/"), student
    scripts = _student_part(pages["dan-scripts"])
    assert "<b>bold stays</b>" in scripts and "Look:" in scripts, "what is harmless is still shown"
    assert "Score: 10 / 10" not in BeautifulSoup(scripts, "html.parser").find("h4").text
    assert scripts.count("data:image/png;base64,") == 1, "the PNG output, without its injected attribute"


def test_the_template_keeps_its_own_head_and_math_typesetting(graded):
    _, _, pages = graded
    head = pages["zoe-honest"].partition("<body>")[0]
    assert "MathJax" in head and "text/x-mathjax-config" in head, "MathJax (its Safe mode) is the template's"
    assert "bootstrap" in head.lower()


def test_the_page_loads_mathjax_in_safe_mode_from_the_copy_beside_the_pages_not_a_cdn(graded):
    course, _, pages = graded
    head = BeautifulSoup(pages["zoe-honest"].partition("<body>")[0], "html.parser")
    sources = [script["src"] for script in head.find_all("script", src=True)]
    assert len(sources) == 1 and not head.find_all("link"), (sources, head.find_all("link"))
    path, _, query = sources[0].partition("?")
    assert not re.match(r"([a-z]+:)?//", path), f"MathJax must not come from the network: {path}"
    assert "Safe" in query.partition("config=")[2].split(","), query
    shared = course.feedback / "_mathjax"
    for student in STUDENTS:  # every page's folder reaches the one shared copy
        assert (course.feedback / student / ASSIGNMENT / path).resolve() == (shared / "MathJax.js").resolve()
    assert (shared / "MathJax.js").is_file() and (shared / "config" / "Safe.js").is_file()
    assert list((shared / "fonts" / "HTML-CSS" / "STIX-Web" / "woff").glob("*.woff")), "the web fonts it uses"


def test_the_shared_mathjax_is_copied_once_and_again_for_another_package_version(tmp_path):
    shared = feedback.share_mathjax(tmp_path)
    assert shared == tmp_path / "_mathjax" and (shared / "MathJax.js").is_file()
    (shared / "MathJax.js").write_text("changed")
    feedback.share_mathjax(tmp_path)
    assert (shared / "MathJax.js").read_text() == "changed", "an up-to-date copy is left as it is"
    (shared / "SOURCE").write_text("jupyter-server-mathjax 0.0.1\n")
    feedback.share_mathjax(tmp_path)
    assert "MathJax.Hub" in (shared / "MathJax.js").read_text(), "a copy of another version is replaced"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_mathjax"], "no partial copy is left behind"


def test_without_the_mathjax_package_grading_stops_saying_what_to_install(tmp_path, monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "jupyter_server_mathjax" else find_spec(name, *args))
    with pytest.raises(RuntimeError, match=r"jupyter-server-mathjax is not installed \(pip install"):
        feedback.share_mathjax(tmp_path)
    assert not list(tmp_path.iterdir())


def test_the_honest_page_shows_scores_answers_plot_attachment_and_math(graded):
    course, rows, pages = graded
    page = _student_part(pages["zoe-honest"])
    assert "(Score: 3.0 / 3.0)" in page and "Grading status" not in page
    assert "split_sizes" in page and "error_rate" in page
    assert "$\\frac{1}{m}\\sum_i [\\hat y_i \\ne y_i]$" in page, "math reaches MathJax as text"
    assert page.count("data:image/png;base64,") == 2, "the plot and the pasted attachment, inline (offline)"
    assert not re.search(r"""src=["']?(https?:)?//""", page), "no image needs the network"
    assert (course.autograded / "zoe-honest" / ASSIGNMENT / "f1_fixture.ipynb").is_file()


# --- the sanitiser and the renderer's process on their own -------------------------------------------------


@pytest.mark.parametrize("dirty, kept, gone", [
    ("<p>a <b>b</b></p><script>alert(1)</script>", "<p>a <b>b</b></p>", "alert"),
    ('<img src="data:image/png;base64,AAAA" alt="x" onerror="alert(1)">', 'src="data:image/png;base64,AAAA"',
     "onerror"),
    ('<a href=" java\tscript:alert(1)">x</a>', "<a>x</a>", "script"),
    ('<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>', "<a>x</a>", "data:"),
    ('<a href="https://example.org" target="_blank">x</a>', 'href="https://example.org"', "target"),
    ('<div style="color: red; position: fixed">x</div>', 'style="color: red;"', "position"),
    ("<table><thead><tr><th>a</th></tr></thead></table><style>p {}</style>", "<th>a</th>", "p {}"),
    ("<math><mi>x</mi></math><iframe srcdoc='<script>alert(1)</script>'></iframe>", "x", "iframe"),
])
def test_the_sanitiser_keeps_content_and_drops_what_is_active(dirty, kept, gone):
    cleaned = sanitize.clean(dirty)
    assert kept in cleaned and gone not in cleaned, cleaned


def _rendered(tmp_path, executed):
    """A one-notebook result after :func:`feedback.render_pages` in a fresh interpreter (no fork server)."""
    from autograder.grading import prefork
    from autograder.grading.runner import NotebookResult
    from autograder.grading.score import CellScore
    from autograder.grading.submission import SubmissionResult

    nb = NotebookResult("f1_fixture.ipynb", "ok", cells={"t": CellScore(2.0, 2.0)}, executed=executed)
    result = SubmissionResult("sam", ASSIGNMENT, "ok", notebooks=[nb])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(prefork, "_started", None)
        feedback.render_pages(result, tmp_path / "work", RENDER_LIMIT)
    return result, nb


def test_without_the_fork_server_a_page_is_rendered_by_a_fresh_interpreter(tmp_path):
    executed = tmp_path / "executed.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("Hello <script>x()</script>")]),
                   executed)
    result, nb = _rendered(tmp_path, executed)
    assert (result.status, nb.status) == ("ok", "ok") and nb.page.is_file()
    body = _student_part(nb.page.read_text())
    assert "Hello" in body and "<script" not in body and "Score: 2.0 / 2.0" in body


def test_a_renderer_that_fails_makes_the_notebook_an_error_and_keeps_its_score(tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not a notebook")
    result, nb = _rendered(tmp_path, broken)
    assert (result.status, nb.status, nb.score, nb.page) == ("error", "error", 2.0, None)
    assert "could not be rendered (exit code 1: " in nb.detail and "Error" in nb.detail, nb.detail
    assert nb.page_log.is_file() and "Traceback" in nb.page_log.read_text()
