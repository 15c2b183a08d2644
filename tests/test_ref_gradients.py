"""Every backward pass of the reference against numerical gradients of its forward pass.

Conventions (DESIGN.md): arrays such as ``dA`` and ``dZ`` carry ``m * dJ/dA`` and ``m * dJ/dZ``,
while ``dW``, ``db``, ``dgamma``, ``dbeta`` are exact gradients of the cost ``J``. For a single
layer the test objective is ``J = sum(G * out) / m`` with a random ``G``: then
``m * dJ/dout = G`` is the upstream gradient to feed the backward function, and its results are
compared with ``m * dJ/dinput`` (arrays) or ``dJ/dparam`` (parameters) from central differences.

Every check is done twice: with the independent helper ``tests/helpers.central_difference`` and
with introdl's own ``gradient_check`` (which must then agree too).
"""

import numpy as np
import pytest
from helpers import EPS, assert_grad_close, away_from_zero, central_difference, max_relative_error

import introdl as dl

# introdl.gradient_check's relative difference for a right gradient is ~1e-9 at eps = 1e-7
# (round-off dominated); a wrong one gives ~1e-3 or more.
GRADCHECK_TOL = 1e-6

# (n, m): square and non-square, a single example (m = 1) included.
SHAPES = [(3, 5), (1, 1), (4, 1), (2, 7)]
# (n, n_prev, m) for linear layers.
LINEAR_SHAPES = [(3, 5, 4), (1, 4, 1), (5, 2, 3), (4, 4, 1)]


def _assert_gradient_check(cost_fn, point, grads, what):
    """introdl.gradient_check agrees: overall and for every entry of ``point``."""
    report = dl.gradient_check(cost_fn, point, grads)
    assert report.difference < GRADCHECK_TOL, (
        f"{what}: expected introdl.gradient_check difference < {GRADCHECK_TOL:g}, got\n{report}"
    )


# --- the helper itself --------------------------------------------------------------------------

def test_central_difference_helper_matches_closed_form_gradients(rng):
    x, w = rng.standard_normal((3, 2)), rng.standard_normal(4)
    grads = central_difference(lambda p: np.sum(np.sin(p["x"])) + np.sum(p["w"] ** 3), {"x": x, "w": w})
    assert_grad_close(grads["x"], np.cos(x), "d/dx sum(sin x)")
    assert_grad_close(grads["w"], 3 * w**2, "d/dw sum(w**3)")


def test_introdl_numerical_gradient_matches_closed_form(rng):
    theta = rng.standard_normal(6)
    grad = dl.numerical_gradient(lambda t: float(np.sum(np.exp(t))), theta)
    assert max_relative_error(grad, np.exp(theta)) < 1e-6, "numerical_gradient of sum(exp) should be exp"


def test_gradient_check_names_the_wrong_parameter(rng):
    params = {"W1": rng.standard_normal((2, 3)), "b1": rng.standard_normal((2, 1))}

    def cost(p):
        return float(np.sum(p["W1"] ** 2) + np.sum(p["b1"] ** 2))

    grads = {"dW1": 2 * params["W1"], "db1": 2 * params["b1"]}
    assert dl.gradient_check(cost, params, grads).difference < GRADCHECK_TOL, "right gradients should pass"
    wrong = {"dW1": grads["dW1"], "db1": 3 * params["b1"]}
    report = dl.gradient_check(cost, params, wrong)
    assert report.difference > 1e-3, f"a wrong db1 should give a large difference, got {report.difference}"
    assert report.worst == "b1", f"expected the report to blame b1, got {report.worst}: {report}"


# --- activations --------------------------------------------------------------------------------

