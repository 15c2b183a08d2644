"""Argument checks shared by the reference package.

Every public function validates its inputs so that a wrong shape or value fails with a
message naming the argument, instead of broadcasting silently into a wrong answer.
"""

import numbers

import numpy as np


class NonFiniteError(ValueError):
    """An input holds NaN or infinity (during training: the run diverged)."""


def as_array(name, x, *, ndim=None, finite=True):
    """Return ``x`` as a float64 array (a copy only when needed), checked.

    Parameters
    ----------
    name : str
        The argument's name, used in error messages.
    x : array_like
    ndim : int or None
        Required number of dimensions.
    finite : bool
        Reject NaN and infinity, which would otherwise spread through every later result.
    """
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}") from err
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {arr.shape}")
    if finite and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise NonFiniteError(f"{name} contains {bad} NaN or infinite value(s) (shape {arr.shape})")
    return arr


def check_same_shape(name_a, a, name_b, b):
    """Raise ValueError unless ``a`` and ``b`` have the same shape."""
    if np.shape(a) != np.shape(b):
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {np.shape(a)} and {np.shape(b)}"
        )


def check_same_columns(name_a, a, name_b, b):
    """Raise ValueError unless ``a`` and ``b`` hold the same number of examples (columns)."""
    if np.shape(a)[-1] != np.shape(b)[-1]:
        raise ValueError(
            f"{name_a} and {name_b} must have the same number of examples (columns), "
            f"got shapes {np.shape(a)} and {np.shape(b)}"
        )


def check_number(name, value, *, low=None, high=None, low_open=False, high_open=False):
    """Return ``value`` as a float after checking it lies in the given interval.

    ``low_open`` and ``high_open`` exclude the bounds. NaN is always rejected.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if np.isnan(value) or too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must be in {left}{lo}, {hi}{right}, got {value}")
    return value


def check_int(name, value, *, low=None):
    """Return ``value`` as an int after checking it is a whole number >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return value


def check_rng(rng):
    """Raise TypeError unless ``rng`` is a ``numpy.random.Generator``."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            "rng must be a numpy.random.Generator (for example np.random.default_rng(0)), "
            f"got {type(rng).__name__}"
        )
    return rng


def weight_keys(params):
    """The keys ``W1, W2, ...`` of a parameter dict, in layer order."""
    keys = [k for k in params if k.startswith("W") and k[1:].isdigit()]
    return sorted(keys, key=lambda k: int(k[1:]))


def check_grads_match(params, grads):
    """Raise KeyError unless every parameter ``k`` has a gradient ``"d" + k`` of its shape."""
    for key, value in params.items():
        gkey = "d" + key
        if gkey not in grads:
            raise KeyError(f"grads has no {gkey!r} for parameter {key!r}")
        check_same_shape(key, value, gkey, grads[gkey])
