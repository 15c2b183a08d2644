"""Gradient checking with the two-sided difference.

Why ``eps = 1e-7`` and not smaller: the two-sided difference has a truncation error of order
``eps**2 * |f'''|`` and a round-off error of order ``u * |f| / eps`` (``u ~ 1.1e-16`` in
float64). The total is smallest near ``eps ~ u**(1/3) ~ 5e-6``; at ``1e-7`` round-off already
dominates but stays near ``1e-9`` relative, far below the ``1e-3`` that a real bug produces.
In float32 (``u ~ 6e-8``) the round-off term at ``eps = 1e-7`` is of order 1: the check is
meaningless there. So read the relative difference against these orders of magnitude, and
sweep ``eps`` (:func:`eps_sweep`) when in doubt, rather than trusting one magic threshold.
"""

from dataclasses import dataclass

import numpy as np

from ._checks import as_array, check_grads_match, check_number
from .library import function


def dict_to_vector(params):
    """Flatten a parameter dict into one vector.

    Parameters
    ----------
    params : dict of ndarray
        For example ``{"W1": (n1, n0), "b1": (n1, 1), ...}``; its insertion order is kept.

    Returns
    -------
    theta : ndarray (n_params,)
    spec : list of (key, shape)
        What :func:`vector_to_dict` needs to undo the flattening.
    """
    if not params:
        raise ValueError("params is empty")
    arrays = [(key, as_array(key, value)) for key, value in params.items()]
    theta = np.concatenate([a.ravel() for _, a in arrays])
    return theta, [(key, a.shape) for key, a in arrays]


def vector_to_dict(theta, spec):
    """Inverse of :func:`dict_to_vector`: split ``theta`` (n_params,) back into a dict."""
    theta = as_array("theta", theta, ndim=1)
    sizes = [int(np.prod(shape)) for _, shape in spec]
    if sum(sizes) != theta.size:
        raise ValueError(f"theta has {theta.size} entries but spec describes {sum(sizes)}")
    params, start = {}, 0
    for (key, shape), size in zip(spec, sizes, strict=True):
        params[key] = theta[start:start + size].reshape(shape).copy()
        start += size
    return params


def numerical_gradient(f, theta, *, eps=1e-7):
    """Two-sided difference ``(f(theta + eps e_i) - f(theta - eps e_i)) / (2 eps)`` per entry.

    Parameters
    ----------
    f : callable (n,) -> float
    theta : ndarray (n,)
    eps : float > 0

    Returns
    -------
    ndarray (n,)
    """
    theta = as_array("theta", theta, ndim=1)
    eps = check_number("eps", eps, low=0.0, low_open=True)
    grad = np.empty_like(theta)
    shifted = theta.copy()
    for i in range(theta.size):
        shifted[i] = theta[i] + eps
        plus = f(shifted)
        shifted[i] = theta[i] - eps
        minus = f(shifted)
        shifted[i] = theta[i]
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def relative_difference(a, b):
    """``||a - b|| / (||a|| + ||b||)``, a scale-free distance in [0, 1]; 0 when both are 0."""
    a = as_array("a", a).ravel()
    b = as_array("b", b).ravel()
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same size, got {a.size} and {b.size}")
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


@dataclass(frozen=True)
class GradCheckReport:
    """Result of :func:`gradient_check`.

    Attributes
    ----------
    difference : float
        Relative difference over all parameters at once.
    per_parameter : dict of str to float
        Relative difference for each parameter (``"W1"``, ``"b1"``, ...): the one far above
        the others is where the backward pass is wrong.
    worst_entry : dict of str to tuple
        For each parameter, the index of its entry with the largest absolute disagreement.
    eps : float
    """

    difference: float
    per_parameter: dict
    worst_entry: dict
    eps: float

    @property
    def worst(self):
        """The parameter with the largest relative difference."""
        return max(self.per_parameter, key=self.per_parameter.get)

    def verdict(self):
        """The lecture's reading of the difference, with the order-of-magnitude caveat."""
        d = self.difference
        if d < 1e-7:
            return "great: backward pass agrees with the numerical gradient"
        if d < 1e-5:
            return "probably fine, but look at the per-parameter differences"
        if d < 1e-3:
            return f"suspicious: look at {self.worst}"
        return f"wrong: the gradient of {self.worst} disagrees with the numerical gradient"

    def __str__(self):
        lines = [f"relative difference {self.difference:.3e} (eps={self.eps:g}): {self.verdict()}"]
        for key, diff in self.per_parameter.items():
            lines.append(f"  {key:>8}: {diff:.3e}   worst entry {self.worst_entry[key]}")
        return "\n".join(lines)


def gradient_check(cost_fn, params, grads, *, eps=1e-7):
    """Compare backprop gradients with two-sided differences of the cost.

    Parameters
    ----------
    cost_fn : callable dict -> float
        The cost ``J`` as a function of a parameter dict (with dropout, use a fixed mask).
    params : dict of ndarray
    grads : dict of ndarray
        ``"d" + key`` for every key of ``params``, as produced by backprop.
    eps : float > 0

    Returns
    -------
    GradCheckReport
    """
    check_grads_match(params, grads)
    theta, spec = dict_to_vector(params)
    analytic, _ = dict_to_vector({key: grads["d" + key] for key in params})
    numeric = numerical_gradient(lambda t: float(cost_fn(vector_to_dict(t, spec))), theta, eps=eps)
    per_parameter, worst_entry = {}, {}
    start = 0
    for key, shape in spec:
        size = int(np.prod(shape))
        a, n = analytic[start:start + size], numeric[start:start + size]
        per_parameter[key] = relative_difference(a, n)
        worst_entry[key] = tuple(int(i) for i in np.unravel_index(np.argmax(np.abs(a - n)), shape))
        start += size
    return GradCheckReport(relative_difference(analytic, numeric), per_parameter, worst_entry, eps)


def eps_sweep(cost_fn, params, grads, eps_values=None):
    """Relative difference for each ``eps``: shows truncation (large eps) and round-off (small).

    Returns
    -------
    eps_values : ndarray (k,)
    differences : ndarray (k,)
    """
    eps_values = np.logspace(-1, -12, 23) if eps_values is None else as_array("eps_values", eps_values, ndim=1)
    check = function("gradient_check")  # graded: the student's own where there is one
    diffs = [check(cost_fn, params, grads, eps=float(e)).difference for e in eps_values]
    return eps_values, np.array(diffs)
