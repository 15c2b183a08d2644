"""Optimizers as pure init/update pairs.

``state = <name>_init(params)`` and ``params, state = <name>_update(params, grads, state, *,
lr, ...)``. Nothing is modified in place: every update returns new dicts, so a notebook can
keep the state of each step and a test can replay steps exactly. Gradients use the names of
the parameters with a ``d`` in front (``grads["dW1"]`` for ``params["W1"]``); so do the
moment estimates (``v["dW1"]`` is the lecture's ``v_{dW^{[1]}}``).

Which implementation runs inside :func:`introdl.train`: by default (``fused=None``) **not**
these functions but :class:`introdl.fused.FusedStep`, whenever it applies: ``optimizer`` is
one of the names ``"gd"``, ``"momentum"``, ``"rmsprop"``, ``"adam"``, the hidden layers are
ReLU and there is no batch norm. Its ``_update`` applies the same formulas in the same
order, in place, so in float64 training gives the same bits either way
(``tests/test_fused.py`` and ``tests/test_ref_stepper.py`` check it). It is the default
because these functions check their arguments and build new dicts of parameters and moments
on every step, which costs a lot next to the small matrix products of small networks: a
whole ``train`` call took 1.5 to 2.2 times longer on the readable path for small networks
such as 2-20-20-1 and the README's 64-128-64-10 (batches of 64), against 1.2 times for the
784-256-128-10 step of ``benchmarks/results.md``; and only the fused step runs in float32.
These functions run instead when ``optimizer`` is an ``(init, update)`` pair (a student's
own Adam, which then really is the code that trains), when the network has batch norm or
tanh/linear hidden layers, or with ``fused=False``; see :mod:`introdl.stepper`. A name in
:data:`OPTIMIZERS` gives whatever :func:`introdl.library.function` gives for its pair at the
time (a student's own Adam in the sealed release), and then the fused step stands aside too.
"""

from collections.abc import Mapping

import numpy as np

from ._checks import as_array, check_grads_match, check_int, check_number
from .library import function


def _check_step(params, grads, lr):
    """Checked float64 copies of params and grads (no NaN), and the learning rate."""
    check_grads_match(params, grads)
    params = {key: as_array(key, value) for key, value in params.items()}
    grads = {key: as_array(key, value) for key, value in grads.items()}
    return params, grads, check_number("lr", lr, low=0.0, low_open=True)


def _zeros_like(params):
    return {"d" + key: np.zeros_like(np.asarray(value, dtype=np.float64)) for key, value in params.items()}


def gd_update(params, grads, *, lr):
    """One gradient-descent step ``W = W - lr * dW`` for every parameter.

    Parameters
    ----------
    params : dict of ndarray
    grads : dict of ndarray, ``"d" + key`` for each key of ``params``
    lr : float > 0

    Returns
    -------
    dict of ndarray, the new parameters
    """
    params, grads, lr = _check_step(params, grads, lr)
    return {key: value - lr * grads["d" + key] for key, value in params.items()}


def momentum_init(params):
    """Momentum state: ``{"v": {"dW1": zeros, "db1": zeros, ...}}``."""
    return {"v": _zeros_like(params)}


def momentum_update(params, grads, state, *, lr, beta=0.9):
    """Gradient descent with momentum.

    ``v = beta v + (1 - beta) dW`` and ``W = W - lr v`` (no bias correction, as in the
    lecture: after about ``1 / (1 - beta)`` steps the bias has gone).

    Returns
    -------
    params : dict of ndarray
    state : dict ``{"v": ...}``
    """
    params, grads, lr = _check_step(params, grads, lr)
    beta = check_number("beta", beta, low=0.0, high=1.0, high_open=True)
    v = {g: beta * state["v"][g] + (1 - beta) * grads[g] for g in state["v"]}
    new_params = {key: value - lr * v["d" + key] for key, value in params.items()}
    return new_params, {"v": v}


