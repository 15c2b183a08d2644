"""Check for the closing project: the student's final model is reproducible and good on dev.

The student's ``final_model(X_train, Y_train, X_dev, Y_dev, *, rng)`` trains the network they
chose on the dev set and returns the ``TrainResult`` of ``dl.train`` (or a pair
``(params, bn_running)``). The check trains it on the project's data (the split of the notebook's
data cell: the digits, ``train_dev_test_split(..., (0.7, 0.15, 0.15), rng=default_rng(0))``,
normalized with the training statistics) and judges behaviour only:

- visible: two calls with the same seed give the same model (so the dev accuracy the student
  reports can be reproduced), and its dev accuracy reaches ``VISIBLE_THRESHOLD``;
- hidden: other seeds (initialization, shuffling, dropout) still reach ``HIDDEN_THRESHOLD``: a
  recipe, not a lucky draw.

The test set is never used here. Each case trains a network, so this check takes about a second.
"""

import functools

import numpy as np

import introdl

from .core import Case, Mistake
from .judges.a9_project import HIGH_BIAS, LEAK, NO_RUNNING, NOT_REPRODUCIBLE, FinalModelCheck
from .registry import register

SPLIT_SEED = 0
RATIOS = (0.7, 0.15, 0.15)
VISIBLE_THRESHOLD = 0.97
HIDDEN_THRESHOLD = 0.965

@functools.cache
def _project_data():
    """(X_train, Y_train, X_dev, Y_dev) exactly as the notebook's data cell builds them."""
    X, y = introdl.load_digits()
    (X_train, y_train), (X_dev, y_dev), _ = introdl.train_dev_test_split(
        X, y, RATIOS, rng=np.random.default_rng(SPLIT_SEED))
    mu, sigma = introdl.fit_normalizer(X_train)
    X_train, X_dev = introdl.normalize(X_train, mu, sigma), introdl.normalize(X_dev, mu, sigma)
    data = (X_train, introdl.one_hot(y_train, 10), X_dev, introdl.one_hot(y_dev, 10))
    for array in data:
        array.flags.writeable = False  # shared between cases: the cases copy them anyway
    return data


def _cases(rng, hidden):
    data = _project_data()
    if not hidden:
        return [Case(data, label="the project's train and dev sets, rng=np.random.default_rng(0), called twice",
                     seed=0)]
    return [Case(data, seed=int(rng.integers(1, 2**31))) for _ in range(2)]


def _reference_final_model(X_train, Y_train, X_dev, Y_dev, *, rng):
    """A good recipe: He init, mini-batch Adam, L2, early stopping on the dev cost."""
    params = introdl.initialize_parameters([X_train.shape[0], 128, 64, Y_train.shape[0]], "he", rng=rng)
    return introdl.train(params, X_train, Y_train, X_dev=X_dev, Y_dev=Y_dev, rng=rng, optimizer="adam", lr=1e-3,
                         epochs=60, batch_size=64, lamd=0.5, patience=10, progress=False)


def _alternative(X_train, Y_train, X_dev, Y_dev, *, rng):
    """Another good recipe: dropout and learning-rate decay instead of L2, returned as a pair."""
    params = introdl.initialize_parameters([X_train.shape[0], 128, 128, Y_train.shape[0]], "he", rng=rng)
    result = introdl.train(params, X_train, Y_train, X_dev=X_dev, Y_dev=Y_dev, rng=rng, epochs=40, batch_size=64,
                           schedule=lambda epoch: introdl.inverse_time_decay(epoch, 2e-3, 0.05), keep_prob=0.9,
                           progress=False)
    return result.params, result.bn_running


def _short(X_train, Y_train, *, rng, epochs, lr=1e-3, batchnorm=False):
    """A small network trained briefly without a dev set: material for the catalogue's mistakes."""
    params = introdl.initialize_parameters([X_train.shape[0], 64, Y_train.shape[0]], "he", rng=rng,
                                           batchnorm=batchnorm)
    return introdl.train(params, X_train, Y_train, rng=rng, lr=lr, epochs=epochs, batch_size=64, progress=False)


FINAL_MODEL = FinalModelCheck(
    "final_model", points=3, reference=_reference_final_model, make_cases=_cases, predict=introdl.predict_proba,
    visible_threshold=VISIBLE_THRESHOLD, hidden_threshold=HIDDEN_THRESHOLD,
    mistakes=[
        # Trained long enough to be good, so that the unseeded generator is its only fault.
        Mistake("global_rng", NOT_REPRODUCIBLE,
                lambda Xt, Yt, Xd, Yd, *, rng: _short(Xt, Yt, rng=np.random.default_rng(), epochs=20, lr=3e-3)),
        Mistake("underfit", HIGH_BIAS, lambda Xt, Yt, Xd, Yd, *, rng: _short(Xt, Yt, rng=rng, epochs=2, lr=3e-4)),
        Mistake("trained_on_dev", LEAK, lambda Xt, Yt, Xd, Yd, *, rng: _short(Xd, Yd, rng=rng, epochs=40, lr=3e-3)),
        Mistake("no_running", NO_RUNNING,
                lambda Xt, Yt, Xd, Yd, *, rng: (_short(Xt, Yt, rng=rng, epochs=2, batchnorm=True).params, {})),
    ],
    alternatives=[_alternative],
)

register(FINAL_MODEL)
