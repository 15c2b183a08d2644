"""The course as a student sees it in JupyterLab and an instructor in formgrader, in a real browser.

Playwright drives Debian's Chromium (``chromium`` on PATH; Playwright's own browser download is
never used) against JupyterLab servers that the tests start on 127.0.0.1 and stop again, on
temporary copies of the course, so the repository is not modified; and a student's feedback page
opened from disk with the network off (no server). Screenshots of every step go to
``test-artifacts/browser/`` (git-ignored), with the servers' logs.

Select or leave out with ``pytest -m browser`` / ``pytest -m "not browser"``. Without chromium or
the playwright package the tests skip and say which is missing (``make browser-deps`` installs
chromium; ``make test`` does so when CI is set).
"""

import math
import os
import re
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest.register_assert_rewrite("browser_helpers")  # before the import: it is a plugin too (below)
from browser_helpers import ARTIFACTS, ROOT, JupyterLab, launch_chromium, missing_requirement  # noqa: E402

pytest_plugins = ["browser_helpers"]  # the ``browser`` marker

TIMEOUT = 60_000  # ms: ample for a kernel start or a cell on a busy 2-core machine
VIEWPORT = {"width": 1280, "height": 900}

A1 = "a1_splits/a1_splits.ipynb"
# What a student types into the solution cell of split_sizes (the reference's rounding).
SPLIT_SIZES = '''def split_sizes(m, ratios):
    """Number of examples in (train, dev, test): dev and test rounded, train the rest."""
    n_dev = round(m * ratios[1])
    n_test = round(m * ratios[2])
    return m - n_dev - n_test, n_dev, n_test'''


@pytest.fixture
def playwright():
    reason = missing_requirement()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture
def page(playwright, tmp_path):
    context = launch_chromium(playwright, tmp_path / "chromium-profile", viewport=VIEWPORT)
    try:
        context.set_default_timeout(TIMEOUT)
        yield context.pages[0] if context.pages else context.new_page()
    finally:
        context.close()


class Artifacts:
    """Screenshots and logs of one test, named ``<prefix>-...`` in test-artifacts/browser/."""

    def __init__(self, prefix):
        self.prefix = prefix
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for old in ARTIFACTS.glob(f"{prefix}-*"):  # a previous run's, so that none is stale
            old.unlink()

    def path(self, name):
        return str(ARTIFACTS / f"{self.prefix}-{name}")

    @contextmanager
    def on_failure(self, page):
        """Keep a screenshot of the page as it was when something failed."""
        try:
            yield
        except BaseException:
            page.screenshot(path=self.path("FAILED.png"))
            raise

    def keep_log(self, server):
        if server.log_path.exists():
            shutil.copyfile(server.log_path, self.path("server.log"))


def code_cell(page, text):
    """The notebook's code cell whose source contains ``text``."""
    return page.locator(".jp-Notebook .jp-CodeCell").filter(has=page.locator(".jp-InputArea", has_text=text))


def show(locator):
    """Scroll ``locator`` into view and wait until it is painted (off-screen cells are not)."""
    from playwright.sync_api import expect

    locator.scroll_into_view_if_needed()
    expect(locator).to_be_in_viewport()


def around(*locators, margin=2):
    """A screenshot clip that holds all the given elements."""
    boxes = [locator.bounding_box() for locator in locators]
    left, top = min(b["x"] for b in boxes) - margin, min(b["y"] for b in boxes) - margin
    right = max(b["x"] + b["width"] for b in boxes) + margin
    bottom = max(b["y"] + b["height"] for b in boxes) + margin
    return {"x": max(left, 0), "y": max(top, 0), "width": right - max(left, 0), "height": bottom - max(top, 0)}


