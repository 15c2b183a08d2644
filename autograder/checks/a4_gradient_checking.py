"""Checks for assignment 4: gradient checking.

``numerical_gradient`` runs on smooth functions with a known third derivative, mostly with a
large ``eps`` (1e-3 to 0.1): there the one-sided difference (error of order eps), the two-sided
one (order eps**2) and a hard-coded eps differ by far more than round-off, so they can be told
apart; one case keeps the default eps. The functions are not separable (a quadratic form and a
cube of a dot product), so an entry left perturbed shifts the later partial derivatives. The
output is judged first; a ``theta`` left changed after a right answer fails on its own.

``dict_to_vector`` and ``vector_to_dict`` are compared with the reference: the notebook states
the layout (the dict's insertion order, each array flattened with ``.ravel()``, C order; ``spec``
a list of ``(key, shape)``), so ``vector_to_dict`` receives a reference ``spec``.

``gradient_check`` is judged on the two fields every report must have, ``difference`` and
``per_parameter`` (a ``GradCheckReport``, any object with those attributes, or a dict with those
keys). Its cases are small tanh networks whose gradients come in backprop's order (``dW2``
before ``dW1``, unlike the parameters), some with a planted bug, with ``eps`` from 1e-7 to 1e-2.
Two differences agree when they are within a relative 1e-4, or when both lie below 1e-6: at
eps = 1e-7 a right check measures round-off, about 1e-9 to 1e-8, whose exact value depends on
how the perturbed vector was formed.
"""

import functools

import numpy as np

import introdl

from .casehelpers import cube_sum, network_cost, smooth_cost
from .core import Case, Mistake, ReferenceCheck
from .helpers import layer_params, shapes
from .judges.a4_gradient_checking import IN_PLACE_PARAMS, GradientCheckCheck, NumericalGradientCheck
from .registry import register

# --- numerical_gradient --------------------------------------------------------------------


def _smooth(rng, n):
    B = rng.standard_normal((n, n))
    return functools.partial(smooth_cost, A=np.round((B + B.T) / 2, 3), w=np.round(rng.uniform(-1, 1, n), 3))


def _numgrad_cases(rng, hidden):
    if not hidden:
        return [
            Case((cube_sum, np.array([1.0])), {"eps": 0.01},
                 label="the lecture's f(theta) = theta**3 at theta = [1.0], eps=0.01 (3.0001)"),
            Case((_smooth(rng, 4), np.round(rng.uniform(-1, 1, 4), 3)), {"eps": 1e-3},
                 label="f(theta) = 0.5 theta.A.theta + sum(sin(theta)) + (w.theta)**3 / 6, theta (4,), eps=1e-3"),
            Case((_smooth(rng, 3), np.round(rng.uniform(-1, 1, 3), 3)),
                 label="the same kind of f with theta (3,) and the default eps"),
        ]
    return [Case((cube_sum, rng.uniform(-2, 2, 5)), {"eps": 0.05}),
            Case((_smooth(rng, 6), rng.uniform(-1, 1, 6)), {"eps": 1e-2}),
            Case((_smooth(rng, 1), rng.uniform(-1, 1, 1)), {"eps": 0.1}),
            Case((_smooth(rng, 8), rng.uniform(-1, 1, 8)), {"eps": 1e-3}),
            Case((_smooth(rng, 2), rng.uniform(-1, 1, 2)))]


def _numgrad(f, theta, *, eps=1e-7, one_sided=False, two=2.0, restore=True, together=False, fixed_eps=None):
    """The two-sided difference with knobs for the catalogue's wrong variants (on a copy)."""
    eps = eps if fixed_eps is None else fixed_eps
    t = np.array(theta, dtype=float)
    grad = np.zeros_like(t)
    for i in range(t.size):
        if together:
            grad[i] = (f(t + eps) - f(t - eps)) / (2 * eps)
            continue
        old = t[i]
        t[i] = old + eps
        plus = f(t)
        t[i] = old if one_sided else old - eps
        minus = f(t)
        if restore:
            t[i] = old
        grad[i] = (plus - minus) / (eps if one_sided else two * eps)
    return grad


def _numgrad_alternative(f, theta, *, eps=1e-7):
    steps = np.eye(theta.size) * eps
    return np.array([(f(theta + e) - f(theta - e)) / (2 * eps) for e in steps])


