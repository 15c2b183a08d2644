"""A fused training step: the readable path's numbers, computed in place.

:class:`FusedStep` is one of the two steppers of :mod:`introdl.stepper`; ``train`` uses it
for the common case (ReLU hidden layers, no batch norm, a built-in optimizer). It performs
exactly the operations of ``model_forward``, ``model_backward``, ``compute_cost`` and the
optimizers' ``*_update`` in the same order, so in float64 it gives the same bits (a test
checks it), but it skips argument checks, updates the parameters and optimizer moments in
place instead of building new dicts, and can run in float32. The dropout masks are drawn
exactly as ``dropout_forward`` draws them.
"""

import numpy as np

from .library import uses_reference
from .network import keep_probs, n_layers

FUSED_OPTIMIZERS = ("gd", "momentum", "rmsprop", "adam")
# The graded functions this step re-implements, besides the optimizer's own pair.
REIMPLEMENTED = ("dropout_forward", "dropout_backward", "l2_penalty", "l2_penalty_grads",
                 "softmax_cross_entropy", "softmax_cross_entropy_backward")


def fused_supported(params, *, hidden, optimizer):
    """Whether :class:`FusedStep` can train this network with this optimizer.

    Only while :func:`introdl.library.function` gives the reference of every graded function
    the step re-implements: where a student's own one is provided or kept, that one must run,
    so the readable step takes over.
    """
    has_bn = any(key.startswith("gamma") for key in params)
    if hidden != "relu" or has_bn or not isinstance(optimizer, str) or optimizer not in FUSED_OPTIMIZERS:
        return False
    pair = () if optimizer == "gd" else (f"{optimizer}_init", f"{optimizer}_update")
    return all(uses_reference(name) for name in (*REIMPLEMENTED, *pair))


