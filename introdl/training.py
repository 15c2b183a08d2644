"""A training loop: mini-batches, any optimizer, a schedule, early stopping and a history.

:func:`train` is the lecture's loop: for each epoch (counted from 1) take the learning rate
from the schedule, shuffle the training set into mini-batches and take one step per batch,
then record the costs and accuracies and ask :func:`introdl.early_stopping` whether to stop.
The graded functions it uses (``random_mini_batches``, ``early_stopping``) are looked up with
:func:`introdl.library.function` at each call, so a student's own ones can drive the loop.
What one step does (forward, backward, optimizer update) is the stepper's business
(:mod:`introdl.stepper`), so the loop is the same for the readable and the fused step.
"""

import sys
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from ._checks import as_array, check_int, check_number, check_rng, check_same_columns
from .library import function
from .network import classes_of, compute_cost, labels_of, model_forward, n_layers
from .stepper import Diverged, make_stepper


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    params : dict of ndarray
        The final parameters (the best ones on dev when early stopping restored them).
    history : dict of list
        Per epoch: ``epoch``, ``lr``, ``cost`` (mean mini-batch cost, with the L2 term),
        ``train_acc``, and with a dev set ``dev_cost`` (cross-entropy, without the L2 term)
        and ``dev_acc``.
    bn_running : dict
        Batch-norm running statistics for prediction (empty without batch norm).
    best_epoch : int or None
        The epoch whose parameters early stopping kept, counted from 1 like
        ``history["epoch"]`` and the lecture: the index (from 0) that
        :func:`introdl.early_stopping` returns, plus 1. None when ``patience`` is None.
    stopped_early : bool
    """

    params: dict
    history: dict = field(default_factory=dict)
    bn_running: dict = field(default_factory=dict)
    best_epoch: int | None = None
    stopped_early: bool = False


def _checked_examples(name_X, X, name_Y, Y):
    """``X`` (n_x, m) and ``Y`` (n_L, m) as checked float64 arrays with the same ``m``."""
    X, Y = as_array(name_X, X, ndim=2), as_array(name_Y, Y, ndim=2)
    check_same_columns(name_X, X, name_Y, Y)
    return X, Y


def _learning_rate(schedule, lr, epoch):
    """This epoch's learning rate: ``schedule(epoch)`` (epochs from 1), or the constant ``lr``."""
    if not schedule:
        return lr
    return check_number("schedule(epoch)", schedule(epoch), low=0.0, low_open=True)


def _diverged(cost, epoch, lr):
    """The error for a non-finite cost: raised at once, before NaN reaches the next forward pass."""
    return FloatingPointError(f"the cost became {cost} at epoch {epoch}: lower the learning rate (lr={lr})")


def _batches(X, Y, batch_size, rng):
    """This epoch's mini-batches: a new shuffle (``random_mini_batches``), or, when one batch
    holds every example, the training set itself.

    Full-batch gradient descent needs no shuffle: the gradient of all the examples does not
    depend on their order (up to rounding). So a notebook that trains with full batches does
    not need the graded ``random_mini_batches``, and draws nothing from ``rng`` for it.
    """
    if batch_size is None or batch_size >= X.shape[1]:
        return [(X, Y)]
    return function("random_mini_batches")(X, Y, batch_size, rng=rng)


def _run_epoch(stepper, X, Y, *, batch_size, rng, lr, epoch):
    """One pass over the training set, one step per mini-batch.

    Parameters
    ----------
    stepper : :class:`introdl.stepper.Stepper`, from :func:`introdl.stepper.make_stepper`
    X : ndarray (n_x, m)
    Y : ndarray (n_L, m)
    batch_size : int >= 1, or None for full batches
    rng : numpy.random.Generator, draws the shuffle and the dropout masks
    lr : float, this epoch's learning rate
    epoch : int, counted from 1 (for the error message)

    Returns
    -------
    float
        The mean of the mini-batch costs weighted by batch size, so that the short last
        batch counts for its examples only.
    """
    costs, sizes = [], []
    for X_batch, Y_batch in _batches(X, Y, batch_size, rng):
        try:
            costs.append(stepper.step(X_batch, Y_batch, rng=rng, lr=lr))
        except Diverged as err:
            raise _diverged(np.nan, epoch, lr) from err
        sizes.append(X_batch.shape[1])
    cost = float(np.average(costs, weights=sizes))
    if not np.isfinite(cost):  # the fused step checks nothing: its NaN shows up here
        raise _diverged(cost, epoch, lr)
    return cost


def _record(history, **values):
    """Append this epoch's ``values`` to the lists of ``history``."""
    for name, value in values.items():
        history[name].append(value)


def _evaluate(X, Y, params, *, output, hidden, bn_running):
    """Cross-entropy and accuracy at test time. No L2 term: the penalty belongs to the
    training objective, not to how well the model does on data (and it would scale with 1/m)."""
    ZL, _, _ = model_forward(X, params, output=output, hidden=hidden, bn_running=bn_running, mode="test")
    cost = compute_cost(ZL, Y, output=output)
    # The labels of predict() without a second forward pass: the largest logit, or for one
    # sigmoid unit a positive logit (A > 0.5), which differs only where A rounds to exactly 0.5.
    y_pred = classes_of(ZL, output, threshold=0.0)
    acc = float(np.mean(y_pred == labels_of(Y, output)))
    return cost, acc


