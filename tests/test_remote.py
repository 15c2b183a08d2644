"""The verification pass: student code runs in its own limited process; scores are judged here."""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import numpy as np
import pytest
from fixtures.escape import ESCAPE, assert_contained

from autograder.grading.verify import student_source, verify
from autograder.sandbox import wire
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


REFERENCE_CALLED = ("it calls the reference implementation introdl.{}; write the computation yourself "
                    "(no credit for calling the reference)")


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


def test_switching_off_the_kernels_detector_earns_nothing():
    """sys.setprofile(None) blinds the kernel's tracing; the verification process has no reference to call."""
    evasion = ("import sys, introdl\n\ndef error_rate(y_pred, y_true):\n    sys.setprofile(None)\n"
               "    return introdl.error_rate(y_pred, y_true)\n")
    scores, results = _scores(GOOD, evasion)
    assert scores == {"t_err": 0.0, "t_sizes": 2.0}
    assert REFERENCE_CALLED.format("error_rate") in results["t_err"].report()


def test_with_a_secret_seed_the_public_cases_are_judged_too(monkeypatch):
    """A grader's source: its test cells run the hidden cases too (the notebook's kernel, the public ones)."""
    source = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(f"{c.source}\n{c.source[:-1]}, hidden=True)", metadata=c.metadata)
        for c in SOURCE_NB.cells])
    submission = _submission(GOOD)
    plain = verify(submission, source, limits=Limits(call_timeout=5))
    assert all(v.public is v.result for v in plain.values()), "no secret: one run"
    monkeypatch.setenv("AUTOGRADER_HIDDEN_SEED", "s3cret")
    both = verify(submission, source, limits=Limits(call_timeout=5))
    assert all(v.public is not v.result and v.public.score == v.result.score == v.result.points
               for v in both.values())


def test_a_release_test_cell_is_compared_on_its_visible_cases_only():
    """A student's self-check rebuilds on the release, whose test cells run no hidden case."""
    results = verify(_submission(GOOD), SOURCE_NB, limits=Limits(call_timeout=5))
    assert all(v.public.total < v.result.total for v in results.values()), "visible cases only"


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


def test_a_syntax_error_is_reported_as_one_with_its_line():
    broken = GOOD.replace("def error_rate(y_pred, y_true):", "def error_rate(y_pred, y_true)")
    results = verify(_submission(broken), SOURCE_NB, limits=Limits(call_timeout=5))
    message = results["t_err"].result.report()
    assert "the function error_rate is not defined (cell 1 has a syntax error at its line 4" in message, message
    assert "def error_rate(y_pred, y_true)" in message


# --- the reference implementation is withheld while its function is graded -------------------

REFERENCE_ATTACKS = {
    "thread": """
import threading
import introdl

def error_rate(y_pred, y_true):
    found = []
    worker = threading.Thread(target=lambda: found.append(introdl.error_rate(y_pred, y_true)))
    worker.start()
    worker.join()
    return found[0]
""",
    "code-copy": """
import types
import introdl

def error_rate(y_pred, y_true):
    reference = introdl.error_rate
    copy = types.FunctionType(reference.__code__.replace(co_name="mine"), reference.__globals__)
    return copy(y_pred, y_true)
""",
    "patched-detector": """
import sys
import introdl

def _blind(function):
    class Forget(list):
        def append(self, item):
            pass

    def watching_nothing(original):
        return lambda fn, args, kwargs, forbidden=None: original(fn, args, kwargs, {})

    sys.setprofile = lambda *args, **kwargs: None
    sys.getprofile = lambda: None
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith(("autograder", "__main__")):
            if hasattr(module, "traced_call"):
                module.traced_call = watching_nothing(module.traced_call)
            if hasattr(module, "CALLED"):
                module.CALLED = Forget()
    return function

@_blind
def error_rate(y_pred, y_true):
    return introdl.error_rate(y_pred, y_true)
""",
    "found-by-gc": """
import gc
import types

def error_rate(y_pred, y_true):
    for obj in gc.get_objects():
        if isinstance(obj, types.FunctionType) and obj.__name__ == "error_rate" and obj.__module__ != "__student__":
            try:
                return obj(y_pred, y_true)
            except Exception:
                pass
    return -1.0
""",
}


@pytest.mark.parametrize("attack", REFERENCE_ATTACKS.values(), ids=REFERENCE_ATTACKS.keys())
def test_the_reference_cannot_be_reached_while_its_function_is_graded(attack):
    """The security review's bypasses of sys.setprofile tracing (a thread, a copy of the code object,
    a decorator that blinds the detectors), and a search of the garbage collector's objects."""
    scores, results = _scores(GOOD, attack)
    assert scores == {"t_err": 0.0, "t_sizes": 2.0}
    assert "introdl.error_rate" in results["t_err"].report()


def test_a_reference_graded_elsewhere_stays_available():
    """Only the references of the function being graded are withheld: split_sizes's is there for error_rate."""
    uses_another = GOOD + """
import introdl

def error_rate(y_pred, y_true):
    assert introdl.split_sizes(10, (0.6, 0.2, 0.2)) == (6, 2, 2)
    return float(np.mean(y_pred != y_true))
"""
    scores, _ = _scores(uses_another)
    assert scores == {"t_err": 1.0, "t_sizes": 2.0}


