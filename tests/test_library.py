"""introdl.library: the machinery runs on whatever function(name) gives, and on nothing else.

A build without a graded function's code (the sealed release) is simulated by taking the
reference out of its module and out of ``introdl``'s namespace.
"""

import importlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import autograder
import introdl
from autograder.checks.registry import REGISTRY
from introdl import library
from introdl.library import KeptFunctionError, Unfinished, forget, function, keep, provide
from introdl.stepper import ReadableStep, make_stepper

EPOCHS, BATCHES, HIDDEN_LAYERS = 3, 4, 2  # 64 examples in batches of 16, network 2-5-4-1


@pytest.fixture(autouse=True)
def own_library(tmp_path, monkeypatch):
    """A fresh, empty own library for each test, and nothing provided afterwards."""
    folder = tmp_path / "own"
    monkeypatch.setenv(library.OWN_LIBRARY_VARIABLE, str(folder))
    yield folder
    for name in library.REFERENCE_MODULES:
        forget(name)


def remove(monkeypatch, name):
    """Simulate a build without the reference of ``name``."""
    module = importlib.import_module(f"introdl.{library.REFERENCE_MODULES[name]}")
    monkeypatch.delattr(module, name)
    monkeypatch.delattr(introdl, name, raising=False)


def student_dropout_forward(A, keep_prob, *, rng):
    mask = rng.random(A.shape) < keep_prob
    return A * mask / keep_prob, (mask, keep_prob)


def student_dropout_backward(dA, cache):
    mask, keep_prob = cache
    return dA * mask / keep_prob


def counted(fn, calls, name):
    def wrapper(*args, **kwargs):
        calls[name] = calls.get(name, 0) + 1
        return fn(*args, **kwargs)
    return wrapper


def xor_data():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((2, 64))
    Y = (X[0:1] * X[1:2] > 0).astype(float)
    params = introdl.initialize_parameters([2, 5, 4, 1], "he", rng=rng)
    return params, X, Y


def train(keep_prob=0.8, **kwargs):
    params, X, Y = xor_data()
    return introdl.train(params, X, Y, rng=np.random.default_rng(9), output="sigmoid", optimizer="adam", lr=0.01,
                         epochs=EPOCHS, batch_size=16, keep_prob=keep_prob, lamd=0.1, progress=False, **kwargs)


def test_the_graded_names_are_the_registrys():
    assert set(library.REFERENCE_MODULES) == set(REGISTRY)


def test_the_open_package_gives_every_reference():
    for name, module in library.REFERENCE_MODULES.items():
        if module is None:
            with pytest.raises(Unfinished, match=f"^finish {name} first: "):
                function(name)
        else:
            expected = getattr(introdl, name, None) or getattr(importlib.import_module(f"introdl.{module}"), name)
            assert function(name) is expected, name


def test_unfinished_is_a_plain_exception_that_names_the_function():
    assert issubclass(Unfinished, Exception) and not issubclass(Unfinished, AssertionError)
    err = Unfinished("adam_update")
    assert err.name == "adam_update" and str(err).startswith("finish adam_update first: ")


def test_provided_comes_before_kept_and_kept_before_the_reference(own_library):
    keep("error_rate", "def error_rate(y_pred, y_true):\n    return 0.25\n")
    mine = lambda y_pred, y_true: 0.5  # noqa: E731
    provide("error_rate", mine)
    assert function("error_rate") is mine
    forget("error_rate")
    assert function("error_rate")(None, None) == 0.25
    (own_library / "error_rate.py").unlink()
    assert function("error_rate") is introdl.error_rate


def test_unknown_names_and_non_functions_are_refused():
    with pytest.raises(ValueError, match="'accuracy' is not a graded function"):
        function("accuracy")
    with pytest.raises(TypeError, match="needs a function, got int"):
        provide("softmax", 3)


