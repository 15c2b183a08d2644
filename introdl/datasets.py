"""Data sets for the notebooks: the files in ``datasets/`` and small synthetic 2-D problems.

Every loader returns examples as columns (``X`` has shape ``(n_x, m)``, float64) and labels as
an int64 vector ``(m,)``. Functions that draw take a keyword-only ``rng``
(``numpy.random.Generator``) and never touch numpy's global random state.

Where the files are
-------------------
``DATASETS_DIR`` is the repository's ``datasets/`` folder, found next to this package. Set the
environment variable ``INTRODL_DATASETS`` to another folder (holding the same files and
``MANIFEST.json``) to read from there instead; it is read at every call, so it can be set after
import. Each file is checked against the sha256 in ``MANIFEST.json`` before it is used, once
per process, and a missing or changed file raises :class:`DatasetError`.
"""

import functools
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ._checks import check_int, check_number, check_rng

DATASETS_DIR = Path(__file__).resolve().parent.parent / "datasets"
ENV_VAR = "INTRODL_DATASETS"

_RESTORE_HINT = (
    "Restore it with `git checkout datasets/` (from the repository root), or rebuild it with "
    "`pip install -e .[build-data]; python datasets/build_datasets.py`. "
    f"If the files live elsewhere, point the {ENV_VAR} environment variable at that folder."
)

# The mismatched-distribution split of the 1,797 digits (see load_mismatched_digits).
N_TRAIN_DEV, N_DEV, N_TEST = 200, 200, 200
DEGRADE_NOISE = 0.1  # standard deviation of the pixel noise, on the [0, 1] scale


class DatasetError(RuntimeError):
    """A data file is missing, or its bytes differ from the sha256 recorded in MANIFEST.json."""


def _datasets_dir():
    override = os.environ.get(ENV_VAR)
    return Path(override) if override else DATASETS_DIR


@functools.cache
def _verified(path, size, mtime_ns):
    """Check one file against the manifest beside it; cached on (path, size, mtime)."""
    manifest_path = path.parent / "MANIFEST.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        expected = manifest["files"][path.name]["sha256"]
    except (OSError, ValueError, KeyError) as err:
        raise DatasetError(
            f"Cannot read the sha256 of {path.name} from {manifest_path}: {err}. {_RESTORE_HINT}"
        ) from err
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != expected:
        raise DatasetError(
            f"Checksum mismatch for {path}: expected sha256 {expected}, got {actual}. "
            f"The file is damaged or was changed. {_RESTORE_HINT}"
        )
    return True


def _load_npz(filename):
    """The arrays of ``filename`` in the data folder, after checking its sha256."""
    path = (_datasets_dir() / filename).resolve()
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise DatasetError(f"Data file not found: {path}. {_RESTORE_HINT}") from None
    # Keying the cache on size and mtime re-checks a file that changed while the process runs.
    _verified(path, stat.st_size, stat.st_mtime_ns)
    with np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def load_digits(*, scale=True, one_hot=False):
    """The UCI handwritten digits: 1,797 grey-level 8x8 images of the digits 0..9.

    Each image is a column of 64 pixels in row-major order (``X[:, i].reshape(8, 8)``).
    About 180 images per digit.

    Parameters
    ----------
    scale : bool
        Divide the pixel values (whole numbers 0..16) by 16 so they lie in [0, 1].
    one_hot : bool
        Return the labels as one-hot columns ``Y`` (10, 1797) instead of ``y``: read from the
        data file, so notebooks before the softmax assignment train a 10-unit output without
        its graded ``one_hot``. ``Y.argmax(axis=0)`` gives ``y`` back.

    Returns
    -------
    X : ndarray (64, 1797), float64
    y : ndarray (1797,), int64 labels 0..9, or ``Y`` (10, 1797) float64 with ``one_hot``

    Raises
    ------
    DatasetError
        If ``digits.npz`` is missing or does not match its sha256 in ``MANIFEST.json``.
    """
    X, y, Y = _digits(scale)
    return (X, Y) if one_hot else (X, y)


def _digits(scale):
    """``X`` (64, 1797) float64, ``y`` (1797,) int64 and ``Y`` (10, 1797) float64 from one read of the file."""
    arrays = _load_npz("digits.npz")
    images = arrays["images"]
    X = images.reshape(images.shape[0], -1).T.astype(np.float64)
    if scale:
        X /= 16.0
    return X, arrays["labels"].astype(np.int64), arrays["targets"].astype(np.float64)