ACTIVATIONS = {
    "relu": (dl.relu_forward, dl.relu_backward),
    "sigmoid": (dl.sigmoid_forward, dl.sigmoid_backward),
    "tanh": (dl.tanh_forward, dl.tanh_backward),
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_backward_matches_numerical_gradient(name, shape, rng):
    forward, backward = ACTIVATIONS[name]
    n, m = shape
    # Away from ReLU's kink at 0, where the two-sided difference straddles two slopes.
    Z = away_from_zero(rng.standard_normal(shape) * 2)
    G = rng.standard_normal(shape)

    def cost(p):
        return float(np.sum(G * forward(p["Z"])[0]) / m)

    _, cache = forward(Z)
    dZ = backward(G, cache)  # G = m * dJ/dA
    numeric = central_difference(cost, {"Z": Z})
    assert_grad_close(dZ, m * numeric["Z"], f"{name}_backward dZ (= m dJ/dZ)")
    _assert_gradient_check(cost, {"Z": Z}, {"dZ": dZ / m}, f"{name}_backward")


# --- linear -------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", LINEAR_SHAPES)
def test_linear_backward_matches_numerical_gradient(shape, rng):
    n, n_prev, m = shape
    point = {
        "A_prev": rng.standard_normal((n_prev, m)),
        "W": rng.standard_normal((n, n_prev)),
        "b": rng.standard_normal((n, 1)),
    }
    G = rng.standard_normal((n, m))

    def cost(p):
        return float(np.sum(G * dl.linear_forward(p["A_prev"], p["W"], p["b"])[0]) / m)

    _, cache = dl.linear_forward(point["A_prev"], point["W"], point["b"])
    dA_prev, dW, db = dl.linear_backward(G, cache)
    numeric = central_difference(cost, point)
    assert_grad_close(dA_prev, m * numeric["A_prev"], "linear_backward dA_prev (= m dJ/dA_prev)")
    assert_grad_close(dW, numeric["W"], "linear_backward dW (= dJ/dW)")
    assert_grad_close(db, numeric["b"], "linear_backward db (= dJ/db)")
    _assert_gradient_check(cost, point, {"dA_prev": dA_prev / m, "dW": dW, "db": db}, "linear_backward")


def test_linear_backward_can_skip_the_input_gradient(rng):
    A_prev, W, b = rng.standard_normal((3, 4)), rng.standard_normal((2, 3)), rng.standard_normal((2, 1))
    dZ = rng.standard_normal((2, 4))
    _, cache = dl.linear_forward(A_prev, W, b)
    full = dl.linear_backward(dZ, cache)
    skipped = dl.linear_backward(dZ, cache, input_grad=False)
    assert skipped[0] is None, "input_grad=False should return dA_prev = None"
    np.testing.assert_array_equal(skipped[1], full[1], err_msg="dW should not depend on input_grad")
    np.testing.assert_array_equal(skipped[2], full[2], err_msg="db should not depend on input_grad")


# --- dropout ------------------------------------------------------------------------------------

@pytest.mark.parametrize("keep_prob", [0.5, 0.8, 1.0])
@pytest.mark.parametrize("shape", SHAPES)
def test_dropout_backward_matches_numerical_gradient_with_a_fixed_mask(shape, keep_prob, rng):
    n, m = shape
    A = rng.standard_normal(shape)
    G = rng.standard_normal(shape)
    seed = 7

    def cost(p):
        # A fresh generator with the same seed every time: the same mask in every evaluation.
        out, _ = dl.dropout_forward(p["A"], keep_prob, rng=np.random.default_rng(seed))
        return float(np.sum(G * out) / m)

    _, cache = dl.dropout_forward(A, keep_prob, rng=np.random.default_rng(seed))
    dA = dl.dropout_backward(G, cache)
    numeric = central_difference(cost, {"A": A})
    assert_grad_close(dA, m * numeric["A"], f"dropout_backward dA (keep_prob={keep_prob})")
    _assert_gradient_check(cost, {"A": A}, {"dA": dA / m}, "dropout_backward")


# --- batch norm ---------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(3, 5), (1, 4), (4, 2), (2, 1)])
@pytest.mark.parametrize("mode", ["train", "test"])
def test_batchnorm_backward_matches_numerical_gradient(mode, shape, rng):
    n, m = shape
    point = {
        "Z": rng.standard_normal(shape) * 2 + 1,
        "gamma": rng.standard_normal((n, 1)),
        "beta": rng.standard_normal((n, 1)),
    }
    running = {"mean": rng.standard_normal((n, 1)), "var": rng.uniform(0.5, 2.0, (n, 1))}
    G = rng.standard_normal(shape)

    def cost(p):
        out, _, _ = dl.batchnorm_forward(p["Z"], p["gamma"], p["beta"], running, mode=mode)
        return float(np.sum(G * out) / m)

    _, cache, _ = dl.batchnorm_forward(point["Z"], point["gamma"], point["beta"], running, mode=mode)
    dZ, dgamma, dbeta = dl.batchnorm_backward(G, cache)
    numeric = central_difference(cost, point)
    assert_grad_close(dZ, m * numeric["Z"], f"batchnorm_backward ({mode}) dZ (= m dJ/dZ)")
    assert_grad_close(dgamma, numeric["gamma"], f"batchnorm_backward ({mode}) dgamma (= dJ/dgamma)")
    assert_grad_close(dbeta, numeric["beta"], f"batchnorm_backward ({mode}) dbeta (= dJ/dbeta)")
    _assert_gradient_check(cost, point, {"dZ": dZ / m, "dgamma": dgamma, "dbeta": dbeta},
                           f"batchnorm_backward ({mode})")


def test_batchnorm_train_gradient_through_a_single_example_is_zero(rng):
    # With m = 1, z - mu = 0 whatever z is: the output is beta and cannot depend on Z.
    Z, gamma, beta = rng.standard_normal((3, 1)), rng.standard_normal((3, 1)), rng.standard_normal((3, 1))
    out, cache, _ = dl.batchnorm_forward(Z, gamma, beta, None)
    np.testing.assert_allclose(out, beta, atol=1e-12, err_msg="with m = 1 the train-mode output should be beta")
    dZ, _, _ = dl.batchnorm_backward(rng.standard_normal((3, 1)), cache)
    np.testing.assert_allclose(dZ, 0.0, atol=1e-12, err_msg="with m = 1, dZ should be 0")


# --- losses -------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(4, 6), (3, 1), (2, 5), (10, 3)])
def test_softmax_cross_entropy_backward_matches_numerical_gradient(shape, rng):
    C, m = shape
    Z = rng.standard_normal(shape) * 3
    Y = dl.one_hot(rng.integers(0, C, m), C)

    def cost(p):
        return dl.softmax_cross_entropy(p["Z"], Y)

    dZ = dl.softmax_cross_entropy_backward(Z, Y)
    numeric = central_difference(cost, {"Z": Z})
    assert_grad_close(dZ, m * numeric["Z"], "softmax_cross_entropy_backward dZ (= m dJ/dZ)")
    _assert_gradient_check(cost, {"Z": Z}, {"dZ": dZ / m}, "softmax_cross_entropy_backward")


def test_softmax_cross_entropy_backward_with_soft_labels(rng):
    # Any probability columns as targets: dZ = softmax(Z) - Y still holds because columns of Y sum to 1.
    Z = rng.standard_normal((4, 3))
    Y = dl.softmax(rng.standard_normal((4, 3)))
    numeric = central_difference(lambda p: dl.softmax_cross_entropy(p["Z"], Y), {"Z": Z})
    assert_grad_close(dl.softmax_cross_entropy_backward(Z, Y), 3 * numeric["Z"], "soft-label dZ")


@pytest.mark.parametrize("m", [1, 6])
def test_binary_cross_entropy_backward_matches_numerical_gradient(m, rng):
    Z = rng.standard_normal((1, m)) * 3
    Y = rng.integers(0, 2, (1, m)).astype(float)

    def cost(p):
        return dl.binary_cross_entropy(p["Z"], Y)

    dZ = dl.binary_cross_entropy_backward(Z, Y)
    numeric = central_difference(cost, {"Z": Z})
    assert_grad_close(dZ, m * numeric["Z"], "binary_cross_entropy_backward dZ (= m dJ/dZ)")
    _assert_gradient_check(cost, {"Z": Z}, {"dZ": dZ / m}, "binary_cross_entropy_backward")


# --- penalties ----------------------------------------------------------------------------------

def _weights(rng):
    # Non-square layers; biases and batch-norm parameters must be ignored by the penalties.
    return {
        "W1": away_from_zero(rng.standard_normal((4, 3)), 0.05),
        "b1": rng.standard_normal((4, 1)),
        "W2": away_from_zero(rng.standard_normal((1, 4)), 0.05),
        "gamma1": rng.standard_normal((4, 1)),
    }


@pytest.mark.parametrize(("penalty", "penalty_grads"), [
    (dl.l2_penalty, dl.l2_penalty_grads),
    (dl.l1_penalty, dl.l1_penalty_grads),
], ids=["l2", "l1"])
@pytest.mark.parametrize("m", [1, 13])
def test_penalty_grads_match_numerical_gradient(penalty, penalty_grads, m, rng):
    params = _weights(rng)
    lamd = 0.7

    def cost(p):
        return penalty(p, lamd=lamd, m=m)

    grads = penalty_grads(params, lamd=lamd, m=m)
    assert sorted(grads) == ["dW1", "dW2"], f"expected gradients for the weights only, got {sorted(grads)}"
    numeric = central_difference(cost, params)
    for key in params:
        expected = numeric[key]
        actual = grads.get("d" + key, np.zeros_like(params[key]))
        assert_grad_close(actual, expected, f"{penalty.__name__} d{key}")
    _assert_gradient_check(
        cost, {k: params[k] for k in ("W1", "W2")}, {k: grads[k] for k in ("dW1", "dW2")}, penalty.__name__
    )


# --- the whole network --------------------------------------------------------------------------

NETWORKS = {
    # name: (layer_dims, hidden, output, m, keep_prob, lamd, batchnorm)
    "relu-softmax": ([4, 5, 3, 3], "relu", "softmax", 7, 1.0, 0.0, False),
    "relu-softmax-m1": ([3, 4, 2], "relu", "softmax", 1, 1.0, 0.0, False),
    "tanh-sigmoid-m1": ([3, 4, 1], "tanh", "sigmoid", 1, 1.0, 0.0, False),
    "tanh-softmax-l2": ([2, 6, 4], "tanh", "softmax", 5, 1.0, 0.9, False),
    "relu-sigmoid-dropout-l2": ([5, 6, 4, 1], "relu", "sigmoid", 9, 0.8, 0.7, False),
    "relu-softmax-dropout-per-layer": ([4, 7, 5, 3], "relu", "softmax", 8, (0.6, 0.9), 0.0, False),
    "tanh-softmax-batchnorm-l2": ([3, 6, 5, 4], "tanh", "softmax", 8, 1.0, 0.5, True),
    "relu-sigmoid-batchnorm-dropout": ([4, 5, 4, 1], "relu", "sigmoid", 10, 0.75, 0.2, True),
    "linear-softmax": ([3, 3, 2], "linear", "softmax", 4, 1.0, 0.0, False),
}


def _network_case(dims, hidden, output, m, batchnorm, rng, seed):
    """Parameters and data whose ReLU inputs stay at least 0.05 away from 0 (resampled otherwise)."""
    for _ in range(200):
        params = dl.initialize_parameters(dims, "xavier", rng=rng, batchnorm=batchnorm)
        # Non-zero biases and batch-norm parameters, so their gradients are exercised too.
        params = {k: v + 0.3 * rng.standard_normal(v.shape) for k, v in params.items()}
        X = rng.standard_normal((dims[0], m))
        labels = rng.integers(0, dims[-1] if output == "softmax" else 2, m)
        Y = dl.one_hot(labels, dims[-1]) if output == "softmax" else labels[None, :].astype(float)
        if hidden != "relu":
            return params, X, Y
        _, caches, _ = dl.model_forward(X, params, output=output, hidden=hidden, rng=np.random.default_rng(seed))
        # The ReLU cache is its input Z (documented in relu_forward).
        if all(np.min(np.abs(cache["act"])) > 0.05 for cache in caches[:-1]):
            return params, X, Y
    raise AssertionError("could not draw a network without pre-activations near 0")


@pytest.mark.parametrize("name", list(NETWORKS))
def test_model_backward_matches_numerical_gradient_of_compute_cost(name, rng):
    dims, hidden, output, m, keep_prob, lamd, batchnorm = NETWORKS[name]
    seed = 11
    params, X, Y = _network_case(dims, hidden, output, m, batchnorm, rng, seed)
    settings = dict(output=output, hidden=hidden)

    def cost(p):
        # The same seed as the backward pass below: the same dropout masks in every evaluation.
        ZL, _, _ = dl.model_forward(X, p, keep_prob=keep_prob, rng=np.random.default_rng(seed), **settings)
        return dl.compute_cost(ZL, Y, params=p, lamd=lamd, output=output)

    ZL, caches, _ = dl.model_forward(X, params, keep_prob=keep_prob, rng=np.random.default_rng(seed), **settings)
    grads = dl.model_backward(ZL, Y, caches, params=params, lamd=lamd, **settings)
    assert sorted(grads) == sorted("d" + k for k in params), (
        f"expected one gradient per parameter {sorted(params)}, got {sorted(grads)}"
    )
    numeric = central_difference(cost, params)
    for key in params:
        assert_grad_close(grads["d" + key], numeric[key], f"{name}: d{key}")
    _assert_gradient_check(cost, params, grads, name)


def test_model_backward_l2_term_is_exact_weight_decay(rng):
    # The L2 part of dW is (lamd/m) W, on top of the data gradient, and nothing is added to db.
    params = dl.initialize_parameters([3, 4, 2], "he", rng=rng)
    X, Y = rng.standard_normal((3, 6)), dl.one_hot(rng.integers(0, 2, 6), 2)
    ZL, caches, _ = dl.model_forward(X, params)
    plain = dl.model_backward(ZL, Y, caches)
    decayed = dl.model_backward(ZL, Y, caches, params=params, lamd=0.6)
    for l in (1, 2):
        np.testing.assert_allclose(decayed[f"dW{l}"] - plain[f"dW{l}"], 0.6 / 6 * params[f"W{l}"], rtol=1e-12,
                                   err_msg=f"dW{l} should gain (lamd/m) W{l}")
        np.testing.assert_array_equal(decayed[f"db{l}"], plain[f"db{l}"], err_msg=f"db{l} has no L2 term")


def test_introdl_gradient_check_agrees_with_the_independent_helper(rng):
    # Both numerical gradients of the same network cost, entry by entry.
    params, X, Y = _network_case([3, 4, 2], "tanh", "softmax", 5, False, rng, 0)

    def cost(p):
        return dl.compute_cost(dl.model_forward(X, p, hidden="tanh")[0], Y, params=p, lamd=0.3)

    theta, spec = dl.dict_to_vector(params)
    theirs = dl.vector_to_dict(dl.numerical_gradient(lambda t: cost(dl.vector_to_dict(t, spec)), theta), spec)
    ours = central_difference(cost, params, eps=EPS)
    for key in params:
        assert_grad_close(theirs[key], ours[key], f"numerical_gradient vs helper for {key}", tol=1e-6)
