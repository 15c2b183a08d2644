"""Checks for assignment 8: softmax regression.

Every check has cases with huge logits (around +-1000, or columns 800 apart), where a softmax
without the max subtraction, or a log taken of a softmax that underflowed to 0, gives NaN or
infinity. Those wrong outputs are matched to the catalogue with NaN equal to NaN, so that the
hint names the cause.

``softmax_cross_entropy_backward`` follows the package convention ``dZ = softmax(Z) - Y``, that
is ``m`` times the gradient of the mean cost. On a wrong ``dZ`` the check looks at the student's
own ``softmax`` and ``softmax_cross_entropy`` (from the globals of the student's function, as in
a notebook): a wrong softmax is named first (dZ is usually built on it); otherwise it says
whether the cost is right on the case, and when it is wrong, compares ``dZ`` with ``m`` times the
numerical gradient of that cost, to tell a wrong cost from a wrong backward pass.
"""

import functools

import numpy as np

import introdl

from .core import Case, Mistake, ReferenceCheck
from .judges.a8_softmax import BackwardCheck
from .registry import register

# --- shared test data ----------------------------------------------------------------------

LECTURE = np.array([[5.0], [2.0], [-1.0], [3.0]])
# Column 1 near +1000 (exp overflows), column 2 near -1000 (exp underflows to 0/0), column 3 mixes
# a +1000 and a -1000 logit; the last two columns differ by ~2000 from the first (one global max
# leaves them as 0/0).
LARGE = np.array([[1000.0, -1000.0, 1000.0], [1001.0, -1002.0, -1000.0], [999.0, -999.0, 998.0]])

# Only the true class of a column is 800 below its max, and column 2 also overflows exp: log(softmax)
# gives a cost of +inf, while a softmax without the max subtraction gives NaN (inf / inf), so the
# two mistakes can be told apart.
APART = np.array([[0.0, 1000.0, 1.0], [-800.0, 1001.0, 2.0], [3.0, 200.0, 0.5]])


def _logits(rng, C, m, scale=3.0):
    return np.round(scale * rng.standard_normal((C, m)), 3)


def _large_logits(rng, C, m):
    """Columns around +-1000 and spread over hundreds within a column."""
    centre = rng.choice([-1000.0, 1000.0], size=(1, m)) + rng.uniform(-200, 200, (1, m))
    return np.round(centre + rng.uniform(-3, 3, (C, m)) + rng.choice([0.0, 0.0, -850.0], size=(C, m)), 3)


def _one_hot(labels, C):
    Y = np.zeros((C, len(labels)))
    Y[labels, np.arange(len(labels))] = 1.0
    return Y


def _with_labels(rng, Z, label=""):
    """A case ``(Z, Y)``: the logits and one-hot labels of random true classes."""
    labels = rng.integers(0, Z.shape[0], Z.shape[1])
    return Case((Z, _one_hot(labels, Z.shape[0])), label=label)


# --- softmax -------------------------------------------------------------------------------


def _softmax_cases(rng, hidden):
    if not hidden:
        return [Case((LECTURE.copy(),), label="the lecture's example: Z = [5, 2, -1, 3] as one column (4, 1)"),
                Case((_logits(rng, 3, 4),), label="Z of shape (3, 4)"),
                Case((LARGE.copy(),), label="large logits (3, 3): columns near +1000, near -1000, and both")]
    return [Case((_logits(rng, 10, 1),)), Case((_logits(rng, 2, 7),)), Case((_large_logits(rng, 5, 3),)),
            Case((_logits(rng, 1, 4),)), Case((_logits(rng, 3, 6, scale=40.0),)), Case((_large_logits(rng, 2, 1),))]


def _softmax(Z, *, axis=0, shift="column", normalize="column"):
    """Softmax with knobs for the catalogue's wrong variants."""
    Z = np.asarray(Z, dtype=np.float64)
    shifts = {"column": Z.max(axis=axis, keepdims=True), "none": 0.0, "global": Z.max(),
              "row": Z.max(axis=1 - axis, keepdims=True)}
    T = np.exp(Z - shifts[shift])
    return T / (T.sum(axis=axis, keepdims=True) if normalize == "column" else T.sum())


def _softmax_alternative(Z):
    log_norm = Z.max(axis=0) + np.log(np.sum(np.exp(Z - Z.max(axis=0)), axis=0))
    return np.exp(Z - log_norm)


