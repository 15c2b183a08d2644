"""The stepper seam of ``train``: the readable and the fused step, one mini-batch at a time.

Both steppers are compared with each other (the same bits in float64) and with a checked
step: the cost written out here in numpy with the dropout masks drawn as ``dropout_forward``
documents (``rng.random(A.shape) < keep_prob``, layer by layer), the gradients of
``model_backward`` checked at every step against central differences of that cost
(``tests/helpers.central_difference``), and the lecture's update formulas written out here.
The checked gradients, not the central differences, feed the update: RMSprop divides by
``sqrt(s) ~ |dW|``, which would turn the differences' ~1e-10 error on a tiny gradient into a
visible error of the step.
"""

import copy

import numpy as np
import pytest
from helpers import assert_grad_close, central_difference, max_relative_error

import introdl as dl
from introdl.fused import FusedStep
from introdl.stepper import ReadableStep, make_stepper

DIMS = [4, 8, 6]  # input and hidden layers; the output layer is added per test
# With these sizes, data and lr no hidden pre-activation comes within 1e-3 of ReLU's kink at 0
# along the steps, far beyond the central differences' eps = 1e-6.
KEEP, LAMD, LR = (0.9, 0.8), 0.3, 0.01
BETA, BETA1, BETA2, EPS = 0.9, 0.9, 0.999, 1e-8


def _problem(output, m=16):
    rng = np.random.default_rng(7)
    C = 3 if output == "softmax" else 1
    X = rng.standard_normal((DIMS[0], m))
    Y = dl.one_hot(rng.integers(0, C, m), C) if output == "softmax" else rng.integers(0, 2, (1, m)).astype(float)
    params = dl.initialize_parameters(DIMS + [C], "he", rng=rng)
    batches = [(X[:, k:k + 8], Y[:, k:k + 8]) for k in (0, 8, 0)]  # the last one again: a new dropout mask
    return params, batches


def _stepper(kind, params, output, optimizer):
    return make_stepper(params, output=output, hidden="relu", keep_prob=KEEP, lamd=LAMD,
                        optimizer=optimizer, fused=kind == "fused")


def _run(stepper, batches, seed=3):
    rng = np.random.default_rng(seed)
    costs, snapshots = [], []
    for X, Y in batches:
        costs.append(stepper.step(X, Y, rng=rng, lr=LR))
        snapshots.append(stepper.export())
    return costs, snapshots


# --- the checked step ----------------------------------------------------------------------------

def _cost(p, X, Y, masks, output):
    """The mean cross-entropy of an L-layer ReLU network with inverted dropout, plus L2."""
    L, m, A = len(masks) + 1, X.shape[1], X
    for l in range(1, L):
        A = np.maximum(p[f"W{l}"] @ A + p[f"b{l}"], 0.0) * masks[l - 1] / KEEP[l - 1]
    Z = p[f"W{L}"] @ A + p[f"b{L}"]
    if output == "softmax":
        top = Z.max(axis=0)
        log_probs = Z - (top + np.log(np.sum(np.exp(Z - top), axis=0)))
        data = -np.sum(Y * log_probs) / m
    else:  # -log sigmoid(z) = log(1 + exp(-z))
        data = np.sum(Y * np.log1p(np.exp(-Z)) + (1 - Y) * np.log1p(np.exp(Z))) / m
    return data + LAMD / (2 * m) * sum(np.sum(p[f"W{l}"] ** 2) for l in range(1, L + 1))


def _update(p, g, state, optimizer):
    """The lecture's formulas; ``state`` holds v, s and t."""
    state["t"] += 1
    t, new = state["t"], {}
    for key in p:
        if optimizer == "gd":
            new[key] = p[key] - LR * g[key]
            continue
        beta1 = BETA if optimizer == "momentum" else BETA1
        state["v"][key] = beta1 * state["v"].get(key, 0.0) + (1 - beta1) * g[key]
        state["s"][key] = BETA2 * state["s"].get(key, 0.0) + (1 - BETA2) * g[key] ** 2
        if optimizer == "momentum":
            new[key] = p[key] - LR * state["v"][key]
        elif optimizer == "rmsprop":
            new[key] = p[key] - LR * g[key] / (np.sqrt(state["s"][key]) + EPS)
        else:
            v_hat, s_hat = state["v"][key] / (1 - BETA1**t), state["s"][key] / (1 - BETA2**t)
            new[key] = p[key] - LR * v_hat / (np.sqrt(s_hat) + EPS)
    return new


