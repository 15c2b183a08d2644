"""Accuracy, error rate and the confusion matrix, from integer labels."""

import numpy as np

from ._checks import check_int
from .library import function


def _labels(name, y):
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (m,), got shape {y.shape}")
    return y


def error_rate(y_pred, y_true):
    """Fraction of examples whose predicted label differs from the true one.

    Parameters
    ----------
    y_pred, y_true : ndarray (m,)

    Returns
    -------
    float in [0, 1]
    """
    y_pred, y_true = _labels("y_pred", y_pred), _labels("y_true", y_true)
    if y_pred.shape != y_true.shape or y_true.size == 0:
        raise ValueError(f"y_pred and y_true must have the same non-zero length, got {y_pred.shape} and {y_true.shape}")
    return float(np.mean(y_pred != y_true))


def accuracy(y_pred, y_true):
    """``1 - error_rate``, with the ``error_rate`` of :func:`introdl.library.function` (it is graded)."""
    return 1.0 - function("error_rate")(y_pred, y_true)


def confusion_matrix(y_pred, y_true, C):
    """``M[i, j]`` counts examples of true class ``i`` predicted as ``j``; shape (C, C)."""
    C = check_int("C", C, low=1)
    y_pred, y_true = _labels("y_pred", y_pred), _labels("y_true", y_true)
    M = np.zeros((C, C), dtype=np.int64)
    np.add.at(M, (y_true.astype(int), y_pred.astype(int)), 1)
    return M
