"""A corpus of hostile and broken submissions of assignment 1 (``a1_splits``), and a few honest ones.

Each case is one small generator function, registered with :func:`case`: it writes one
student's folder, ``<submissions>/<folder>/a1_splits/...``, starting from the RELEASE notebook
(``course/a1_splits/a1_splits.ipynb``) and, where the case needs right answers, pasting in the
solution code read from ``solutions/a1_splits/a1_splits.ipynb`` with nbformat. The case states
what it attacks (its category), the status and score the grader must give, and whether the
expectation depends on the bubblewrap sandbox.

How the expected results follow from the grading rules:

- every graded function is judged by the VERIFICATION pass (the student's definitions re-run in
  a separate sandboxed process, judged in the grader's process); that score stands for every
  test cell, also when the notebook crashed or timed out before the cell;
- a notebook whose test cell ran and claimed more than the verified score is ``flagged``;
- the status is the worst of: error, invalid_student, missing, invalid_notebook, crashed,
  timeout, memory, flagged, ok; the first four score 0.

The points of a1: split_sizes 2, train_dev_test_split 2, error_rate 1, diagnose 2 (7 in all).
A test cell's score is ``points * passed / cases`` over the visible and hidden cases, and 0 when
no visible case passes.

Nothing here may harm the machine if the sandbox fails: the fork bomb stops at 150 sleeping
processes that exit by themselves, the memory bomb is one allocation above the --memory
limit, the daemon gives up after 60 s, the network probe is one connection to 1.1.1.1 with a
2 s timeout, and every write targets the context's folders (the test's temporary course,
submissions and fake home), never the repository; ``mount-escape`` calls mount and umount2 and
writes into the package only inside bubblewrap.
"""

import json
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

ASSIGNMENT = "a1_splits"
NOTEBOOK = "a1_splits.ipynb"
POINTS = {"split_sizes": 2.0, "train_dev_test_split": 2.0, "error_rate": 1.0, "diagnose": 2.0}
MAX_SCORE = sum(POINTS.values())
ANSWERS = {"split_sizes": "a1-split_sizes", "train_dev_test_split": "a1-train_dev_test_split",
           "error_rate": "a1-error_rate", "diagnose": "a1-diagnose"}
SENTINEL = "sentinel.txt"  # a file in the fake home that attacks try to change
PROCESS_PREFIX = "adv-"  # the process name (comm) of every process the corpus leaves behind
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the checkout: autograder/, introdl/, .git
SITE_PACKAGES = str(Path(nbformat.__file__).parent.parent)
SOLUTION_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)


@dataclass(frozen=True)
class Context:
    """Where a corpus is written, and the paths its attacks aim at."""

    source_notebook: Path  # solutions/a1_splits/a1_splits.ipynb (with hidden tests)
    release_notebook: Path  # course/a1_splits/a1_splits.ipynb (what students get)
    course_root: Path  # the course folder (nbgrader_config.py)
    grading: Path  # the grading folder (autograded/, feedback/, gradebook, work folders)
    gradebook: Path  # the SQLite gradebook file
    submissions: Path  # one folder per student
    home: Path  # the grader's (fake) home folder, holding SENTINEL

    def release(self):
        return nbformat.read(self.release_notebook, as_version=4)

    def solutions(self):
        """``{answer grade_id: the solution as a student would write it}``, from the source notebook."""
        nb = nbformat.read(self.source_notebook, as_version=4)
        return {_meta(c)["grade_id"]: SOLUTION_MARKERS.sub("", c.source) for c in nb.cells
                if _meta(c).get("solution") and c.cell_type == "code"}


@dataclass(frozen=True)
class Case:
    folder: str  # the student's folder name, as written on disk
    category: str
    description: str
    status: str
    score: float
    build: Callable  # build(ctx, folder_path): writes the student's folder
    sandbox: bool = False  # the expectation holds only with bubblewrap
    memory_cgroup: bool = False  # ... and only with a memory cgroup per worker (root, memory controller)
    xfail: str | None = None  # a known grader bug (strict xfail), with how to reproduce it
    output_has: str | None = None  # text the outputs of the autograded notebook must show (the probe ran)
    output_lacks: str | None = None  # text they must not show (the attack got through)
    detail_has: str | None = None  # text the recorded status detail must hold (the limit hit is on record)
    page_lacks: str | None = None  # text the student's part of the feedback page must not hold (active content)

    @property
    def student(self):
        """The name the grader reports: a refused folder name is shown escaped."""
        return ascii(self.folder)[1:-1][:100]

    @property
    def honest(self):
        return self.category == "honest"


CASES = []


def case(folder, category, status, score, **options):
    """Register a generator function (its docstring is the case's description)."""
    def register(build):
        description = " ".join((build.__doc__ or "").split())
        CASES.append(Case(folder, category, description, status, float(score), build, **options))
        return build
    return register


def build_all(ctx, cases=None):
    """Write every case's folder into ``ctx.submissions``; returns the cases written."""
    written = []
    for item in CASES if cases is None else cases:
        item.build(ctx, ctx.submissions / item.folder)
        written.append(item)
    return written


# --- helpers -----------------------------------------------------------------------------


def _meta(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _is_test(cell):
    return cell.cell_type == "code" and _meta(cell).get("grade") and not _meta(cell).get("solution")


def notebook(ctx, answers=None, *, solved=False):
    """The release with ``answers`` ({function name or grade_id: code}) pasted into its answer cells.

    ``solved=True`` pastes the solution into every answer cell first.
    """
    nb = ctx.release()
    code = dict(ctx.solutions()) if solved else {}
    for key, text in (answers or {}).items():
        code[ANSWERS.get(key, key)] = text
    for cell in nb.cells:
        grade_id = _meta(cell).get("grade_id")
        if _meta(cell).get("solution") and grade_id in code:
            cell.source = code[grade_id].rstrip("\n")
    return nb


def solution(ctx, function):
    return ctx.solutions()[ANSWERS[function]]


def insert_after(nb, grade_id, code):
    """Add a code cell (without nbgrader metadata) after the cell ``grade_id``."""
    index = next(i for i, c in enumerate(nb.cells) if _meta(c).get("grade_id") == grade_id)
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(textwrap.dedent(code).strip("\n")))
    return nb


