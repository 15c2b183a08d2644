"""Checks for assignment 2: L2 penalty, inverted dropout, horizontal flip, early stopping.

Dropout draws random numbers, so its checks judge behaviour rather than equality with the
reference: any mask that keeps each unit independently with probability ``keep_prob``, drawn
from the given ``rng``, passes (the notebook suggests ``D = rng.random(A.shape) < keep_prob``).
"""

import re

import numpy as np

import introdl

from .core import Case, Mistake, ReferenceCheck
from .helpers import layer_params
from .judges.a2_regularization import (
    BACK_NO_SCALE,
    BACK_TIMES_KEEP,
    GLOBAL_RNG,
    INVERTED,
    MASK_SHAPE,
    NEW_MASK,
    NO_MASK,
    NO_SCALE,
    TIMES_KEEP,
    WRONG_UNITS,
    DropoutBackwardCheck,
    DropoutForwardCheck,
)
from .registry import register

# --- shared test data ----------------------------------------------------------------------


def _penalty_cases(rng, hidden):
    if not hidden:
        specs = [([2, 3, 1], 0.7, 5), ([4, 4, 2, 1], 0.1, 32)]
    else:
        specs = [([3, 5, 1], 2.5, 1), ([6, 2, 4, 3], 0.05, 200), ([1, 1], 1.0, 7)]
    return [Case((layer_params(rng, dims),), {"lamd": lamd, "m": m},
                 label=f"layers {dims}, lamd={lamd}, m={m}") for dims, lamd, m in specs]


def _weights(params):
    return [params[k] for k in params if re.fullmatch(r"W\d+", k)]


# --- l2_penalty ----------------------------------------------------------------------------


L2_PENALTY = ReferenceCheck(
    "l2_penalty", points=2, reference=introdl.l2_penalty, make_cases=_penalty_cases,
    outputs=("the L2 cost term",),
    mistakes=[
        Mistake("one_over_m", "the term is off by a factor 2: the lecture's scale is lamd/(2m), not lamd/m",
                lambda params, *, lamd, m: lamd / m * sum(np.sum(W**2) for W in _weights(params))),
        Mistake("biases", "only the weights W1, W2, ... are penalised: leave the biases b out of the sum",
                lambda params, *, lamd, m: lamd / (2 * m) * sum(np.sum(v**2) for v in params.values())),
        Mistake("not_squared", "the Frobenius norm is SQUARED: sum the squares W**2, not the weights W",
                lambda params, *, lamd, m: lamd / (2 * m) * sum(np.sum(W) for W in _weights(params))),
        Mistake("abs", "this is the L1 penalty (sum of |W|); L2 sums the squares W**2",
                lambda params, *, lamd, m: lamd / (2 * m) * sum(np.sum(np.abs(W)) for W in _weights(params))),
        Mistake("norm_not_squared", "np.linalg.norm(W) is the Frobenius norm itself; the cost uses its square",
                lambda params, *, lamd, m: lamd / (2 * m) * sum(np.linalg.norm(W) for W in _weights(params))),
        Mistake("no_m", "divide by the number of examples: the scale is lamd/(2m)",
                lambda params, *, lamd, m: lamd / 2 * sum(np.sum(W**2) for W in _weights(params))),
    ],
    alternatives=[
        lambda params, *, lamd, m: float(lamd * sum(
            np.linalg.norm(params[f"W{l}"], "fro") ** 2 for l in range(1, len(_weights(params)) + 1)
        ) / (2 * m)),
    ],
)

# --- l2_penalty_grads ----------------------------------------------------------------------


def _grads(params, scale, f=lambda W: W, keys=r"W\d+", prefix="d"):
    return {prefix + k: scale * f(v) for k, v in params.items() if re.fullmatch(keys, k)}


L2_PENALTY_GRADS = ReferenceCheck(
    "l2_penalty_grads", points=2, reference=introdl.l2_penalty_grads, make_cases=_penalty_cases,
    outputs=("the gradient dict",),
    mistakes=[
        Mistake("half", "the derivative of (lamd/(2m)) W**2 is (lamd/m) W: the 2 of the square cancels the 1/2",
                lambda params, *, lamd, m: _grads(params, lamd / (2 * m))),
        Mistake("biases", "return only the weight gradients dW1, dW2, ...: the biases are not penalised, "
                "so there is no db entry", lambda params, *, lamd, m: _grads(params, lamd / m, keys=r"[Wb]\d+")),
        Mistake("no_m", "the gradient is (lamd/m) W: divide by m",
                lambda params, *, lamd, m: _grads(params, lamd)),
        Mistake("sign", "(lamd/m) sign(W) is the L1 gradient; the L2 gradient is proportional to W itself",
                lambda params, *, lamd, m: _grads(params, lamd / m, np.sign)),
        Mistake("keys", "name the gradients like the lecture: 'dW1', 'dW2', ... (a 'd' in front of the "
                "parameter's name)", lambda params, *, lamd, m: _grads(params, lamd / m, prefix="")),
    ],
    alternatives=[
        lambda params, *, lamd, m: {f"dW{l}": lamd * params[f"W{l}"] / m
                                    for l in range(1, len(_weights(params)) + 1)},
    ],
)

