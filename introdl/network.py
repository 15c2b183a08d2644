"""An L-layer network built from the package's layers.

Layers ``1..L-1`` compute ``Z = W A_prev + b`` (with batch norm: ``Z = BN(W A_prev)``, no
``b``), then the hidden activation (ReLU by default), then optional inverted dropout. Layer
``L`` is linear and its logits ``ZL`` feed a sigmoid or a softmax. A sigmoid output is one
logistic regression per unit: one unit for labels 0/1, or C units for one-hot labels (one
"this class or not" classifier per class, predicting the class of the largest output); a
softmax makes the C outputs one distribution. Both outputs give ``dZL = A_L - Y``.

Batch norm is used for a hidden layer when ``params`` holds ``gamma{l}`` and ``beta{l}``
(see ``with_batchnorm(params)``); its running statistics travel in a
dict ``bn_running = {l: {"mean", "var"}}``.

The graded pieces (batch norm, dropout, the L2 term, the softmax and its cost) are looked up
with :func:`introdl.library.function` when they are used, so the network runs on a student's
own ones, and needs a piece only when the network uses it (no dropout: no dropout_forward).
"""

import numpy as np

from ._checks import as_array, check_number, check_rng, check_same_columns, weight_keys
from .activations import (
    relu_backward,
    relu_forward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)
from .library import function
from .linear import linear_backward, linear_forward
from .losses import binary_cross_entropy, binary_cross_entropy_backward


def _identity_forward(Z):
    return Z, None


def _identity_backward(dA, cache):
    return dA


HIDDEN = {
    "relu": (relu_forward, relu_backward),
    "tanh": (tanh_forward, tanh_backward),
    "linear": (_identity_forward, _identity_backward),
}
OUTPUTS = ("sigmoid", "softmax")


def _output_functions(output):
    """The output's ``(cost, backward)`` pair: the softmax's are graded, found by ``function`` now."""
    _check_output(output)
    if output == "sigmoid":
        return binary_cross_entropy, binary_cross_entropy_backward
    return function("softmax_cross_entropy"), function("softmax_cross_entropy_backward")


def n_layers(params):
    """Number of layers ``L`` (the count of ``W`` matrices)."""
    L = len(weight_keys(params))
    if L == 0:
        raise KeyError(f"params has no weight matrices W1, W2, ...; keys are {sorted(params)}")
    return L


def keep_probs(keep_prob, L):
    """Expand ``keep_prob`` (a float, or one per hidden layer) to a tuple of length ``L - 1``."""
    values = [keep_prob] * (L - 1) if np.isscalar(keep_prob) else list(keep_prob)
    if len(values) != L - 1:
        raise ValueError(f"keep_prob needs one value per hidden layer ({L - 1}), got {len(values)}")
    return tuple(
        check_number(f"keep_prob[{i}]", p, low=0.0, high=1.0, low_open=True)
        for i, p in enumerate(values, start=1)
    )


def _check_output(output):
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")


def model_forward(X, params, *, output="softmax", hidden="relu", keep_prob=1.0, rng=None,
                  bn_running=None, mode="train"):
    """Forward pass through all layers.

    Parameters
    ----------
    X : ndarray (n_x, m)
    params : dict ``W1, b1, ..., WL, bL`` (and ``gamma{l}``, ``beta{l}`` for batch norm)
    output : {"softmax", "sigmoid"}
    hidden : {"relu", "tanh", "linear"}
    keep_prob : float or sequence of float, one per hidden layer
        Dropout is applied only in train mode; ``rng`` is then required.
    rng : numpy.random.Generator or None
    bn_running : dict {l: {"mean", "var"}} or None
    mode : {"train", "test"}

    Returns
    -------
    ZL : ndarray (n_L, m), the output logits
    caches : list, one entry per layer, for :func:`model_backward`
    bn_running : dict, the updated running statistics (empty without batch norm)
    """
    _check_output(output)
    if hidden not in HIDDEN:
        raise ValueError(f"hidden must be one of {tuple(HIDDEN)}, got {hidden!r}")
    if mode not in ("train", "test"):
        raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
    L = n_layers(params)
    probs = keep_probs(keep_prob, L)
    use_dropout = mode == "train" and any(p < 1 for p in probs)
    if use_dropout:
        check_rng(rng)
    act_forward = HIDDEN[hidden][0]
    A = as_array("X", X, ndim=2)
    bn_running = dict(bn_running or {})
    caches = []
    for l in range(1, L + 1):
        cache = {}
        W = params[f"W{l}"]
        uses_bn = l < L and f"gamma{l}" in params
        b = np.zeros((np.shape(W)[0], 1)) if uses_bn else params[f"b{l}"]
        Z, cache["linear"] = linear_forward(A, W, b)
        if l == L:
            caches.append(cache)
            return Z, caches, bn_running
        if uses_bn:
            Z, cache["bn"], bn_running[l] = function("batchnorm_forward")(
                Z, params[f"gamma{l}"], params[f"beta{l}"], bn_running.get(l), mode=mode
            )
        A, cache["act"] = act_forward(Z)
        if use_dropout and probs[l - 1] < 1:
            A, cache["dropout"] = function("dropout_forward")(A, probs[l - 1], rng=rng)
        caches.append(cache)
    raise AssertionError("unreachable")  # pragma: no cover