def load_elnino():
    """El Nino (Nino 1+2 region) monthly sea surface temperature, January 1950 to December 2010.

    A real, noisy and seasonal series for exponentially weighted averages.

    Returns
    -------
    t : ndarray (732,), float64
        Time in fractional years: ``year + (month - 1) / 12`` (1950.0, 1950.083..., ...).
    temperature : ndarray (732,), float64
        Monthly average sea surface temperature in degrees Celsius.

    Raises
    ------
    DatasetError
        If ``elnino.npz`` is missing or does not match its sha256 in ``MANIFEST.json``.
    """
    arrays = _load_npz("elnino.npz")
    t = arrays["year"].astype(np.float64) + (arrays["month"].astype(np.float64) - 1.0) / 12.0
    return t, arrays["temperature"].astype(np.float64)


def degrade_digits(X, *, rng, noise=DEGRADE_NOISE):
    """Blur 8x8 digit images and add Gaussian pixel noise: a stand-in for poor camera photos.

    Each image is blurred with the separable kernel ``[1, 2, 1] / 4`` along rows and columns
    (zero padding, like the digits' blank border), then ``noise * N(0, 1)`` is added to every
    pixel and the result is clipped to [0, 1].

    Parameters
    ----------
    X : ndarray (64, m)
        Images as columns, values in [0, 1].
    rng : numpy.random.Generator
    noise : float
        Standard deviation of the added noise.

    Returns
    -------
    ndarray (64, m), float64
    """
    check_rng(rng)
    noise = check_number("noise", noise, low=0.0)
    images = np.asarray(X, dtype=np.float64).T.reshape(-1, 8, 8)
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    rows = (padded[:, :-2, :] + 2 * padded[:, 1:-1, :] + padded[:, 2:, :]) / 4  # (m, 8, 10)
    blurred = (rows[:, :, :-2] + 2 * rows[:, :, 1:-1] + rows[:, :, 2:]) / 4  # (m, 8, 8)
    noisy = blurred + noise * rng.standard_normal(blurred.shape)
    return np.clip(noisy, 0.0, 1.0).reshape(-1, 64).T.copy()


def load_mismatched_digits(*, rng):
    """The digits split as in the lecture's mismatched train / dev-test distributions.

    Training data come from one distribution (clean scans, like photos from the web) while dev
    and test come from the distribution the model must work on (blurred, noisy images, like
    photos from users' phones), both from that same distribution. A "train-dev" set, clean and
    held out of training, separates variance (train vs train-dev error) from data mismatch
    (train-dev vs dev error).

    The 1,797 images are shuffled once with ``rng`` and cut into disjoint parts:

    ========== ====== ==========================================================
    part       images distribution
    ========== ====== ==========================================================
    train      1,197  clean (pixels / 16, in [0, 1])
    train_dev    200  clean, same distribution as train, not used for training
    dev          200  degraded by :func:`degrade_digits` (blur + noise, clipped)
    test         200  degraded the same way as dev
    ========== ====== ==========================================================

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws the shuffle and the noise; the same seed gives the same sets.

    Returns
    -------
    dict with keys ``"X_<part>"``, ``"y_<part>"`` and ``"Y_<part>"`` for each part ``train``,
    ``train_dev``, ``dev``, ``test``: each ``X`` is (64, m_part) float64, each ``y``
    (m_part,) int64, each ``Y`` (10, m_part) float64, the labels as one-hot columns (see
    :func:`load_digits`).
    """
    check_rng(rng)
    X, y, Y = _digits(scale=True)
    perm = rng.permutation(X.shape[1])
    n_train = X.shape[1] - N_TRAIN_DEV - N_DEV - N_TEST
    cuts = np.cumsum([n_train, N_TRAIN_DEV, N_DEV])
    train, train_dev, dev, test = np.split(perm, cuts)
    # Dev and test are degraded together so they share one distribution, as the lecture requires.
    degraded = degrade_digits(X[:, np.concatenate([dev, test])], rng=rng)
    parts = {"train": train, "train_dev": train_dev, "dev": dev, "test": test}
    X_parts = {"train": X[:, train], "train_dev": X[:, train_dev],
               "dev": degraded[:, :N_DEV], "test": degraded[:, N_DEV:]}
    sets = {}
    for part, idx in parts.items():
        sets.update({f"X_{part}": X_parts[part], f"y_{part}": y[idx], f"Y_{part}": Y[:, idx]})
    return sets