SOFTMAX = ReferenceCheck(
    "softmax", points=3, reference=introdl.softmax, make_cases=_softmax_cases, outputs=("the softmax",),
    mistakes=[
        Mistake("rows", "the softmax was taken over the rows: each COLUMN is one example, so take the max and the "
                "sum over axis=0 (with keepdims=True), and every column sums to 1",
                lambda Z: _softmax(Z, axis=1)),
        Mistake("no_max", "exp of a large logit overflows (exp(1000) = inf) and a very negative column gives 0/0: "
                "subtract each column's max before np.exp; the result does not change, since the factor "
                "exp(-max) cancels", lambda Z: _softmax(Z, shift="none")),
        Mistake("global_max", "subtract each column's OWN max (Z.max(axis=0, keepdims=True)): with the max of "
                "the whole matrix, a column of very negative logits still underflows to 0/0",
                lambda Z: _softmax(Z, shift="global")),
        Mistake("row_max", "subtract the max of each COLUMN (axis=0), not of each row: the shift must be the same "
                "for all the entries of a column, or the result changes", lambda Z: _softmax(Z, shift="row")),
        Mistake("total_sum", "divide by the sum of each column (axis=0, keepdims=True), not by the sum of the "
                "whole matrix: every column must sum to 1", lambda Z: _softmax(Z, normalize="total")),
    ],
    alternatives=[_softmax_alternative],
)

# --- one_hot -------------------------------------------------------------------------------


def _one_hot_cases(rng, hidden):
    if not hidden:
        specs = [([0, 2, 1, 2], 3, "labels [0, 2, 1, 2], C=3"), ([3], 5, "labels [3], C=5"),
                 ([1, 1, 0], 4, "labels [1, 1, 0], C=4 (class 3 does not appear)")]
    else:
        specs = [([0], 1, ""), (list(rng.integers(0, 8, 20)), 10, ""), (list(rng.permutation(4)), 4, ""),
                 (list(rng.integers(0, 12, 7)), 12, ""), ([2, 2], 6, "")]
    return [Case((np.array(labels, dtype=np.int64), C), label=label) for labels, C, label in specs]


def _oh_whole_rows(labels, C):
    Y = np.zeros((C, len(labels)))
    Y[labels, :] = 1.0
    return Y


ONE_HOT = ReferenceCheck(
    "one_hot", points=2, reference=introdl.one_hot, make_cases=_one_hot_cases, outputs=("Y",),
    mistakes=[
        Mistake("transposed", "Y has one COLUMN per example: shape (C, m), not (m, C) (np.eye(C)[labels] is "
                "(m, C); transpose it, or set Y[labels, np.arange(m)] = 1)", lambda labels, C: np.eye(C)[labels]),
        Mistake("C_from_labels", "use the C you are given: the labels need not contain every class, so the "
                "largest label + 1 can be smaller than C", lambda labels, C: _one_hot(labels, int(max(labels)) + 1)),
        Mistake("whole_rows", "set ONE entry per column, Y[labels, np.arange(m)] = 1; Y[labels, :] = 1 fills "
                "whole rows", _oh_whole_rows),
    ],
    alternatives=[lambda labels, C: (np.arange(C)[:, None] == np.asarray(labels)[None, :]).astype(float)],
)

# --- softmax_cross_entropy -----------------------------------------------------------------


def _ce_cases(rng, hidden):
    case = functools.partial(_with_labels, rng)
    if not hidden:
        lecture = Case((LECTURE.copy(), _one_hot([0], 4)), label="the lecture's Z = [5, 2, -1, 3], true class 0")
        return [case(_logits(rng, 3, 4), "Z and Y of shape (3, 4)"), lecture,
                case(np.array([[1000.0, 998.0], [1002.0, 1001.0], [999.0, 1003.0]]),
                     "large logits near 1000 (3, 2)"),
                Case((APART.copy(), _one_hot([1, 2, 0], 3)), label="logits 800 apart (3, 3), true classes [1, 2, 0]")]
    return [case(_logits(rng, 2, 1)), case(_logits(rng, 10, 6)), case(_large_logits(rng, 5, 3)),
            case(np.round(rng.uniform(-1005, -995, (3, 4)), 3)), case(_logits(rng, 4, 5, scale=300.0)),
            case(_logits(rng, 3, 8))]