def append(nb, code):
    nb.cells.append(nbformat.v4.new_code_cell(textwrap.dedent(code).strip("\n")))
    return nb


IMPORTS = "a1-code-02"  # the locked first code cell: numpy, introdl, check and use


def write(folder, nb, name=NOTEBOOK):
    path = Path(folder) / ASSIGNMENT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def write_bytes(folder, data, name=NOTEBOOK):
    path = Path(folder) / ASSIGNMENT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _points_literal():
    return repr(POINTS)


def _name_process(name):
    """Code that sets the calling thread's process name (children inherit it) and returns the old one."""
    return f"""
        import ctypes
        _libc = ctypes.CDLL(None)
        _old_name = open("/proc/self/comm", "rb").read().strip()
        _libc.prctl(15, {(PROCESS_PREFIX + name).encode()!r}, 0, 0, 0)  # PR_SET_NAME
    """


# --- honest submissions ------------------------------------------------------------------


@case("honest-complete", "honest", "ok", 7)
def honest_complete(ctx, folder):
    """Every answer is the solution."""
    write(folder, notebook(ctx, solved=True))


@case("honest-blank", "honest", "ok", 0)
def honest_blank(ctx, folder):
    """The release as handed out: every graded function raises NotImplementedError."""
    write(folder, ctx.release())


@case("honest-partial-diagnose", "honest", "ok", 2 + 2 + 1 + 2 * 6 / 10)
def honest_partial_diagnose(ctx, folder):
    """diagnose measures bias from 0 instead of the human error: right on the 4 visible cases with
    human error 0 (wrong on the fifth, 7.5%) and on 2 of the 5 hidden ones ((0.02, 0.10, 0.01) and
    (0.20, 0.40, 0.0)), so 2 * 6/10 points; the rest is solved."""
    right = solution(ctx, "diagnose")
    wrong = right.replace("high_bias = train_error - human_error > tolerance", "high_bias = train_error > tolerance")
    assert wrong != right, "the solution of diagnose changed: update this case"
    write(folder, notebook(ctx, {"diagnose": wrong}, solved=True))


@case("honest-partial-percent", "honest", "ok", 0 + 0 + 1 + 2)
def honest_partial_percent(ctx, folder):
    """split_sizes reads the ratios as percentages (60 for 0.6): no case passes, and the solved
    train_dev_test_split, which calls it, gets empty parts and fails every case too: 1 + 2 points."""
    wrong = ("def split_sizes(m, ratios):\n"
             "    return tuple(round(m * r / 100) for r in ratios)\n")
    write(folder, notebook(ctx, {"split_sizes": wrong}, solved=True))


@case("honest-renamed", "honest", "ok", 7)
def honest_renamed(ctx, folder):
    """A complete notebook saved under the browser's download name "a1_splits (1).ipynb"."""
    write(folder, notebook(ctx, solved=True), name="a1_splits (1).ipynb")


@case("regrade-then-invalid", "re-grading", "ok", 7)
def regrade_then_invalid(ctx, folder):
    """Complete in the first batch; re-graded with a file that is not JSON (test_regrade)."""
    write(folder, notebook(ctx, solved=True))


@case("regrade-then-missing", "re-grading", "ok", 7)
def regrade_then_missing(ctx, folder):
    """Complete in the first batch; re-graded with an empty assignment folder (test_regrade)."""
    write(folder, notebook(ctx, solved=True))


# --- patching the checks in the kernel: the notebook claims marks the verification does not give


@case("patch-numpy", "patched checks", "flagged", 0)
def patch_numpy(ctx, folder):
    """Answers that are never right (split_sizes gives (0, 0, 0), error_rate -1), and numpy.testing's
    asserts, np.all, np.allclose and np.array_equal replaced so every comparison passes: the notebook
    gives split_sizes and error_rate full marks (3 points), the verification 0."""
    code = """
        import numpy as np
        import numpy.testing

        def split_sizes(m, ratios):
            return 0, 0, 0

        np.testing.assert_allclose = lambda *args, **kwargs: None
        np.testing.assert_array_equal = lambda *args, **kwargs: None
        np.testing.assert_equal = lambda *args, **kwargs: None
        np.allclose = lambda *args, **kwargs: True
        np.array_equal = lambda *args, **kwargs: True
        np.all = lambda *args, **kwargs: True
    """
    wrong_rate = "def error_rate(y_pred, y_true):\n    return -1.0\n"
    write(folder, notebook(ctx, {"split_sizes": textwrap.dedent(code), "error_rate": wrong_rate}))


@case("patch-run-check", "patched checks", "flagged", 0)
def patch_run_check(ctx, folder):
    """Blank answers; a cell replaces autograder.checks.run_check by one that reports every case
    passed: the notebook gives 7, the verification 0."""
    nb = insert_after(ctx.release(), IMPORTS, """
        import autograder.checks
        from autograder.checks import Result

        def _all_passed(spec, student_function, *, hidden=False):
            return Result(spec.name, spec.points, 1, 1)

        autograder.checks.run_check = _all_passed
    """)
    write(folder, nb)


@case("redefine-check", "patched checks", "flagged", 0)
def redefine_check(ctx, folder):
    """Blank answers; a cell defines its own check() returning each function's points (and sets
    autograder.check to it): the test cells call it, the notebook gives 7, the verification 0."""
    nb = insert_after(ctx.release(), IMPORTS, f"""
        import autograder

        POINTS = {_points_literal()}

        def check(name, student_function, *, hidden=False):
            return POINTS[name]

        autograder.check = check
    """)
    write(folder, nb)


@case("builtins-check", "patched builtins", "flagged", 0)
def builtins_check(ctx, folder):
    """Blank answers; a fake check() is put into builtins and the real one deleted from the
    notebook's namespace, so the test cells find the fake: the notebook gives 7, the verification 0."""
    nb = insert_after(ctx.release(), IMPORTS, f"""
        import builtins

        def _full_marks(name, student_function, *, hidden=False):
            return {_points_literal()}[name]

        builtins.check = _full_marks
        del check
    """)
    write(folder, nb)


