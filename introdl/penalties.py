"""Weight penalties: L2 (Frobenius, "weight decay") and L1.

Only the weights ``W1, W2, ...`` are penalised; biases and batch-norm parameters are not.
Both costs use the lecture's scale ``lamd / (2 m)``.
"""

import numpy as np

from ._checks import as_array, check_int, check_number, weight_keys


def _checked(params, lamd, m):
    lamd = check_number("lamd", lamd, low=0.0)
    m = check_int("m", m, low=1)
    keys = weight_keys(params)
    if not keys:
        raise KeyError(f"params has no weight matrices W1, W2, ...; keys are {sorted(params)}")
    return lamd, m, {k: as_array(k, params[k]) for k in keys}


def l2_penalty(params, *, lamd, m):
    """L2 cost term ``(lamd / (2 m)) * sum_l ||W[l]||_F**2``.

    Parameters
    ----------
    params : dict of ndarray
        Holds ``W1 ... WL`` (other keys are ignored).
    lamd : float >= 0
        Regularization strength (the lecture's lambda).
    m : int >= 1
        Number of training examples the cost averages over.

    Returns
    -------
    float
    """
    lamd, m, weights = _checked(params, lamd, m)
    return float(lamd / (2 * m) * sum(np.sum(W**2) for W in weights.values()))


def l2_penalty_grads(params, *, lamd, m):
    """Gradient of :func:`l2_penalty`: ``{"dW1": (lamd/m) W1, ...}`` (only ``W`` keys).

    Added to the data gradient this is "weight decay": the update multiplies ``W`` by
    ``1 - lr * lamd / m`` before the usual step.
    """
    lamd, m, weights = _checked(params, lamd, m)
    return {"d" + k: (lamd / m) * W for k, W in weights.items()}


def l1_penalty(params, *, lamd, m):
    """L1 cost term ``(lamd / (2 m)) * sum_l sum |W[l]|``; it drives many weights to zero."""
    lamd, m, weights = _checked(params, lamd, m)
    return float(lamd / (2 * m) * sum(np.sum(np.abs(W)) for W in weights.values()))


def l1_penalty_grads(params, *, lamd, m):
    """(Sub)gradient of :func:`l1_penalty`: ``{"dW1": (lamd/(2m)) sign(W1), ...}``, 0 at 0."""
    lamd, m, weights = _checked(params, lamd, m)
    return {"d" + k: (lamd / (2 * m)) * np.sign(W) for k, W in weights.items()}
