"""What a student reads: the contracts every check enforces (float64, inputs left alone, copies
where asked), one report per test cell with one total, and remarks said once."""

import numpy as np
import pytest

from autograder import REGISTRY, CheckFailed, check
from autograder.checks import run_check
from autograder.checks.judges.a7_batch_normalization import REF_CACHE


def _float32(x):
    """``x`` with every float (array, numpy or Python scalar) made float32, containers walked."""
    if isinstance(x, dict):
        return {k: _float32(v) for k, v in x.items()}
    if isinstance(x, tuple | list):
        return type(x)(_float32(v) for v in x)
    if isinstance(x, np.ndarray) and x.dtype.kind == "f" or isinstance(x, float | np.floating):
        return np.asarray(x, dtype=np.float32) if isinstance(x, np.ndarray) else np.float32(x)
    return x


def _in_float32(fn):
    """A right function (a catalogue alternative) whose result comes back in float32."""
    def student(*args, **kwargs):
        return _float32(fn(*args, **kwargs))
    return student


@pytest.mark.parametrize("name", ["rmsprop_update", "numerical_gradient", "dict_to_vector", "exponential_decay"])
def test_a_float32_result_breaks_the_float64_contract(name):
    right = REGISTRY[name].alternatives[0]
    assert run_check(REGISTRY[name], right, hidden=True).passed > 0, "the alternative itself should pass"
    result = run_check(REGISTRY[name], _in_float32(right), hidden=True)
    assert result.passed == 0, result.report()
    assert "has dtype float32, expected float64" in result.report(), result.report()


def test_a_dict_changed_in_place_is_named_and_gets_advice_for_dicts():
    forward = REGISTRY["batchnorm_forward"].alternatives[0]

    def batchnorm_forward(Z, gamma, beta, running, *, mode="train", momentum=0.9, eps=1e-5):
        out, cache, new = forward(Z, gamma, beta, running, mode=mode, momentum=momentum, eps=eps)
        if running is not None:
            running["mean"] = new["mean"]  # written into the caller's dict
        return out, cache, new

    report = run_check(REGISTRY["batchnorm_forward"], batchnorm_forward).report()
    assert "it changed its input running in place (first at running['mean'])" in report, report
    assert "build a new dict" in report and "A * D" not in report and "A *= D" not in report


def test_an_array_changed_in_place_is_named_by_its_parameter():
    def dropout_forward(A, keep_prob, *, rng):
        D = rng.random(A.shape) < keep_prob
        A *= D / keep_prob
        return A, (D, keep_prob)

    report = run_check(REGISTRY["dropout_forward"], dropout_forward).report()
    assert "it changed its input A in place" in report and "A *= 2 changes the caller's" in report, report


def _vector_to_dict(theta, spec, *, copies):
    params, start = {}, 0
    for key, shape in spec:
        size = int(np.prod(shape))
        piece = theta[start:start + size].reshape(shape)
        params[key] = piece.copy() if copies else piece
        start += size
    return params


def test_vector_to_dict_must_return_copies():
    views = run_check(REGISTRY["vector_to_dict"], lambda t, s: _vector_to_dict(t, s, copies=False), hidden=True)
    assert views.passed == 0
    assert "params['W1'] shares memory with the input theta" in views.report(), views.report()
    assert "the notebook asks for copies" in views.report()
    copies = run_check(REGISTRY["vector_to_dict"], lambda t, s: _vector_to_dict(t, s, copies=True), hidden=True)
    assert copies.passed == copies.total, copies.report()