@case("custom-exc", "patched IPython", "flagged", 0)
def custom_exc(ctx, folder):
    """Blank answers; get_ipython().set_custom_exc((AssertionError,), ...) swallows every failed
    check, so the test cells show no error (full marks for nbgrader): the notebook gives 7, the
    verification 0."""
    nb = insert_after(ctx.release(), IMPORTS, """
        def _swallow(shell, etype, value, tb, tb_offset=None):
            return None

        get_ipython().set_custom_exc((AssertionError,), _swallow)
    """)
    write(folder, nb)


@case("input-transformer", "patched IPython", "flagged", 0)
def input_transformer(ctx, folder):
    """Blank answers; an IPython input transformer rewrites every test cell into its points before
    it runs: the notebook gives 7, the verification 0."""
    nb = insert_after(ctx.release(), IMPORTS, f"""
        import re

        POINTS = {_points_literal()}

        def _full_marks(lines):
            found = re.search(r'check[(]"(\\w+)"', "".join(lines))
            return [str(POINTS[found.group(1)]) + "\\n"] if found else lines

        get_ipython().input_transformers_post.append(_full_marks)
    """)
    write(folder, nb)


@case("always-equal", "patched comparison", "flagged", 5)
def always_equal(ctx, folder):
    """diagnose returns a str subclass equal to everything: the notebook's check compares with ==
    and gives 2 points; the verification only gets the plain string '' back and gives 0. The rest is
    solved: 5 points."""
    code = '''
        class AlwaysEqual(str):
            def __eq__(self, other):
                return True

            def __ne__(self, other):
                return False

            __hash__ = str.__hash__


        def diagnose(train_error, dev_error, *, human_error=0.0):
            return AlwaysEqual("")
    '''
    write(folder, notebook(ctx, {"diagnose": textwrap.dedent(code)}, solved=True))


@case("verification-sabotage", "attacks the verification", "flagged", 0)
def verification_sabotage(ctx, folder):
    """Solved, but a class body calls os._exit(0) whenever it runs outside IPython, i.e. in the
    verification process: every check there fails (its process died), the notebook shows 7."""
    code = """
        class _OnlyInTheNotebook:
            import os
            from IPython import get_ipython
            if get_ipython() is None:
                os._exit(0)
    """
    nb = notebook(ctx, solved=True)
    write(folder, insert_after(nb, IMPORTS, code))


REFERENCE_CALLS = (("split_sizes", "m, ratios"), ("train_dev_test_split", "X, Y, ratios, rng=rng"),
                   ("error_rate", "y_pred, y_true"), ("diagnose", "train_error, dev_error, human_error=human_error"))


def _calling_the_reference(ctx, body, *, imports="import introdl", before=""):
    """Answers in which every function returns introdl's own result, obtained by ``body``.

    ``body`` is a format string of the function's body, with {function} (its name) and {call}
    (its arguments, as the reference takes them); ``before`` goes above each ``def``.
    """
    answers = {}
    for function, call in REFERENCE_CALLS:
        signature = re.search(rf"def {function}\((.*)\):", solution(ctx, function)).group(1)
        code = textwrap.indent(textwrap.dedent(body).strip("\n").format(function=function, call=call), "    ")
        answers[function] = f"{imports}\n\n\n{before}def {function}({signature}):\n{code}\n"
    return notebook(ctx, answers)


@case("reference-evasion", "calls the reference", "flagged", 0)
def reference_evasion(ctx, folder):
    """Every function calls introdl's reference implementation after sys.setprofile(None), which
    switches off the kernel's detector of reference calls. Calling the reference earns nothing (README):
    the verification process has no reference to call (it is withheld while the function is graded),
    so the verified score is 0, and the notebook, where the trick works, claims 7."""
    write(folder, _calling_the_reference(ctx, """
        sys.setprofile(None)  # no one is watching now
        return introdl.{function}({call})
    """, imports="import sys\nimport introdl"))


@case("reference-thread", "calls the reference", "flagged", 0)
def reference_thread(ctx, folder):
    """Every function calls introdl's reference from a threading.Thread: the kernel's sys.setprofile
    tracing watches only the calling thread and claims 7; in the verification process the reference
    is withheld, in every thread: 0."""
    write(folder, _calling_the_reference(ctx, """
        found = []
        worker = threading.Thread(target=lambda: found.append(introdl.{function}({call})))
        worker.start()
        worker.join()
        return found[0]
    """, imports="import threading\nimport introdl"))


@case("reference-code-copy", "calls the reference", "flagged", 0)
def reference_code_copy(ctx, folder):
    """Every function runs a copy of the reference's code object (code.replace makes a new one, so a
    test of identity misses it): the kernel claims 7; in the verification process introdl's
    function is a stub whose code raises, and so does any copy of it: 0."""
    write(folder, _calling_the_reference(ctx, """
        reference = introdl.{function}
        copy = types.FunctionType(reference.__code__.replace(co_name="mine"), reference.__globals__, "mine",
                                  reference.__defaults__)
        copy.__kwdefaults__ = reference.__kwdefaults__
        return copy({call})
    """, imports="import types\nimport introdl"))


@case("reference-patched-detector", "calls the reference", "flagged", 0)
def reference_patched_detector(ctx, folder):
    """A decorator, run when each function is defined (also in the verification process), blinds
    every detector it can reach there: sys.setprofile and sys.getprofile re-bound to no-ops, the
    tracing's traced_call replaced by one that watches nothing, the record of withheld calls replaced
    by one that forgets. Then the function calls the reference: the kernel claims 7; the verification
    process still has no reference to call: 0."""
    blind = """
        def _blind(function):
            import sys

            class _Forget(list):
                def append(self, item):
                    pass

            sys.setprofile = lambda *args, **kwargs: None
            sys.getprofile = lambda: None
            tracing = sys.modules.get("autograder.sandbox.tracing")
            if tracing is not None:
                original = tracing.traced_call
                tracing.traced_call = lambda fn, args, kwargs, forbidden=None: original(fn, args, kwargs, {})
            for name in ("__main__", "autograder.sandbox.worker", "autograder.sandbox.withhold"):
                module = sys.modules.get(name)
                if module is not None and hasattr(module, "traced_call"):
                    module.traced_call = tracing.traced_call
                if module is not None and hasattr(module, "CALLED"):
                    module.CALLED = _Forget()
            return function


        @_blind
    """
    write(folder, _calling_the_reference(ctx, "return introdl.{function}({call})",
                                         before=textwrap.dedent(blind).lstrip("\n")))


