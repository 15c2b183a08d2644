"""Checks for assignment 3: input normalization and parameter initialization.

``fit_normalizer`` and ``normalize`` are compared with the reference. The cases hold features
on very different scales and, for ``fit_normalizer``, constant features whose values are
exactly representable (0.0, 2.0, -3.5), so that their standard deviation is exactly 0 and
``sigma == 0``, ``sigma < 1e-12`` and ``np.where(sigma > 0, sigma, 1)`` all give the same
answer. ``normalize`` gets the statistics of another (training) set than its ``X``, so that
recomputing the statistics of ``X`` shows.

``initialize_parameters`` is compared with the reference number for number. That is fair
because the notebook states the exact draw: for ``l = 1..L`` in order,
``W = rng.standard_normal((n_l, n_prev)) * scale`` (``rng.normal(0.0, scale, (n_l, n_prev))``
gives the same numbers), then ``b = np.zeros((n_l, 1))``, and no other call to ``rng``. We chose
exact comparison over a statistical test of the spread: a statistical test needs large layers
and a tolerance, and would still blur the difference between ``sqrt(2/n_prev)`` and a wrong
constant on nearly square layers; with the draw fixed, every wrong scale shows on every case,
small layers included. All layers of the cases are non-square, so that fan-in and fan-out
differ. When each W is the stated draw times a wrong factor, the message names the layer, the
factor and the method's scale; when the numbers differ although the shapes, the biases and the
spread of the weights look right, it says that the draw itself differs from the stated one.
"""

import numpy as np

import introdl

from .core import Case, Mistake, ReferenceCheck
from .judges.a3_initialization import InitCheck
from .registry import register

# --- fit_normalizer ------------------------------------------------------------------------


def _features(rng, n_x, m, *, constant=()):
    """Features on very different scales and offsets; rows in ``constant`` hold one exact value."""
    scales = 10.0 ** rng.uniform(-1, 2, (n_x, 1))
    offsets = rng.uniform(-20, 20, (n_x, 1))
    X = np.round(offsets + scales * rng.standard_normal((n_x, m)), 3)
    for row, value in constant:
        X[row] = value
    return X


def _fit_cases(rng, hidden):
    if not hidden:
        X1 = np.array([[1.0, 2.0, 3.0, 4.0, 5.0],
                       [100.0, 300.0, 200.0, 500.0, 400.0],
                       [-1.0, 1.0, -1.0, 1.0, 0.0]])
        X2 = _features(rng, 4, 8, constant=[(2, 2.0)])
        return [Case((X1,), label="X (3, 5): three features on different scales"),
                Case((X2,), label="X (4, 8) whose third feature is constant (2.0)")]
    specs = [(5, 40, [(1, 0.0)]), (3, 1, []), (1, 17, []), (6, 13, [(0, -3.5), (4, 2.0)]), (2, 2, [])]
    return [Case((_features(rng, n_x, m, constant=constant),)) for n_x, m, constant in specs]


def _fit(X, *, axis=1, power=0.5, ddof=0, guard=True, center=True, keepdims=True):
    """fit_normalizer with knobs for the catalogue's wrong variants."""
    X = np.asarray(X, dtype=float)
    mu = X.mean(axis=axis, keepdims=True)
    spread = np.mean((X - mu) ** 2 if center else X**2, axis=axis, keepdims=True)
    if ddof:
        spread = spread * X.shape[axis] / (X.shape[axis] - ddof)
    sigma = spread**power
    if guard:
        sigma = np.where(sigma < 1e-12, 1.0, sigma)
    if not keepdims:
        mu, sigma = mu.ravel(), sigma.ravel()
    return mu, sigma


def _fit_eps(X):
    mu, _ = _fit(X)
    return mu, np.sqrt(np.mean((X - mu) ** 2, axis=1, keepdims=True)) + 1e-8


