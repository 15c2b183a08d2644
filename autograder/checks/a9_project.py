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

from .core import Case, Check, Mistake, StudentError
from .helpers import describe
from .registry import HINT, register

SPLIT_SEED = 0
RATIOS = (0.7, 0.15, 0.15)
VISIBLE_THRESHOLD = 0.97
HIDDEN_THRESHOLD = 0.965

NOT_REPRODUCIBLE = ("two calls with the same rng gave different models: draw every random number (initialization, "
                    "mini-batches, dropout) from the rng argument, e.g. pass rng=rng to "
                    "dl.initialize_parameters and dl.train; never np.random or a new default_rng()")
HIGH_BIAS = ("the model does not even fit its training data well (high bias): train longer, use a larger "
             "learning rate or a bigger network, or regularize less")
HIGH_VARIANCE = ("the model fits its training data but not the dev set (high variance): regularize more "
                 "(L2, dropout), stop early on the dev cost")
LEAK = ("the model does better on the dev set than on its own training set: did it train on the dev set? "
        "Train on X_train, Y_train only; X_dev, Y_dev are for early stopping and choices")
NO_RUNNING = ("the parameters use batch norm (gamma, beta) but no running statistics came with them: return "
              "the TrainResult of dl.train, whose bn_running holds them, or (params, bn_running)")


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


def _model(out):
    """(params, bn_running) from what final_model returned."""
    if hasattr(out, "params"):
        return out.params, getattr(out, "bn_running", None) or {}
    if isinstance(out, tuple | list) and len(out) == 2 and isinstance(out[0], dict):
        return out[0], out[1] or {}
    if isinstance(out, dict) and any(key.startswith("W") for key in out):
        return out, {}
    raise StudentError(f"it should return the TrainResult of dl.train (or (params, bn_running)), got {describe(out)}")


def _better_on_dev(dev_acc, train_acc, *, dev_size, train_size):
    """Whether a model does better on the dev set than on its training set by more than chance.

    A model that never saw the dev set scores there about what it scores on training data or less;
    by chance alone the dev accuracy may be higher by a few standard errors of the two measured
    accuracies (an underfit model at 25% on both differs by several points on 270 dev examples).
    A larger gap (at least 2 points) says the model has seen the dev set.
    """
    p = min(max(train_acc, 0.0), 1.0)
    noise = 3 * np.sqrt(p * (1 - p) * (1 / dev_size + 1 / train_size))
    return dev_acc - train_acc > max(0.02, noise)


class FinalModelCheck(Check):
    """Trains the student's final model and judges it on the dev set (see the module docstring)."""

    def cases(self, rng, hidden):
        return _cases(rng, hidden)

    def _probs(self, model, X):
        params, bn_running = model
        L = sum(1 for key in params if key.startswith("W") and key[1:].isdigit())
        missing = [l for l in range(1, L) if f"gamma{l}" in params and l not in bn_running]
        if missing:
            raise StudentError(f"layer {missing[0]} has gamma{missing[0]} but no running statistics{HINT}{NO_RUNNING}")
        try:
            with np.errstate(all="ignore"):
                return introdl.predict_proba(X, params, bn_running=bn_running)
        except Exception as err:  # noqa: BLE001 - parameters that do not fit the data
            raise StudentError(f"its parameters cannot classify the dev set ({type(err).__name__}: {err})") from None

    def judge(self, student_fn, case):
        X_train, Y_train, X_dev, Y_dev = case.args
        model = _model(self.call(student_fn, case))
        probs = self._probs(model, X_dev)
        if not case.hidden:
            again = self._probs(_model(self.call(student_fn, case)), X_dev)  # a fresh rng, same seed
            if probs.shape != again.shape or not np.allclose(probs, again, rtol=1e-7, atol=1e-10):
                return f"the model is not reproducible{HINT}{NOT_REPRODUCIBLE}"
        dev_acc = float(np.mean(probs.argmax(axis=0) == Y_dev.argmax(axis=0)))
        train_acc = float(np.mean(self._probs(model, X_train).argmax(axis=0) == Y_train.argmax(axis=0)))
        if _better_on_dev(dev_acc, train_acc, dev_size=X_dev.shape[1], train_size=X_train.shape[1]):
            return f"dev accuracy {dev_acc:.2%} but training accuracy only {train_acc:.2%}{HINT}{LEAK}"
        threshold = HIDDEN_THRESHOLD if case.hidden else VISIBLE_THRESHOLD
        if dev_acc >= threshold:
            return None
        hint = HIGH_BIAS if train_acc < 0.99 else HIGH_VARIANCE
        return (f"dev accuracy {dev_acc:.2%} (training accuracy {train_acc:.2%}), below the {threshold:.1%} "
                f"this project asks for{HINT}{hint}")


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
    "final_model", points=3, reference=_reference_final_model,
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