def _in_verification(code):
    """``code`` run only in the verification process (not in the notebook's kernel), on the socket to the grader."""
    return f"""
    if "ipykernel" not in sys.modules:  # the verification process: its one socket leads to the grader
        for fd in os.listdir("/proc/self/fd"):
            try:
                if os.readlink(f"/proc/self/fd/{{fd}}").startswith("socket:"):
{textwrap.indent(textwrap.dedent(code).strip(), " " * 20)}
            except OSError:
                pass
"""


@case("deep-result", "attacks the verification", "ok", 4)
def deep_result(ctx, folder):
    """diagnose returns a list nested 100,000 deep, and error_rate, in the verification process, writes
    a message of JSON lists nested 100,000 deep straight to its socket (json.loads in the grader would
    raise RecursionError). Both fail with a message, the other two functions are judged: ok, 4."""
    deep = "def diagnose(train_error, dev_error, *, human_error=0.0):\n    value = 'low bias'\n" \
           "    for _ in range(100_000):\n        value = [value]\n    return value\n"
    raw = "import os\nimport struct\nimport sys\n\n\ndef error_rate(y_pred, y_true):" + _in_verification("""
        data = b"[" * 100_000 + b"]" * 100_000
        os.write(int(fd), struct.pack("!i", len(data)) + data)
    """) + "    return -1.0\n"
    write(folder, notebook(ctx, {"diagnose": deep, "error_rate": raw}, solved=True))


@case("half-message", "attacks the verification", "ok", 6)
def half_message(ctx, folder):
    """error_rate, in the verification process, writes the length of a 100-byte message and 7 bytes of
    it to its socket, then sleeps: the grader must not wait for the rest beyond the call limit. The
    function fails with the time-out message, the other three are judged: ok, 6."""
    code = "import os\nimport struct\nimport sys\nimport time\n\n\ndef error_rate(y_pred, y_true):" + \
        _in_verification("""
            os.write(int(fd), struct.pack("!i", 100) + b'{"d": [')
            time.sleep(60)
        """) + "    return -1.0\n"
    write(folder, notebook(ctx, {"error_rate": code}, solved=True))


# --- test cells: restored from the source whatever the submission did to them ---------


def _blank_with_tests(ctx, change):
    nb = ctx.release()
    for cell in [c for c in nb.cells if _is_test(c)]:
        change(nb, cell)
    return nb


@case("skip-execution", "test cells", "ok", 0)
def skip_execution(ctx, folder):
    """Blank answers, every test cell tagged skip-execution (a skipped cell has no error output,
    which nbgrader scores full marks)."""
    def tag(nb, cell):
        cell.metadata.setdefault("tags", []).append("skip-execution")
    write(folder, _blank_with_tests(ctx, tag))


@case("deleted-test-cells", "test cells", "ok", 0)
def deleted_test_cells(ctx, folder):
    """Blank answers, every test cell deleted."""
    write(folder, _blank_with_tests(ctx, lambda nb, cell: nb.cells.remove(cell)))


@case("edited-test-cells", "test cells", "ok", 0)
def edited_test_cells(ctx, folder):
    """Blank answers, every test cell's code replaced by its points (and its points set to 100)."""
    def edit(nb, cell):
        cell.source = "2"
        cell.metadata["nbgrader"]["points"] = 100
    write(folder, _blank_with_tests(ctx, edit))


@case("reordered-test-cells", "test cells", "ok", 0)
def reordered_test_cells(ctx, folder):
    """Blank answers, the test cells moved to the top of the notebook, in reverse order."""
    def move(nb, cell):
        nb.cells.remove(cell)
        nb.cells.insert(0, cell)
    write(folder, _blank_with_tests(ctx, move))


@case("retagged-test-cells", "test cells", "ok", 0)
def retagged_test_cells(ctx, folder):
    """Blank answers; the test cells re-tagged as answer cells holding "2.0", and the answer cells
    tagged as graded cells worth 2 points each."""
    nb = ctx.release()
    for cell in nb.cells:
        meta = _meta(cell)
        if _is_test(cell):
            meta.update(grade=False, solution=True, locked=False)
            cell.source = "2.0"
        elif meta.get("solution"):
            meta.update(grade=True, points=2)
    write(folder, nb)


@case("fake-test-cell", "test cells", "ok", 0)
def fake_test_cell(ctx, folder):
    """Blank answers, plus an added cell with nbgrader metadata of a test cell worth 100 points
    whose code is 100."""
    nb = ctx.release()
    nb.cells.insert(4, nbformat.v4.new_code_cell("100", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "grade_id": "a1-test_bonus", "points": 100,
        "schema_version": 3}}))
    write(folder, nb)


@case("metadata-edited", "test cells", "ok", 7)
def metadata_edited(ctx, folder):
    """Solved; every test cell worth 100 points, the kernelspec changed to bash, nbgrader's
    checksums removed: still 7 of 7."""
    nb = notebook(ctx, solved=True)
    for cell in nb.cells:
        if _is_test(cell):
            cell.metadata["nbgrader"]["points"] = 100
        _meta(cell).pop("checksum", None)
    nb.metadata["kernelspec"] = {"name": "bash", "display_name": "Bash", "language": "bash"}
    write(folder, nb)


# --- the kernel dies, hangs, forks, eats memory or floods its output ----------------------


@case("os-exit-end", "kernel dies", "crashed", 7)
def os_exit_end(ctx, folder):
    """Solved, and a last cell calls os._exit(0): crashed, the verified 7 stands."""
    write(folder, append(notebook(ctx, solved=True), "import os\nos._exit(0)"))


@case("sigkill-kernel", "kernel dies", "crashed", 7)
def sigkill_kernel(ctx, folder):
    """Solved, but the diagnose cell kills its own kernel with SIGKILL after defining diagnose: its
    test cell never runs, the verified 7 stands."""
    code = solution(ctx, "diagnose") + "\n\nimport os\nimport signal\nos.kill(os.getpid(), signal.SIGKILL)\n"
    write(folder, notebook(ctx, {"diagnose": code}, solved=True))