NUMERICAL_GRADIENT = NumericalGradientCheck(
    "numerical_gradient", points=3, reference=introdl.numerical_gradient, make_cases=_numgrad_cases,
    outputs=("the gradient",), rtol=1e-6, atol=1e-7,
    mistakes=[
        Mistake("one_sided", "use the two-sided difference (f(theta + eps) - f(theta - eps)) / (2 eps): the "
                "one-sided (f(theta + eps) - f(theta)) / eps is only accurate to order eps",
                lambda f, theta, *, eps=1e-7: _numgrad(f, theta, eps=eps, one_sided=True)),
        Mistake("no_two", "the two points theta + eps and theta - eps are 2 eps apart: divide by 2 * eps, not eps",
                lambda f, theta, *, eps=1e-7: _numgrad(f, theta, eps=eps, two=1.0)),
        Mistake("no_restore", "put theta[i] back to its value after perturbing it: the later entries were computed "
                "at a shifted point", lambda f, theta, *, eps=1e-7: _numgrad(f, theta, eps=eps, restore=False)),
        Mistake("together", "perturb ONE entry at a time (theta + eps e_i, with e_i the i-th unit vector): "
                "adding eps to every entry at once gives the slope along the diagonal, the same for every i",
                lambda f, theta, *, eps=1e-7: _numgrad(f, theta, eps=eps, together=True)),
        Mistake("fixed_eps", "use the eps you are given (the test passes eps=0.01, for instance), not a fixed 1e-7",
                lambda f, theta, *, eps=1e-7: _numgrad(f, theta, eps=eps, fixed_eps=1e-7)),
    ],
    alternatives=[_numgrad_alternative],
)

# --- dict_to_vector ------------------------------------------------------------------------


def _d2v_cases(rng, hidden):
    params = functools.partial(layer_params, rng, bias_scale=0.1, decimals=3)
    if not hidden:
        return [Case((p,), label=f"params {shapes(p)}") for p in (params([3, 2]), params([2, 3, 1]))]
    return [Case((params(dims, batchnorm=bn),))
            for dims, bn in (([4, 3, 2, 1], False), ([1, 1], False), ([5, 2, 3], True), ([2, 6], False))]


def _d2v(params, *, order="C", keys=None, column=False, sizes=False):
    keys = list(params) if keys is None else keys(params)
    theta = np.concatenate([np.asarray(params[k]).ravel(order=order) for k in keys])
    spec = [(k, int(np.size(params[k])) if sizes else np.shape(params[k])) for k in keys]
    return (theta.reshape(-1, 1) if column else theta), spec


def _d2v_alternative(params):
    theta = np.hstack([np.reshape(value, -1) for value in params.values()])
    return theta, [(key, tuple(value.shape)) for key, value in params.items()]


DICT_TO_VECTOR = ReferenceCheck(
    "dict_to_vector", points=2, reference=introdl.dict_to_vector, make_cases=_d2v_cases, outputs=("theta", "spec"),
    mistakes=[
        Mistake("fortran", "flatten each array row by row (C order) with .ravel(): your vector reads the columns "
                "first (order='F', or a transpose before flattening)", lambda p: _d2v(p, order="F")),
        Mistake("sorted", "keep the dict's insertion order (W1, b1, W2, b2, ...): do not sort the keys",
                lambda p: _d2v(p, keys=sorted)),
        Mistake("column", "theta should be a 1-D vector of shape (n_params,), not a column (n_params, 1)",
                lambda p: _d2v(p, column=True)),
        Mistake("sizes", "spec holds each array's SHAPE (a tuple such as (3, 2)), which vector_to_dict needs "
                "to rebuild it; the size alone is not enough", lambda p: _d2v(p, sizes=True)),
    ],
    alternatives=[_d2v_alternative],
)

# --- vector_to_dict ------------------------------------------------------------------------


def _v2d_cases(rng, hidden):
    return [Case(introdl.dict_to_vector(case.args[0]), label=case.label.replace("params", "theta and spec of"))
            for case in _d2v_cases(rng, hidden)]


def _v2d(theta, spec, *, order="C", advance="size", reshape=True):
    params, start = {}, 0
    for key, shape in spec:
        size = int(np.prod(shape))
        piece = np.array(theta[start:start + size])
        params[key] = piece.reshape(shape, order=order) if reshape else piece
        start += {"size": size, "none": 0, "rows": shape[0]}[advance]
    return params