def train(params, X, Y, *, rng, X_dev=None, Y_dev=None, output="softmax", hidden="relu",
          optimizer="adam", lr=1e-3, optimizer_kwargs=None, schedule=None, epochs=50,
          batch_size=64, lamd=0.0, keep_prob=1.0, patience=None, min_delta=0.0, progress=True,
          fused=None, dtype=np.float64):
    """Train a network with mini-batch gradient descent.

    Parameters
    ----------
    params : dict
        Initial parameters (from :func:`introdl.initialize_parameters`); not modified.
    X : ndarray (n_x, m)
    Y : ndarray (n_L, m)
        One-hot columns for a softmax output; for a sigmoid output a 0/1 row, or one-hot
        columns (one logistic unit per class).
    rng : numpy.random.Generator
        Draws the mini-batch permutations and the dropout masks.
    X_dev, Y_dev : ndarray or None
        A dev set, evaluated after every epoch (needed for early stopping).
    output, hidden : see :func:`introdl.network.model_forward`
    optimizer : {"gd", "momentum", "rmsprop", "adam"} or (init, update) pair
        A pair lets a student's own ``adam_init``/``adam_update`` drive the training.
    lr : float > 0
        Learning rate, used when ``schedule`` is None.
    optimizer_kwargs : dict, extra keywords for the update (``beta1``, ...)
    schedule : callable (epoch) -> float, or None
        Learning rate for each epoch, epochs counted from 1 as in the lecture.
    epochs : int >= 1
    batch_size : int >= 1, or None
        None, or a size of at least ``m``: full-batch steps on the training set as it is
        (no shuffle). Otherwise a new shuffle every epoch, cut into batches of this size.
    lamd : float >= 0, L2 strength
    keep_prob : float or sequence, dropout keep probability per hidden layer
    patience : int or None
        Early stopping: stop after ``patience`` epochs without a better dev cost. With a
        patience the parameters of the best dev epoch are returned, whether or not training
        stopped early.
    min_delta : float >= 0, smallest dev-cost decrease that counts as better
    progress : bool
        Show a progress bar (on stdout) for loops that take more than a moment.
    fused : bool or None
        Which stepper does each mini-batch step (see :mod:`introdl.stepper`): True the
        fused :class:`introdl.fused.FusedStep` (same numbers, in place, faster), False the
        readable one. None uses the fused one whenever it applies: ReLU hidden layers, no
        batch norm, a built-in optimizer name.
    dtype : numpy float type
        Arithmetic of the training steps; float32 needs the fused path.

    Returns
    -------
    TrainResult
    """
    check_rng(rng)
    X, Y = _checked_examples("X", X, "Y", Y)
    epochs = check_int("epochs", epochs, low=1)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, low=1)
    lamd = check_number("lamd", lamd, low=0.0)
    if schedule is None:
        check_number("lr", lr, low=0.0, low_open=True)
    has_dev = X_dev is not None
    if has_dev:
        X_dev, Y_dev = _checked_examples("X_dev", X_dev, "Y_dev", Y_dev)
    if patience is not None and not has_dev:
        raise ValueError("early stopping (patience) needs a dev set: pass X_dev and Y_dev")
    n_layers(params)
    layers = {"output": output, "hidden": hidden}
    stepper = make_stepper(params, keep_prob=keep_prob, lamd=lamd, optimizer=optimizer,
                           optimizer_kwargs=optimizer_kwargs, fused=fused, dtype=dtype, **layers)

    history = {"epoch": [], "lr": [], "cost": [], "train_acc": []}
    if has_dev:
        history.update(dev_cost=[], dev_acc=[])
    best = None  # (epoch, params, bn_running) of the lowest dev cost so far
    stopped_early = False
    bar = tqdm(range(1, epochs + 1), desc="training", unit="epoch", disable=not progress,
               file=sys.stdout, delay=1.0, leave=False)
    # Overflow warnings would reach stderr; a diverging run raises FloatingPointError instead.
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in bar:
            lr_epoch = _learning_rate(schedule, lr, epoch)
            cost = _run_epoch(stepper, X, Y, batch_size=batch_size, rng=rng, lr=lr_epoch, epoch=epoch)
            params, bn_running = stepper.export(), stepper.bn_running
            _, train_acc = _evaluate(X, Y, params, bn_running=bn_running, **layers)
            _record(history, epoch=epoch, lr=lr_epoch, cost=cost, train_acc=train_acc)
            if has_dev:
                dev_cost, dev_acc = _evaluate(X_dev, Y_dev, params, bn_running=bn_running, **layers)
                _record(history, dev_cost=dev_cost, dev_acc=dev_acc)
            if patience is not None:
                stop, best_index = function("early_stopping")(history["dev_cost"], patience, min_delta=min_delta)
                if best_index == epoch - 1:  # early_stopping indexes dev costs from 0, epochs count from 1
                    best = (epoch, params, bn_running)
                if stop:
                    stopped_early = True
                    break
            bar.set_postfix(cost=f"{cost:.4f}", refresh=False)
    bar.close()

    best_epoch = None
    if best is not None:
        best_epoch, params, bn_running = best
    return TrainResult(params, history, bn_running, best_epoch, stopped_early)
