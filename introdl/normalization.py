"""Input normalization with statistics fitted on the training set."""

import numpy as np

from ._checks import as_array

# A feature whose spread is below this is treated as constant (sigma = 1, so it maps to 0).
_TINY = 1e-12


def fit_normalizer(X):
    """Per-feature mean and standard deviation of the training inputs.

    Parameters
    ----------
    X : ndarray (n_x, m)

    Returns
    -------
    mu : ndarray (n_x, 1)
    sigma : ndarray (n_x, 1)
        Standard deviation (not the variance). A constant feature gets ``sigma = 1`` so that
        normalizing it gives 0 instead of NaN.
    """
    X = as_array("X", X, ndim=2)
    mu = X.mean(axis=1, keepdims=True)
    sigma = X.std(axis=1, keepdims=True)
    sigma[sigma < _TINY] = 1.0
    return mu, sigma


def normalize(X, mu, sigma):
    """Apply ``(X - mu) / sigma``; use the training ``mu`` and ``sigma`` for dev and test too.

    Parameters
    ----------
    X : ndarray (n_x, m)
    mu, sigma : ndarray (n_x, 1) from :func:`fit_normalizer`

    Returns
    -------
    ndarray (n_x, m)
    """
    X = as_array("X", X, ndim=2)
    mu = as_array("mu", mu, ndim=2)
    sigma = as_array("sigma", sigma, ndim=2)
    for name, stat in (("mu", mu), ("sigma", sigma)):
        if stat.shape != (X.shape[0], 1):
            raise ValueError(f"{name} must have shape ({X.shape[0]}, 1) for X {X.shape}, got {stat.shape}")
    if np.any(sigma <= 0):
        raise ValueError("sigma must be positive; use fit_normalizer, which maps constant features to 1")
    return (X - mu) / sigma