def _v2d_alternative(theta, spec):
    sizes = [int(np.prod(shape)) for _, shape in spec]
    pieces = np.split(theta, np.cumsum(sizes)[:-1])
    return {key: piece.reshape(shape).copy() for (key, shape), piece in zip(spec, pieces, strict=True)}


VECTOR_TO_DICT = ReferenceCheck(
    "vector_to_dict", points=2, reference=introdl.vector_to_dict, make_cases=_v2d_cases, outputs=("params",),
    copies=True,  # the notebook says "Return copies"
    mistakes=[
        Mistake("fortran", "refill each array row by row (C order): .reshape(shape), the inverse of .ravel(); "
                "yours fills the columns first (order='F')", lambda t, s: _v2d(t, s, order="F")),
        Mistake("no_advance", "every array was read from the start of theta: move the start of the slice forward "
                "by the size of each array", lambda t, s: _v2d(t, s, advance="none")),
        Mistake("advance_rows", "move the start forward by the NUMBER OF ENTRIES of each array (np.prod(shape)), "
                "not by its number of rows", lambda t, s: _v2d(t, s, advance="rows")),
        Mistake("no_reshape", "reshape each slice to the shape stored in spec", lambda t, s: _v2d(t, s, reshape=False)),
    ],
    alternatives=[_v2d_alternative],
)

# --- relative_difference -------------------------------------------------------------------


def _reldiff_cases(rng, hidden):
    if not hidden:
        A = np.round(rng.standard_normal((2, 3)), 3)
        return [Case((np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.5])), label="a = [1, 2, 3], b = [1, 2, 3.5]"),
                Case((A, np.round(A + 0.3 * rng.standard_normal((2, 3)), 3)), label="two matrices (2, 3)"),
                Case((np.zeros(4), np.zeros(4)), label="a = b = zeros(4): 0, not NaN")]
    a = rng.standard_normal(10)
    M = rng.standard_normal((4, 3))
    return [Case((a, 2.5 * a + 0.1 * rng.standard_normal(10))),
            Case((np.zeros(3), rng.standard_normal(3))),
            Case((M, M + rng.standard_normal((4, 3)))),
            Case((rng.standard_normal((3, 5)), rng.standard_normal((3, 5)))),
            Case((rng.standard_normal(1), rng.standard_normal(1))),
            Case((rng.standard_normal((5, 1)), rng.standard_normal((5, 1))))]


def _norm(x):
    return np.sqrt(np.sum(np.square(x)))


ELEMENTWISE = ("this is an elementwise relative error, the largest |a_i - b_i| / (|a_i| + |b_i|) over the entries "
               "(CS231n's rel_error, or with max(|a_i|, |b_i|)): it is dominated by the entries near 0, where "
               "round-off is relatively large. The lecture's relative difference compares the whole vectors: "
               "||a - b|| / (||a|| + ||b||)")


def _elementwise_error(a, b):
    """CS231n's rel_error: the largest entrywise relative error (a wrong variant here)."""
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def _reldiff_alternative(a, b):
    denominator = _norm(a) + _norm(b)
    return 0.0 if denominator == 0 else float(_norm(np.subtract(a, b)) / denominator)


RELATIVE_DIFFERENCE = ReferenceCheck(
    "relative_difference", points=2, reference=introdl.relative_difference, make_cases=_reldiff_cases,
    outputs=("the relative difference",),
    mistakes=[
        Mistake("no_denominator", "||a - b|| alone depends on the size of the gradients: divide by "
                "||a|| + ||b|| to make it relative", lambda a, b: _norm(a - b)),
        Mistake("only_a", "the denominator is ||a|| + ||b||, the sum of BOTH norms (it is symmetric in a and b, "
                "and stays finite when one of them is 0)", lambda a, b: _norm(a - b) / _norm(a)),
        Mistake("norm_of_sum", "the denominator is the sum of the two norms, ||a|| + ||b||, not the norm of the "
                "sum ||a + b||", lambda a, b: _norm(a - b) / _norm(a + b)),
        Mistake("squared", "use the norms themselves (square roots of the sums of squares), not their squares",
                lambda a, b: _norm(a - b) ** 2 / (_norm(a) ** 2 + _norm(b) ** 2)),
        Mistake("spectral", "for a matrix, np.linalg.norm(M, 2) is the spectral norm, not the Euclidean length of "
                "all its entries: use np.linalg.norm(M) (or flatten first)",
                lambda a, b: np.linalg.norm(a - b, 2) / (np.linalg.norm(a, 2) + np.linalg.norm(b, 2))),
        Mistake("precedence", "put the denominator in parentheses: norm(a - b) / (norm(a) + norm(b)); without them "
                "Python divides by norm(a) alone and then adds norm(b)",
                lambda a, b: _norm(a - b) / _norm(a) + _norm(b)),
        Mistake("elementwise", ELEMENTWISE, _elementwise_error),
        Mistake("elementwise_max", ELEMENTWISE,
                lambda a, b: float(np.max(np.abs(a - b) / np.maximum(np.abs(a), np.abs(b))))),
    ],
    alternatives=[_reldiff_alternative],
)

