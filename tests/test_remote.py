"""The verification pass: student code runs in its own limited process; scores are judged here."""

import contextlib
import shutil
import uuid
from pathlib import Path

import nbformat
import numpy as np
import pytest
from fixtures.escape import ESCAPE, assert_contained

from autograder.grading.verify import student_source, verify
from autograder.sandbox.bubblewrap import bubblewrap_prefix
from autograder.sandbox.policy import Limits
from autograder.sandbox.session import RemoteSession

ROOT = Path(__file__).resolve().parents[1]
SOURCE_NB = nbformat.v4.new_notebook(cells=[
    nbformat.v4.new_code_cell("check('error_rate', error_rate)",
                              metadata={"nbgrader": {"grade": True, "grade_id": "t_err", "points": 1}}),
    nbformat.v4.new_code_cell("check('split_sizes', split_sizes)",
                              metadata={"nbgrader": {"grade": True, "grade_id": "t_sizes", "points": 2}}),
])

GOOD = """
import numpy as np

def error_rate(y_pred, y_true):
    return float(np.mean(y_pred != y_true))

def split_sizes(m, ratios):
    n_dev, n_test = round(m * ratios[1]), round(m * ratios[2])
    return m - n_dev - n_test, n_dev, n_test
"""


def _submission(*sources):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def _scores(*sources, **kw):
    results = verify(_submission(*sources), SOURCE_NB, limits=Limits(call_timeout=5, memory_mb=1024), **kw)
    return {gid: v.result.score for gid, v in results.items()}, {gid: v.result for gid, v in results.items()}


def test_correct_functions_get_full_marks():
    scores, _ = _scores(GOOD)
    assert scores == {"t_err": 1.0, "t_sizes": 2.0}


def test_patching_the_checks_or_numpy_at_top_level_changes_nothing():
    patch = """
import autograder.checks, numpy
autograder.checks.run_check = lambda *a, **k: None
numpy.all = lambda *a, **k: True
get_ipython().set_custom_exc((AssertionError,), lambda *a, **k: None)
"""
    bad = "def error_rate(y_pred, y_true):\n    return 0.0\n"
    patched, _ = _scores(GOOD, patch, bad)
    plain, _ = _scores(GOOD, bad)
    assert patched == plain and plain["t_err"] < 1.0, "patching must not change the verified score"


def test_patching_numpy_from_inside_a_function_only_affects_the_student_process():
    sneaky = """
def error_rate(y_pred, y_true):
    import numpy, builtins
    numpy.abs = lambda x: x * 0
    builtins.abs = lambda x: 0
    return 0.5
"""
    scores, _ = _scores(GOOD, sneaky)
    assert scores["t_err"] == 0.0


def test_os_exit_fails_only_its_own_function():
    crash = "def error_rate(y_pred, y_true):\n    import os\n    os._exit(3)\n"
    scores, results = _scores(GOOD, crash)
    assert scores == {"t_err": 0.0, "t_sizes": 2.0}
    assert "died" in results["t_err"].report() or "no longer running" in results["t_err"].report()


def test_endless_loop_times_out():
    loop = "def error_rate(y_pred, y_true):\n    while True:\n        pass\n"
    scores, results = _scores(GOOD, loop)
    assert scores == {"t_err": 0.0, "t_sizes": 2.0}
    assert "did not finish" in results["t_err"].report()


def test_memory_bomb_is_stopped_by_the_limit():
    bomb = "def error_rate(y_pred, y_true):\n    x = bytearray(8 * 2**30)\n    return 0.0\n"
    scores, results = _scores(GOOD, bomb)
    assert scores == {"t_err": 0.0, "t_sizes": 2.0}
    assert "MemoryError" in results["t_err"].report()


def test_missing_function_scores_zero_with_a_message():
    scores, results = _scores("def split_sizes(m, ratios):\n    return 0, 0, 0\n")
    assert scores == {"t_err": 0.0, "t_sizes": 0.0}
    assert "not defined" in results["t_err"].report()


def test_top_level_statements_other_than_definitions_do_not_run():
    source = student_source(_submission("x = 1\nprint('hi')\nwhile True:\n    pass\n", GOOD))
    assert "while" not in source and "print" not in source and "def error_rate" in source


@pytest.mark.skipif(bubblewrap_prefix() is None, reason="bubblewrap (bwrap) is not installed")
def test_sandbox_hides_solutions_and_has_no_network(tmp_path):
    secret = tmp_path / "solutions"
    secret.mkdir()
    (secret / "answers.txt").write_text("42")
    probe = f"""
def read_secret():
    import os
    try:
        return os.listdir({str(secret)!r})
    except OSError as err:
        return type(err).__name__

def connect():
    import socket
    try:
        socket.create_connection(("127.0.0.1", 22), timeout=1)
    except OSError as err:
        return type(err).__name__
    return "connected"
"""
    with RemoteSession(probe, sandbox=True, hidden=[secret]) as session:
        assert session.sandboxed
        assert session.namespace["read_secret"]() in ([], "FileNotFoundError")  # empty, or not there at all
        assert session.namespace["connect"]() != "connected"


