"""Random mini-batches."""

from ._checks import as_array, check_int, check_rng, check_same_columns


def random_mini_batches(X, Y, batch_size=64, *, rng):
    """Shuffle the examples once and cut them into mini-batches.

    Parameters
    ----------
    X : ndarray (n_x, m)
    Y : ndarray (n_y, m)
    batch_size : int >= 1
        The last batch holds the ``m % batch_size`` leftover examples when ``m`` is not a
        multiple of ``batch_size``.
    rng : numpy.random.Generator
        Draws one permutation of the columns (``rng.permutation(m)``).

    Returns
    -------
    list of (X_batch (n_x, b), Y_batch (n_y, b))
    """
    X = as_array("X", X, ndim=2)
    Y = as_array("Y", Y, ndim=2)
    check_same_columns("X", X, "Y", Y)
    batch_size = check_int("batch_size", batch_size, low=1)
    check_rng(rng)
    m = X.shape[1]
    perm = rng.permutation(m)
    X_shuffled, Y_shuffled = X[:, perm], Y[:, perm]
    return [
        (X_shuffled[:, k:k + batch_size], Y_shuffled[:, k:k + batch_size])
        for k in range(0, m, batch_size)
    ]
