"""Learning-rate schedules: plain functions of the epoch (or step), counted from 1.

With ``lr0 = 0.2`` and ``decay_rate = 1``, :func:`inverse_time_decay` gives 0.1, 0.0667,
0.05, 0.04 for epochs 1 to 4, the lecture's table.
"""

import numpy as np

from ._checks import check_int, check_number


def _check(epoch, lr0, *, low=0):
    return check_int("epoch", epoch, low=low), check_number("lr0", lr0, low=0.0, low_open=True)


def inverse_time_decay(epoch, lr0, decay_rate):
    """``lr0 / (1 + decay_rate * epoch)``."""
    epoch, lr0 = _check(epoch, lr0)
    decay_rate = check_number("decay_rate", decay_rate, low=0.0)
    return lr0 / (1 + decay_rate * epoch)


def exponential_decay(epoch, lr0, base=0.95):
    """``base**epoch * lr0``, with ``base`` in (0, 1]."""
    epoch, lr0 = _check(epoch, lr0)
    base = check_number("base", base, low=0.0, high=1.0, low_open=True)
    return base**epoch * lr0


def sqrt_decay(epoch, lr0, k):
    """``k / sqrt(epoch) * lr0``; pass the mini-batch step ``t`` instead for ``k / sqrt(t) * lr0``.

    ``epoch`` starts at 1 (the formula has no value at 0).
    """
    epoch, lr0 = _check(epoch, lr0, low=1)
    k = check_number("k", k, low=0.0, low_open=True)
    return k / np.sqrt(epoch) * lr0


def staircase_decay(epoch, lr0, drop, every):
    """Multiply by ``drop`` every ``every`` epochs: ``lr0 * drop**(epoch // every)``."""
    epoch, lr0 = _check(epoch, lr0)
    drop = check_number("drop", drop, low=0.0, high=1.0, low_open=True)
    every = check_int("every", every, low=1)
    return lr0 * drop ** (epoch // every)
