"""Assignment 2 checks: the behaviour the generic catalogue test does not cover.

Dropout is judged by behaviour, and ``dropout_backward`` reads the cache of the student's own
``dropout_forward``; these tests build small "student notebooks" as namespaces to check that.
"""

import numpy as np
from student_code import student_namespace

from autograder import REGISTRY, check
from autograder.checks import run_check

FULL = {name: REGISTRY[name].points for name in ("dropout_forward", "dropout_backward")}


_student = student_namespace


EXACT_CALL = """
def dropout_forward(A, keep_prob, *, rng):
    D = rng.random(A.shape) < keep_prob
    return A * D / keep_prob, (D, keep_prob)

def dropout_backward(dA, cache):
    D, keep_prob = cache
    return dA * D / keep_prob
"""

# A valid forward pass with its own cache layout (a dict, a float mask, other random calls).
OWN_CACHE = """
def dropout_forward(A, keep_prob, *, rng):
    scale = (rng.uniform(size=A.shape) < keep_prob) / keep_prob
    return A * scale, {"scale": scale}

def dropout_backward(dA, cache):
    return dA * cache["scale"]
"""

# A wrong forward pass (no division by keep_prob) next to a right backward pass.
WRONG_FORWARD = """
def dropout_forward(A, keep_prob, *, rng):
    D = rng.random(A.shape) < keep_prob
    return A * D, (D, keep_prob)

def dropout_backward(dA, cache):
    D, keep_prob = cache
    return dA * D / keep_prob
"""


def test_the_call_stated_in_the_notebook_gets_full_marks():
    ns = _student(EXACT_CALL)
    for name in FULL:
        assert check(name, ns[name], hidden=True) == FULL[name]


def test_dropout_backward_uses_the_cache_of_the_students_own_forward():
    ns = _student(OWN_CACHE)
    assert check("dropout_forward", ns["dropout_forward"], hidden=True) == FULL["dropout_forward"]
    assert check("dropout_backward", ns["dropout_backward"], hidden=True) == FULL["dropout_backward"]


def test_a_wrong_forward_does_not_fail_a_right_backward():
    ns = _student(WRONG_FORWARD)
    report = run_check(REGISTRY["dropout_forward"], ns["dropout_forward"]).report()
    assert "did you forget to divide by keep_prob" in report
    assert check("dropout_backward", ns["dropout_backward"], hidden=True) == FULL["dropout_backward"]
    wrong_backward = _student(WRONG_FORWARD.replace("return dA * D / keep_prob", "return dA * D"))
    report = run_check(REGISTRY["dropout_backward"], wrong_backward["dropout_backward"]).report()
    assert "cache from the reference dropout_forward, since yours does not pass" in report


def test_backward_message_says_it_used_the_students_forward_cache():
    ns = _student(EXACT_CALL.replace("return dA * D / keep_prob", "return dA * D"))
    report = run_check(REGISTRY["dropout_backward"], ns["dropout_backward"]).report()
    assert "with the cache of your dropout_forward" in report
    assert "divides by keep_prob too" in report


def test_keep_rate_is_measured_on_large_arrays():
    ns = _student(EXACT_CALL.replace("< keep_prob", "< 0.5 * keep_prob"))
    report = run_check(REGISTRY["dropout_forward"], ns["dropout_forward"]).report()
    assert "expected about keep_prob" in report


def test_hidden_cases_do_not_show_their_inputs():
    ns = _student(EXACT_CALL.replace("return A * D / keep_prob", "return A * D"))
    result = run_check(REGISTRY["dropout_forward"], ns["dropout_forward"], hidden=True)
    hidden_lines = [line for line in result.failures if "hidden case" in line]
    assert hidden_lines and all("shape" not in line.split("\n")[0] for line in hidden_lines)


def test_early_stopping_accepts_numpy_scalars():
    def numpy_style(dev_costs, patience, *, min_delta=0.0):
        costs = np.asarray(dev_costs)
        best = np.int64(0)
        for epoch in range(1, costs.size):
            if costs[epoch] < costs[best] - min_delta:
                best = np.int64(epoch)
        return np.bool_(costs.size - 1 - best >= patience), best

    assert check("early_stopping", numpy_style, hidden=True) == REGISTRY["early_stopping"].points
