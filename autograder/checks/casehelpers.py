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