def test_student_sees_messages_passes_and_plots(page, tmp_path):
    """Steps 1-3: blank answer -> a helpful message; a correct answer -> pass; plots render."""
    from playwright.sync_api import expect

    course = tmp_path / "course"
    shutil.copytree(ROOT / "course", course)
    (tmp_path / "state").mkdir()
    server = JupyterLab(course, tmp_path / "state")
    artifacts = Artifacts("student")
    with server, artifacts.on_failure(page):
        try:
            page.goto(server.url(f"/lab/tree/{A1}", token=True))
            expect(page.locator(".jp-Notebook")).to_be_visible(timeout=TIMEOUT)
            # The status bar says "Python 3 (ipykernel) | Idle" once the kernel is connected. (The
            # toolbar's indicator already says idle while there is no kernel yet: no use here.)
            idle = page.locator(".jp-StatusBar-Item").filter(has_text=re.compile(r"\| Idle$"))
            expect(idle).to_have_count(1, timeout=TIMEOUT)

            # 1. Run > Run All Cells: the blank answer's visible test explains, without a traceback.
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            imports = code_cell(page, "from autograder import check")
            test_cell = code_cell(page, 'check("split_sizes", split_sizes)')
            message = test_cell.locator(".jp-OutputArea")
            expect(message).to_contain_text("not implemented yet", timeout=TIMEOUT)
            expect(message).not_to_contain_text("Traceback")
            expect(message).not_to_contain_text("autograder/checks")
            expect(message).not_to_contain_text("site-packages")
            # The kernel is the project's: the imports (introdl, autograder) ran without an error.
            expect(imports.locator(".jp-InputPrompt")).to_contain_text("[1]")
            expect(imports.locator(".jp-OutputArea-output")).to_have_count(0)
            expect(idle).to_have_count(1, timeout=TIMEOUT)
            solution = code_cell(page, "def split_sizes(m, ratios)")
            show(test_cell)
            page.screenshot(path=artifacts.path("1-blank-answer-message.png"))
            # The README's picture: where to write the code, and what the visible test says.
            show(solution)
            page.screenshot(path=artifacts.path("readme.png"), clip=around(solution, test_cell))

            # 2. Type a correct answer into the solution cell, run it and its test (Shift+Enter twice).
            solution.locator(".cm-content").click()
            page.keyboard.press("ControlOrMeta+a")
            page.keyboard.insert_text(SPLIT_SIZES)  # as a paste: no auto-indent on the way
            expect(solution.locator(".cm-content")).to_contain_text("return m - n_dev - n_test")
            page.keyboard.press("Shift+Enter")  # runs the solution cell, selects the test cell
            page.keyboard.press("Shift+Enter")  # runs the test cell
            expect(message).to_contain_text("✓ split_sizes", timeout=TIMEOUT)
            expect(message).not_to_contain_text("✗")
            expect(test_cell.locator("[data-mime-type='application/vnd.jupyter.stderr']")).to_have_count(0)
            show(solution)
            page.screenshot(path=artifacts.path("2-correct-answer-passes.png"))

            # 3. A plot renders: run the cell that draws the digits; an image output appears.
            plot_cell = code_cell(page, "plots.show_digits(")
            plot_cell.locator(".cm-content").click()
            page.keyboard.press("Shift+Enter")
            image = plot_cell.locator(".jp-OutputArea-output img")
            expect(image).to_be_visible(timeout=TIMEOUT)
            assert image.evaluate("img => img.complete && img.naturalWidth > 100"), "the plot image is empty"
            show(image)
            page.screenshot(path=artifacts.path("3-plot-rendered.png"))
        finally:
            artifacts.keep_log(server)


# --- step 4: the instructor's formgrader ---------------------------------------------------------

ASSIGNMENT = "a1_splits"


def run_logged(command, cwd, log):
    """Run a command with its output in ``log``; fail with the end of that log if it fails."""
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    with open(log, "ab") as out:
        out.write(f"$ {' '.join(map(str, command))}\n".encode())
        out.flush()
        done = subprocess.run(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                              stderr=subprocess.STDOUT, timeout=300, check=False)
    if done.returncode:
        pytest.fail(f"{command[:3]} exited with {done.returncode}:\n{Path(log).read_text()[-3000:]}", pytrace=False)


# Sample submissions of ``samples/demo/`` that grade quickly and score differently: complete,
# typical mistakes (partial credit), blank. The crash and the endless loop are the grading tool's
# tests' business; their time limits would dominate this test's time.
SAMPLES = ("ada-complete", "ben-mistakes", "dee-blank")


def grade_samples(root, log, students=SAMPLES):
    """``autograder grade`` the samples ``students``, from the course root ``root``, into its gradebook."""
    submissions = root / "grading" / "submitted"
    for student in students:
        shutil.copytree(ROOT / "samples" / "demo" / student / ASSIGNMENT, submissions / student / ASSIGNMENT)
    # `python -m autograder.grading` is the `autograder` command, independent of the venv's scripts.
    run_logged([sys.executable, "-m", "autograder.grading", "grade", ASSIGNMENT, f"--root={root}",
                f"--submissions={submissions}", f"--gradebook=sqlite:///{root / 'grading' / 'gradebook.db'}"],
               root, log)


def js_number(x):
    """A score as formgrader shows it (JavaScript's Math.round to 2 decimals, shortest form)."""
    value = math.floor(x * 100 + 0.5) / 100
    return str(int(value)) if value == int(value) else repr(value)


