"""Inverted dropout."""

from ._checks import as_array, check_number, check_rng, check_same_shape


def dropout_forward(A, keep_prob, *, rng):
    """Inverted dropout at training time.

    Each unit is kept with probability ``keep_prob`` (mask ``D = rng.random(A.shape) <
    keep_prob``) and the kept values are divided by ``keep_prob`` so that the expected value
    of every unit is unchanged; at test time no dropout is applied and nothing is rescaled.

    Parameters
    ----------
    A : ndarray (n, m)
    keep_prob : float in (0, 1]
        ``1`` is the identity.
    rng : numpy.random.Generator

    Returns
    -------
    A_out : ndarray (n, m)
    cache : tuple (D, keep_prob), the boolean mask D of shape (n, m)
    """
    A = as_array("A", A)
    keep_prob = check_number("keep_prob", keep_prob, low=0.0, high=1.0, low_open=True)
    check_rng(rng)
    D = rng.random(A.shape) < keep_prob
    return A * D / keep_prob, (D, keep_prob)


def dropout_backward(dA, cache):
    """Gradient through dropout: the same mask and the same scaling, ``dA * D / keep_prob``.

    Parameters
    ----------
    dA : ndarray (n, m)
    cache : tuple (D, keep_prob) from :func:`dropout_forward`

    Returns
    -------
    dA : ndarray (n, m)
        For the activation before dropout (the ``A`` given to :func:`dropout_forward`).
    """
    D, keep_prob = cache
    dA = as_array("dA", dA)
    check_same_shape("dA", dA, "the dropout mask", D)
    return dA * D / keep_prob