def test_each_check_gets_a_child_without_its_references():
    probe = """
import introdl
import introdl.optimizers

def withheld():
    functions = {name: getattr(introdl, name) for name in ("error_rate", "accuracy", "adam_update", "split_sizes")}
    functions["OPTIMIZERS['adam']"] = introdl.optimizers.OPTIMIZERS["adam"][1]
    return sorted(name for name, fn in functions.items() if fn.__code__.co_filename.startswith("<withheld"))
"""
    limits = Limits(call_timeout=5)
    with RemoteSession(probe, limits=limits, withheld=[("introdl.metrics", "error_rate")], graded="x") as session:
        assert session.namespace["withheld"]() == ["error_rate"]
        session.load([("introdl.optimizers", "adam_update")], "adam_update")
        assert session.namespace["withheld"]() == ["OPTIMIZERS['adam']", "adam_update"]


def test_withholding_fails_closed_when_the_reference_stays_reachable(tmp_path):
    """A holder the replacement cannot change (here a functools.partial): the child refuses to go on."""
    (tmp_path / "held.py").write_text("import functools\n\ndef f():\n    return 1\n\nHELD = functools.partial(f)\n")
    code = ("from autograder.sandbox import withhold\ntry:\n    withhold.withhold([('held', 'f')], 'f')\n"
            "except withhold.NotWithheld as err:\n    print(err)\nelse:\n    print('withheld')\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])})
    assert "could not withhold held.f" in done.stdout and "partial" in done.stdout, done.stdout


@pytest.mark.skipif(bubblewrap_prefix() is None, reason="bubblewrap (bwrap) is not installed")
def test_nothing_a_check_started_is_left_for_the_next_and_the_parent_cannot_be_traced():
    """A process started while one function was graded (holding references the next check withholds)
    is gone when the next check starts; the parent that forks the children cannot be read or traced."""
    probe = """
import os
import time

def spawn():
    pid = os.fork()
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    return pid

def alive(pid):
    return os.path.exists(f"/proc/{pid}")

def read_parent():
    try:
        with open(f"/proc/{os.getppid()}/mem", "rb"):
            return "opened"
    except OSError as err:
        return type(err).__name__
"""
    with RemoteSession(probe, limits=Limits(call_timeout=5)) as session:
        pid = session.namespace["spawn"]()
        assert session.namespace["alive"](pid)
        session.load()
        assert not session.namespace["alive"](pid)
        assert session.namespace["read_parent"]() == "PermissionError"


# --- what comes back from the student's process: depth and time limits ------------------------

_SOCKET_WRITE = """
import os
import struct
import time

def _to_the_grader(data):
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                os.write(int(fd), data)
        except OSError:
            pass
"""


def test_deeply_nested_results_fail_only_their_function():
    deep_value = ("def error_rate(y_pred, y_true):\n    x = 0.0\n    for _ in range(100_000):\n        x = [x]\n"
                  "    return x\n")
    scores, results = _scores(GOOD, deep_value)
    assert scores == {"t_err": 0.0, "t_sizes": 2.0}
    assert "nested too deeply" in results["t_err"].report()
    deep_message = _SOCKET_WRITE + """
def error_rate(y_pred, y_true):
    data = b"[" * 100_000 + b"]" * 100_000
    _to_the_grader(struct.pack("!i", len(data)) + data)
    return 0.0
"""
    scores, results = _scores(GOOD, deep_message)
    assert scores == {"t_err": 0.0, "t_sizes": 2.0}
    assert "nested too deeply" in results["t_err"].report()


def test_the_wire_refuses_nesting_deeper_than_results_need():
    deepest = 0.0
    for _ in range(wire._MAX_DEPTH - 1):  # dicts take the most JSON levels: {"d": [[key, value]]}
        deepest = {"k": deepest}
    assert wire.decode(wire.encode({"value": deepest})) == {"value": deepest}
    with pytest.raises(wire.WireError, match="nested too deeply"):
        wire.encode({"value": {"k": deepest}})
    for data in (b"[" * 100_000 + b"]" * 100_000, b'{"d": [[' * 50_000,
                 json.dumps({"g": "[" * 5_000 + "]" * 5_000}).encode()):
        with pytest.raises(wire.WireError, match="nested too deeply"):
            wire.decode(data)
    assert wire.decode(json.dumps(["[" * 5_000]).encode()) == ["[" * 5_000], "brackets in strings do not count"


def test_a_half_sent_message_fails_its_call_within_the_call_limit():
    """A length header and part of the message, then silence: the grader stops waiting at the call limit."""
    half = _SOCKET_WRITE + """
def error_rate(y_pred, y_true):
    _to_the_grader(struct.pack("!i", 100) + b'{"d": [')
    time.sleep(600)
"""
    limits = Limits(call_timeout=2, memory_mb=1024)
    started = time.monotonic()
    results = verify(_submission(GOOD, half), SOURCE_NB, limits=limits)
    assert {gid: v.result.score for gid, v in results.items()} == {"t_err": 0.0, "t_sizes": 2.0}
    assert f"did not finish within {limits.call_seconds:g} s" in results["t_err"].result.report()
    # One call waited for its limit, the next ones failed at once (it used to wait for ever).
    assert time.monotonic() - started < 5 * limits.call_seconds + 20