def test_a_test_cell_prints_one_total(capsys):
    """The visible call counts visible cases without points; the hidden call right after gives the total."""
    spec = REGISTRY["staircase_decay"]
    rng = np.random.default_rng(0)  # the schedule cases do not draw
    seen = {c.args for c in spec.cases(rng, False)}

    def fits_the_visible_cases(epoch, lr0, drop, every):  # right on the visible cases only
        right = lr0 * drop ** (epoch // every)
        return right if (epoch, lr0, drop, every) in seen else 2 * right

    hidden = spec.cases(rng, True)
    wrong, visible = sum(c.args not in seen for c in hidden), len(seen)
    assert wrong > 0

    assert check("staircase_decay", fits_the_visible_cases) == spec.points
    first = capsys.readouterr().out
    assert first.strip() == (f"✓ staircase_decay: all {visible} visible test cases passed; "
                             "hidden test cases also count at grading.")
    score = check("staircase_decay", fits_the_visible_cases, hidden=True)
    second = capsys.readouterr().out
    passed, total = visible + len(hidden) - wrong, visible + len(hidden)
    assert score == pytest.approx(spec.points * passed / total)
    head = second.splitlines()[0]
    assert head == (f"✗ staircase_decay: {len(hidden) - wrong} of {len(hidden)} hidden test cases passed; "
                    f"in all, {passed} of {total} test cases passed ({score:.3g} of 1 point).")
    assert (first + second).count("point") == 1


def test_the_hidden_call_does_not_repeat_the_visible_failures(capsys):
    def fixed_base(epoch, lr0, base=0.95):
        return lr0 * 0.95**epoch  # wrong wherever base is not the default

    spec = REGISTRY["exponential_decay"]
    rng = np.random.default_rng(0)
    visible_wrong = [i for i, c in enumerate(spec.cases(rng, False), 1) if c.args[2:] not in ((), (0.95,))]
    hidden_wrong = sum(c.args[2:] not in ((), (0.95,)) for c in spec.cases(rng, True))
    assert visible_wrong and hidden_wrong

    assert 0 < check("exponential_decay", fixed_base) < spec.points  # partial credit: a plain float
    first = capsys.readouterr().out
    check("exponential_decay", fixed_base, hidden=True)
    second = capsys.readouterr().out
    assert all(f"case {i} [" in first and f"case {i} [" not in second for i in visible_wrong), first + second
    assert second.count("✗ hidden case (inputs not shown)") >= 1
    hint = "use the base argument, not a fixed 0.95"
    assert hint in first and hint not in second  # said once, in the visible report


def test_a_visible_call_with_no_case_passed_still_raises(capsys):
    with pytest.raises(CheckFailed, match="0 of 3 visible test cases passed; hidden test cases also count"):
        check("exponential_decay", lambda epoch, lr0, base=0.95: 0.5)
    assert capsys.readouterr().err == ""


def test_a_hidden_call_alone_gives_the_whole_report():
    """The verification pass and a hidden call without the visible one: every failure, one total."""
    def one_too_many(epoch, lr0, base=0.95):
        return lr0 * base ** (epoch + 1)

    result = run_check(REGISTRY["exponential_decay"], one_too_many, hidden=True)
    report = result.report()
    assert report.splitlines()[0].startswith(f"✗ exponential_decay: {result.passed} of {result.total} test cases")
    assert "case 1 [" in report and "hidden case" in report


def test_a_remark_that_applies_to_every_case_is_said_once():
    """A backward pass without a forward of its own: which cache was used is said once, not per case."""
    namespace = {"np": np}
    exec("""
def batchnorm_backward(dout, cache):
    z_norm, gamma, inv_std, mode = cache
    m = dout.shape[1]
    return (gamma * inv_std * dout, np.sum(dout * z_norm, axis=1, keepdims=True) / m,
            np.sum(dout, axis=1, keepdims=True) / m)
""", namespace)  # no batchnorm_forward next to it
    result = run_check(REGISTRY["batchnorm_backward"], namespace["batchnorm_backward"], hidden=True)
    report = result.report()
    assert len(result.failures) >= 2, report
    assert report.count(REF_CACHE) == 1 and report.rstrip().endswith(REF_CACHE), report


def test_the_verification_pass_sees_memory_shared_in_the_students_process():
    """The values come back from the student's process as copies, so that process says where memory was shared."""
    import nbformat

    from autograder.grading.verify import verify
    from autograder.sandbox.policy import Limits

    source_nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "check('vector_to_dict', vector_to_dict)",
        metadata={"nbgrader": {"grade": True, "grade_id": "t_v2d", "points": 2}})])
    body = """
import numpy as np

def vector_to_dict(theta, spec):
    params, start = {}, 0
    for key, shape in spec:
        size = int(np.prod(shape))
        params[key] = theta[start:start + size].reshape(shape)COPY
        start += size
    return params
"""
    results = {}
    for copy in ("", ".copy()"):
        submission = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(body.replace("COPY", copy))])
        results[copy] = verify(submission, source_nb, limits=Limits(call_timeout=5, memory_mb=1024))["t_v2d"].result
    assert results[""].passed == 0, results[""].report()
    assert "params['W1'] shares memory with the input theta" in results[""].report()
    assert results[".copy()"].passed == results[".copy()"].total, results[".copy()"].report()
