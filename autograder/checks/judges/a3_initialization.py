"""The judging classes of a3 (initialization), which a sealed bundle ships (see :mod:`..recorded`)."""

import numpy as np

from ..core import ReferenceCheck
from ..registry import HINT


def _spread_looks_right(params, layer_dims, scales):
    """Whether the weights have the stated spread (``scales[l - 1]`` for W{l}), judged loosely over all
    layers at once."""
    ratios = []
    for l in range(1, len(layer_dims)):
        W = params.get(f"W{l}")
        if np.shape(W) != (layer_dims[l], layer_dims[l - 1]):
            return False
        ratios.append(np.asarray(W, dtype=float).ravel() / scales[l - 1])
    z = np.concatenate(ratios)
    return z.size >= 6 and 0.5 < np.sqrt(np.mean(z**2)) < 2.0


def _scale_factors(params, expected, layer_dims):
    """``{l: factor}`` when each W{l} is the stated draw times one factor per layer, else None."""
    factors = {}
    for l in range(1, len(layer_dims)):
        W, W_ref = params.get(f"W{l}"), expected[f"W{l}"]
        if np.shape(W) != W_ref.shape or not np.any(W_ref):
            return None
        W = np.asarray(W, dtype=float)
        factor = float(np.sum(W * W_ref) / np.sum(W_ref * W_ref))
        if not np.allclose(W, factor * W_ref, rtol=1e-9, atol=0.0):
            return None
        factors[l] = factor
    return factors


class InitCheck(ReferenceCheck):
    """Exact comparison (the notebook states the draw); says whether the draw or only its scale differs.

    ``scale``: (method, n_prev, n) -> the stated scale of the weights (live only: the scales of a
    case's layers are a fact).
    """

    def __init__(self, name, *, scale=None, **kw):
        super().__init__(name, **kw)
        self.scale = scale

    def facts(self, case):
        dims, method = case.args[0], case.args[1] if len(case.args) > 1 else "he"
        if method == "zeros":
            return {"scales": None}
        return {"scales": [float(self.scale(method, dims[l - 1], dims[l])) for l in range(1, len(dims))]}

    def judge(self, student_fn, case):
        problem = super().judge(student_fn, case)
        if problem is None or HINT in problem:
            return problem
        method = case.args[1] if len(case.args) > 1 else "he"
        got = self.call(student_fn, case)
        dims = case.args[0]
        expected = self.select(self.run_reference(case))[0]
        factors = _scale_factors(got, expected, dims) if isinstance(got, dict) else None
        scales = self.facts(case)["scales"]
        if method != "zeros" and factors and any(not np.isclose(f, 1.0) for f in factors.values()):
            l = next(l for l, f in factors.items() if not np.isclose(f, 1.0))
            scale = scales[l - 1]
            return (f"{problem}{HINT}your weights are the stated draw, but with the wrong scale: W{l} "
                    f"(n_prev = {dims[l - 1]}, n_l = {dims[l]}) is the draw times {factors[l] * scale:.4g}, "
                    f"and method {method!r} multiplies it by {scale:.4g}. Check the formula of the scale "
                    "in the table (which n, and where the square root goes)")
        biases_zero = isinstance(got, dict) and all(
            np.shape(got.get(f"b{l}")) == (dims[l], 1) and not np.any(got[f"b{l}"]) for l in range(1, len(dims)))
        if method != "zeros" and biases_zero and _spread_looks_right(got, dims, scales):
            problem += (f"{HINT}the shapes and the spread of your weights look right, but the numbers are not the "
                        "stated draw: for l = 1, ..., L in this order, W = rng.standard_normal((n_l, n_prev)) * scale, "
                        "and no other call to rng (the test compares the exact numbers of that draw)")
        return problem