# --- gradient_check ------------------------------------------------------------------------


def _network_grads(params, X, Y, bug=None):
    """Backprop of :func:`network_cost`, in backprop's order (dW_L first), with an optional bug."""
    L, m = len(params) // 2, X.shape[1]
    A, cache = X, []
    for l in range(1, L + 1):
        cache.append(A)
        Z = params[f"W{l}"] @ A + params[f"b{l}"]
        A = np.tanh(Z) if l < L else Z
    dZ = 0.5 * (1 + np.tanh(0.5 * A)) - Y
    grads = {}
    for l in range(L, 0, -1):
        A_prev = cache[l - 1]
        grads[f"dW{l}"] = dZ @ A_prev.T / m
        grads[f"db{l}"] = np.sum(dZ, axis=1, keepdims=True) / (1 if bug == f"db{l}" else m)
        if bug == f"dW{l}":
            grads[f"dW{l}"] = -grads[f"dW{l}"]
        dZ = (params[f"W{l}"].T @ dZ) * (1 - A_prev**2)
    return grads


def _net_case(rng, dims, m, *, bug=None, eps=None, label=""):
    params = layer_params(rng, dims, bias_scale=0.1)
    for l in range(1, len(dims)):  # weights of about unit gain, so that tanh does not saturate
        params[f"W{l}"] = params[f"W{l}"] / np.sqrt(dims[l - 1])
    X = rng.standard_normal((dims[0], m))
    Y = (rng.random((1, m)) < 0.5).astype(float)
    cost_fn = functools.partial(network_cost, X=X, Y=Y)
    return Case((cost_fn, params, _network_grads(params, X, Y, bug)), {} if eps is None else {"eps": eps},
                label=label)


def _gc_cases(rng, hidden):
    if not hidden:
        return [
            _net_case(rng, [3, 4, 1], 6, label="network 3-4-1, 6 examples, right gradients, the default eps"),
            _net_case(rng, [3, 4, 1], 6, bug="db2", label="network 3-4-1, db2 without its 1/m, the default eps"),
            _net_case(rng, [2, 3, 2, 1], 5, eps=1e-2, label="network 2-3-2-1, right gradients, eps=1e-2"),
            _net_case(rng, [2, 3, 2, 1], 5, bug="dW2", eps=1e-3,
                      label="network 2-3-2-1, dW2 with the wrong sign, eps=1e-3"),
        ]
    return [_net_case(rng, [4, 3, 1], 1, eps=1e-2), _net_case(rng, [2, 5, 3, 1], 7, bug="db1"),
            _net_case(rng, [1, 2, 1], 4, bug="dW1", eps=1e-2), _net_case(rng, [3, 2, 2, 1], 3, eps=3e-2),
            _net_case(rng, [2, 4, 1], 8, bug="db2", eps=1e-4)]


def _gc(cost_fn, params, grads, *, eps=1e-7, grads_order=False, numeric=None, rel=None, overall=None,
        grad_keys=False, fixed_eps=None):
    """gradient_check with knobs for the catalogue's wrong variants; returns a dict report."""
    keys = list(params)
    spec = [(k, np.shape(params[k])) for k in keys]
    theta = np.concatenate([params[k].ravel() for k in keys])
    g_keys = [k for k in grads] if grads_order else ["d" + k for k in keys]
    analytic = np.concatenate([grads[k].ravel() for k in g_keys])

    def f(t):
        out, start = {}, 0
        for k, shape in spec:
            size = int(np.prod(shape))
            out[k] = t[start:start + size].reshape(shape)
            start += size
        return cost_fn(out)

    approx = (numeric or _numgrad)(f, theta, eps=eps if fixed_eps is None else fixed_eps)
    rel = rel or _reldiff_alternative
    per_parameter, start = {}, 0
    for k, shape in spec:
        size = int(np.prod(shape))
        per_parameter[("d" + k) if grad_keys else k] = rel(analytic[start:start + size], approx[start:start + size])
        start += size
    difference = overall(list(per_parameter.values())) if overall else rel(analytic, approx)
    return {"difference": difference, "per_parameter": per_parameter}