@case("loop-ignores-sigint", "endless loop", "timeout", 7)
def loop_ignores_sigint(ctx, folder):
    """Solved; after the error_rate test an added cell ignores SIGINT and loops forever: the
    interrupt fails, the notebook stops there, the verified 7 stands."""
    nb = insert_after(notebook(ctx, solved=True), "a1-test_error_rate", """
        import signal
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        while True:
            pass
    """)
    write(folder, nb)


@case("loop-catches-interrupt", "endless loop", "timeout", 7)
def loop_catches_interrupt(ctx, folder):
    """Solved; after the split_sizes test an added cell loops forever and catches every
    KeyboardInterrupt: the interrupt fails, the notebook stops there, the verified 7 stands."""
    nb = insert_after(notebook(ctx, solved=True), "a1-test_split_sizes", """
        while True:
            try:
                while True:
                    pass
            except KeyboardInterrupt:
                pass
    """)
    write(folder, nb)


@case("fork-bomb", "processes", "ok", 7)
def fork_bomb(ctx, folder):
    """Solved; a last cell forks 75 children that fork once more (150 processes named adv-forkbomb,
    sleeping 45 s; a failed fork just stops the bomb). They must all be gone when the batch ends."""
    nb = append(notebook(ctx, solved=True), _name_process("forkbomb") + """
        import os
        import time

        forked = 0
        try:
            for _ in range(75):
                if os.fork() == 0:
                    try:
                        os.fork()
                        time.sleep(45)
                    finally:
                        os._exit(0)
                forked += 1
        except OSError as err:
            print("fork failed:", err)
        finally:
            _libc.prctl(15, _old_name, 0, 0, 0)
        print(forked, "children forked")
    """)
    write(folder, nb)


def _daemon_code(ctx, name, body):
    """A double-forked, setsid daemon named adv-<name> that runs ``body`` every 0.2 s for 60 s."""
    return _name_process(name) + f"""
        import glob
        import os
        import sqlite3
        import time

        if os.fork() == 0:  # the first child starts a new session, forks the daemon and exits
            try:
                os.setsid()
                if os.fork() == 0:
                    deadline = time.monotonic() + 60
                    while time.monotonic() < deadline:
                        try:
{textwrap.indent(textwrap.dedent(body).strip(), " " * 28)}
                        except Exception:
                            pass
                        time.sleep(0.2)
            finally:
                os._exit(0)
        _libc.prctl(15, _old_name, 0, 0, 0)
        os.wait()
        print("daemon started")
    """


@case("daemon", "processes", "ok", 0, sandbox=True)
def daemon(ctx, folder):
    """Blank answers; a double-forked setsid daemon outlives the kernel and, for 60 s, tries to set
    every score in the gradebook to 0, to forge the workers' result.json files with full marks, and
    to write into the course folder and the home folder."""
    body = f"""
        for statement in ("UPDATE grade SET auto_score = 0", "UPDATE autograder_status SET score = 0"):
            try:
                db = sqlite3.connect("file:{ctx.gradebook}?mode=rw", uri=True, timeout=0.1)
                db.execute(statement)
                db.commit()
                db.close()
            except Exception:
                pass
        for path in glob.glob("{ctx.grading}/.work-*/*/*/result.json"):
            with open(path, "w") as out:
                out.write('{{"status": "ok", "complete": true, "cells": {{}}}}')
        with open("{ctx.course_root}/PWNED-daemon.txt", "a") as out:
            out.write("daemon was here\\n")
        with open("{ctx.home / SENTINEL}", "a") as out:
            out.write("daemon was here\\n")
    """
    write(folder, insert_after(ctx.release(), IMPORTS, _daemon_code(ctx, "daemon", body)))


@case("memory-bomb", "memory", "memory", 7)
def memory_bomb(ctx, folder):
    """Solved; the error_rate cell then allocates 3 GiB, above the 1024 MB limit: MemoryError, the
    notebook runs on, 7."""
    code = solution(ctx, "error_rate") + "\n\nhog = bytearray(3 * 2**30)\n"
    write(folder, notebook(ctx, {"error_rate": code}, solved=True))


@case("tree-memory", "memory", "memory", 7, sandbox=True, memory_cgroup=True,
      detail_has="its memory cgroup stopped one")
def tree_memory(ctx, folder):
    """Solved; a last cell starts 4 child processes that each hold 700 MB (each under the 1024 MB
    per-process limit, 2.8 GB together) for 2 s. The worker's memory cgroup caps the whole tree
    (1024 MB + the worker's share): the kernel stops one, status memory, 7. Needs the cgroup, so
    root and the sandbox's set-up; it holds at most 2.8 GB for 2 s where nothing caps it."""
    write(folder, append(notebook(ctx, solved=True), """
        import subprocess, sys

        hold = "import time; block = b'x' * (700 * 2**20); time.sleep(2)"  # filled: every page used
        children = [subprocess.Popen([sys.executable, "-c", hold]) for _ in range(4)]
        print("tree-memory: exit codes", [child.wait() for child in children])
    """))


@case("disk-flood", "disk", "ok", 7, sandbox=True, output_has="disk: bounded", output_lacks="UNBOUNDED")
def disk_flood(ctx, folder):
    """Solved; a last cell writes 16 MB files into /tmp, $HOME and its working folder, up to 512 MB
    in each, until a write fails. The sandbox's scratch folders are private tmpfs of 256 MB each
    (counted in the memory cgroup): every place stops near 256 MB and nothing reaches the disk."""
    write(folder, append(notebook(ctx, solved=True), """
        import os

        written = {}
        for place in ("/tmp", os.path.expanduser("~"), os.getcwd()):
            written[place] = 0
            try:
                for i in range(32):
                    with open(os.path.join(place, f"PWNED-flood-{i}.bin"), "wb") as f:
                        f.write(b"x" * 2**24)
                    written[place] += 16
            except OSError as err:
                print(place, type(err).__name__)
        print("disk:", "bounded" if all(mb <= 272 for mb in written.values()) else "UNBOUNDED", written)
    """))


