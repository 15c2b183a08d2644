"""Assignment 4 checks: the behaviour the generic catalogue test does not cover.

``numerical_gradient`` is judged on its output first, then on leaving ``theta`` unchanged;
``gradient_check`` accepts any report with ``difference`` and ``per_parameter``; the functions
and the report travel through the verification pass (a separate student process).
"""

import types

import nbformat
from student_code import student_namespace

import introdl
from autograder import REGISTRY, check
from autograder.checks import run_check
from autograder.grading.verify import verify
from autograder.sandbox.policy import Limits


def _student(source):
    return student_namespace(source, dl=introdl)


NUMERICAL_GRADIENT = """
def numerical_gradient(f, theta, *, eps=1e-7):
    grad = np.zeros_like(theta)
    for i in range(theta.size):
        old = theta[i]
        theta[i] = old + eps
        plus = f(theta)
        theta[i] = old - eps
        minus = f(theta)
        theta[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad
"""

HELPERS = NUMERICAL_GRADIENT + """
def dict_to_vector(params):
    return np.concatenate([v.ravel() for v in params.values()]), [(k, v.shape) for k, v in params.items()]

def vector_to_dict(theta, spec):
    out, start = {}, 0
    for key, shape in spec:
        size = int(np.prod(shape))
        out[key] = theta[start:start + size].reshape(shape).copy()
        start += size
    return out

def relative_difference(a, b):
    denominator = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denominator == 0 else float(np.linalg.norm(a - b) / denominator)

def parts(cost_fn, params, grads, eps):
    theta, spec = dict_to_vector(params)
    g, _ = dict_to_vector({k: grads["d" + k] for k in params})
    n = numerical_gradient(lambda t: cost_fn(vector_to_dict(t, spec)), theta, eps=eps)
    per, start = {}, 0
    for key, shape in spec:
        size = int(np.prod(shape))
        per[key] = relative_difference(g[start:start + size], n[start:start + size])
        start += size
    return relative_difference(g, n), per
"""


def test_perturbing_theta_in_place_and_restoring_it_exactly_gets_full_marks():
    ns = _student(NUMERICAL_GRADIENT)
    assert check("numerical_gradient", ns["numerical_gradient"], hidden=True) == 3


def test_a_right_gradient_that_leaves_theta_changed_is_told_so():
    ns = _student("""
def numerical_gradient(f, theta, *, eps=1e-7):
    grad = np.zeros_like(theta)
    for i in range(theta.size):
        theta[i] += eps
        plus = f(theta)
        theta[i] -= 2 * eps
        minus = f(theta)
        theta[i] += eps  # back to theta[i], up to rounding
        grad[i] = (plus - minus) / (2 * eps)
    return grad
""")
    report = run_check(REGISTRY["numerical_gradient"], ns["numerical_gradient"], hidden=True).report()
    assert "the gradient is right, but it changed the last digits of its input theta in place" in report
    assert "x + eps - 2*eps + eps != x" in report  # why the arithmetic restore does not work
    assert "Hint" not in report  # the gradients themselves are right


def test_any_report_with_the_two_fields_passes():
    returns = {
        "GradCheckReport": "dl.GradCheckReport(diff, per, {k: (0, 0) for k in per}, eps)",
        "dict": '{"difference": diff, "per_parameter": per}',
        "object": "types.SimpleNamespace(difference=diff, per_parameter=per)",
    }
    for kind, value in returns.items():
        ns = _student(HELPERS + f"""
import types
def gradient_check(cost_fn, params, grads, *, eps=1e-7):
    diff, per = parts(cost_fn, params, grads, eps)
    return {value}
""")
        assert check("gradient_check", ns["gradient_check"], hidden=True) == 4, kind


def test_a_report_without_the_fields_gets_a_plain_message():
    ns = _student(HELPERS + """
def gradient_check(cost_fn, params, grads, *, eps=1e-7):
    return parts(cost_fn, params, grads, eps)[0]
""")
    report = run_check(REGISTRY["gradient_check"], ns["gradient_check"]).report()
    assert "it should return a report with the fields difference and per_parameter" in report


def test_a_report_of_exact_zeros_fails_even_where_the_right_one_is_round_off():
    ns = {"gradient_check": lambda cost_fn, params, grads, *, eps=1e-7: types.SimpleNamespace(
        difference=0.0, per_parameter=dict.fromkeys(params, 0.0))}
    result = run_check(REGISTRY["gradient_check"], ns["gradient_check"], hidden=True)
    assert result.passed == 0, result.report()


