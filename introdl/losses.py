"""Binary cross-entropy for a sigmoid output, computed from the logits."""

import numpy as np

from ._checks import as_array, check_same_shape
from .activations import sigmoid_forward


def binary_cross_entropy(Z, Y):
    """Mean logistic cost ``-(1/m) sum(Y log a + (1 - Y) log(1 - a))`` with ``a = sigmoid(Z)``.

    Uses ``log(1 + exp(-|z|))`` forms so that large ``|z|`` gives a finite cost.

    Parameters
    ----------
    Z : ndarray (1, m), logits
    Y : ndarray (1, m), labels in {0, 1}

    Returns
    -------
    float
    """
    Z = as_array("Z", Z, ndim=2)
    Y = as_array("Y", Y, ndim=2)
    check_same_shape("Z", Z, "Y", Y)
    # -log(sigmoid(z)) = softplus(-z) and -log(1 - sigmoid(z)) = softplus(z).
    return float(np.sum(Y * np.logaddexp(0.0, -Z) + (1 - Y) * np.logaddexp(0.0, Z)) / Z.shape[1])


def binary_cross_entropy_backward(Z, Y):
    """``dZ = sigmoid(Z) - Y`` (1, m): ``m`` times the gradient of the mean cost."""
    Z = as_array("Z", Z, ndim=2)
    Y = as_array("Y", Y, ndim=2)
    check_same_shape("Z", Z, "Y", Y)
    return sigmoid_forward(Z)[0] - Y
