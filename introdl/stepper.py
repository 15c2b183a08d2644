"""One mini-batch step of training, behind one interface with two implementations.

A *stepper* owns the parameters and the optimizer state while :func:`introdl.train` runs.
Each call of ``step`` does what the lecture's inner loop does for one mini-batch: forward
pass, cost, backward pass, optimizer update. The loop in ``train`` (epochs, mini-batches,
schedule, dev cost, early stopping) is the same whichever stepper does the work:

* :class:`ReadableStep` calls the package's functions (``model_forward``, ``compute_cost``,
  ``model_backward`` and an optimizer's pure ``update``). It handles every network (tanh,
  batch norm) and any ``(init, update)`` pair, such as a student's own Adam.
* :class:`introdl.fused.FusedStep` performs the same operations in the same order, in
  place and without argument checks: the same bits in float64, faster, and float32 is
  possible. It covers ReLU hidden layers without batch norm and the built-in optimizers,
  and only while :func:`introdl.library.function` gives the reference of every graded
  function it re-implements (dropout, L2, softmax cost, the optimizer): a student's own one
  must really run. A build without :mod:`introdl.fused` (the sealed release) has only the
  readable step.

:func:`make_stepper` picks one. A stepper has:

``step(X, Y, *, rng, lr) -> float``
    One forward, backward and update on the mini-batch ``X`` (n_x, m), ``Y`` (n_L, m);
    returns the mini-batch cost (with the L2 term) at the parameters *before* the update.
    ``rng`` draws the dropout masks, ``lr`` is this epoch's learning rate. The readable
    step raises :class:`Diverged` when its checks meet NaN or infinity; the fused step
    checks nothing and returns the non-finite cost, which ``train`` catches per epoch.
``export() -> dict``
    The current parameters as float64 arrays that later steps do not modify, so ``train``
    can keep them as the best epoch's parameters (the readable step relies on ``update``
    returning new arrays, as the package's optimizers do).
``bn_running : dict``
    Batch-norm running statistics ``{l: {"mean", "var"}}`` for prediction (empty without
    batch norm).
"""

import importlib
from typing import Protocol

import numpy as np

from ._checks import NonFiniteError
from .network import compute_cost, model_backward, model_forward
from .optimizers import OPTIMIZERS


class Stepper(Protocol):
    """The interface described in the module docstring."""

    bn_running: dict

    def step(self, X, Y, *, rng, lr) -> float: ...

    def export(self) -> dict: ...


class Diverged(ArithmeticError):
    """The forward or backward pass met NaN or infinity: the parameters have diverged.

    ``train`` turns it into a ``FloatingPointError`` that names the epoch and the learning
    rate, which a stepper does not know.
    """


def resolve_optimizer(optimizer):
    """The ``(init, update)`` pair for a built-in name, or the pair itself.

    Parameters
    ----------
    optimizer : {"gd", "momentum", "rmsprop", "adam"} or (init, update) pair

    Returns
    -------
    init : callable params -> state
    update : callable (params, grads, state, *, lr, **kwargs) -> (params, state)
    """
    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {tuple(OPTIMIZERS)} or an (init, update) pair, got {optimizer!r}"
            )
        return OPTIMIZERS[optimizer]
    init, update = optimizer
    return init, update


class ReadableStep:
    """A mini-batch step built from the package's readable functions.

    Parameters
    ----------
    params : dict of ndarray
        Initial parameters, copied to float64.
    output : {"softmax", "sigmoid"}
    hidden : {"relu", "tanh", "linear"}
    keep_prob : float or sequence, dropout keep probability per hidden layer
    lamd : float >= 0, L2 strength
    optimizer : built-in name or (init, update) pair, see :func:`resolve_optimizer`
    optimizer_kwargs : dict or None
        Extra keywords for ``update`` (``beta``, ``beta1``, ``beta2``, ``eps``).
    """

    def __init__(self, params, *, output, hidden, keep_prob, lamd, optimizer, optimizer_kwargs=None):
        self.output, self.hidden, self.keep_prob, self.lamd = output, hidden, keep_prob, lamd
        init, self.update = resolve_optimizer(optimizer)
        self.optimizer_kwargs = dict(optimizer_kwargs or {})
        self.params = {key: np.array(value, dtype=np.float64) for key, value in params.items()}
        self.state = init(self.params)
        self.bn_running = {}

    def step(self, X, Y, *, rng, lr):
        """Forward, cost, backward and update on one mini-batch.

        Parameters
        ----------
        X : ndarray (n_x, m)
        Y : ndarray (n_L, m)
        rng : numpy.random.Generator, draws the dropout masks
        lr : float > 0, this epoch's learning rate

        Returns
        -------
        float
            The mini-batch cost with the L2 term, at the parameters before the update.

        Raises
        ------
        Diverged
            When the forward or backward pass meets NaN or infinity.
        """
        layers = {"output": self.output, "hidden": self.hidden}
        try:
            ZL, caches, self.bn_running = model_forward(X, self.params, keep_prob=self.keep_prob, rng=rng,
                                                        bn_running=self.bn_running, mode="train", **layers)
            cost = compute_cost(ZL, Y, params=self.params, lamd=self.lamd, output=self.output)
            grads = model_backward(ZL, Y, caches, params=self.params, lamd=self.lamd, **layers)
        except NonFiniteError as err:  # the data were checked by train(): the parameters diverged
            raise Diverged(str(err)) from err
        self.params, self.state = self.update(self.params, grads, self.state, lr=lr, **self.optimizer_kwargs)
        return cost

    def export(self):
        """The current parameters. An update returns new dicts, so later steps leave these alone."""
        return self.params


def make_stepper(params, *, output, hidden, keep_prob, lamd, optimizer, optimizer_kwargs=None,
                 fused=None, dtype=np.float64):
    """The stepper that :func:`introdl.train` uses.

    Parameters
    ----------
    params, output, hidden, keep_prob, lamd, optimizer, optimizer_kwargs
        As in :class:`ReadableStep`.
    fused : bool or None
        True demands :class:`~introdl.fused.FusedStep`, False the readable step; None takes
        the fused step whenever it applies (ReLU hidden layers, no batch norm, a built-in
        optimizer name), because it gives the same numbers faster.
    dtype : numpy float type
        float64, or float32 with the fused step.

    Returns
    -------
    ReadableStep or FusedStep
    """
    resolve_optimizer(optimizer)  # an unknown name is the first error to report
    fused_module = _fused_module()
    supported = fused_module is not None and fused_module.fused_supported(params, hidden=hidden, optimizer=optimizer)
    needs = "ReLU hidden layers, no batch norm, a built-in optimizer name and the reference functions"
    if fused and not supported:
        raise ValueError(f"fused=True needs {needs}")
    if np.dtype(dtype) != np.float64 and not supported:
        raise ValueError(f"dtype={np.dtype(dtype).name} needs the fused path ({needs})")
    options = {"output": output, "keep_prob": keep_prob, "lamd": lamd, "optimizer": optimizer,
               "optimizer_kwargs": optimizer_kwargs}
    use_fused = supported if fused is None else fused
    if use_fused:
        return fused_module.FusedStep(params, dtype=dtype, **options)
    return ReadableStep(params, hidden=hidden, **options)


def _fused_module():
    """:mod:`introdl.fused`, or None in a build without it (it re-implements graded functions)."""
    try:  # import_module, since `from . import fused` reports a missing submodule as a plain ImportError
        return importlib.import_module(f"{__package__}.fused")
    except ModuleNotFoundError as err:
        if err.name != f"{__package__}.fused":
            raise
        return None
