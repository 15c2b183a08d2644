"""Hyperparameter search: sampling on the right scale, random and grid search, coarse to fine.

:func:`coarse_to_fine` is built from graded functions (``random_search``, ``zoom_bounds``,
``sample_log_uniform``) that it looks up with :func:`introdl.library.function` at each call.
"""

import itertools

import numpy as np

from ._checks import check_int, check_number, check_rng
from .library import function


def sample_log_uniform(low, high, *, rng, size=None):
    """Sample uniformly on a log scale between ``low`` and ``high`` (both > 0).

    ``r = low_exp + (high_exp - low_exp) * rng.random()`` with ``low_exp = log10(low)``,
    and the value is ``10**r``: each decade (1e-4..1e-3, 1e-3..1e-2, ...) gets the same share
    of the samples. (The slide's ``randn`` is a typo: ``r`` is uniform, not Gaussian.)

    Returns
    -------
    float, or ndarray of the given size
    """
    check_rng(rng)
    low = check_number("low", low, low=0.0, low_open=True)
    high = check_number("high", high, low=low)
    low_exp, high_exp = np.log10(low), np.log10(high)
    r = low_exp + (high_exp - low_exp) * rng.random(size)
    return 10.0**r


def sample_beta(low, high, *, rng, size=None):
    """Sample an averaging parameter ``beta`` in ``[low, high]`` through ``1 - beta``.

    ``beta`` near 1 is sensitive (0.999 -> 0.9995 doubles the averaging window), so
    ``1 - beta`` is sampled log-uniformly in ``[1 - high, 1 - low]``.
    """
    low = check_number("low", low, low=0.0, high=1.0, high_open=True)
    high = check_number("high", high, low=low, high=1.0, high_open=True)
    return 1.0 - sample_log_uniform(1.0 - high, 1.0 - low, rng=rng, size=size)


def random_search(score_fn, space, n_trials, *, rng):
    """Try ``n_trials`` random settings.

    Parameters
    ----------
    score_fn : callable (**hyperparameters) -> float
        Higher is better, for example the dev-set accuracy.
    space : dict of str to callable (rng) -> value
        One sampler per hyperparameter, e.g. ``lambda rng: sample_log_uniform(1e-4, 1, rng=rng)``.
    n_trials : int >= 1
    rng : numpy.random.Generator

    Returns
    -------
    list of dict ``{"hparams": dict, "score": float}``, in the order tried
    """
    check_rng(rng)
    n_trials = check_int("n_trials", n_trials, low=1)
    if not space:
        raise ValueError("space is empty: give at least one hyperparameter sampler")
    trials = []
    for _ in range(n_trials):
        hparams = {name: sampler(rng) for name, sampler in space.items()}
        trials.append({"hparams": hparams, "score": float(score_fn(**hparams))})
    return trials


def grid_search(score_fn, grid):
    """Try every combination of the values in ``grid`` (dict of str to sequence).

    Returns
    -------
    list of dict ``{"hparams": dict, "score": float}``
    """
    if not grid or any(len(values) == 0 for values in grid.values()):
        raise ValueError("grid needs at least one hyperparameter, each with at least one value")
    names = list(grid)
    trials = []
    for combo in itertools.product(*grid.values()):
        hparams = dict(zip(names, combo, strict=True))
        trials.append({"hparams": hparams, "score": float(score_fn(**hparams))})
    return trials


def zoom_bounds(trials, bounds, top_k):
    """The next, smaller box of a coarse-to-fine search.

    Parameters
    ----------
    trials : list of dict {"hparams": dict, "score": float}
        Every trial so far; higher scores are better.
    bounds : dict of str -> (low, high, scale)
        The current box; ``scale`` is carried over unchanged.
    top_k : int >= 1

    Returns
    -------
    dict of str -> (low, high, scale)
        For each hyperparameter, the smallest and largest value among the ``top_k`` best trials.
    """
    best = sorted(trials, key=lambda trial: trial["score"], reverse=True)[:top_k]
    return {name: (min(t["hparams"][name] for t in best), max(t["hparams"][name] for t in best), scale)
            for name, (_, _, scale) in bounds.items()}


def best_trial(trials):
    """The trial with the highest score."""
    if not trials:
        raise ValueError("trials is empty")
    return max(trials, key=lambda trial: trial["score"])


def coarse_to_fine(score_fn, bounds, *, rng, n_trials=20, rounds=2, top_k=3):
    """Random search that zooms in on the region where the best trials lie.

    Each round samples ``n_trials`` points in the current box; the next box is the smallest
    one holding the ``top_k`` best trials so far (on a log scale for ``"log"`` dimensions).

    Parameters
    ----------
    score_fn : callable (**hyperparameters) -> float, higher is better
    bounds : dict of str to (low, high, scale)
        ``scale`` is ``"log"`` or ``"linear"``.
    rng : numpy.random.Generator
    n_trials, rounds, top_k : int >= 1

    Returns
    -------
    list of dict ``{"hparams", "score", "round"}``, every trial of every round
    """
    check_rng(rng)
    n_trials = check_int("n_trials", n_trials, low=1)
    rounds = check_int("rounds", rounds, low=1)
    top_k = check_int("top_k", top_k, low=1)
    box = {}
    for name, (low, high, scale) in bounds.items():
        if scale not in ("log", "linear"):
            raise ValueError(f"bounds[{name!r}] scale must be 'log' or 'linear', got {scale!r}")
        check_number(f"bounds[{name!r}] high", high, low=check_number(f"bounds[{name!r}] low", low))
        box[name] = (low, high, scale)
    trials = []
    for round_index in range(rounds):
        space = {name: _sampler(*dim) for name, dim in box.items()}
        for trial in function("random_search")(score_fn, space, n_trials, rng=rng):
            trials.append({**trial, "round": round_index})
        box = function("zoom_bounds")(trials, box, top_k)
    return trials


def _sampler(low, high, scale):
    if scale == "log":
        return lambda rng: float(function("sample_log_uniform")(low, high, rng=rng))
    return lambda rng: float(low + (high - low) * rng.random())
