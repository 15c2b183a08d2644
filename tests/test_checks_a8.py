"""Assignment 8 checks: the behaviour the generic catalogue test does not cover.

On a wrong ``dZ`` the backward check uses the student's own ``softmax_cross_entropy`` to say
where the error is: in the backward pass (the cost is right), in the cost (dZ is m times the
numerical gradient of a wrong cost), or in both. This also works in the verification pass,
where the student's functions run in another process.
"""

import nbformat
from student_code import student_namespace

from autograder import REGISTRY, check
from autograder.checks import run_check
from autograder.checks.judges.a8_softmax import BOTH_WRONG, CE_RIGHT, FIX_COST_FIRST, SOFTMAX_WRONG
from autograder.grading.verify import verify
from autograder.sandbox.policy import Limits

RIGHT = """
import numpy as np


def softmax(Z):
    T = np.exp(Z - Z.max(axis=0, keepdims=True))
    return T / T.sum(axis=0, keepdims=True)


def softmax_cross_entropy(Z, Y):
    shifted = Z - Z.max(axis=0, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
    return float(-np.sum(Y * log_p) / Z.shape[1])


def softmax_cross_entropy_backward(Z, Y):
    return softmax(Z) - Y
"""
SUM_COST = RIGHT.replace("/ Z.shape[1])", ")")
NAME = "softmax_cross_entropy_backward"


_student = student_namespace


def _report(source):
    return run_check(REGISTRY[NAME], _student(source)[NAME], hidden=True).report()


def test_a_right_cost_puts_the_error_in_the_backward_pass():
    report = _report(RIGHT.replace("return softmax(Z) - Y", "return (softmax(Z) - Y) / Z.shape[1]"))
    assert CE_RIGHT in report and "without dividing by m" in report, report


def test_a_backward_that_matches_a_wrong_cost_points_at_the_cost():
    report = _report(SUM_COST.replace("return softmax(Z) - Y", "return Z.shape[1] * (softmax(Z) - Y)"))
    assert FIX_COST_FIRST in report, report


def test_a_wrong_cost_and_an_unrelated_backward_are_both_named():
    report = _report(SUM_COST.replace("return softmax(Z) - Y", "return Y - softmax(Z)"))
    assert BOTH_WRONG in report and "sign is flipped" in report, report


def test_a_right_backward_passes_even_when_the_cost_is_wrong():
    assert check(NAME, _student(SUM_COST)[NAME], hidden=True) == REGISTRY[NAME].points


def test_the_verification_pass_locates_the_error_in_the_student_process():
    source = SUM_COST.replace("return softmax(Z) - Y", "return Z.shape[1] * (softmax(Z) - Y)")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    source_nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        f"check('{NAME}', {NAME})", metadata={"nbgrader": {"grade": True, "grade_id": "t", "points": 3}})])
    result = verify(nb, source_nb, limits=Limits(call_timeout=10, memory_mb=1024))["t"].result
    assert result.score < 3 and FIX_COST_FIRST in result.report(), result.report()


def test_a_wrong_softmax_is_named_before_the_cost():
    source = RIGHT.replace("np.exp(Z - Z.max(axis=0, keepdims=True))", "np.exp(Z)")
    report = _report(source)
    assert SOFTMAX_WRONG in report, report