# --- dropout_forward -----------------------------------------------------------------------

def _activations(rng, shape):
    """Activations without zeros, so that a zero in the output means a dropped unit."""
    return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def _dropout_cases(rng, hidden):
    """Cases ``(A, keep_prob)`` with a seed; large arrays let the keep rate be measured."""
    if not hidden:
        specs = [((3, 4), 0.8), ((40, 100), 0.7), ((4, 5), 1.0)]
    else:
        specs = [((5, 1), 0.6), ((1, 7), 0.9), ((60, 80), 0.8), ((30, 200), 0.55), ((7, 3), 1.0), ((100, 30), 0.3)]
    cases = []
    for shape, keep_prob in specs:
        A = _activations(rng, shape)
        cases.append(Case((A, keep_prob), label=f"A of shape {shape}, keep_prob={keep_prob}",
                          seed=int(rng.integers(2**31))))
    return cases


def _drop(A, keep_prob, mask_fn, scale_fn):
    D = mask_fn(A.shape)
    return scale_fn(A * D), (D, keep_prob)


DROPOUT_FORWARD = DropoutForwardCheck(
    "dropout_forward", points=3, reference=introdl.dropout_forward, make_cases=_dropout_cases,
    mistakes=[
        Mistake("no_scale", NO_SCALE,
                lambda A, keep_prob, *, rng: _drop(A, keep_prob, lambda s: rng.random(s) < keep_prob, lambda x: x)),
        Mistake("times_keep", TIMES_KEEP,
                lambda A, keep_prob, *, rng: _drop(A, keep_prob, lambda s: rng.random(s) < keep_prob,
                                                   lambda x: x * keep_prob)),
        Mistake("inverted_mask", INVERTED,
                lambda A, keep_prob, *, rng: _drop(A, keep_prob, lambda s: rng.random(s) > keep_prob,
                                                   lambda x: x / keep_prob)),
        Mistake("global_rng", GLOBAL_RNG,  # the global state is the mistake itself
                lambda A, keep_prob, *, rng: _drop(A, keep_prob, lambda s: np.random.random(s) < keep_prob,  # noqa: NPY002
                                                   lambda x: x / keep_prob)),
        Mistake("mask_per_unit", MASK_SHAPE,
                lambda A, keep_prob, *, rng: _drop(A, keep_prob, lambda s: rng.random((s[0], 1)) < keep_prob,
                                                   lambda x: x / keep_prob)),
    ],
    alternatives=[
        # Another valid draw: the same keep probability, other random numbers.
        lambda A, keep_prob, *, rng: _drop(A, keep_prob, lambda s: rng.binomial(1, keep_prob, s).astype(bool),
                                           lambda x: x / keep_prob),
        lambda A, keep_prob, *, rng: _drop(A, keep_prob, lambda s: rng.uniform(size=s) >= 1 - keep_prob,
                                           lambda x: x / keep_prob),
    ],
)

# --- dropout_backward ----------------------------------------------------------------------


def _dropout_backward_cases(rng, hidden):
    """Cases ``(dA, A, keep_prob)`` with the seed of the forward pass that makes the cache."""
    cases = []
    for case in _dropout_cases(rng, hidden):
        A, keep_prob = case.args
        dA = rng.standard_normal(A.shape)
        cases.append(Case((dA, A, keep_prob), label=case.label, seed=case.seed))
    return cases


def _back(dA, cache, mask_fn, scale):
    D, keep_prob = cache
    return dA * mask_fn(D) * scale(keep_prob)


