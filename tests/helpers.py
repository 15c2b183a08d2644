"""Independent helpers for the reference tests (nothing here imports introdl).

The gradient tests compare introdl's backward passes with these central differences, so that a
bug shared by ``introdl.numerical_gradient`` and a backward function cannot hide itself.
"""

import numpy as np

# Central differences in float64: truncation ~ EPS**2 |f'''| ~ 1e-12, round-off ~ 1e-16 |f| / EPS
# ~ 1e-10, so agreement to ~1e-7 (relative) separates a right gradient from a wrong one by orders
# of magnitude.
EPS = 1e-6


def central_difference(f, inputs, *, eps=EPS):
    """Numerical gradient of the scalar ``f(dict) -> float`` with respect to every array of ``inputs``.

    Parameters
    ----------
    f : callable taking a dict of name -> ndarray (the same keys as ``inputs``), returning a float
    inputs : dict of name -> array_like
        The point of evaluation; never modified (every evaluation gets fresh copies).
    eps : float
        Half the step of the two-sided difference ``(f(x + eps) - f(x - eps)) / (2 eps)``.

    Returns
    -------
    dict of name -> ndarray, each of its input's shape
    """
    base = {name: np.array(value, dtype=np.float64) for name, value in inputs.items()}
    grads = {}
    for name, value in base.items():
        grad = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            values = []
            for step in (eps, -eps):
                point = {key: arr.copy() for key, arr in base.items()}
                point[name][index] += step
                values.append(float(f(point)))
            grad[index] = (values[0] - values[1]) / (2 * eps)
        grads[name] = grad
    return grads


def max_relative_error(actual, expected):
    """``max |actual - expected| / max(1, max |expected|)``: relative for large gradients, absolute near 0."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"shape {actual.shape} != expected shape {expected.shape}"
    if actual.size == 0:
        return 0.0
    scale = max(1.0, float(np.max(np.abs(expected))))
    return float(np.max(np.abs(actual - expected)) / scale)


def assert_grad_close(actual, expected, what, *, tol=1e-6):
    """Assert that an analytic gradient matches a numerical one, with a message naming it."""
    err = max_relative_error(actual, expected)
    assert err < tol, (
        f"{what}: expected the numerical gradient (central difference) within {tol:g}, "
        f"got max relative error {err:.3e}\nanalytic:\n{np.asarray(actual)}\nnumerical:\n{np.asarray(expected)}"
    )


def away_from_zero(Z, margin=0.1):
    """Push every entry of ``Z`` at least ``margin`` away from 0, keeping its sign (no ReLU kinks)."""
    Z = np.asarray(Z, dtype=np.float64)
    return np.where(Z >= 0, Z + margin, Z - margin)


def assert_tree_equal(actual, expected, where="value"):
    """Assert that nested dicts / lists / tuples of arrays and scalars are exactly equal."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected a dict, got {type(actual).__name__}"
        assert list(actual) == list(expected), f"{where}: keys {list(actual)} != {list(expected)}"
        for key in expected:
            assert_tree_equal(actual[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple)), f"{where}: expected a sequence, got {type(actual).__name__}"
        assert len(actual) == len(expected), f"{where}: length {len(actual)} != {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_tree_equal(a, e, f"{where}[{i}]")
    elif isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), f"{where}: expected an ndarray, got {type(actual).__name__}"
        assert actual.dtype == expected.dtype, f"{where}: dtype {actual.dtype} != {expected.dtype}"
        np.testing.assert_array_equal(actual, expected, err_msg=f"{where} changed")
    else:
        assert actual == expected or (actual != actual and expected != expected), (
            f"{where}: {actual!r} != expected {expected!r}"
        )