def model_backward(ZL, Y, caches, *, output="softmax", hidden="relu", params=None, lamd=0.0):
    """Backward pass: gradients of the cost with respect to every parameter.

    Parameters
    ----------
    ZL : ndarray (n_L, m), from :func:`model_forward`
    Y : ndarray (n_L, m)
    caches : list from :func:`model_forward`
    output, hidden : as in :func:`model_forward`
    params : dict, needed when ``lamd > 0`` (the L2 term ``(lamd/m) W`` is added to ``dW``)
    lamd : float >= 0

    Returns
    -------
    dict ``dW1, db1, ...`` (and ``dgamma{l}``, ``dbeta{l}`` for batch-norm layers)
    """
    lamd = check_number("lamd", lamd, low=0.0)
    act_backward = HIDDEN[hidden][1]
    # dA and dZ carry m * dJ/dA and m * dJ/dZ (see the package docstring): dZ[L] = A[L] - Y.
    dZ = _output_functions(output)[1](ZL, Y)
    L = len(caches)
    grads = {}
    dA = None  # each layer's linear_backward sets it for the layer below (its dA_prev)
    for l in range(L, 0, -1):
        cache = caches[l - 1]
        if l < L:
            if "dropout" in cache:
                dA = function("dropout_backward")(dA, cache["dropout"])
            dZ = act_backward(dA, cache["act"])
            if "bn" in cache:  # the activation's input was batch norm's output: go back through it
                dZ, grads[f"dgamma{l}"], grads[f"dbeta{l}"] = function("batchnorm_backward")(dZ, cache["bn"])
        dA, grads[f"dW{l}"], db = linear_backward(dZ, cache["linear"], input_grad=l > 1)
        if "bn" not in cache:
            grads[f"db{l}"] = db
    if lamd > 0:
        if params is None:
            raise ValueError("model_backward needs params when lamd > 0")
        for key, value in function("l2_penalty_grads")(params, lamd=lamd, m=ZL.shape[1]).items():
            grads[key] = grads[key] + value
    return grads


def compute_cost(ZL, Y, *, output="softmax", params=None, lamd=0.0):
    """Mean cross-entropy of the logits ``ZL`` (n_L, m) against ``Y`` plus the L2 term."""
    cost_fn = _output_functions(output)[0]
    lamd = check_number("lamd", lamd, low=0.0)
    Y = as_array("Y", Y, ndim=2)
    check_same_columns("ZL", ZL, "Y", Y)
    cost = cost_fn(ZL, Y)
    if lamd > 0:
        if params is None:
            raise ValueError("compute_cost needs params when lamd > 0")
        cost += function("l2_penalty")(params, lamd=lamd, m=Y.shape[1])
    return cost


def predict_proba(X, params, *, output="softmax", hidden="relu", bn_running=None):
    """Output probabilities at test time (no dropout, batch norm on running statistics).

    Returns
    -------
    ndarray (n_L, m)
    """
    ZL, _, _ = model_forward(X, params, output=output, hidden=hidden, bn_running=bn_running, mode="test")
    return function("softmax")(ZL) if output == "softmax" else sigmoid_forward(ZL)[0]


def predict(X, params, *, output="softmax", hidden="relu", bn_running=None):
    """Predicted labels (m,): the most probable class, or ``A > 0.5`` for one sigmoid unit."""
    A = predict_proba(X, params, output=output, hidden=hidden, bn_running=bn_running)
    return classes_of(A, output, threshold=0.5)


def labels_of(Y, output):
    """Integer labels (m,) from targets ``Y``: argmax of one-hot columns, or the 0/1 row."""
    return classes_of(Y, output, threshold=0.5)


def classes_of(S, output, *, threshold):
    """The class (m,) of each column of scores ``S`` (n_L, m).

    The row of the largest score, or, for a single sigmoid unit, 1 where the score exceeds
    ``threshold`` (0.5 for probabilities and 0/1 labels, 0 for logits).
    """
    S = np.asarray(S)
    if output == "softmax" or S.shape[0] > 1:
        return S.argmax(axis=0)
    return (S[0] > threshold).astype(np.int64)