def gradebook_scores(root):
    """{student id: "score / max"} for ASSIGNMENT, read from the gradebook itself."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'grading' / 'gradebook.db'}") as gradebook:
        assignment = gradebook.find_assignment(ASSIGNMENT)
        return {submission.student.id: f"{js_number(submission.score)} / {js_number(assignment.max_score)}"
                for submission in assignment.submissions}


def course_root(tmp_path):
    """A course root with ASSIGNMENT's source and the course's nbgrader config, nothing graded yet."""
    root = tmp_path / "course-root"
    root.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    return root


def test_instructor_sees_grades_in_formgrader(page, tmp_path):
    """Step 4: after grading, formgrader (inside JupyterLab) shows the assignment, students, scores,
    and the names of the roster imported before grading (a student not on it shows as None, None)."""
    from playwright.sync_api import expect

    root = course_root(tmp_path)
    artifacts = Artifacts("instructor")
    grade_log = Path(artifacts.path("grading.log"))
    shown_names = {"ada-complete": "Lovelace, Ada", "ben-mistakes": "Okafor, Ben", "dee-blank": "None, None"}
    (tmp_path / "roster.csv").write_text(
        "id,first_name,last_name\nada-complete,Ada,Lovelace\nben-mistakes,Ben,Okafor\n", encoding="utf-8")
    run_logged([sys.executable, "-m", "autograder.grading", "roster", "import", tmp_path / "roster.csv",
                f"--root={root}"], root, grade_log)
    grade_samples(root, grade_log)
    scores = gradebook_scores(root)
    assert sorted(scores) == sorted(SAMPLES), f"the gradebook should hold the graded samples: {scores}"
    assert len(set(scores.values())) == len(SAMPLES), f"the samples should score differently: {scores}"

    (tmp_path / "state").mkdir()
    server = JupyterLab(root, tmp_path / "state")
    with server, artifacts.on_failure(page):
        try:
            page.goto(server.url("/lab", token=True))
            page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
            page.get_by_role("menuitem", name="Formgrader", exact=True).click()
            formgrader = page.frame_locator("iframe[src$='/formgrader']")
            page.get_by_role("tab", name="File Browser (Ctrl+Shift+F)").click()  # more room for the tables

            # The assignment, with its number of submissions.
            row = formgrader.get_by_role("row").filter(has_text=ASSIGNMENT)
            expect(row).to_be_visible(timeout=TIMEOUT)
            headers = [text.strip() for text in formgrader.locator("thead th").all_inner_texts()]
            column = next(i for i, text in enumerate(headers) if "Submissions" in text)
            expect(row.locator("td").nth(column)).to_have_text(str(len(scores)))
            page.screenshot(path=artifacts.path("4-formgrader-assignments.png"))

            # The students and their scores: what the gradebook holds.
            formgrader.get_by_role("link", name="Manage Students").click()
            for student, score in scores.items():
                row = formgrader.get_by_role("row").filter(has_text=student)
                expect(row).to_contain_text(score, timeout=TIMEOUT)
                expect(row).to_contain_text(shown_names[student])
            page.screenshot(path=artifacts.path("4-formgrader-students.png"))
        finally:
            artifacts.keep_log(server)


# --- the student's feedback page, opened from disk without a network --------------------------------------

# Once MathJax has typeset the page (its startup ends after the first typeset).
MATHJAX_DONE = "new Promise(done => MathJax.Hub.Register.StartupHook('End', done))"
# TeX the page still shows as written: $...$ or a backslash command, in what a reader sees.
RAW_TEX = re.compile(r"\$[^$\n]+\$|\\(frac|text|hat|sum|mathrm)\b")


def block_the_network(context):
    """Chromium offline, and every request that is not a file aborted; returns the list of those asked for."""
    asked = []

    def only_files(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            asked.append(route.request.url)
            route.abort("internetdisconnected")

    context.set_offline(True)
    context.route("**/*", only_files)
    return asked


def test_feedback_page_shows_the_figure_and_typeset_math_offline(page, tmp_path):
    """Issue 15: a graded student's page from file:// without a network: the plot is an image, the math typeset."""
    from playwright.sync_api import expect

    root = course_root(tmp_path)
    artifacts = Artifacts("feedback")
    grade_samples(root, Path(artifacts.path("grading.log")), students=("ada-complete",))
    html = root / "grading" / "feedback" / "ada-complete" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert html.is_file(), f"no feedback page at {html}"
    asked = block_the_network(page.context)
    with artifacts.on_failure(page):
        page.goto(html.as_uri())  # returns after the load event: the head's MathJax script has run, or failed
        assert page.evaluate("typeof MathJax === 'object'"), f"MathJax did not load; asked the network for {asked}"
        page.evaluate(MATHJAX_DONE)

        # The student's figure: a drawn PNG, inline in the page.
        figure = page.locator(".output_png img").first
        expect(figure).to_be_visible()
        assert figure.evaluate("img => img.complete && img.naturalWidth > 100"), "the figure is empty"
        assert figure.get_attribute("src").startswith("data:image/png;base64,")

        # The math: every formula typeset by MathJax, with its web fonts, and no TeX left as written.
        formulas = page.evaluate("MathJax.Hub.getAllJax().length")
        assert formulas > 0 and formulas == page.locator("script[type^='math/tex']").count()
        expect(page.locator(".MathJax_Display").first).to_be_visible()
        assert page.locator(".MathJax_Error, .MathJax .merror").count() == 0, "a formula MathJax could not typeset"
        fonts = page.evaluate("[...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)")
        assert any(family.startswith("STIXMathJax") for family in fonts), f"MathJax's fonts did not load: {fonts}"
        text = page.locator(".text_cell_render").all_inner_texts()
        raw = [match.group(0) for part in text for match in RAW_TEX.finditer(part)]
        assert not raw, f"TeX left as written: {raw[:5]}"
        assert asked == [], f"the page asked for the network: {asked[:5]}"

        show(page.locator(".MathJax_Display").first)
        page.screenshot(path=artifacts.path("math-offline.png"))
        show(figure)
        page.screenshot(path=artifacts.path("figure-offline.png"))
