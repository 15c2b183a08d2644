"""Batch normalization of pre-activations ``Z``, one feature per row."""

import numpy as np

from ._checks import as_array, check_number

MODES = ("train", "test")


def batchnorm_forward(Z, gamma, beta, running, *, mode="train", momentum=0.9, eps=1e-5):
    """Normalize ``Z`` per feature, then scale by ``gamma`` and shift by ``beta``.

    Train mode uses the mini-batch mean and biased variance and updates the running
    statistics ``running = momentum * running + (1 - momentum) * batch``. Test mode uses only
    the running statistics, so one example's output does not depend on the rest of the batch.

    Parameters
    ----------
    Z : ndarray (n, m)
    gamma, beta : ndarray (n, 1)
    running : dict ``{"mean": (n, 1), "var": (n, 1)}`` or None
        None starts from mean 0 and variance 1.
    mode : {"train", "test"}
    momentum : float in [0, 1)
    eps : float > 0

    Returns
    -------
    out : ndarray (n, m), ``gamma * z_norm + beta``
    cache : tuple for :func:`batchnorm_backward`
    running : dict ``{"mean", "var"}``, new arrays (unchanged values in test mode)
    """
    Z = as_array("Z", Z, ndim=2)
    gamma = as_array("gamma", gamma, ndim=2)
    beta = as_array("beta", beta, ndim=2)
    n = Z.shape[0]
    for name, value in (("gamma", gamma), ("beta", beta)):
        if value.shape != (n, 1):
            raise ValueError(f"{name} must have shape ({n}, 1) for Z {Z.shape}, got {value.shape}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    momentum = check_number("momentum", momentum, low=0.0, high=1.0, high_open=True)
    eps = check_number("eps", eps, low=0.0, low_open=True)
    if running is None:
        running = {"mean": np.zeros((n, 1)), "var": np.ones((n, 1))}
    run_mean = as_array("running['mean']", running["mean"], ndim=2)
    run_var = as_array("running['var']", running["var"], ndim=2)
    for name, value in (("running['mean']", run_mean), ("running['var']", run_var)):
        if value.shape != (n, 1):
            raise ValueError(f"{name} must have shape ({n}, 1) for Z {Z.shape}, got {value.shape}")

    if mode == "train":
        mu = Z.mean(axis=1, keepdims=True)
        var = Z.var(axis=1, keepdims=True)  # biased: divides by m
        new_running = {
            "mean": momentum * run_mean + (1 - momentum) * mu,
            "var": momentum * run_var + (1 - momentum) * var,
        }
    else:
        mu, var = run_mean, run_var
        new_running = {"mean": run_mean.copy(), "var": run_var.copy()}
    inv_std = 1.0 / np.sqrt(var + eps)
    z_norm = (Z - mu) * inv_std
    out = gamma * z_norm + beta
    return out, (z_norm, gamma, inv_std, mode), new_running


def batchnorm_backward(dout, cache):
    """Gradients of batch norm.

    ``dout`` carries ``m * dJ/dout`` (the package's convention), so ``dZ`` carries
    ``m * dJ/dZ`` and ``dgamma``, ``dbeta`` are exact gradients of ``J``. In train mode the
    batch mean and variance depend on every example, which gives the closed form::

        dZ = gamma * inv_std / m * (m * dout - sum(dout) - z_norm * sum(dout * z_norm))

    Parameters
    ----------
    dout : ndarray (n, m)
    cache : from :func:`batchnorm_forward`

    Returns
    -------
    dZ : ndarray (n, m)
    dgamma, dbeta : ndarray (n, 1)
    """
    z_norm, gamma, inv_std, mode = cache
    dout = as_array("dout", dout, ndim=2)
    if dout.shape != z_norm.shape:
        raise ValueError(f"dout must have shape {z_norm.shape}, got {dout.shape}")
    m = dout.shape[1]
    dbeta = dout.sum(axis=1, keepdims=True)
    dgamma = (dout * z_norm).sum(axis=1, keepdims=True)
    if mode == "train":
        dZ = gamma * inv_std / m * (m * dout - dbeta - z_norm * dgamma)
    else:
        dZ = gamma * inv_std * dout
    return dZ, dgamma / m, dbeta / m