def _fit_range(X):
    mu, _ = _fit(X)
    spread = X.max(axis=1, keepdims=True) - X.min(axis=1, keepdims=True)
    return mu, np.where(spread == 0, 1.0, spread)


def _fit_alternative(X):
    m = X.shape[1]
    mu = np.sum(X, axis=1, keepdims=True) / m
    sigma = np.sqrt(np.sum((X - mu) ** 2, axis=1, keepdims=True) / m)
    return mu, np.where(sigma == 0, 1.0, sigma)


FIT_NORMALIZER = ReferenceCheck(
    "fit_normalizer", points=3, reference=introdl.fit_normalizer, make_cases=_fit_cases, outputs=("mu", "sigma"),
    mistakes=[
        Mistake("variance", "sigma is the standard deviation, the square root of the variance: "
                "sigma = np.sqrt(np.mean((X - mu)**2, axis=1, keepdims=True)), or X.std(axis=1, keepdims=True)",
                lambda X: _fit(X, power=1.0)),
        Mistake("wrong_axis", "the statistics are per FEATURE, over the examples: the examples are the columns, "
                "so average along axis=1 (one mu and one sigma per row of X)", lambda X: _fit(X, axis=0)),
        Mistake("no_keepdims", "mu and sigma should be columns of shape (n_x, 1): use keepdims=True, so that "
                "X - mu broadcasts over the examples", lambda X: _fit(X, keepdims=False)),
        Mistake("no_guard", "a constant feature has standard deviation 0, and (X - mu) / 0 is NaN: "
                "set sigma to 1 for such features (e.g. sigma[sigma < 1e-12] = 1)", lambda X: _fit(X, guard=False)),
        Mistake("ddof", "divide by m, not m - 1 (np.std's default ddof=0 is the lecture's 1/m)",
                lambda X: _fit(X, ddof=1)),
        Mistake("not_centered", "the variance is the mean of (X - mu)**2: subtract the mean first; "
                "np.mean(X**2) is not the spread of a feature whose mean is not 0", lambda X: _fit(X, center=False)),
        Mistake("eps_guard", "set a constant feature's sigma to 1: adding a small epsilon (sigma + 1e-8) avoids "
                "the NaN but leaves sigma = 1e-8 there, so a dev value that differs from the training constant "
                "is blown up 10^8 times", lambda X: _fit_eps(X)),
        Mistake("swapped_outputs", "return mu first, then sigma: mu, sigma = fit_normalizer(X)",
                lambda X: _fit(X)[::-1]),
        Mistake("range", "sigma is the standard deviation, not the range max - min: min-max scaling is another "
                "normalization, the lecture's divides by the standard deviation", lambda X: _fit_range(X)),
    ],
    alternatives=[_fit_alternative],
)

# --- normalize -----------------------------------------------------------------------------


def _normalize_cases(rng, hidden):
    if not hidden:
        X = np.array([[3.0, 5.0, -1.0, 1.0],
                      [10.0, 20.0, 35.0, 0.0]])
        mu, sigma = np.array([[1.0], [10.0]]), np.array([[2.0], [5.0]])
        X_dev = _features(rng, 3, 6)
        mu_train, sigma_train = introdl.fit_normalizer(_features(rng, 3, 30))
        return [Case((X, mu, sigma), label="X (2, 4), mu [[1], [10]], sigma [[2], [5]]"),
                Case((X_dev, mu_train, sigma_train), label="a dev set X (3, 6) with mu and sigma of a training set")]
    cases = []
    for n_x, m in ((4, 25), (2, 1), (1, 9), (5, 3)):
        mu, sigma = introdl.fit_normalizer(_features(rng, n_x, 50))
        cases.append(Case((_features(rng, n_x, m), mu, sigma)))
    return cases


def _own_statistics(X):
    mu, sigma = _fit(X)
    return (X - mu) / sigma


def _normalize_alternative(X, mu, sigma):
    return (X - mu) * (1.0 / sigma)


