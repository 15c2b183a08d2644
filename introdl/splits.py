"""Train / dev / test splits."""

import numpy as np

from ._checks import check_int, check_number, check_rng, check_same_columns


def split_sizes(m, ratios):
    """Number of examples in each part for ``ratios = (train, dev, test)`` summing to 1.

    Dev and test sizes are rounded to the nearest whole example and train takes the rest:
    60/20/20 of 10,000 is (6000, 2000, 2000); 98/1/1 of 1,000,000 is (980000, 10000, 10000).

    Returns
    -------
    tuple of int (n_train, n_dev, n_test)
    """
    m = check_int("m", m, low=1)
    if len(ratios) != 3:
        raise ValueError(f"ratios must be (train, dev, test), got {ratios!r}")
    r = [check_number(f"ratios[{i}]", x, low=0.0, high=1.0) for i, x in enumerate(ratios)]
    if not np.isclose(sum(r), 1.0):
        raise ValueError(f"ratios must sum to 1, got {ratios!r} (sum {sum(r)})")
    n_dev = min(round(m * r[1]), m)
    n_test = min(round(m * r[2]), m - n_dev)  # rounding up both must not overdraw m
    return m - n_dev - n_test, n_dev, n_test


def train_dev_test_split(X, Y, ratios, *, rng):
    """Shuffle the examples once (``rng.permutation(m)``) and cut them into three parts.

    Parameters
    ----------
    X : ndarray (n_x, m)
    Y : ndarray (n_y, m) or (m,)
    ratios : (train, dev, test), summing to 1
    rng : numpy.random.Generator

    Returns
    -------
    tuple of three (X_part, Y_part) pairs: train, dev, test, in that order
    """
    X, Y = np.asarray(X), np.asarray(Y)
    check_same_columns("X", X, "Y", Y)
    check_rng(rng)
    n_train, n_dev, _ = split_sizes(X.shape[-1], ratios)
    perm = rng.permutation(X.shape[-1])
    parts = np.split(perm, [n_train, n_train + n_dev])
    return tuple((X[..., idx].copy(), Y[..., idx].copy()) for idx in parts)