DROPOUT_BACKWARD = DropoutBackwardCheck(
    "dropout_backward", points=2, reference=introdl.dropout_backward, make_cases=_dropout_backward_cases,
    forward_check=DROPOUT_FORWARD,
    mistakes=[
        Mistake("no_scale", BACK_NO_SCALE, lambda dA, cache: _back(dA, cache, lambda D: D, lambda k: 1.0)),
        Mistake("times_keep", BACK_TIMES_KEEP, lambda dA, cache: _back(dA, cache, lambda D: D, lambda k: k)),
        Mistake("no_mask", NO_MASK, lambda dA, cache: _back(dA, cache, lambda D: 1.0, lambda k: 1 / k)),
        Mistake("wrong_units", WRONG_UNITS, lambda dA, cache: _back(dA, cache, lambda D: ~D, lambda k: 1 / k)),
        Mistake("new_mask", NEW_MASK,
                lambda dA, cache: _back(dA, cache, lambda D: np.random.default_rng().random(D.shape) < cache[1],
                                        lambda k: 1 / k)),
    ],
    alternatives=[
        lambda dA, cache: np.where(cache[0], dA / cache[1], 0.0),
    ],
)

# --- flip_horizontal -----------------------------------------------------------------------


def _flip_cases(rng, hidden):
    if not hidden:
        return [Case((np.arange(12.0).reshape(12, 1), (3, 4)), label="one 3x4 image with pixels 0..11"),
                Case((rng.integers(0, 9, (6, 4)).astype(float), (2, 3)), label="four 2x3 images")]
    specs = [((8, 8), 1), ((5, 7), 3), ((4, 2), 6), ((1, 5), 2)]
    return [Case((rng.standard_normal((h * w, m)), (h, w))) for (h, w), m in specs]


def _images(X, image_shape):
    h, w = image_shape
    return X.T.reshape(-1, h, w)


def _columns(images):
    return images.reshape(images.shape[0], -1).T


def _flip_loop(X, image_shape):
    out = np.empty_like(X)
    for i in range(X.shape[1]):
        out[:, i] = np.fliplr(X[:, i].reshape(image_shape)).ravel()
    return out


def _flip_index(X, image_shape):
    h, w = image_shape
    pixel = np.arange(h * w).reshape(h, w)
    return X[pixel[:, ::-1].ravel(), :]


FLIP_HORIZONTAL = ReferenceCheck(
    "flip_horizontal", points=2, reference=introdl.flip_horizontal, make_cases=_flip_cases,
    outputs=("the flipped array",), forbidden=[introdl.flip_horizontal, introdl.random_flip],
    mistakes=[
        Mistake("vertical", "the images were flipped upside down: a horizontal flip reverses the columns "
                "of each (h, w) image (left-right), i.e. image[:, ::-1]",
                lambda X, image_shape: _columns(_images(X, image_shape)[:, ::-1, :])),
        Mistake("whole_column", "reversing the whole pixel column X[::-1] turns each image by 180 degrees: "
                "reshape each column to (h, w) first and reverse only its columns",
                lambda X, image_shape: X[::-1, :]),
        Mistake("examples", "the order of the examples (columns of X) was reversed instead of the pixels "
                "inside each image", lambda X, image_shape: X[:, ::-1]),
        Mistake("no_transpose", "X.reshape(m, h, w) mixes pixels of different images: the images are the "
                "COLUMNS of X, so reshape X.T (or each column X[:, i])",
                lambda X, image_shape: X.reshape(-1, *image_shape)[:, :, ::-1].reshape(X.shape)),
        Mistake("swapped_shape", "image_shape is (h, w) = (rows, columns): reshape each column to (h, w), "
                "not (w, h)", lambda X, image_shape: _columns(_images(X, image_shape[::-1])[:, :, ::-1])),
    ],
    alternatives=[_flip_loop, _flip_index],
)

# --- early_stopping ------------------------------------------------------------------------


