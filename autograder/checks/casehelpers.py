"""Functions and objects that the checks' cases pass to a graded function (cost functions,
samplers, scores), kept apart so that a sealed bundle can ship them (see :mod:`.recorded`).

No graded function here, nothing that imports ``introdl`` or an assignment's check module.
"""

import numpy as np

NO_RNG = ("a sampler of space needs the generator: call it as sampler(rng) with the rng your function was "
          "given")
POSITIONAL = ("score_fn takes the hyperparameters as keyword arguments: call score_fn(**hparams), "
              "not score_fn(hparams)")
_MISSING = object()


class Sampler:
    """One hyperparameter's sampler, ``sampler(rng) -> value`` (picklable, unlike a lambda here)."""

    def __init__(self, kind, *values):
        self.kind, self.values = kind, values

    def __call__(self, rng=_MISSING):
        if not isinstance(rng, np.random.Generator):
            raise TypeError(NO_RNG)
        if self.kind == "log":
            low, high = np.log10(self.values[0]), np.log10(self.values[1])
            return float(10 ** (low + (high - low) * rng.random()))
        if self.kind == "linear":
            return float(self.values[0] + (self.values[1] - self.values[0]) * rng.random())
        return self.values[int(rng.integers(len(self.values)))]

    def __repr__(self):
        return f"Sampler({self.kind!r}, {', '.join(map(repr, self.values))})"


class Score:
    """A made-up dev score of the hyperparameters (any names, numbers or strings), higher is better."""

    def __init__(self, weights):
        self.weights = weights

    def __call__(self, *args, **hparams):
        if args:
            raise TypeError(POSITIONAL)
        total = 0.0
        for name, value in hparams.items():
            w = self.weights.get(name, 0.3)
            x = len(value) if isinstance(value, str) else float(value)
            total -= w * (np.log1p(abs(x)) - 0.2) ** 2
        return float(total)

    def __repr__(self):
        return "score_fn"


# --- a4: the cost functions of numerical_gradient's and gradient_check's cases -------------------


def cube_sum(theta):
    """The lecture's f(theta) = theta**3, summed over the entries."""
    return float(np.sum(np.asarray(theta) ** 3))


def smooth_cost(theta, *, A, w):
    """0.5 theta.A.theta + sum(sin(theta)) + (w.theta)**3 / 6: smooth and not separable."""
    theta = np.asarray(theta, dtype=float)
    return float(0.5 * theta @ A @ theta + np.sum(np.sin(theta)) + (w @ theta) ** 3 / 6)


def network_cost(params, *, X, Y):
    """Cross-entropy of a network with tanh hidden layers and a sigmoid output."""
    A = X
    L = len(params) // 2
    for l in range(1, L + 1):
        Z = params[f"W{l}"] @ A + params[f"b{l}"]
        A = np.tanh(Z) if l < L else Z
    return float(np.mean(np.logaddexp(0.0, -A) * Y + np.logaddexp(0.0, A) * (1 - Y)))