def _class_sizes(m, classes):
    """Split ``m`` examples into ``classes`` sizes that differ by at most one."""
    return [m // classes + (1 if j < m % classes else 0) for j in range(classes)]


def _shuffled(X, y, rng):
    """Shuffle the columns, so that any leading slice holds every class."""
    perm = rng.permutation(y.shape[0])
    return X[:, perm], y[perm]


def make_moons(m, *, noise=0.2, rng):
    """Two interleaving half circles ("moons"), a classic non-linear 2-D problem.

    Class 0 lies on the upper half circle of radius 1 centred at (0, 0), class 1 on the lower
    half circle centred at (1, 0.5); each point's angle is uniform along its arc and Gaussian
    noise of standard deviation ``noise`` is added to both coordinates. The classes have
    ``m // 2`` and ``m - m // 2`` points and the columns are shuffled.

    Parameters
    ----------
    m : int >= 1
        Number of examples.
    noise : float >= 0
    rng : numpy.random.Generator

    Returns
    -------
    X : ndarray (2, m), float64
    y : ndarray (m,), int64 in {0, 1}
    """
    m = check_int("m", m, low=1)
    noise = check_number("noise", noise, low=0.0)
    check_rng(rng)
    n0, n1 = _class_sizes(m, 2)
    a0 = rng.uniform(0.0, np.pi, n0)
    a1 = rng.uniform(0.0, np.pi, n1)
    upper = np.stack([np.cos(a0), np.sin(a0)])
    lower = np.stack([1.0 - np.cos(a1), 0.5 - np.sin(a1)])
    X = np.concatenate([upper, lower], axis=1) + noise * rng.standard_normal((2, m))
    y = np.repeat(np.arange(2, dtype=np.int64), [n0, n1])
    return _shuffled(X, y, rng)


def make_circles(m, *, noise=0.1, factor=0.5, rng):
    """A circle of radius ``factor`` (class 1) inside a circle of radius 1 (class 0).

    Angles are uniform; Gaussian noise of standard deviation ``noise`` is added to both
    coordinates. The classes have ``m // 2`` (outer) and ``m - m // 2`` (inner) points and the
    columns are shuffled.

    Parameters
    ----------
    m : int >= 1
        Number of examples.
    noise : float >= 0
    factor : float in (0, 1)
        Radius of the inner circle relative to the outer one.
    rng : numpy.random.Generator

    Returns
    -------
    X : ndarray (2, m), float64
    y : ndarray (m,), int64 in {0, 1}
    """
    m = check_int("m", m, low=1)
    noise = check_number("noise", noise, low=0.0)
    factor = check_number("factor", factor, low=0.0, high=1.0, low_open=True, high_open=True)
    check_rng(rng)
    sizes = _class_sizes(m, 2)
    radius = np.repeat([1.0, factor], sizes)
    angle = rng.uniform(0.0, 2 * np.pi, m)
    X = radius * np.stack([np.cos(angle), np.sin(angle)]) + noise * rng.standard_normal((2, m))
    y = np.repeat(np.arange(2, dtype=np.int64), sizes)
    return _shuffled(X, y, rng)


def make_spirals(m, *, classes=2, noise=0.2, rng):
    """Interleaved spiral arms, one per class (the CS231n "spiral" data).

    Arm ``j`` runs from the origin out to radius 1 while its angle turns through 4 radians,
    starting at ``j * 2 * pi / classes`` so the arms are evenly spaced. ``noise`` is the
    standard deviation of Gaussian noise added to each point's *angle* (in radians), which
    blurs the arms without pushing points off the plot. Class sizes differ by at most one and
    the columns are shuffled.

    Parameters
    ----------
    m : int >= 1
        Number of examples.
    classes : int >= 2
        Number of arms (2 or 3 in the notebooks).
    noise : float >= 0
    rng : numpy.random.Generator

    Returns
    -------
    X : ndarray (2, m), float64
    y : ndarray (m,), int64 in {0, ..., classes - 1}
    """
    m = check_int("m", m, low=1)
    classes = check_int("classes", classes, low=2)
    noise = check_number("noise", noise, low=0.0)
    check_rng(rng)
    sizes = _class_sizes(m, classes)
    y = np.repeat(np.arange(classes, dtype=np.int64), sizes)
    # Position along the arm in [0, 1]: radius and the turn both grow with it.
    s = np.concatenate([np.linspace(0.0, 1.0, n) for n in sizes])
    angle = y * (2 * np.pi / classes) + 4.0 * s + noise * rng.standard_normal(m)
    X = s * np.stack([np.cos(angle), np.sin(angle)])
    return _shuffled(X, y, rng)