def rmsprop_init(params):
    """RMSprop state: ``{"s": {"dW1": zeros, ...}}``."""
    return {"s": _zeros_like(params)}


def rmsprop_update(params, grads, state, *, lr, beta2=0.999, eps=1e-8):
    """RMSprop: ``s = beta2 s + (1 - beta2) dW**2`` and ``W = W - lr dW / (sqrt(s) + eps)``.

    Directions with large, oscillating gradients get smaller steps. ``eps`` sits outside the
    square root and only guards against division by zero.
    """
    params, grads, lr = _check_step(params, grads, lr)
    beta2 = check_number("beta2", beta2, low=0.0, high=1.0, high_open=True)
    eps = check_number("eps", eps, low=0.0, low_open=True)
    s = {g: beta2 * state["s"][g] + (1 - beta2) * grads[g] ** 2 for g in state["s"]}
    new_params = {
        key: value - lr * grads["d" + key] / (np.sqrt(s["d" + key]) + eps)
        for key, value in params.items()
    }
    return new_params, {"s": s}


def adam_init(params):
    """Adam state: ``{"t": 0, "v": {...zeros}, "s": {...zeros}}``."""
    return {"t": 0, "v": _zeros_like(params), "s": _zeros_like(params)}


def adam_update(params, grads, state, *, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam: momentum and RMSprop with bias correction.

    With ``t`` counted from 1 (incremented before use)::

        v = beta1 v + (1 - beta1) dW            s = beta2 s + (1 - beta2) dW**2
        v_hat = v / (1 - beta1**t)              s_hat = s / (1 - beta2**t)
        W = W - lr v_hat / (sqrt(s_hat) + eps)

    The bias correction is applied to copies: the returned state keeps the uncorrected
    ``v`` and ``s``, which the next step needs.

    Returns
    -------
    params : dict of ndarray
    state : dict ``{"t", "v", "s"}``
    """
    params, grads, lr = _check_step(params, grads, lr)
    beta1 = check_number("beta1", beta1, low=0.0, high=1.0, high_open=True)
    beta2 = check_number("beta2", beta2, low=0.0, high=1.0, high_open=True)
    eps = check_number("eps", eps, low=0.0, low_open=True)
    t = check_int("state['t']", state["t"], low=0) + 1
    v = {g: beta1 * state["v"][g] + (1 - beta1) * grads[g] for g in state["v"]}
    s = {g: beta2 * state["s"][g] + (1 - beta2) * grads[g] ** 2 for g in state["s"]}
    new_params = {}
    for key, value in params.items():
        v_hat = v["d" + key] / (1 - beta1**t)
        s_hat = s["d" + key] / (1 - beta2**t)
        new_params[key] = value - lr * v_hat / (np.sqrt(s_hat) + eps)
    return new_params, {"t": t, "v": v, "s": s}


def _gd_init(params):
    return {}


def _gd_step(params, grads, state, *, lr):
    return gd_update(params, grads, lr=lr), state


class _Optimizers(Mapping):
    """Name -> (init, update) pair, all with the ``update(params, grads, state, *, lr, ...)`` form.

    A graded pair is looked up by name at each lookup (:func:`introdl.library.function`), not
    held: so it is the student's own where one is provided, and this table still works in a
    build without the reference optimizers.
    """

    GRADED = ("momentum", "rmsprop", "adam")

    def __getitem__(self, name):
        if name == "gd":
            return _gd_init, _gd_step
        if name not in self.GRADED:
            raise KeyError(name)
        return function(f"{name}_init"), function(f"{name}_update")

    def __iter__(self):
        return iter(("gd", *self.GRADED))

    def __len__(self):
        return 1 + len(self.GRADED)


OPTIMIZERS = _Optimizers()
"""Name -> (init, update) pairs: ``"gd"``, ``"momentum"``, ``"rmsprop"``, ``"adam"``."""