@case("result-flood", "output flood", "ok", 7, detail_has="output cut at 200,000 characters")
def result_flood(ctx, folder):
    """Solved; a last cell's value is a 30 MB string and a 30 MB HTML display (execute_result and
    display_data, which a print cap does not see): both are cut, the notebook stays small, 7."""
    write(folder, append(notebook(ctx, solved=True), """
        from IPython.display import HTML, display

        display(HTML("<b>x</b>" * (30 * 2**20 // 8)))
        "y" * (30 * 2**20)
    """))


@case("print-flood", "output flood", "timeout", 7)
def print_flood(ctx, folder):
    """Solved; a last cell prints 1 GiB in 100-byte lines (over 10 million prints): the cell time
    limit interrupts it, the output kept is capped, 7."""
    write(folder, append(notebook(ctx, solved=True), """
        line = "x" * 99
        for _ in range(2**30 // 100):
            print(line)
    """))


@case("fd-flood", "output flood", "timeout", 7)
def fd_flood(ctx, folder):
    """Solved; a last cell writes 8 GiB straight to file descriptor 1 with os.write. ipykernel
    captures the descriptor and forwards it as output (and its echo into the worker's log stops at
    the 64 MB file size limit); at well under 1 GB/s through that pipe the cell time limit
    interrupts it: timeout, 7."""
    write(folder, append(notebook(ctx, solved=True), """
        import os
        chunk = b"y" * 2**20
        for _ in range(8 * 1024):
            os.write(1, chunk)
    """))


# --- files that are not a notebook, or not there -----------------------------------------


