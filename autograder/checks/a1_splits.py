"""Checks for assignment 1: data splits, error rate, bias and variance."""

import numpy as np

import introdl

from .core import Case, Mistake, ReferenceCheck
from .judges.a1_splits import DiagnoseCheck, SplitCheck, SplitSizesCheck
from .registry import register

# --- split_sizes -------------------------------------------------------------------------


def _split_sizes_cases(rng, hidden):
    if not hidden:
        return [Case((10_000, (0.6, 0.2, 0.2)), label="m=10,000, 60/20/20"),
                Case((1_000_000, (0.98, 0.01, 0.01)), label="m=1,000,000, 98/1/1"),
                Case((1797, (0.8, 0.1, 0.1)), label="m=1,797, 80/10/10")]
    cases = []
    for _ in range(4):
        m = int(rng.integers(50, 5000))
        dev = float(rng.choice([0.05, 0.1, 0.15, 0.2]))
        cases.append(Case((m, (1 - 2 * dev, dev, dev))))
    return cases


def _sizes_floor_all(m, ratios):
    n_train, n_dev = int(m * ratios[0]), int(m * ratios[1])
    return n_train, n_dev, int(m * ratios[2])


def _sizes_round_train(m, ratios):
    n_train, n_dev = round(m * ratios[0]), round(m * ratios[1])
    return n_train, n_dev, m - n_train - n_dev


def _sizes_percent(m, ratios):
    return tuple(round(m * r / 100) for r in ratios)


def _sizes_fixed(m, ratios):
    return round(0.6 * m), round(0.2 * m), m - round(0.6 * m) - round(0.2 * m)


def _sizes_truncate(m, ratios):
    n_dev, n_test = int(m * ratios[1]), int(m * ratios[2])
    return m - n_dev - n_test, n_dev, n_test


def _sizes_round_all(m, ratios):
    return tuple(round(m * r) for r in ratios)


def _sizes_alternative(m, ratios):
    n_dev, n_test = (round(m * r) for r in ratios[1:])
    return m - n_dev - n_test, n_dev, n_test


SPLIT_SIZES = SplitSizesCheck(
    "split_sizes", points=2, reference=introdl.split_sizes, make_cases=_split_sizes_cases,
    outputs=("n_train", "n_dev", "n_test"),
    mistakes=[
        Mistake("floor_all", "the three sizes do not add up to m: give the rounding leftovers to the "
                "training set (n_train = m - n_dev - n_test)", _sizes_floor_all),
        Mistake("round_train", "round the dev and test sizes and let train take the rest, not the other way round",
                _sizes_round_train),
        Mistake("percent", "the ratios are fractions (0.6), not percentages (60)", _sizes_percent),
        Mistake("fixed", "the sizes ignore the ratios argument: always 60/20/20 is only right for small data",
                _sizes_fixed),
        Mistake("truncate", "round the dev and test sizes to the NEAREST whole example with round(m * r): int() "
                "drops the fraction (int(179.7) is 179, round(179.7) is 180)", _sizes_truncate),
        Mistake("round_all", "round only the dev and test sizes and give the training set the rest, "
                "n_train = m - n_dev - n_test: three sizes rounded separately can add up to m + 1 or m - 1",
                _sizes_round_all),
    ],
    alternatives=[_sizes_alternative],
)

# --- train_dev_test_split ----------------------------------------------------------------


def _split_cases(rng, hidden):
    shapes = [(3, 20), (2, 7)] if not hidden else [(4, 50), (1, 13), (5, 101)]
    cases = []
    for n_x, m in shapes:
        X = rng.standard_normal((n_x, m))
        Y = rng.integers(0, 2, size=(1, m)).astype(float)
        ratios = (0.6, 0.2, 0.2) if m % 2 else (0.7, 0.15, 0.15)
        cases.append(Case((X, Y, ratios), label=f"X {X.shape}, ratios {ratios}",
                          seed=int(rng.integers(2**31))))
    return cases