@pytest.mark.skipif(bubblewrap_prefix() is None, reason="bubblewrap (bwrap) is not installed")
def test_a_function_body_cannot_undo_the_sandbox_mounts_or_write_outside_it():
    """The security review's escape (umount2 and remount through ctypes), run by the verification pass.

    The secret folder lives in the checkout, not under /tmp (which the sandbox replaces whole).
    """
    secret = ROOT / ".pytest-sandbox" / uuid.uuid4().hex / "solutions"
    secret.mkdir(parents=True)
    (secret / "answers.txt").write_text("42")
    targets = [str(ROOT / "autograder"), str(Path(np.__file__).parent.parent), str(secret.parent)]
    try:
        with RemoteSession(ESCAPE, sandbox=True, hidden=[secret]) as session:
            seen = session.namespace["escape"]([str(secret)], targets, str(ROOT / ".git"))
        assert_contained(seen)
    finally:
        shutil.rmtree(secret.parent, ignore_errors=True)  # this test's folder, not .pytest-sandbox: the
        with contextlib.suppress(OSError):  # adversarial batch may be running in there at the same time
            secret.parent.parent.rmdir()  # unless another run still uses it
    assert not [t for t in targets if (Path(t) / "pwned-by-escape.txt").exists()]


SOLUTIONS = sorted((Path(__file__).resolve().parents[1] / "solutions").glob("a*/*.ipynb"))


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_every_solution_notebook_gets_full_marks_from_the_verification_pass(path):
    """Fairness: the definitions alone (no data loading, no experiments) must earn every point."""
    nb = nbformat.read(path, as_version=4)
    results = {gid: v.result for gid, v in verify(nb, nb).items()}
    assert results, "the notebook has graded checks"
    assert {gid: r.report() for gid, r in results.items() if r.passed != r.total} == {}


def test_cheap_constants_are_kept_and_expensive_statements_are_not():
    source = student_source(_submission(
        "import numpy as np\nimport introdl as dl\nEPS = np.float64(1e-8)\nDIMS = list(range(3))\n"
        "X, y = dl.load_digits()\nmodel = train(X)\nf = lambda x: x\n",
        "def scaled(x):\n    return x * EPS\n"))
    assert "EPS = np.float64(1e-08)" in source and "DIMS = list(range(3))" in source
    assert "load_digits" not in source and "train(" not in source and "lambda" not in source
    with RemoteSession(source, limits=Limits(call_timeout=5)) as session:
        assert session.namespace["scaled"](2.0) == 2e-8


def test_a_failing_import_or_constant_leaves_only_that_name_undefined():
    scores, _ = _scores("import not_a_module\nBAD = int('x')\n", GOOD)
    assert scores == {"t_err": 1.0, "t_sizes": 2.0}


def test_switching_off_the_reference_detector_earns_nothing():
    evasion = ("import sys, introdl\n\ndef error_rate(y_pred, y_true):\n    sys.setprofile(None)\n"
               "    return introdl.error_rate(y_pred, y_true)\n")
    scores, results = _scores(GOOD, evasion)
    assert scores == {"t_err": 0.0, "t_sizes": 2.0}
    assert "sys.setprofile" in results["t_err"].report()


def test_with_a_secret_seed_the_public_cases_are_judged_too(monkeypatch):
    submission = _submission(GOOD)
    plain = verify(submission, SOURCE_NB, limits=Limits(call_timeout=5))
    assert all(v.public is v.result for v in plain.values()), "no secret: one run"
    monkeypatch.setenv("AUTOGRADER_HIDDEN_SEED", "s3cret")
    both = verify(submission, SOURCE_NB, limits=Limits(call_timeout=5))
    assert all(v.public is not v.result and v.public.score == v.result.score == v.result.points
               for v in both.values())


def test_plotting_and_notebook_imports_load_only_when_a_function_uses_them():
    source = student_source(_submission(
        "import numpy as np\nimport matplotlib.pyplot as plt\nimport matplotlib\nfrom introdl import plots\n"
        "from autograder import check\n",
        "def backend():\n    return plt.get_backend().lower(), matplotlib.__name__, callable(plots.plot_history)\n"
        "def loaded():\n    import sys\n    return 'matplotlib' in sys.modules, 'autograder.checks' in sys.modules\n"))
    assert "plt = __lazy__('matplotlib.pyplot'" in source
    with RemoteSession(source, limits=Limits(call_timeout=10)) as session:
        assert session.namespace["loaded"]() == (False, False), "nothing imported at load"
        assert session.namespace["backend"]() == ("agg", "matplotlib", True)
