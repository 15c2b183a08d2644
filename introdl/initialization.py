"""Parameter initialization for an L-layer network."""

import numpy as np

from ._checks import check_int, check_number, check_rng, weight_keys

METHODS = ("zeros", "random", "he", "xavier", "glorot")
# Standard deviation of W[l] as a function of (n_prev, n): the fan-in and fan-out.
_SCALES = {
    "he": lambda n_prev, n: np.sqrt(2.0 / n_prev),  # for ReLU layers
    "xavier": lambda n_prev, n: np.sqrt(1.0 / n_prev),  # for tanh layers
    # Glorot's average of fan-in and fan-out; the slide's 2/(n_prev*n) is a typo.
    "glorot": lambda n_prev, n: np.sqrt(2.0 / (n_prev + n)),
}


def _checked_dims(layer_dims, rng):
    """``layer_dims`` as a list of positive ints ``[n_x, n_1, ..., n_L]``, after checking ``rng``."""
    check_rng(rng)
    dims = [check_int(f"layer_dims[{i}]", n, low=1) for i, n in enumerate(layer_dims)]
    if len(dims) < 2:
        raise ValueError(f"layer_dims needs at least an input and an output size, got {dims}")
    return dims


def initialize_parameters(layer_dims, method="he", *, rng, scale=0.01, batchnorm=False):
    """Initialize ``W1, b1, ..., WL, bL`` for ``layer_dims = [n_x, n_1, ..., n_L]``.

    Parameters
    ----------
    layer_dims : sequence of int, length L + 1 >= 2
    method : {"zeros", "random", "he", "xavier", "glorot"}
        ``"zeros"`` sets every weight to 0 (units stay identical: symmetry is never broken);
        ``"random"`` draws ``N(0, 1) * scale``; the others draw ``N(0, 1)`` times
        ``sqrt(2/n_prev)`` (He), ``sqrt(1/n_prev)`` (Xavier) or ``sqrt(2/(n_prev+n))``
        (Glorot). Biases are always zero.
    rng : numpy.random.Generator
    scale : float > 0
        Standard deviation for ``"random"``.
    batchnorm : bool
        Add ``gamma{l}`` (ones) and ``beta{l}`` (zeros), shape (n_l, 1), for the hidden
        layers ``1..L-1`` and leave out their ``b{l}``, which batch norm's ``beta`` makes
        redundant. The output layer keeps ``b{L}``.

    Returns
    -------
    dict of ndarray
        ``W{l}`` of shape (n_l, n_{l-1}) and ``b{l}`` of shape (n_l, 1), in layer order.
    """
    dims = _checked_dims(layer_dims, rng)
    if method not in METHODS:
        raise ValueError(f"unknown initialization method {method!r}; choose one of {METHODS}")
    scale = check_number("scale", scale, low=0.0, low_open=True)
    L = len(dims) - 1
    params = {}
    for l in range(1, L + 1):
        n_prev, n = dims[l - 1], dims[l]
        if method == "zeros":
            W = np.zeros((n, n_prev))
        else:
            std = scale if method == "random" else _SCALES[method](n_prev, n)
            W = rng.standard_normal((n, n_prev)) * std
        params[f"W{l}"] = W
        params[f"b{l}"] = np.zeros((n, 1))
    return with_batchnorm(params) if batchnorm else params


def with_batchnorm(params):
    """The parameters of the same network with batch norm in its hidden layers.

    Adds ``gamma{l}`` (ones) and ``beta{l}`` (zeros), shape (n_l, 1), for the hidden layers
    ``1..L-1`` and leaves out their ``b{l}``, which batch norm's ``beta`` makes redundant; the
    output layer keeps ``b{L}``. The weights are kept as they are, so a network with and one
    without batch norm start from the same ``W``.

    Parameters
    ----------
    params : dict of ndarray, ``W1, b1, ..., WL, bL`` in layer order

    Returns
    -------
    dict of ndarray, new (``params`` is not changed), in layer order
    """
    L = len(weight_keys(params))
    out = {}
    for l in range(1, L + 1):
        W = np.array(params[f"W{l}"], dtype=np.float64)
        out[f"W{l}"] = W
        if l < L:
            out[f"gamma{l}"] = np.ones((W.shape[0], 1))
            out[f"beta{l}"] = np.zeros((W.shape[0], 1))
        else:
            out[f"b{l}"] = np.array(params[f"b{l}"], dtype=np.float64)
    return out


def initialize_uniform(layer_dims, *, rng):
    """``W[l]`` uniform in ``[-1/sqrt(n_prev), 1/sqrt(n_prev)]``, biases zero: a framework's default.

    PyTorch's ``nn.Linear`` draws its weights this way unless told otherwise. It is none of
    :func:`initialize_parameters`' methods (their spread is chosen for the activation, which
    this one ignores): the notebooks before the initialization assignment start from it, so
    that they do not need that assignment's answer.

    Parameters
    ----------
    layer_dims : sequence of int, length L + 1 >= 2
    rng : numpy.random.Generator

    Returns
    -------
    dict of ndarray
        ``W{l}`` of shape (n_l, n_{l-1}) and ``b{l}`` of shape (n_l, 1), in layer order.
    """
    dims = _checked_dims(layer_dims, rng)
    params = {}
    for l in range(1, len(dims)):
        bound = 1.0 / np.sqrt(dims[l - 1])
        params[f"W{l}"] = rng.uniform(-bound, bound, size=(dims[l], dims[l - 1]))
        params[f"b{l}"] = np.zeros((dims[l], 1))
    return params