def _split_no_shuffle(X, Y, ratios, *, rng):
    n_train, n_dev, _ = introdl.split_sizes(X.shape[1], ratios)
    idx = np.split(np.arange(X.shape[1]), [n_train, n_train + n_dev])
    return tuple((X[:, i], Y[:, i]) for i in idx)


def _split_separate_perms(X, Y, ratios, *, rng):
    n_train, n_dev, _ = introdl.split_sizes(X.shape[1], ratios)
    px, py = rng.permutation(X.shape[1]), rng.permutation(X.shape[1])
    cut = [n_train, n_train + n_dev]
    return tuple(zip((X[:, i] for i in np.split(px, cut)), (Y[:, i] for i in np.split(py, cut)), strict=True))


def _split_rows(X, Y, ratios, *, rng):
    perm = rng.permutation(X.shape[1])
    n_train, n_dev, _ = introdl.split_sizes(X.shape[1], ratios)
    Xs, Ys = X[:, perm], Y[:, perm]
    return ((Xs[:, :n_train], Ys[:, :n_train]), (Xs[:, n_train:n_train + n_dev], Ys[:, n_train:n_train + n_dev]),
            (Xs[:, n_train:], Ys[:, n_train:]))


def _split_choice(X, Y, ratios, *, rng):
    n_train, n_dev, _ = introdl.split_sizes(X.shape[1], ratios)
    parts = np.split(rng.choice(X.shape[1], size=X.shape[1], replace=False), [n_train, n_train + n_dev])
    return tuple((X[:, i], Y[:, i]) for i in parts)


def _split_alternative(X, Y, ratios, *, rng):
    m = X.shape[1]
    perm = rng.permutation(m)
    n_dev, n_test = round(m * ratios[1]), round(m * ratios[2])
    n_train = m - n_dev - n_test
    train, dev, test = perm[:n_train], perm[n_train:n_train + n_dev], perm[n_train + n_dev:]
    return (X[:, train], Y[:, train]), (X[:, dev], Y[:, dev]), (X[:, test], Y[:, test])


TRAIN_DEV_TEST_SPLIT = SplitCheck(
    "train_dev_test_split", points=2, reference=introdl.train_dev_test_split, make_cases=_split_cases,
    split_sizes=introdl.split_sizes,
    outputs=("X_train", "Y_train", "X_dev", "Y_dev", "X_test", "Y_test"),
    mistakes=[
        Mistake("no_shuffle", "the parts are not shuffled: draw one permutation with rng.permutation(m) first",
                _split_no_shuffle),
        Mistake("separate_perms", "X and Y were shuffled with different permutations, so the labels no longer "
                "belong to their examples: draw ONE permutation and index both with it", _split_separate_perms),
        Mistake("overlap", "the test part overlaps the dev part: test starts after train and dev, at n_train + n_dev",
                _split_rows),
        Mistake("choice", "shuffle with the notebook's call, perm = rng.permutation(m): rng.choice(m, m, "
                "replace=False) is also a random permutation, but other numbers than the draw the test replays",
                _split_choice),
    ],
    alternatives=[_split_alternative],
)

# --- error_rate --------------------------------------------------------------------------


def _error_cases(rng, hidden):
    if not hidden:
        # Three errors in ten (neither 1/m nor an accuracy of 1 - 1/m), then every prediction wrong.
        y = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3])
        y_pred = np.array([3, 1, 4, 7, 5, 9, 0, 6, 5, 8])
        return [Case((y_pred, y), label="m=10, 3 wrong"),
                Case((np.array([1, 2, 3, 4]), np.array([2, 3, 4, 5])), label="m=4, all wrong")]
    cases = []
    for m in [37, 200]:
        y = rng.integers(0, 10, size=m)
        y_pred = np.where(rng.random(m) < 0.7, y, rng.integers(0, 10, size=m))
        cases.append(Case((y_pred, y), label=f"m={m}"))
    return cases