NORMALIZE = ReferenceCheck(
    "normalize", points=2, reference=introdl.normalize, make_cases=_normalize_cases, outputs=("X_norm",),
    mistakes=[
        Mistake("own_statistics", "use the mu and sigma you are given (the TRAINING statistics), not statistics "
                "computed from X: dev and test data must go through the very same transformation as the "
                "training data", lambda X, mu, sigma: _own_statistics(X)),
        Mistake("variance", "divide by sigma (the standard deviation), not by sigma**2",
                lambda X, mu, sigma: (X - mu) / sigma**2),
        Mistake("not_centered", "subtract the mean first: X_norm = (X - mu) / sigma", lambda X, mu, sigma: X / sigma),
        Mistake("not_scaled", "after subtracting mu, divide by sigma: X_norm = (X - mu) / sigma",
                lambda X, mu, sigma: X - mu),
        Mistake("precedence", "mind the parentheses: X - mu / sigma divides only mu; write (X - mu) / sigma",
                lambda X, mu, sigma: X - mu / sigma),
        Mistake("own_mean", "subtract the mu you are given (the TRAINING mean), not the mean of X: dev and test "
                "data must go through the very same transformation as the training data",
                lambda X, mu, sigma: (X - X.mean(axis=1, keepdims=True)) / sigma),
        Mistake("sqrt_sigma", "sigma is already the standard deviation: divide by sigma itself, not by "
                "np.sqrt(sigma)", lambda X, mu, sigma: (X - mu) / np.sqrt(sigma)),
    ],
    alternatives=[_normalize_alternative],
)

# --- initialize_parameters -----------------------------------------------------------------

_SCALE = {
    "random": lambda n_prev, n: 0.01,
    "he": lambda n_prev, n: np.sqrt(2.0 / n_prev),
    "xavier": lambda n_prev, n: np.sqrt(1.0 / n_prev),
    "glorot": lambda n_prev, n: np.sqrt(2.0 / (n_prev + n)),
}


def _init(layer_dims, method="he", *, rng, scales=None, bias=False, transposed=False, draw_transposed=False,
          uniform=False):
    """initialize_parameters with knobs for the catalogue's wrong variants (the stated draw order)."""
    scales = {**_SCALE, **(scales or {})}
    params = {}
    for l in range(1, len(layer_dims)):
        n_prev, n = layer_dims[l - 1], layer_dims[l]
        if method == "zeros":
            W = np.zeros((n, n_prev))
        elif draw_transposed:
            W = rng.standard_normal((n_prev, n)).T * scales[method](n_prev, n)
        elif uniform:
            W = rng.random((n, n_prev)) * scales[method](n_prev, n)
        else:
            W = rng.standard_normal((n_prev, n) if transposed else (n, n_prev)) * scales[method](n_prev, n)
        params[f"W{l}"] = W
        params[f"b{l}"] = rng.standard_normal((n, 1)) * 0.01 if bias and method != "zeros" else np.zeros((n, 1))
    return params


def _init_alternative(layer_dims, method="he", *, rng):
    params = {}
    for l, (n_prev, n) in enumerate(zip(layer_dims[:-1], layer_dims[1:], strict=True), start=1):
        if method == "zeros":
            params[f"W{l}"] = np.zeros((n, n_prev))
        else:
            variance = {"random": 1e-4, "he": 2 / n_prev, "xavier": 1 / n_prev, "glorot": 2 / (n_prev + n)}[method]
            params[f"W{l}"] = rng.normal(0.0, np.sqrt(variance), size=(n, n_prev))
        params[f"b{l}"] = np.zeros((n, 1))
    return params