def test_train_without_the_reference_dropout_runs_on_the_provided_one(monkeypatch):
    expected = train()  # the reference's run, before it is taken away
    remove(monkeypatch, "dropout_forward")
    remove(monkeypatch, "dropout_backward")
    calls = {}
    provide("dropout_forward", counted(student_dropout_forward, calls, "forward"))
    provide("dropout_backward", counted(student_dropout_backward, calls, "backward"))
    result = train()
    steps = EPOCHS * BATCHES * HIDDEN_LAYERS
    assert calls == {"forward": steps, "backward": steps}
    # Same formula and the same draws as the reference: the same training, to rounding.
    for key, value in expected.params.items():
        np.testing.assert_allclose(result.params[key], value, rtol=1e-12, atol=1e-15, err_msg=key)


def test_train_without_any_dropout_raises_unfinished_naming_it(monkeypatch):
    remove(monkeypatch, "dropout_forward")
    with pytest.raises(Unfinished, match="^finish dropout_forward first: "):
        train()


def test_train_without_dropout_code_still_trains_a_network_without_dropout(monkeypatch):
    expected = train(keep_prob=1.0)
    remove(monkeypatch, "dropout_forward")
    remove(monkeypatch, "dropout_backward")
    result = train(keep_prob=1.0)
    np.testing.assert_allclose(result.history["cost"], expected.history["cost"], rtol=1e-12)


def test_the_fused_step_stands_aside_for_a_provided_optimizer():
    calls = {}
    provide("adam_update", counted(introdl.adam_update, calls, "adam"))
    params, _, _ = xor_data()
    options = {"output": "sigmoid", "hidden": "relu", "keep_prob": 1.0, "lamd": 0.0, "optimizer": "adam"}
    assert isinstance(make_stepper(params, **options), ReadableStep)
    with pytest.raises(ValueError, match="fused=True needs"):
        make_stepper(params, fused=True, **options)
    train()
    assert calls == {"adam": EPOCHS * BATCHES}


def test_the_optimizer_table_looks_its_pairs_up_when_asked(monkeypatch):
    remove(monkeypatch, "adam_init")
    with pytest.raises(Unfinished, match="^finish adam_init first"):
        train(optimizer_kwargs=None)
    mine = lambda params: {"t": 0, "v": {}, "s": {}}  # noqa: E731
    provide("adam_init", mine)
    assert introdl.optimizers.OPTIMIZERS["adam"] == (mine, introdl.adam_update)


def test_a_build_without_the_fused_module_trains_with_the_readable_step(monkeypatch):
    expected = train()
    monkeypatch.delattr(introdl, "fused", raising=False)
    monkeypatch.setitem(sys.modules, "introdl.fused", None)
    params, _, _ = xor_data()
    options = {"output": "sigmoid", "hidden": "relu", "keep_prob": 1.0, "lamd": 0.0, "optimizer": "adam"}
    assert isinstance(make_stepper(params, **options), ReadableStep)
    result = train()
    for key, value in expected.params.items():
        np.testing.assert_allclose(result.params[key], value, rtol=1e-12, atol=1e-15, err_msg=key)


@pytest.mark.parametrize("name, call", [
    ("error_rate", lambda: introdl.accuracy(np.array([0, 1, 1]), np.array([0, 1, 0]))),
    ("flip_horizontal", lambda: introdl.random_flip(np.arange(12.0).reshape(6, 2), (2, 3), rng=np.random.default_rng(0),
                                                    p=1.0)),
    ("random_search", lambda: introdl.coarse_to_fine(lambda lr: -lr, {"lr": (1e-3, 1.0, "log")},
                                                     rng=np.random.default_rng(0), n_trials=3, rounds=2)),
    ("zoom_bounds", lambda: introdl.coarse_to_fine(lambda lr: -lr, {"lr": (1e-3, 1.0, "log")},
                                                   rng=np.random.default_rng(0), n_trials=3, rounds=2)),
    ("sample_log_uniform", lambda: introdl.coarse_to_fine(lambda lr: -lr, {"lr": (1e-3, 1.0, "log")},
                                                          rng=np.random.default_rng(0), n_trials=3, rounds=1)),
    ("early_stopping", lambda: train(X_dev=xor_data()[1], Y_dev=xor_data()[2], patience=2)),
    ("random_mini_batches", train),
])
def test_the_machinery_calls_the_provided_function(monkeypatch, name, call):
    reference = function(name)
    remove(monkeypatch, name)
    with pytest.raises(Unfinished, match=f"^finish {name} first"):
        call()
    calls = {}
    provide(name, counted(reference, calls, name))
    call()
    assert calls.get(name, 0) >= 1