def _gc_alternative(cost_fn, params, grads, *, eps=1e-7):
    per_parameter, num_all, ana_all = {}, [], []
    for key, value in params.items():
        numeric = np.zeros(value.shape)
        for idx in np.ndindex(value.shape):
            shifted = {k: v.copy() for k, v in params.items()}
            shifted[key][idx] = value[idx] + eps
            plus = cost_fn(shifted)
            shifted[key][idx] = value[idx] - eps
            numeric[idx] = (plus - cost_fn(shifted)) / (2 * eps)
        per_parameter[key] = _reldiff_alternative(grads["d" + key], numeric)
        num_all.append(numeric.ravel())
        ana_all.append(grads["d" + key].ravel())

    class Report:
        def __init__(self, difference, per_parameter):
            self.difference, self.per_parameter = difference, per_parameter

    return Report(_reldiff_alternative(np.concatenate(ana_all), np.concatenate(num_all)), per_parameter)


def _gc_in_place(cost_fn, params, grads, *, eps=1e-7):
    """A gradient check that perturbs the caller's arrays and restores them by arithmetic (a wrong variant)."""
    per_parameter, num_all, ana_all = {}, [], []
    for key, value in params.items():
        numeric = np.zeros(value.shape)
        for idx in np.ndindex(value.shape):
            value[idx] += eps
            plus = cost_fn(params)
            value[idx] -= 2 * eps
            numeric[idx] = (plus - cost_fn(params)) / (2 * eps)
            value[idx] += eps
        per_parameter[key] = _reldiff_alternative(grads["d" + key], numeric)
        num_all.append(numeric.ravel())
        ana_all.append(grads["d" + key].ravel())
    return {"difference": _reldiff_alternative(np.concatenate(ana_all), np.concatenate(num_all)),
            "per_parameter": per_parameter}


GRADIENT_CHECK = GradientCheckCheck(
    "gradient_check", points=4, reference=introdl.gradient_check, make_cases=_gc_cases,
    helpers=(DICT_TO_VECTOR, VECTOR_TO_DICT, NUMERICAL_GRADIENT, RELATIVE_DIFFERENCE),
    mistakes=[
        Mistake("grads_order", "the gradients were flattened in the order of the grads dict (backprop fills dW2 "
                "before dW1), the parameters in theirs: take grads['d' + key] for each key of params, in the "
                "order of params", lambda *a, **k: _gc(*a, **k, grads_order=True)),
        Mistake("one_sided", "use the two-sided difference (J(theta + eps) - J(theta - eps)) / (2 eps) for the "
                "numerical gradient",
                lambda *a, **k: _gc(*a, **k, numeric=functools.partial(_numgrad, one_sided=True))),
        Mistake("fixed_eps", "pass the eps you are given on to the numerical gradient",
                lambda *a, **k: _gc(*a, **k, fixed_eps=1e-7)),
        Mistake("no_denominator", "the differences are relative: ||g - g_approx|| / (||g|| + ||g_approx||)",
                lambda *a, **k: _gc(*a, **k, rel=lambda x, y: _norm(x - y))),
        Mistake("only_grad", "the denominator is ||g|| + ||g_approx||, both norms",
                lambda *a, **k: _gc(*a, **k, rel=lambda x, y: _norm(x - y) / _norm(x))),
        Mistake("mean_of_parts", "report.difference is the relative difference of the WHOLE vectors (all "
                "parameters at once), not the mean of the per-parameter differences",
                lambda *a, **k: _gc(*a, **k, overall=np.mean)),
        Mistake("grad_keys", "key per_parameter by the parameters' names ('W1', 'b1', ...), as in params",
                lambda *a, **k: _gc(*a, **k, grad_keys=True)),
        Mistake("in_place", IN_PLACE_PARAMS, _gc_in_place),
    ],
    alternatives=[_gc_alternative],
)

register(NUMERICAL_GRADIENT, DICT_TO_VECTOR, VECTOR_TO_DICT, RELATIVE_DIFFERENCE, GRADIENT_CHECK)
