"""Softmax regression: the softmax, one-hot labels and the cross-entropy cost."""

import numpy as np

from ._checks import as_array, check_int, check_same_shape


def softmax(Z):
    """Column-wise softmax, stable for large logits.

    Subtracting each column's maximum leaves the result unchanged (the factor cancels) and
    keeps ``exp`` from overflowing: ``softmax([5, 2, -1, 3]) ~ [0.842, 0.042, 0.002, 0.114]``.

    Parameters
    ----------
    Z : ndarray (C, m)

    Returns
    -------
    ndarray (C, m), each column sums to 1
    """
    Z = as_array("Z", Z, ndim=2)
    T = np.exp(Z - Z.max(axis=0, keepdims=True))
    return T / T.sum(axis=0, keepdims=True)


def log_softmax(Z):
    """``log(softmax(Z))`` computed as ``Z - logsumexp(Z)``, finite for any finite ``Z``."""
    Z = as_array("Z", Z, ndim=2)
    shifted = Z - Z.max(axis=0, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))


def one_hot(labels, C):
    """One-hot matrix of integer labels.

    Parameters
    ----------
    labels : ndarray (m,) of int in [0, C)
    C : int >= 1, the number of classes

    Returns
    -------
    ndarray (C, m) of float64
    """
    C = check_int("C", C, low=1)
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D (m,), got shape {labels.shape}")
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.mod(labels, 1) == 0):
            raise ValueError("labels must be whole numbers")
        labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= C):
        raise ValueError(f"labels must lie in [0, {C}), got values from {labels.min()} to {labels.max()}")
    Y = np.zeros((C, labels.size))
    Y[labels, np.arange(labels.size)] = 1.0
    return Y


def softmax_cross_entropy(Z, Y):
    """Mean cross-entropy ``-(1/m) sum_i sum_c Y[c, i] log softmax(Z)[c, i]``.

    Computed from the logits through :func:`log_softmax`, so it stays finite when a logit is
    huge. With ``C = 2`` it equals the logistic-regression cost of ``z = Z[1] - Z[0]``.

    Parameters
    ----------
    Z : ndarray (C, m), logits
    Y : ndarray (C, m), one-hot (or any probability columns)

    Returns
    -------
    float
    """
    Z = as_array("Z", Z, ndim=2)
    Y = as_array("Y", Y, ndim=2)
    check_same_shape("Z", Z, "Y", Y)
    return float(-np.sum(Y * log_softmax(Z)) / Z.shape[1])


def softmax_cross_entropy_backward(Z, Y):
    """``dZ = softmax(Z) - Y`` (C, m): ``m`` times the gradient of the mean cost, by convention."""
    Z = as_array("Z", Z, ndim=2)
    Y = as_array("Y", Y, ndim=2)
    check_same_shape("Z", Z, "Y", Y)
    return softmax(Z) - Y