def _dev_curve(rng, n, noise):
    """A U-shaped dev cost: falls while the model learns, rises as it overfits, plus noise."""
    epochs = np.arange(n)
    turn = rng.integers(n // 4, 3 * n // 4 + 1)
    curve = 1.0 / (1 + 0.3 * epochs) + 0.02 * np.maximum(epochs - turn, 0)
    return list(np.round(curve + noise * rng.standard_normal(n), 4))


def _early_cases(rng, hidden):
    if not hidden:
        rising = [1.0, 0.8, 0.7, 0.72, 0.75, 0.9]
        return [Case((rising, 3), label=f"dev_costs={rising}, patience=3"),
                Case((rising, 4), label=f"dev_costs={rising}, patience=4"),
                Case(([1.0, 0.9, 0.895, 0.893, 0.892], 3), {"min_delta": 0.01},
                     label="dev_costs=[1.0, 0.9, 0.895, 0.893, 0.892], patience=3, min_delta=0.01"),
                Case(([0.5, 0.5, 0.5], 2), label="dev_costs=[0.5, 0.5, 0.5], patience=2"),
                Case(([0.9, 0.5, 0.7, 0.8, 0.6, 0.55], 3),
                     label="dev_costs=[0.9, 0.5, 0.7, 0.8, 0.6, 0.55], patience=3")]
    cases = [Case(([0.3], 1)), Case(([0.6, 0.4, 0.4, 0.4, 0.4], 3)), Case(([0.9, 0.5, 0.7, 0.6, 0.55, 0.8], 4)),
             Case(([1.0, 0.99, 0.98, 0.97, 0.96, 0.95], 2), {"min_delta": 0.015})]
    for n, patience, min_delta in [(30, 5, 0.0), (20, 3, 0.005), (12, 1, 0.0), (40, 8, 0.002)]:
        cases.append(Case((_dev_curve(rng, n, 0.01), patience), {"min_delta": min_delta}))
    return cases


def _early(dev_costs, patience, min_delta=0.0, *, better=None, late=0, result=None):
    """Early stopping with knobs for the catalogue's wrong variants."""
    better = better or (lambda cost, best: cost < best - min_delta)
    best_epoch = 0
    for epoch in range(1, len(dev_costs)):
        if better(dev_costs[epoch], dev_costs[best_epoch]):
            best_epoch = epoch
    stop = len(dev_costs) - 1 - best_epoch >= patience + late
    return (stop, best_epoch) if result is None else result(stop, best_epoch, len(dev_costs))


def _since_last_decrease(dev_costs, patience, *, min_delta=0.0):
    best_epoch, waited = 0, 0
    for epoch in range(1, len(dev_costs)):
        waited = 0 if dev_costs[epoch] < dev_costs[epoch - 1] - min_delta else waited + 1
        if dev_costs[epoch] < dev_costs[best_epoch] - min_delta:
            best_epoch = epoch
    return waited >= patience, best_epoch


def _early_counter(dev_costs, patience, *, min_delta=0.0):
    best, best_epoch, waited = np.inf, -1, 0
    for epoch, cost in enumerate(dev_costs):
        if cost < best - min_delta:
            best, best_epoch, waited = cost, epoch, 0
        else:
            waited += 1
    return waited >= patience, best_epoch


EARLY_STOPPING = ReferenceCheck(
    "early_stopping", points=3, reference=introdl.early_stopping, make_cases=_early_cases,
    outputs=("stop", "best_epoch"),
    mistakes=[
        Mistake("late", "stop is one epoch late: stop as soon as `patience` epochs have passed since the "
                "best one (len(dev_costs) - 1 - best_epoch >= patience)",
                lambda d, p, *, min_delta=0.0: _early(d, p, min_delta, late=1)),
        Mistake("early", "stop is one epoch early: the best epoch itself does not count as an epoch without "
                "improvement (len(dev_costs) - 1 - best_epoch >= patience)",
                lambda d, p, *, min_delta=0.0: _early(d, p, min_delta, late=-1)),
        Mistake("last_epoch", "best_epoch is the epoch with the LOWEST dev cost (whose parameters you "
                "restore), not the last epoch",
                lambda d, p, *, min_delta=0.0: _early(d, p, min_delta, result=lambda s, b, n: (s, n - 1))),
        Mistake("one_based", "best_epoch is an index into dev_costs, counted from 0",
                lambda d, p, *, min_delta=0.0: _early(d, p, min_delta, result=lambda s, b, n: (s, b + 1))),
        Mistake("ties", "an equal cost is not an improvement: on ties keep the EARLIEST best epoch "
                "(use cost < best - min_delta, not <=)",
                lambda d, p, *, min_delta=0.0: _early(d, p, better=lambda c, b: c <= b - min_delta)),
        Mistake("ignores_min_delta", "an improvement must beat the best cost by more than min_delta: "
                "compare cost < best - min_delta",
                lambda d, p, *, min_delta=0.0: _early(d, p)),
        Mistake("since_last_decrease", "patience counts the epochs since the BEST dev cost, not since the "
                "last time the cost went down", _since_last_decrease),
    ],
    alternatives=[_early_counter],
)

register(L2_PENALTY, L2_PENALTY_GRADS, DROPOUT_FORWARD, DROPOUT_BACKWARD, FLIP_HORIZONTAL, EARLY_STOPPING)