def _ce(Z, Y, *, log_p="stable", scale="mean", sign=-1.0, binary=False):
    """Cross-entropy with knobs for the catalogue's wrong variants."""
    Z, Y = np.asarray(Z, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    if log_p == "stable":
        shifted = Z - Z.max(axis=0, keepdims=True)
        L = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
    else:
        L = np.log(_softmax(Z, shift="column" if log_p == "naive" else "none"))
    total = np.sum(Y * L + (1 - Y) * np.log(1 - np.exp(L))) if binary else np.sum(Y * L)
    divide = {"mean": Z.shape[1], "sum": 1, "entries": Z.size}[scale]
    return float(sign * total / divide)


def _ce_alternative(Z, Y):
    true_class = np.argmax(Y, axis=0)
    m = Z.shape[1]
    log_norm = np.logaddexp.reduce(Z, axis=0)
    return float(-np.mean(Z[true_class, np.arange(m)] - log_norm))


SOFTMAX_CROSS_ENTROPY = ReferenceCheck(
    "softmax_cross_entropy", points=3, reference=introdl.softmax_cross_entropy, make_cases=_ce_cases,
    outputs=("the cost",),
    mistakes=[
        Mistake("sum", "the cost is the MEAN over the m examples: divide the sum by m = Z.shape[1]",
                lambda Z, Y: _ce(Z, Y, scale="sum")),
        Mistake("mean_entries", "divide by the number of examples m, not by the number of entries C * m "
                "(np.mean over the whole matrix does the latter)", lambda Z, Y: _ce(Z, Y, scale="entries")),
        Mistake("naive_log", "log(softmax(Z)) underflows: a probability of exp(-800) is stored as 0 and log(0) = "
                "-inf. Compute the log-probabilities directly, log softmax = (Z - max) - log(sum(exp(Z - max))) "
                "per column", lambda Z, Y: _ce(Z, Y, log_p="naive")),
        Mistake("no_max", "exp(1000) overflows to inf (and exp(-1000) underflows to 0): subtract each column's "
                "max from Z before np.exp, then log softmax = (Z - max) - log(sum(exp(Z - max)))",
                lambda Z, Y: _ce(Z, Y, log_p="no_max")),
        Mistake("sign", "the cost is MINUS the mean log-probability of the true class (log of a probability is "
                "<= 0, and the cost must be >= 0)", lambda Z, Y: _ce(Z, Y, sign=1.0)),
        Mistake("binary", "this adds (1 - y) log(1 - y_hat) terms: that is the binary (sigmoid) cost. The "
                "softmax cost is only -(1/m) sum over examples of sum_c y_c log(y_hat_c)",
                lambda Z, Y: _ce(Z, Y, binary=True)),
    ],
    alternatives=[_ce_alternative],
)

# --- softmax_cross_entropy_backward --------------------------------------------------------

def _backward_cases(rng, hidden):
    case = functools.partial(_with_labels, rng)
    if not hidden:
        return [case(_logits(rng, 3, 4), "Z and Y of shape (3, 4)"),
                case(_logits(rng, 4, 1), "Z and Y of shape (4, 1)"),
                case(LARGE.copy(), "large logits (3, 3), near +1000 and -1000")]
    return [case(_logits(rng, 2, 1)), case(_logits(rng, 10, 6)), case(_large_logits(rng, 5, 3)),
            case(_logits(rng, 5, 2, scale=200.0)), case(_logits(rng, 3, 7))]


def _backward(Z, Y, *, sign=1.0, scale=1.0, axis=0, shift="column", extra=False, subtract=True):
    """dZ with knobs for the catalogue's wrong variants."""
    A = _softmax(Z, axis=axis, shift=shift)
    dZ = sign * (A - Y) if subtract else A
    return dZ * (A * (1 - A) if extra else 1.0) * scale


def _backward_alternative(Z, Y):
    E = np.exp(Z - np.max(Z, axis=0))
    return E / np.sum(E, axis=0) - Y


SOFTMAX_CROSS_ENTROPY_BACKWARD = BackwardCheck(
    "softmax_cross_entropy_backward", points=3, reference=introdl.softmax_cross_entropy_backward,
    make_cases=_backward_cases, outputs=("dZ",), softmax=introdl.softmax, cost=introdl.softmax_cross_entropy,
    mistakes=[
        Mistake("divided_by_m", "dZ is m times the gradient of the mean cost, by the package's convention (the "
                "1/m comes later, in dW = (1/m) dZ A_prev.T and db): return softmax(Z) - Y without dividing by m",
                lambda Z, Y: _backward(Z, Y, scale=1 / Z.shape[1])),
        Mistake("sign", "the sign is flipped: dZ = softmax(Z) - Y (prediction minus label), not Y - softmax(Z)",
                lambda Z, Y: _backward(Z, Y, sign=-1.0)),
        Mistake("rows", "the softmax was taken over the rows: each COLUMN is one example (max and sum over "
                "axis=0)", lambda Z, Y: _backward(Z, Y, axis=1)),
        Mistake("no_max", "the softmax inside overflows for large logits: subtract each column's max before "
                "np.exp (or call your own stable softmax)", lambda Z, Y: _backward(Z, Y, shift="none")),
        Mistake("extra_derivative", "no extra factor softmax * (1 - softmax): the log of the cross-entropy and the "
                "exp of the softmax cancel, and dZ = softmax(Z) - Y exactly", lambda Z, Y: _backward(Z, Y, extra=True)),
        Mistake("no_labels", "subtract the one-hot labels: dZ = softmax(Z) - Y",
                lambda Z, Y: _backward(Z, Y, subtract=False)),
    ],
    alternatives=[_backward_alternative],
)

register(SOFTMAX, ONE_HOT, SOFTMAX_CROSS_ENTROPY, SOFTMAX_CROSS_ENTROPY_BACKWARD)