def _checked_run(params, batches, output, optimizer, seed=3):
    """The readable step, checked: at every step the gradients of ``model_backward`` must
    match central differences of :func:`_cost` (with the masks drawn here), and the update
    uses the formulas of :func:`_update`."""
    rng = np.random.default_rng(seed)
    p, state = {k: np.array(v) for k, v in params.items()}, {"t": 0, "v": {}, "s": {}}
    costs, snapshots = [], []
    for step, (X, Y) in enumerate(batches, start=1):
        forward_rng = copy.deepcopy(rng)  # model_forward must draw the same masks as these
        masks = [rng.random((DIMS[l], X.shape[1])) < KEEP[l - 1] for l in range(1, len(DIMS))]
        costs.append(_cost(p, X, Y, masks, output))
        ZL, caches, _ = dl.model_forward(X, p, output=output, keep_prob=KEEP, rng=forward_rng)
        grads = dl.model_backward(ZL, Y, caches, output=output, params=p, lamd=LAMD)
        numerical = central_difference(lambda q, X=X, Y=Y, masks=masks: _cost(q, X, Y, masks, output), p)
        for key in p:
            assert_grad_close(grads["d" + key], numerical[key], f"d{key} at step {step}")
        p = _update(p, {key: grads["d" + key] for key in p}, state, optimizer)
        snapshots.append(p)
    return costs, snapshots


# --- tests --------------------------------------------------------------------------------------

@pytest.mark.parametrize("optimizer", ["gd", "momentum", "rmsprop", "adam"])
@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_readable_and_fused_steppers_give_the_same_bits(optimizer, output):
    params, batches = _problem(output)
    readable, fused = _stepper("readable", params, output, optimizer), _stepper("fused", params, output, optimizer)
    assert isinstance(readable, ReadableStep) and isinstance(fused, FusedStep)
    readable_costs, readable_params = _run(readable, batches)
    fused_costs, fused_params = _run(fused, batches)
    assert fused_costs == readable_costs, "the mini-batch costs differ"
    for step, (r, f) in enumerate(zip(readable_params, fused_params, strict=True), start=1):
        for key in params:
            np.testing.assert_array_equal(f[key], r[key], err_msg=f"{key} differs after step {step}")
    assert readable.bn_running == {} and fused.bn_running == {}, "no batch norm, no running statistics"


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "rmsprop", "adam"])
@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
@pytest.mark.parametrize("kind", ["readable", "fused"])
def test_stepper_matches_a_step_from_numerical_gradients(kind, output, optimizer):
    params, batches = _problem(output)
    costs, snapshots = _run(_stepper(kind, params, output, optimizer), batches)
    expected_costs, expected = _checked_run(params, batches, output, optimizer)
    # Only the order of floating-point operations differs: rounding, ~1e-15.
    np.testing.assert_allclose(costs, expected_costs, rtol=1e-12, err_msg="the mini-batch costs")
    for step, (got, want) in enumerate(zip(snapshots, expected, strict=True), start=1):
        for key in params:
            err = max_relative_error(got[key], want[key])
            assert err < 1e-12, f"{kind} {optimizer}: {key} after step {step} is off by {err:.2e}"


def test_exported_parameters_are_not_changed_by_later_steps():
    params, batches = _problem("softmax")
    for kind in ("readable", "fused"):
        stepper = _stepper(kind, params, "softmax", "adam")
        _, snapshots = _run(stepper, batches[:1])
        kept = {key: value.copy() for key, value in snapshots[0].items()}
        _run(stepper, batches[1:])
        for key in params:
            np.testing.assert_array_equal(snapshots[0][key], kept[key], err_msg=f"{kind}: {key} was modified")


def test_make_stepper_takes_the_fused_step_whenever_it_applies():
    plain = dl.initialize_parameters([3, 4, 2], "he", rng=np.random.default_rng(0))
    with_bn = dl.initialize_parameters([3, 4, 2], "he", rng=np.random.default_rng(0), batchnorm=True)
    pair = (dl.adam_init, dl.adam_update)
    common = {"output": "softmax", "keep_prob": 1.0, "lamd": 0.0}
    assert isinstance(make_stepper(plain, hidden="relu", optimizer="adam", **common), FusedStep)
    assert isinstance(make_stepper(plain, hidden="relu", optimizer="adam", fused=False, **common), ReadableStep)
    assert isinstance(make_stepper(plain, hidden="tanh", optimizer="adam", **common), ReadableStep)
    assert isinstance(make_stepper(with_bn, hidden="relu", optimizer="adam", **common), ReadableStep)
    assert isinstance(make_stepper(plain, hidden="relu", optimizer=pair, **common), ReadableStep)
    with pytest.raises(ValueError, match="fused=True needs"):
        make_stepper(with_bn, hidden="relu", optimizer="adam", fused=True, **common)


def test_readable_step_keeps_the_batch_norm_running_statistics():
    params = dl.initialize_parameters([3, 4, 2], "he", rng=np.random.default_rng(0), batchnorm=True)
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((3, 6)), dl.one_hot(rng.integers(0, 2, 6), 2)
    stepper = make_stepper(params, output="softmax", hidden="relu", keep_prob=1.0, lamd=0.0, optimizer="gd")
    stepper.step(X, Y, rng=rng, lr=0.1)
    Z1 = params["W1"] @ X  # batch norm replaces b1
    # The running mean starts at 0 and moves by (1 - momentum) = 0.1 towards the batch mean.
    np.testing.assert_allclose(stepper.bn_running[1]["mean"], 0.1 * Z1.mean(axis=1, keepdims=True), rtol=1e-12)