class FusedStep:
    """Owns a copy of the parameters and the optimizer state and updates them in place.

    A stepper (see :mod:`introdl.stepper`): ``step``, ``export`` and ``bn_running``.

    Parameters
    ----------
    params : dict of ndarray, copied (in ``dtype``)
    output : {"softmax", "sigmoid"}
    keep_prob : float or sequence, one per hidden layer
    lamd : float, L2 strength
    optimizer : {"gd", "momentum", "rmsprop", "adam"}
    optimizer_kwargs : dict (beta, beta1, beta2, eps as in the ``*_update`` functions)
    dtype : numpy float type
    """

    def __init__(self, params, *, output, keep_prob, lamd, optimizer, optimizer_kwargs=None, dtype=np.float64):
        self.L = n_layers(params)
        self.probs = keep_probs(keep_prob, self.L)
        self.output, self.lamd, self.optimizer = output, lamd, optimizer
        self.dtype = np.dtype(dtype)
        kw = dict(optimizer_kwargs or {})
        self.beta = kw.pop("beta", 0.9)
        self.beta1, self.beta2, self.eps = kw.pop("beta1", 0.9), kw.pop("beta2", 0.999), kw.pop("eps", 1e-8)
        if kw:
            raise TypeError(f"unexpected optimizer_kwargs for {optimizer!r}: {sorted(kw)}")
        self.params = {key: np.array(value, dtype=self.dtype) for key, value in params.items()}
        zeros = {key: np.zeros_like(value) for key, value in self.params.items()}
        self.v = {key: z.copy() for key, z in zeros.items()}
        self.s = zeros
        self.t = 0

    @property
    def bn_running(self):
        """Always empty: this step runs only networks without batch norm."""
        return {}

    def export(self):
        """The current parameters as new float64 arrays."""
        return {key: value.astype(np.float64) for key, value in self.params.items()}

    def step(self, X, Y, *, rng, lr):
        """One forward, backward and update on a mini-batch; returns the batch cost (float).

        ``X`` (n_x, m) and ``Y`` (n_L, m) are cast to ``dtype``. The cost includes the L2
        term and is taken at the parameters before the update.
        """
        X, Y = X.astype(self.dtype, copy=False), Y.astype(self.dtype, copy=False)
        m = X.shape[1]
        A, Z, masks = self._forward(X, rng)
        cost, dZ = self._output_cost_and_grad(Z[self.L], Y, m)
        grads = self._backward(dZ, A, Z, masks, m)
        if self.lamd > 0:
            cost += self._l2_cost(m)
        self._update(grads, lr)
        return cost

    def _forward(self, X, rng):
        """``model_forward`` in train mode: lists ``A`` (A[0] = X), ``Z`` and the dropout
        ``masks``, indexed by layer (``Z[0]`` and ``masks[0]`` are None); ``masks[l]`` is None
        where layer ``l`` keeps every unit. No ``A[L]``: the cost works from the logits."""
        p, L = self.params, self.L
        A, Z, masks = [X], [None], [None]
        for l in range(1, L + 1):
            Zl = p[f"W{l}"] @ A[-1] + p[f"b{l}"]
            Z.append(Zl)
            if l < L:
                Al = np.maximum(Zl, 0.0)
                mask = None
                if self.probs[l - 1] < 1:
                    # Drawn exactly as dropout_forward draws it, so both paths use the same masks.
                    mask = rng.random(Al.shape) < self.probs[l - 1]
                    Al *= mask
                    Al /= self.dtype.type(self.probs[l - 1])
                A.append(Al)
                masks.append(mask)
        return A, Z, masks

    def _backward(self, dZ, A, Z, masks, m):
        """``model_backward`` from ``dZ`` = A[L] - Y (n_L, m); returns the gradients keyed like
        the parameters (``"W1"``, not ``"dW1"``). ``dA`` and ``dZ`` carry ``m * dJ/dA`` and
        ``m * dJ/dZ``; the ``1/m`` is applied to ``dW`` and ``db``, as in ``linear_backward``."""
        p, grads = self.params, {}
        for l in range(self.L, 0, -1):
            if l < self.L:
                dA = p[f"W{l + 1}"].T @ dZ
                if masks[l] is not None:
                    dA *= masks[l]
                    dA /= self.dtype.type(self.probs[l - 1])
                dZ = dA * (Z[l] > 0)
            dW = dZ @ A[l - 1].T
            dW /= m
            if self.lamd > 0:
                dW += (self.lamd / m) * p[f"W{l}"]
            grads[f"W{l}"] = dW
            grads[f"b{l}"] = np.sum(dZ, axis=1, keepdims=True) / m
        return grads

    def _l2_cost(self, m):
        """``l2_penalty``: ``(lamd / (2 m)) * sum_l ||W[l]||_F**2``, a float."""
        return self.lamd / (2 * m) * sum(float(np.sum(self.params[f"W{l}"] ** 2)) for l in range(1, self.L + 1))

    def _output_cost_and_grad(self, ZL, Y, m):
        """Mean cross-entropy of the logits ``ZL`` (n_L, m) and ``dZ = A[L] - Y`` (n_L, m)."""
        if self.output == "softmax":
            shifted = ZL - ZL.max(axis=0, keepdims=True)
            log_probs = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
            cost = float(-np.sum(Y * log_probs) / m)
            T = np.exp(ZL - ZL.max(axis=0, keepdims=True))
            return cost, T / T.sum(axis=0, keepdims=True) - Y
        cost = float(np.sum(Y * np.logaddexp(0.0, -ZL) + (1 - Y) * np.logaddexp(0.0, ZL)) / m)
        return cost, 0.5 * (1.0 + np.tanh(0.5 * ZL)) - Y

    def _update(self, grads, lr):
        """The optimizers' formulas, in their operation order, in place."""
        if self.optimizer == "adam":
            self.t += 1
            c1, c2 = 1 - self.beta1**self.t, 1 - self.beta2**self.t
        for key, W in self.params.items():
            g = grads[key]
            if self.optimizer == "gd":
                g *= lr
                W -= g
                continue
            if self.optimizer in ("momentum", "adam"):
                b1 = self.beta if self.optimizer == "momentum" else self.beta1
                v = self.v[key]
                v *= b1
                v += (1 - b1) * g
            if self.optimizer in ("rmsprop", "adam"):
                s = self.s[key]
                s *= self.beta2
                s += (1 - self.beta2) * g**2
            if self.optimizer == "momentum":
                W -= lr * v
            elif self.optimizer == "rmsprop":
                denom = np.sqrt(s)
                denom += self.eps
                g *= lr
                g /= denom
                W -= g
            else:
                v_hat = v / c1
                v_hat *= lr
                s_hat = s / c2
                np.sqrt(s_hat, out=s_hat)
                s_hat += self.eps
                v_hat /= s_hat
                W -= v_hat
