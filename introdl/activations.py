"""Activation functions, each a forward/backward pair with a cache.

``dA`` and ``dZ`` follow the package's convention: they carry ``m * dJ/dA`` and ``m * dJ/dZ``.
"""

import numpy as np

from ._checks import as_array, check_same_shape


def relu_forward(Z):
    """ReLU: ``A = max(0, Z)``.

    Parameters
    ----------
    Z : ndarray (n, m)

    Returns
    -------
    A : ndarray (n, m)
    cache : ndarray (n, m), the input ``Z``
    """
    Z = as_array("Z", Z)
    return np.maximum(Z, 0.0), Z


def relu_backward(dA, cache):
    """Gradient through ReLU: ``dZ = dA * (Z > 0)`` (the subgradient at 0 is taken as 0)."""
    Z = cache
    dA = as_array("dA", dA)
    check_same_shape("dA", dA, "Z (from the cache)", Z)
    return dA * (Z > 0)


def sigmoid_forward(Z):
    """Logistic sigmoid ``A = 1 / (1 + exp(-Z))``, without overflow for large ``|Z|``.

    Parameters
    ----------
    Z : ndarray (n, m)

    Returns
    -------
    A : ndarray (n, m)
    cache : ndarray (n, m), the output ``A`` (the derivative needs only ``A``)
    """
    Z = as_array("Z", Z)
    # 0.5 * (1 + tanh(Z/2)) equals the sigmoid and never evaluates exp of a large number.
    A = 0.5 * (1.0 + np.tanh(0.5 * Z))
    return A, A


def sigmoid_backward(dA, cache):
    """Gradient through the sigmoid: ``dZ = dA * A * (1 - A)``."""
    A = cache
    dA = as_array("dA", dA)
    check_same_shape("dA", dA, "A (from the cache)", A)
    return dA * A * (1.0 - A)


def tanh_forward(Z):
    """Hyperbolic tangent ``A = tanh(Z)``; returns ``A`` and the cache ``A``."""
    Z = as_array("Z", Z)
    A = np.tanh(Z)
    return A, A


def tanh_backward(dA, cache):
    """Gradient through tanh: ``dZ = dA * (1 - A**2)``."""
    A = cache
    dA = as_array("dA", dA)
    check_same_shape("dA", dA, "A (from the cache)", A)
    return dA * (1.0 - A**2)