def test_eps_sweep_runs_the_provided_gradient_check(monkeypatch):
    params = {"W": np.array([[1.0, -2.0]])}
    grads = {"dW": np.array([[2.0, -4.0]])}  # the gradient of sum(W**2)
    calls = {}
    provide("gradient_check", counted(introdl.gradient_check, calls, "gradient_check"))
    introdl.eps_sweep(lambda p: float(np.sum(p["W"] ** 2)), params, grads, eps_values=[1e-3, 1e-5])
    assert calls == {"gradient_check": 2}


L2_SOURCE = '''
def l2_penalty(params, *, lamd, m):
    total = 0.0
    for key, W in params.items():
        if key.startswith("W"):
            total += np.sum(W ** 2)
    return float(lamd / (2 * m) * total)
'''


def test_a_kept_function_is_what_a_fresh_process_finds(own_library):
    path = keep("l2_penalty", L2_SOURCE)
    assert path == own_library / "l2_penalty.py"
    program = textwrap.dedent("""
        import numpy as np
        from introdl.library import function
        fn = function("l2_penalty")
        print(fn.__code__.co_filename)
        print(fn({"W1": np.array([[1.0, 2.0]]), "b1": np.array([[5.0]]), "W2": np.array([[3.0]])}, lamd=0.5, m=7))
    """)
    env = {**os.environ, library.OWN_LIBRARY_VARIABLE: str(own_library)}
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=60,
                          check=False)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    filename, value = done.stdout.split("\n")[:2]
    assert filename == str(path)
    assert float(value) == pytest.approx(0.5 / 14 * (1 + 4 + 9))  # b1 is no weight: not penalised


def test_a_kept_function_calls_other_graded_functions_through_the_library():
    keep("sample_beta", "def sample_beta(low, high, *, rng, size=None):\n"
                        "    return 1 - sample_log_uniform(1 - high, 1 - low, rng=rng, size=size)\n")
    provide("sample_log_uniform", lambda low, high, *, rng, size=None: low)
    assert function("sample_beta")(0.9, 0.99, rng=None) == pytest.approx(0.99)


@pytest.mark.parametrize("source, says", [
    ("def dropout_forward(A, keep_prob, *, rng)\n    return A\n", "SyntaxError"),
    ("raise RuntimeError('broken on purpose')\n", "RuntimeError: broken on purpose"),
    ("def something_else():\n    pass\n", "defines no function dropout_forward"),
])
def test_a_kept_file_that_does_not_load_is_named_in_the_error(own_library, source, says):
    own_library.mkdir()
    path = own_library / "dropout_forward.py"
    path.write_text(source)
    with pytest.raises(KeptFunctionError) as err:
        function("dropout_forward")
    assert str(err.value).startswith(f"{path}: ") and says in str(err.value)
    with pytest.raises(KeptFunctionError, match="dropout_forward"):
        train()


@pytest.mark.parametrize("name, source, message", [
    ("accuracy", "def accuracy(): pass", "'accuracy' is not a graded function"),
    ("softmax", "def softmax(Z)\n", "the source of softmax does not parse"),
    ("softmax", "def soft_max(Z):\n    return Z\n", "defines no top-level function softmax"),
])
def test_keep_refuses_what_would_not_load(own_library, name, source, message):
    with pytest.raises(ValueError, match=message):
        keep(name, source)
    assert not own_library.exists() or not any(own_library.iterdir())


def test_keep_replaces_a_kept_version_and_the_new_one_is_loaded():
    keep("error_rate", "def error_rate(y_pred, y_true):\n    return 0.25\n")
    assert function("error_rate")(None, None) == 0.25
    keep("error_rate", "def error_rate(y_pred, y_true):\n    return 0.75\n")
    assert function("error_rate")(None, None) == 0.75


def test_the_zoom_bounds_of_introdl_is_forbidden_to_the_zoom_bounds_check():
    def zoom_bounds(trials, bounds, top_k):
        return introdl.search.zoom_bounds(trials, bounds, top_k)

    with pytest.raises(AssertionError, match="calls the reference implementation introdl.zoom_bounds"):
        autograder.check("zoom_bounds", zoom_bounds)