ERROR_RATE = ReferenceCheck(
    "error_rate", points=1, reference=introdl.error_rate, make_cases=_error_cases, outputs=("the error rate",),
    mistakes=[
        Mistake("accuracy", "this is the accuracy; the error rate is the fraction of WRONG predictions",
                lambda y_pred, y_true: float(np.mean(y_pred == y_true))),
        Mistake("count", "return a fraction in [0, 1], not the number of errors: divide by m",
                lambda y_pred, y_true: float(np.sum(y_pred != y_true))),
        Mistake("percent", "return a fraction in [0, 1], not a percentage",
                lambda y_pred, y_true: float(100 * np.mean(y_pred != y_true))),
        Mistake("floor_division", "divide with /, not //: the number of errors // m is integer division and "
                "rounds every error rate below 1 down to 0",
                lambda y_pred, y_true: float(np.sum(y_pred != y_true) // len(y_true))),
        Mistake("where_tuple", "np.where(condition) returns a tuple with one array of indices per dimension, so "
                "len() of it is 1: count the errors with np.sum(y_pred != y_true) or np.count_nonzero",
                lambda y_pred, y_true: len(np.where(y_pred != y_true)) / len(y_true)),
        Mistake("label_distance", "compare the labels for equality (y_pred != y_true), not by their difference: "
                "labels are categories, a 3 predicted as 4 is as wrong as a 3 predicted as 9",
                lambda y_pred, y_true: float(np.mean(np.abs(y_pred - y_true)))),
    ],
    alternatives=[lambda y_pred, y_true: 1.0 - np.count_nonzero(y_pred == y_true) / len(y_true)],
)

# --- diagnose ----------------------------------------------------------------------------


def _diagnose_cases(rng, hidden):
    if not hidden:
        table = [(0.01, 0.11, 0.0), (0.15, 0.16, 0.0), (0.15, 0.30, 0.0), (0.005, 0.01, 0.0), (0.08, 0.12, 0.075)]
    else:
        # No case lies on the 2-point tolerance, where float rounding would decide.
        table = [(0.15, 0.16, 0.14), (0.08, 0.105, 0.075), (0.02, 0.10, 0.01), (0.20, 0.40, 0.0), (0.30, 0.31, 0.29)]
    return [Case((tr, dv), {"human_error": h}, label=f"train {tr:.1%}, dev {dv:.1%}, human {h:.1%}")
            for tr, dv, h in table]


def _label(high_bias, high_variance):
    names = [n for n, on in (("high bias", high_bias), ("high variance", high_variance)) if on]
    return " and ".join(names) if names else "low bias and low variance"


DIAGNOSE = DiagnoseCheck(
    "diagnose", points=2, reference=introdl.diagnose, make_cases=_diagnose_cases,
    mistakes=[
        Mistake("swapped", "bias and variance are swapped: bias is the train error (minus human error), "
                "variance is the gap from train to dev",
                lambda tr, dv, *, human_error=0.0: _label(dv - tr > 0.02, tr - human_error > 0.02)),
        Mistake("ignores_human", "avoidable bias is measured from the human (Bayes) error: use "
                "train_error - human_error", lambda tr, dv, *, human_error=0.0: _label(tr > 0.02, dv - tr > 0.02)),
        Mistake("dev_for_variance", "variance is the GAP between dev and train error, not the dev error itself",
                lambda tr, dv, *, human_error=0.0: _label(tr - human_error > 0.02, dv > 0.02)),
        Mistake("word_order", "return the notebook's exact string for both problems, 'high bias and high variance' "
                "(bias first): the test compares the strings",
                lambda tr, dv, *, human_error=0.0: _label(tr - human_error > 0.02, dv - tr > 0.02).replace(
                    "high bias and high variance", "high variance and high bias")),
        Mistake("percent_tolerance", "the errors are fractions (0.11 for 11%), so the tolerance of 2 percentage "
                "points is 0.02, not 2", lambda tr, dv, *, human_error=0.0: _label(tr - human_error > 2, dv - tr > 2)),
    ],
    alternatives=[lambda tr, dv, *, human_error=0.0: _label(tr - human_error > 0.02, dv - tr > 0.02)],
)

register(SPLIT_SIZES, TRAIN_DEV_TEST_SPLIT, ERROR_RATE, DIAGNOSE)
