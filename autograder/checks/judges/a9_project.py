"""The judging classes of a9 (the project's final model), which a sealed bundle ships (see :mod:`..recorded`)."""

import numpy as np

from ..core import Check, StudentError
from ..helpers import describe
from ..registry import HINT

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
    """Trains the student's final model and judges it on the dev set by behaviour only
    (reproducible, accurate enough, not trained on the dev set; see ``a9_project``).

    Parameters
    ----------
    predict : callable (X, params, *, bn_running) -> probabilities (C, m)
        ``introdl.predict_proba``: the forward pass of a trained network, which this judge does
        not hold. A sealed bundle supplies it to :func:`~.recorded.replay` (it is no graded
        function of the project).
    visible_threshold, hidden_threshold : float
        The dev accuracy the visible and the hidden cases ask for.
    """

    def __init__(self, name, *, predict=None, visible_threshold, hidden_threshold, **kw):
        super().__init__(name, **kw)
        self.predict = predict
        self.visible_threshold, self.hidden_threshold = visible_threshold, hidden_threshold

    def options(self):
        return {**super().options(), "visible_threshold": self.visible_threshold,
                "hidden_threshold": self.hidden_threshold}

    def _probs(self, model, X):
        params, bn_running = model
        L = sum(1 for key in params if key.startswith("W") and key[1:].isdigit())
        missing = [l for l in range(1, L) if f"gamma{l}" in params and l not in bn_running]
        if missing:
            raise StudentError(f"layer {missing[0]} has gamma{missing[0]} but no running statistics{HINT}{NO_RUNNING}")
        try:
            with np.errstate(all="ignore"):
                return self.predict(X, params, bn_running=bn_running)
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
        threshold = self.hidden_threshold if case.hidden else self.visible_threshold
        if dev_acc >= threshold:
            return None
        hint = HIGH_BIAS if train_acc < 0.99 else HIGH_VARIANCE
        return (f"dev accuracy {dev_acc:.2%} (training accuracy {train_acc:.2%}), below the {threshold:.1%} "
                f"this project asks for{HINT}{hint}")
