"""Small helpers that several assignments' checks share.

Only numpy and the standard library here: :mod:`.core` builds on this module, so it must not
import the checks back.
"""

import numpy as np


def describe(x):
    """A short description of a value for a message: an array's shape, a sequence's length."""
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape}"
    if isinstance(x, tuple | list):
        return f"a {type(x).__name__} of {len(x)} values"
    return f"{type(x).__name__} {x!r}"[:80]


def shapes(params):
    """``"W1 (3, 2), b1 (3, 1), ..."``: the shapes of a parameter dict, for case labels."""
    return ", ".join(f"{k} {v.shape}" for k, v in params.items())


def layer_params(rng, dims, *, bias_scale=1.0, decimals=None, batchnorm=False):
    """Parameters of a small network for test cases, drawn in a fixed order.

    Parameters
    ----------
    rng : numpy.random.Generator
    dims : list of int
        Layer sizes ``[n_x, n_1, ..., n_L]``.
    bias_scale : float
        Standard deviation of the biases (non-zero, so that a bias left out shows).
    decimals : int or None
        Round every entry, which keeps the numbers in messages short.
    batchnorm : bool
        Hidden layers get ``gamma{l}`` (about 1) and ``beta{l}`` instead of ``b{l}``.

    Returns
    -------
    dict of str -> ndarray
        For ``l = 1..L`` in order: ``W{l}`` (n_l, n_{l-1}) standard normal, then ``b{l}``
        (n_l, 1), or ``gamma{l}`` and ``beta{l}`` (n_l, 1). Changing this order changes the
        cases of every check that uses it.
    """
    def rounded(x):
        return x if decimals is None else np.round(x, decimals)

    params = {}
    for l in range(1, len(dims)):
        params[f"W{l}"] = rounded(rng.standard_normal((dims[l], dims[l - 1])))
        if batchnorm and l < len(dims) - 1:
            params[f"gamma{l}"] = rounded(1 + 0.1 * rng.standard_normal((dims[l], 1)))
            params[f"beta{l}"] = rounded(0.1 * rng.standard_normal((dims[l], 1)))
        else:
            params[f"b{l}"] = rounded(bias_scale * rng.standard_normal((dims[l], 1)))
    return params


def first_change(before, after, path, *, scalars=False):
    """Where a call changed its input in place: the path of the first entry that differs, or None.

    Parameters
    ----------
    before : object
        A deep copy of the input, made before the call.
    after : object
        The input after the call.
    path : str
        The input's name, e.g. ``"params"``; an entry's path adds ``[key]`` or ``[i]`` to it.
    scalars : bool
        By default only what a call can change in place counts: dicts, lists and tuples are
        walked and arrays compared, and any other value counts as unchanged (a NaN or a
        function argument does not even equal its own copy). With ``scalars=True`` every value
        that is neither a dict nor an array (lists and tuples included) is compared with ``==``,
        so that e.g. a step counter replaced inside a state dict shows; a value that cannot be
        compared counts as unchanged.

    Returns
    -------
    str or None
        The path, e.g. ``"state['v']"``; a dict must keep its keys, an array its shape and
        values (NaN equal to NaN).
    """
    if isinstance(before, dict):
        if not isinstance(after, dict) or before.keys() != after.keys():
            return path
        found = (first_change(before[k], after[k], f"{path}[{k!r}]", scalars=scalars) for k in before)
        return next((p for p in found if p is not None), None)
    if isinstance(before, np.ndarray):
        same = isinstance(after, np.ndarray) and before.shape == after.shape and np.array_equal(
            before, after, equal_nan=True)
        return None if same else path
    if scalars:
        try:
            return None if before == after else path
        except Exception:  # noqa: BLE001 - an odd object that cannot be compared counts as unchanged
            return None
    if isinstance(before, list | tuple):
        if not isinstance(after, list | tuple) or len(before) != len(after):
            return path
        found = (first_change(b, a, f"{path}[{i}]") for i, (b, a) in enumerate(zip(before, after, strict=True)))
        return next((p for p in found if p is not None), None)
    return None


def matching_hint(mistakes, got, expected, *, run, same):
    """The hint of the catalogued mistake that is the only explanation of the student's output, or None.

    A mistake fits a case when its output differs from ``expected`` (on a case where it gives
    the right answer it cannot be told apart) and equals ``got``. When mistakes with different
    hints fit the same case, the output does not say which one the student made, so no hint is
    given there: a wrong hint sends a student after an error they did not make. Each catalogued
    mistake has cases of its own where it is the only one that fits
    (``tests/test_check_catalogue.py`` asserts that every mistake gets its hint and no other's).

    Parameters
    ----------
    mistakes : list of Mistake
    got, expected : object
        The student's output and the right one, in the form ``run`` returns.
    run : callable (mistake function) -> object
        The mistake's output on the same case. A mistake that raises says nothing.
    same : callable (a, b) -> bool
        Whether two outputs count as equal.

    Returns
    -------
    str or None
        The hint shared by every mistake that fits, or None when none fits or several hints do.
    """
    fits = set()
    for mistake in mistakes:
        try:
            wrong = run(mistake.fn)
        except Exception:  # noqa: BLE001 - a variant that cannot run on this case says nothing
            continue
        if not same(wrong, expected) and same(got, wrong):
            fits.add(mistake.hint)
    return fits.pop() if len(fits) == 1 else None


def own_function(student_fn, name, reference=None):
    """The student's own function ``name``, or None when there is none to use.

    Looked up in the globals of ``student_fn``, as a notebook defines it; None when it is
    missing, not callable, or ``reference`` itself (the live check's reference, when it has one).
    """
    own = getattr(student_fn, "__globals__", {}).get(name)
    return own if callable(own) and own is not reference else None
