"""The linear step of a layer, ``Z = W @ A_prev + b``."""

import numpy as np

from ._checks import as_array


def linear_forward(A_prev, W, b):
    """Linear forward step.

    Parameters
    ----------
    A_prev : ndarray (n_prev, m)
        Activations of the previous layer (or the input ``X``), one example per column.
    W : ndarray (n, n_prev)
    b : ndarray (n, 1)

    Returns
    -------
    Z : ndarray (n, m)
    cache : tuple (A_prev, W, b)
    """
    A_prev = as_array("A_prev", A_prev, ndim=2)
    W = as_array("W", W, ndim=2)
    b = as_array("b", b, ndim=2)
    if W.shape[1] != A_prev.shape[0]:
        raise ValueError(
            f"W has shape {W.shape} and A_prev has shape {A_prev.shape}: W @ A_prev needs "
            f"W.shape[1] == A_prev.shape[0] ({W.shape[1]} != {A_prev.shape[0]})"
        )
    if b.shape != (W.shape[0], 1):
        raise ValueError(f"b must have shape ({W.shape[0]}, 1) to match W {W.shape}, got {b.shape}")
    return W @ A_prev + b, (A_prev, W, b)


def linear_backward(dZ, cache, *, input_grad=True):
    """Linear backward step.

    ``dZ`` carries ``m * dJ/dZ`` (for the output layer, ``A - Y``), so the ``1/m`` of the
    cost is applied here, where the parameter gradients are formed.

    Parameters
    ----------
    dZ : ndarray (n, m)
    cache : tuple (A_prev, W, b) from :func:`linear_forward`
    input_grad : bool
        ``False`` skips ``dA_prev`` (returned as None): the first layer's input is the data,
        and its gradient would cost as much as ``dW``.

    Returns
    -------
    dA_prev : ndarray (n_prev, m), ``W.T @ dZ``, or None
    dW : ndarray (n, n_prev), ``(1/m) dZ @ A_prev.T``
    db : ndarray (n, 1), ``(1/m) sum(dZ)`` over the examples
    """
    A_prev, W, _ = cache
    dZ = as_array("dZ", dZ, ndim=2)
    if dZ.shape != (W.shape[0], A_prev.shape[1]):
        raise ValueError(
            f"dZ must have shape {(W.shape[0], A_prev.shape[1])} (n, m), got {dZ.shape}"
        )
    m = A_prev.shape[1]
    dW = dZ @ A_prev.T / m
    db = np.sum(dZ, axis=1, keepdims=True) / m
    return (W.T @ dZ if input_grad else None), dW, db
