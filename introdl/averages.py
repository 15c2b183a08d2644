"""Exponentially weighted averages."""

import numpy as np

from ._checks import as_array, check_number


def ewa(values, beta, *, bias_correction=False):
    """Exponentially weighted average ``v_t = beta v_{t-1} + (1 - beta) theta_t``, ``v_0 = 0``.

    It averages over roughly the last ``1 / (1 - beta)`` values. Because ``v_0 = 0``, the
    first values are biased toward zero; bias correction divides by ``1 - beta**t``
    (``t`` counted from 1) to remove that.

    Parameters
    ----------
    values : ndarray (T,)
    beta : float in [0, 1)
    bias_correction : bool

    Returns
    -------
    ndarray (T,)
        ``v_1 ... v_T`` (corrected when asked).
    """
    theta = as_array("values", values, ndim=1)
    beta = check_number("beta", beta, low=0.0, high=1.0, high_open=True)
    v = np.empty_like(theta)
    running = 0.0
    for t, value in enumerate(theta):
        running = beta * running + (1 - beta) * value
        v[t] = running
    if bias_correction:
        v = v / (1 - beta ** np.arange(1, theta.size + 1))
    return v
