"""Bias and variance diagnosis from train and dev errors (the lecture's four cases)."""

from dataclasses import dataclass

from ._checks import check_number

ADVICE = {
    "high bias": [
        "train a bigger network (more units or layers)",
        "train longer or with a better optimizer",
        "try another architecture",
    ],
    "high variance": [
        "get more training data (or augment it)",
        "add regularization (L2, dropout)",
        "try another architecture",
    ],
    "data mismatch": [
        "study how train and dev data differ; make training data more like dev/test",
        "collect or synthesize training data from the dev/test distribution",
    ],
}


@dataclass(frozen=True)
class Diagnosis:
    """Result of :func:`diagnose`; errors are fractions in [0, 1]."""

    avoidable_bias: float
    variance: float
    high_bias: bool
    high_variance: bool
    label: str
    advice: tuple
    data_mismatch: float | None = None


def diagnose(train_error, dev_error, *, human_error=0.0, train_dev_error=None, tolerance=0.02):
    """Name the problem from the error gaps.

    Avoidable bias is ``train_error - human_error`` (human error stands in for the Bayes
    error); variance is ``dev_error - train_error``. A gap above ``tolerance`` is "high". With
    ``human_error = 0``, train/dev errors of 1%/11%, 15%/16%, 15%/30% and 0.5%/1% give the
    lecture's high variance, high bias, high bias and high variance, and low bias and low
    variance.

    When ``train_dev_error`` (error on held-out data from the training distribution) is
    given, variance is ``train_dev_error - train_error`` and the rest of the gap,
    ``dev_error - train_dev_error``, is data mismatch.

    Parameters
    ----------
    train_error, dev_error, human_error : float in [0, 1]
    train_dev_error : float in [0, 1] or None
    tolerance : float >= 0

    Returns
    -------
    Diagnosis
    """
    train_error = check_number("train_error", train_error, low=0.0, high=1.0)
    dev_error = check_number("dev_error", dev_error, low=0.0, high=1.0)
    human_error = check_number("human_error", human_error, low=0.0, high=1.0)
    tolerance = check_number("tolerance", tolerance, low=0.0)
    avoidable_bias = train_error - human_error
    mismatch = None
    if train_dev_error is None:
        variance = dev_error - train_error
    else:
        train_dev_error = check_number("train_dev_error", train_dev_error, low=0.0, high=1.0)
        variance = train_dev_error - train_error
        mismatch = dev_error - train_dev_error
    high_bias = avoidable_bias > tolerance
    high_variance = variance > tolerance
    problems = [name for name, on in (("high bias", high_bias), ("high variance", high_variance)) if on]
    if mismatch is not None and mismatch > tolerance:
        problems.append("data mismatch")
    label = " and ".join(problems) if problems else "low bias and low variance"
    advice = tuple(tip for problem in problems for tip in ADVICE[problem])
    return Diagnosis(avoidable_bias, variance, high_bias, high_variance, label, advice, mismatch)