@case("invalid-json", "unreadable file", "invalid_notebook", 0)
def invalid_json(ctx, folder):
    """The first half of a complete notebook: not valid JSON."""
    text = nbformat.writes(notebook(ctx, solved=True))
    write_bytes(folder, text[: len(text) // 2].encode())


@case("nbformat-3", "unreadable file", "invalid_notebook", 0)
def nbformat_3(ctx, folder):
    """A complete notebook saved as nbformat 3 (worksheets)."""
    nb3 = nbformat.convert(notebook(ctx, solved=True), 3)
    write_bytes(folder, nbformat.writes(nb3, version=3).encode())


@case("nbformat-5", "unreadable file", "invalid_notebook", 0)
def nbformat_5(ctx, folder):
    """A complete notebook that claims nbformat 5."""
    data = json.loads(nbformat.writes(notebook(ctx, solved=True)))
    data["nbformat"] = 5
    write_bytes(folder, json.dumps(data).encode())


@case("empty-file", "unreadable file", "invalid_notebook", 0)
def empty_file(ctx, folder):
    """An empty a1_splits.ipynb."""
    write_bytes(folder, b"")


@case("binary-garbage", "unreadable file", "invalid_notebook", 0)
def binary_garbage(ctx, folder):
    """Bytes that are not UTF-8."""
    write_bytes(folder, bytes(range(256)) * 64)


@case("deep-json", "unreadable file", "invalid_notebook", 0)
def deep_json(ctx, folder):
    """Valid JSON nested 200,000 lists deep (a RecursionError for a naive reader)."""
    write_bytes(folder, b"[" * 200_000 + b"]" * 200_000)


@case("huge-notebook", "unreadable file", "invalid_notebook", 0)
def huge_notebook(ctx, folder):
    """A complete notebook padded with a 65 MB markdown cell: above the 64 MB limit."""
    nb = notebook(ctx, solved=True)
    nb.cells.append(nbformat.v4.new_markdown_cell("a" * (65 * 2**20)))
    write(folder, nb)


@case("missing-notebook", "missing", "missing", 0)
def missing_notebook(ctx, folder):
    """The assignment folder holds only a text file."""
    (folder / ASSIGNMENT).mkdir(parents=True)
    (folder / ASSIGNMENT / "README.txt").write_text("I could not finish the notebook.\n")


@case("missing-assignment", "missing", "missing", 0)
def missing_assignment(ctx, folder):
    """The student's folder has no a1_splits/ folder, only another assignment's."""
    (folder / "a2_regularization").mkdir(parents=True)
    nbformat.write(notebook(ctx, solved=True), folder / "a2_regularization" / "a2_regularization.ipynb")


@case("extra-files", "extra files", "ok", 0)
def extra_files(ctx, folder):
    """Blank answers, next to them an autograder.py whose check() returns full marks (it would
    shadow the real package if the submission folder were the kernel's working folder), a scratch
    notebook, a data file and a sub-folder."""
    write(folder, ctx.release())
    base = folder / ASSIGNMENT
    (base / "autograder.py").write_text(
        f"POINTS = {_points_literal()}\n\n\ndef check(name, student_function, *, hidden=False):\n"
        "    return POINTS[name]\n\n\ndef use(name, student_function):\n    return student_function\n")
    write(folder, notebook(ctx, solved=True), name="scratch.ipynb")
    (base / "data.csv").write_text("x,y\n1,2\n")
    (base / "notes").mkdir()
    (base / "notes" / "todo.md").write_text("- finish a1\n")


# --- symbolic links and folder names -----------------------------------------------------


@case("symlink-passwd", "symlink", "invalid_notebook", 0)
def symlink_passwd(ctx, folder):
    """a1_splits.ipynb is a symbolic link to /etc/passwd."""
    (folder / ASSIGNMENT).mkdir(parents=True)
    (folder / ASSIGNMENT / NOTEBOOK).symlink_to("/etc/passwd")


@case("symlink-solutions", "symlink", "invalid_notebook", 0)
def symlink_solutions(ctx, folder):
    """a1_splits.ipynb is a symbolic link to the solutions notebook (which would score 7)."""
    (folder / ASSIGNMENT).mkdir(parents=True)
    (folder / ASSIGNMENT / NOTEBOOK).symlink_to(ctx.source_notebook)


@case("symlink-assignment", "symlink", "missing", 0)
def symlink_assignment(ctx, folder):
    """The a1_splits/ folder is a symbolic link to solutions/a1_splits/."""
    folder.mkdir(parents=True)
    (folder / ASSIGNMENT).symlink_to(ctx.source_notebook.parent, target_is_directory=True)


@case("symlink-student", "symlink", "invalid_student", 0)
def symlink_student(ctx, folder):
    """The student's folder is a symbolic link to another student's complete submission."""
    target = ctx.submissions / "honest-complete"
    if not target.exists():
        honest_complete(ctx, target)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.symlink_to(target, target_is_directory=True)


def _complete_under(name):
    @case(name, "folder name", "invalid_student", 0)
    def unsafe_name(ctx, folder):
        """A complete submission in a folder whose name is not a safe student id."""
        write(folder, notebook(ctx, solved=True))
    return unsafe_name


for _name in ("..x", "a..b", "spa ce", "ünï-códe", "new\nline", "=2+5"):  # =2+5: a spreadsheet formula
    _complete_under(_name)


@case("huge-timestamp", "unreadable file", "ok", 7)
def huge_timestamp(ctx, folder):
    """Solved; next to the notebook a sparse 3 GB timestamp.txt (a few KB on disk): the grader reads
    its first bytes only (once it read it whole, 6.4 GB resident), then uses the notebook's time."""
    write(folder, notebook(ctx, solved=True))
    with open(Path(folder) / ASSIGNMENT / "timestamp.txt", "wb") as f:
        f.truncate(3 * 2**30)


# --- escaping the sandbox: reading secrets, writing outside, the network ------------------


@case("read-solutions", "reads solutions", "ok", 0, sandbox=True)
def read_solutions(ctx, folder):
    """Each function reads the solutions notebook of the course being graded and runs the solution
    code it finds there; in the sandbox the folder is empty, so every call fails."""
    helper = f'''
        SOLUTIONS = {str(ctx.source_notebook)!r}


        def _solution(name):
            import json
            with open(SOLUTIONS) as f:
                cells = json.load(f)["cells"]
            namespace = {{}}
            exec("import numpy as np", namespace)
            for cell in cells:
                text = "".join(cell["source"])
                if "BEGIN SOLUTION" in text:
                    exec(text, namespace)
            return namespace[name]
    '''
    write(folder, insert_after(notebook(ctx, _delegating_answers(ctx, "_solution")), IMPORTS, helper))


def _delegating_answers(ctx, helper):
    """Answers whose every function returns ``helper(its name)(its arguments)``: code found elsewhere."""
    answers = {}
    for function, call in (("split_sizes", "m, ratios"), ("train_dev_test_split", "X, Y, ratios, rng=rng"),
                           ("error_rate", "y_pred, y_true"),
                           ("diagnose", "train_error, dev_error, human_error=human_error")):
        signature = re.search(rf"def {function}\((.*)\):", solution(ctx, function)).group(1)
        answers[function] = f"def {function}({signature}):\n    return {helper}({function!r})({call})\n"
    return answers


def _escape_attempts(ctx, label):
    """Code (a class body, so it runs in the kernel AND in the verification process) that tries to
    write outside the sandbox and prints what happened."""
    targets = [ctx.home / SENTINEL, ctx.course_root / f"PWNED-{label}.txt",
               ctx.release_notebook.parent / f"PWNED-{label}.txt", ctx.source_notebook,
               ctx.grading / f"PWNED-{label}.txt", ctx.grading / "feedback" / f"PWNED-{label}.txt",
               ctx.submissions / "honest-complete" / ASSIGNMENT / NOTEBOOK]
    return f"""
        class _Escape:
            import glob
            outcome = []
            for target in {[str(t) for t in targets]!r} + glob.glob("{ctx.grading}/.work-*/*/*/result.json"):
                try:
                    with open(target, "a") as f:
                        f.write("PWNED by {label}\\n")
                    outcome.append(f"{{target}}: WRITTEN")
                except OSError as err:
                    outcome.append(f"{{target}}: blocked ({{type(err).__name__}})")

        print(*_Escape.outcome, sep="\\n")
        print("escape: done")
    """


@case("write-outside", "writes outside", "ok", 7, sandbox=True, output_has="escape: done")
def write_outside(ctx, folder):
    """Solved; a class body (run by the kernel and by the verification) appends to the home
    folder's sentinel, the course folder, the release, the solutions notebook, the grading folder,
    another student's submission and every worker's result.json. Inside the sandbox some writes
    succeed, into its private /tmp; the test checks that no real file changed or appeared."""
    write(folder, insert_after(notebook(ctx, solved=True), IMPORTS, _escape_attempts(ctx, "write-outside")))


@case("mount-escape", "escapes the sandbox", "ok", 7, sandbox=True, output_has="mounts: all refused",
      output_lacks="DETACHED")
def mount_escape(ctx, folder):
    """Solved; a class body (kernel and verification) does what a security review did as root:
    ``umount2`` of the tmpfs mounts hiding the solutions, the grading folder and the submissions,
    ``mount(MS_REMOUNT|MS_BIND)`` of ``/``, the course and the package read-write, the same again
    from a user namespace of its own, then writes a file into the installed package and the venv,
    and the writes of write-outside. Every mount call must fail and no write may land. The mount
    calls and the package writes are made only inside bubblewrap (process 1 is bwrap): graded
    without a sandbox, as root, they would change the machine."""
    hidden = [str(p) for p in (ctx.source_notebook.parent.parent, ctx.grading, ctx.submissions)]
    remount = [str(p) for p in ("/", ctx.course_root, PACKAGE_ROOT, SITE_PACKAGES)]
    package = [str(p / "PWNED-mount-escape.txt") for p in (PACKAGE_ROOT / "autograder", Path(SITE_PACKAGES))]
    code = f"""
        class _Mounts:  # loops, not comprehensions: these see the class body's names
            import ctypes
            libc, calls = ctypes.CDLL(None, use_errno=True), []
            if open("/proc/1/comm").read().strip() == "bwrap":
                for path in {hidden!r}:
                    calls.append(libc.umount2(path.encode(), 2))
                for path in {remount!r}:
                    calls.append(libc.mount(None, path.encode(), None, 32 | 4096, None))
                if libc.unshare(0x10000000 | 0x00020000) == 0:
                    for path in {hidden!r}:
                        calls.append(libc.umount2(path.encode(), 2))
                for path in {package!r}:
                    try:
                        open(path, "w").close()
                        calls.append(0)
                    except OSError:
                        calls.append(-1)
                print("mounts:", "DETACHED" if 0 in calls else "all refused", calls)
            else:
                print("mounts: not in a sandbox, not tried")
    """
    write(folder, insert_after(notebook(ctx, solved=True), IMPORTS, code + _escape_attempts(ctx, "mount-escape")))


@case("git-history", "reads solutions", "ok", 0, sandbox=True, output_has="git:")
def git_history(ctx, folder):
    """Each function asks git for the solutions notebook as committed in the repository that holds
    the course (``git --git-dir .../.git show HEAD:solutions/...``) and runs the solution code it
    finds; in the sandbox every repository is hidden, so every call fails."""
    helper = f'''
        import subprocess


        def _committed(name):
            import json
            shown = subprocess.run(["git", "--git-dir", {str(PACKAGE_ROOT / ".git")!r}, "show",
                                    "HEAD:solutions/a1_splits/a1_splits.ipynb"], capture_output=True, timeout=10)
            namespace = {{}}
            exec("import numpy as np", namespace)
            for cell in json.loads(shown.stdout)["cells"]:
                text = "".join(cell["source"])
                if "BEGIN SOLUTION" in text:
                    exec(text, namespace)
            return namespace[name]


        print("git:", subprocess.run(["git", "--git-dir", {str(PACKAGE_ROOT / ".git")!r}, "log", "-1"],
                                     capture_output=True, text=True).stderr[:200])
    '''
    write(folder, insert_after(notebook(ctx, _delegating_answers(ctx, "_committed")), IMPORTS, helper))


@case("gradebook-rewrite", "writes outside", "ok", 0, sandbox=True, output_has="gradebook: blocked",
      output_lacks="REWRITTEN")
def gradebook_rewrite(ctx, folder):
    """Blank answers; a class body (kernel and verification) opens the SQLite gradebook and sets
    every score to 0, one statement at a time, and prints what happened."""
    code = f"""
        class _Rewrite:
            import sqlite3
            outcome = []
            for statement in ("UPDATE grade SET auto_score = 0", "UPDATE autograder_status SET score = 0"):
                try:
                    db = sqlite3.connect("file:{ctx.gradebook}?mode=rw", uri=True, timeout=1)
                    db.execute(statement)
                    db.commit()
                    db.close()
                    outcome.append("REWRITTEN")
                except Exception as err:
                    outcome.append(f"blocked ({{type(err).__name__}}: {{err}})")

        print("gradebook:", *_Rewrite.outcome)
    """
    write(folder, insert_after(ctx.release(), IMPORTS, code))


@case("network", "network", "ok", 7, sandbox=True, output_has="network: blocked", output_lacks="CONNECTED")
def network(ctx, folder):
    """Solved; a cell opens a TCP connection to 1.1.1.1:80 (2 s timeout)."""
    write(folder, insert_after(notebook(ctx, solved=True), IMPORTS, """
        import socket
        try:
            socket.create_connection(("1.1.1.1", 80), timeout=2).close()
            print("network: CONNECTED")
        except OSError as err:
            print(f"network: blocked ({type(err).__name__})")
    """))


@case("hidden-seed", "reads the hidden seed", "ok", 7, output_has="seed:")
def hidden_seed(ctx, folder):
    """Solved; a cell prints AUTOGRADER_HIDDEN_SEED, the instructor's secret that keeps the hidden
    cases unguessable. The test asserts that the secret reaches no file the grader writes (the
    feedback, the autograded notebook, the logs) and no file outside the grading folder."""
    write(folder, insert_after(notebook(ctx, solved=True), IMPORTS, """
        import os
        print("seed:", os.environ.get("AUTOGRADER_HIDDEN_SEED"))
    """))


def sandbox_cases():
    return [c for c in CASES if c.sandbox]


def by_student():
    return {c.student: c for c in CASES}


# --- what the feedback page shows: pasted images, widgets, scripts, slow markdown --------------


def _with_cells(nb, *cells):
    nb.cells[3:3] = list(cells)  # after the imports and the first answer
    return nb


@case("screenshot-attachment", "feedback page", "ok", 7, page_lacks="<script")
def screenshot_attachment(ctx, folder):
    """Solved; a markdown cell of the student's shows a pasted screenshot whose attachment is gone
    (``![image.png](attachment:image.png)``): once the feedback renderer raised and stopped the run."""
    write(folder, _with_cells(notebook(ctx, solved=True),
                              nbformat.v4.new_markdown_cell("My plot:\n\n![image.png](attachment:image.png)")))


@case("widget-no-model", "feedback page", "ok", 7, page_lacks="<script")
def widget_no_model(ctx, folder):
    """Solved; a cell displays a widget mime bundle without ``model_id``: once the renderer raised."""
    write(folder, _with_cells(notebook(ctx, solved=True), nbformat.v4.new_code_cell(
        "from IPython.display import display\n"
        "display({'application/vnd.jupyter.widget-view+json': {'version_major': 2, 'version_minor': 0},\n"
        "         'text/plain': 'IntSlider(value=3)'}, raw=True)")))


@case("script-markup", "feedback page", "ok", 7, page_lacks="<script")
def script_markup(ctx, folder):
    """Solved; markdown with ``<script>``, ``<img onerror>`` and a ``javascript:`` link, and HTML()
    and Javascript() outputs that rewrite the score: the page keeps none of it active."""
    hostile = ("<script>document.querySelector('h4').innerText='Score: 70 / 7'</script>"
               "<img src=x onerror=\"alert(1)\"><a href=\"javascript:alert(2)\">link</a>")
    write(folder, _with_cells(notebook(ctx, solved=True), nbformat.v4.new_markdown_cell(hostile),
                              nbformat.v4.new_code_cell(
                                  "from IPython.display import HTML, Javascript, display\n"
                                  f"display(HTML({hostile!r}))\n"
                                  "display(Javascript(\"document.querySelector('h4').innerText='Score: 70 / 7'\"))")))


@case("slow-markdown", "feedback page", "error", 7)
def slow_markdown(ctx, folder):
    """Solved; a 176 KB markdown cell of emphasis across nested links, which the renderer takes
    minutes over: its page stops at the render limit, status error, the grade (7) stands."""
    text = "*a [" * 16000 + "b" + "](c) a*" * 16000
    write(folder, _with_cells(notebook(ctx, solved=True), nbformat.v4.new_markdown_cell(text)))