def _init_cases(rng, hidden):
    def case(dims, method=None, label=None):
        args = (dims,) if method is None else (dims, method)
        return Case(args, label=label or f"layer_dims={dims}, method={method!r}", seed=int(rng.integers(2**31)))

    if not hidden:
        return [case([3, 2, 1], "zeros"), case([3, 2], "random"), case([4, 3, 2], "he"),
                case([5, 2, 3], "xavier"), case([4, 6, 1], "glorot"),
                case([3, 5, 2], label="layer_dims=[3, 5, 2], method left at its default (he)")]
    return [case([6, 4, 3, 1], "he"), case([1, 1], "he"), case([2, 7, 5], "glorot"), case([9, 3], "xavier"),
            case([4, 2, 6, 1], "random"), case([5, 3, 2], "zeros"), case([3, 8, 2], "xavier"),
            case([7, 3, 5, 2], "glorot"), case([2, 5, 4])]


INITIALIZE_PARAMETERS = InitCheck(
    "initialize_parameters", points=5, reference=introdl.initialize_parameters, make_cases=_init_cases,
    outputs=("params",), scale=lambda method, n_prev, n: _SCALE[method](n_prev, n),
    mistakes=[
        Mistake("he_uses_n", "He's scale uses the number of INPUTS of the layer (the fan-in): "
                "sqrt(2 / n_prev) with n_prev = layer_dims[l - 1], not layer_dims[l]",
                lambda *a, **k: _init(*a, **k, scales={"he": lambda n_prev, n: np.sqrt(2.0 / n)})),
        Mistake("glorot_typo", "Glorot's variance is 2 / (n_prev + n), the average of fan-in and fan-out; "
                "2 / (n_prev * n) is a typo on the slide",
                lambda *a, **k: _init(*a, **k, scales={"glorot": lambda n_prev, n: np.sqrt(2.0 / (n_prev * n))})),
        Mistake("swapped", "He and Xavier are swapped: He (for ReLU) is sqrt(2 / n_prev), Xavier (for tanh) "
                "is sqrt(1 / n_prev)", lambda *a, **k: _init(*a, **k, scales={
                    "he": lambda n_prev, n: np.sqrt(1.0 / n_prev), "xavier": lambda n_prev, n: np.sqrt(2.0 / n_prev)})),
        Mistake("variance", "multiply by the standard deviation (the square root), not by the variance: "
                "e.g. He is rng.standard_normal(...) * np.sqrt(2 / n_prev)", lambda *a, **k: _init(*a, **k, scales={
                    "he": lambda n_prev, n: 2.0 / n_prev, "xavier": lambda n_prev, n: 1.0 / n_prev,
                    "glorot": lambda n_prev, n: 2.0 / (n_prev + n)})),
        Mistake("random_unscaled", "method 'random' draws small weights: N(0, 1) times 0.01",
                lambda *a, **k: _init(*a, **k, scales={"random": lambda n_prev, n: 1.0})),
        Mistake("random_biases", "the biases start at zero (b = np.zeros((n_l, 1))): only the weights need random "
                "values to break the symmetry", lambda *a, **k: _init(*a, **k, bias=True)),
        Mistake("transposed", "W{l} has shape (n_l, n_prev): one row per unit of layer l, one column per input, "
                "so that W @ A_prev works", lambda *a, **k: _init(*a, **k, transposed=True)),
        Mistake("he_sqrt_precedence", "He's scale is np.sqrt(2 / n_prev), the square root of the whole "
                "fraction: np.sqrt(2) / n_prev is another number",
                lambda *a, **k: _init(*a, **k, scales={"he": lambda n_prev, n: np.sqrt(2.0) / n_prev})),
        Mistake("uniform", "draw from the standard normal distribution, rng.standard_normal, not uniformly from "
                "[0, 1) with rng.random: uniform weights are all positive and have another spread",
                lambda *a, **k: _init(*a, **k, uniform=True)),
        Mistake("draw_transposed", "draw W with the shape (n_l, n_prev) directly: "
                "rng.standard_normal((n_prev, n_l)).T has the right shape but other numbers than the stated draw",
                lambda *a, **k: _init(*a, **k, draw_transposed=True)),
    ],
    alternatives=[_init_alternative],
)

register(FIT_NORMALIZER, NORMALIZE, INITIALIZE_PARAMETERS)