def test_the_verification_pass_sends_the_cost_functions_and_reads_the_report_back():
    source_nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(f"check('{name}', {name})", metadata={"nbgrader": {
            "grade": True, "grade_id": f"t_{name}", "points": REGISTRY[name].points}})
        for name in ("numerical_gradient", "gradient_check")])
    student = HELPERS + """
def gradient_check(cost_fn, params, grads, *, eps=1e-7):
    diff, per = parts(cost_fn, params, grads, eps)
    return dl.GradCheckReport(diff, per, {k: (0, 0) for k in per}, eps)
"""
    submission = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import numpy as np\nimport introdl as dl\n" + student)])
    verified = verify(submission, source_nb, limits=Limits(call_timeout=20, memory_mb=1024))
    results = {gid: v.result for gid, v in verified.items()}
    assert {gid: r.score for gid, r in results.items()} == {"t_numerical_gradient": 3.0, "t_gradient_check": 4.0}, \
        {gid: r.report() for gid, r in results.items()}


RIGHT_GRADIENT_CHECK = """
def gradient_check(cost_fn, params, grads, *, eps=1e-7):
    diff, per = parts(cost_fn, params, grads, eps)
    return {"difference": diff, "per_parameter": per}
"""


def test_a_right_gradient_check_on_a_wrong_helper_names_the_helper():
    # relative_difference without its denominator: wrong on its own test, and so is every report built on it.
    ns = _student(HELPERS + RIGHT_GRADIENT_CHECK + """
def relative_difference(a, b):
    return float(np.linalg.norm(a - b))
""")
    result = run_check(REGISTRY["gradient_check"], ns["gradient_check"])
    assert result.passed < result.total
    assert ("your gradient_check calls your relative_difference, which is wrong (see its test): fix it first"
            in result.report()), result.report()
    assert "error is in gradient_check" not in result.report()


def test_two_wrong_helpers_are_both_named():
    ns = _student(HELPERS + RIGHT_GRADIENT_CHECK + """
def relative_difference(a, b):
    return float(np.linalg.norm(a - b))

def numerical_gradient(f, theta, *, eps=1e-7):
    theta = theta.copy()
    grad = np.zeros_like(theta)
    for i in range(theta.size):
        old = theta[i]
        theta[i] = old + eps
        plus = f(theta)
        theta[i] = old
        grad[i] = (plus - f(theta)) / eps  # one-sided
    return grad
""")
    report = run_check(REGISTRY["gradient_check"], ns["gradient_check"]).report()
    assert "calls your numerical_gradient and relative_difference, which are wrong (see their tests)" in report, report


def test_a_wrong_gradient_check_on_right_helpers_is_told_the_error_is_its_own():
    # The mean of the per-parameter differences as the overall one: the helpers are all right.
    ns = _student(HELPERS + """
def gradient_check(cost_fn, params, grads, *, eps=1e-7):
    diff, per = parts(cost_fn, params, grads, eps)
    return {"difference": float(np.mean(list(per.values()))), "per_parameter": per}
""")
    report = run_check(REGISTRY["gradient_check"], ns["gradient_check"]).report()
    assert "so the error is in gradient_check itself" in report, report
    assert "not the mean of the per-parameter differences" in report, report  # the catalogue's hint too


def test_perturbing_params_in_place_names_params_and_why_the_arithmetic_restore_fails():
    ns = _student(HELPERS + """
def gradient_check(cost_fn, params, grads, *, eps=1e-7):
    approx = {}
    for key, W in params.items():
        approx[key] = np.zeros(W.shape)
        for idx in np.ndindex(W.shape):
            W[idx] += eps
            plus = cost_fn(params)
            W[idx] -= 2 * eps
            minus = cost_fn(params)
            W[idx] += eps
            approx[key][idx] = (plus - minus) / (2 * eps)
    per = {k: relative_difference(grads["d" + k], approx[k]) for k in params}
    whole = relative_difference(np.concatenate([grads["d" + k].ravel() for k in params]),
                                np.concatenate([approx[k].ravel() for k in params]))
    return {"difference": whole, "per_parameter": per}
""")
    report = run_check(REGISTRY["gradient_check"], ns["gradient_check"]).report()
    assert "your gradient_check changed params['W1'] in place (in the last digits only)" in report, report
    assert "Restoring by arithmetic (+eps, then -2 eps, then +eps) does not give back the same numbers" in report
    assert "A *= D" not in report and "argument 2" not in report  # not another assignment's example; named
