"""Data augmentation for images stored one per column.

An image of height ``h`` and width ``w`` is a column of ``h * w`` pixels in row-major order
(``image.reshape(-1)``), so ``X`` has shape ``(h * w, m)``.
"""

import numpy as np

from ._checks import as_array, check_int, check_number, check_rng
from .library import function


def _as_images(X, image_shape):
    X = as_array("X", X, ndim=2)
    h, w = (check_int("image_shape[0]", image_shape[0], low=1),
            check_int("image_shape[1]", image_shape[1], low=1))
    if X.shape[0] != h * w:
        raise ValueError(
            f"X has {X.shape[0]} rows but image_shape {tuple(image_shape)} needs {h * w}"
        )
    # (m, h, w): one image per leading index.
    return X.T.reshape(-1, h, w)


def _as_columns(images):
    return images.reshape(images.shape[0], -1).T.copy()


def flip_horizontal(X, image_shape):
    """Mirror every image left-right.

    Parameters
    ----------
    X : ndarray (h*w, m)
    image_shape : tuple (h, w)

    Returns
    -------
    ndarray (h*w, m)
    """
    return _as_columns(_as_images(X, image_shape)[:, :, ::-1])


def random_flip(X, image_shape, *, rng, p=0.5):
    """Mirror each image left-right with probability ``p``; returns a new (h*w, m) array."""
    check_rng(rng)
    p = check_number("p", p, low=0.0, high=1.0)
    X = _as_columns(_as_images(X, image_shape))  # checked, and a new array to change
    flip = rng.random(X.shape[1]) < p
    if flip.any():  # flip_horizontal is graded: the student's own where there is one
        X[:, flip] = function("flip_horizontal")(X[:, flip], image_shape)
    return X


def random_shift(X, image_shape, *, rng, max_shift=1):
    """Translate each image by up to ``max_shift`` pixels in each direction, filling with 0.

    Returns a new (h*w, m) array; each image draws its own shift.
    """
    check_rng(rng)
    max_shift = check_int("max_shift", max_shift, low=0)
    images = _as_images(X, image_shape)
    m, h, w = images.shape
    shifts = rng.integers(-max_shift, max_shift + 1, size=(m, 2))
    padded = np.pad(images, ((0, 0), (max_shift, max_shift), (max_shift, max_shift)))
    out = np.empty_like(images)
    for i, (dy, dx) in enumerate(shifts):
        top, left = max_shift - dy, max_shift - dx
        out[i] = padded[i, top:top + h, left:left + w]
    return _as_columns(out)
