"""The judging classes of a1 (splits, diagnosis), which a sealed bundle ships (see :mod:`..recorded`)."""

import numpy as np

from ..core import ReferenceCheck, StudentError
from ..helpers import describe
from ..registry import HINT


class SplitSizesCheck(ReferenceCheck):
    """Sizes are numbers of examples: whole numbers, which the later cell slices with."""

    def judge_output(self, out, case):
        problem = super().judge_output(out, case)
        if problem is not None:
            return problem
        got, names = self.select(out)
        for name, size in zip(names, got, strict=True):
            if not isinstance(size, int | np.integer):
                return (f"{name} is {size!r}, a {type(size).__name__}: sizes count examples and must be "
                        "whole numbers (int), since train_dev_test_split slices with them. "
                        "round(x) gives an int, round(x, 0) and np.round(x) give floats")
        return None


class SplitCheck(ReferenceCheck):
    """Compares the six arrays of ``((X_train, Y_train), (X_dev, Y_dev), (X_test, Y_test))``."""

    def select(self, out):
        if not (isinstance(out, tuple | list) and len(out) == 3
                and all(isinstance(part, tuple | list) and len(part) == 2 for part in out)):
            raise StudentError("it should return ((X_train, Y_train), (X_dev, Y_dev), (X_test, Y_test)), "
                               f"got {describe(out)}")
        return tuple(a for part in out for a in part), self.outputs

    def __init__(self, name, *, split_sizes=None, **kw):
        super().__init__(name, **kw)
        self.split_sizes = split_sizes  # the reference split_sizes (live only: its sizes are a fact)

    def facts(self, case):
        X, _, ratios = case.args
        return {"sizes": tuple(int(n) for n in self.split_sizes(X.shape[1], ratios))}

    def judge_output(self, out, case):
        problem = super().judge_output(out, case)
        if problem is None or HINT in problem:
            return problem
        hint = self._what_the_parts_show(out, case, self.facts(case)["sizes"])
        return problem if hint is None else f"{problem}{HINT}{hint}"

    @staticmethod
    def _what_the_parts_show(out, case, expected):
        """A hint read from the student's parts themselves: their sizes, whether the labels followed
        their examples, and whether they are a valid shuffle that is only another draw. ``expected``: the
        reference's sizes."""
        X, Y, ratios = case.args
        m = X.shape[1]
        parts = [(np.asarray(Xp), np.asarray(Yp)) for Xp, Yp in out]
        if any(Xp.ndim != 2 or Xp.shape[0] != X.shape[0] or Yp.ndim != 2 or Yp.shape[1] != Xp.shape[1]
               for Xp, Yp in parts):
            return None
        sizes = tuple(Xp.shape[1] for Xp, _ in parts)
        if sizes != expected:
            return (f"your parts hold {sizes[0]}, {sizes[1]} and {sizes[2]} examples; for m = {m} and ratios "
                    f"{ratios} they should hold {expected[0]}, {expected[1]} and {expected[2]} "
                    "(split_sizes): if you call your own split_sizes, check that one first")
        column = {X[:, j].tobytes(): j for j in range(m)}  # the cases' columns are all distinct
        index = [column.get(np.ascontiguousarray(Xp[:, i], dtype=X.dtype).tobytes())
                 for Xp, _ in parts for i in range(Xp.shape[1])]
        if None in index or sorted(index) != list(range(m)):
            return None
        labels = np.hstack([Yp for _, Yp in parts])
        if not np.array_equal(labels, Y[:, index]):
            return ("the labels no longer belong to their examples: index X and Y with the same permutation "
                    "(X[:, idx] and Y[:, idx])")
        return ("your parts are a valid shuffle, but not the draw the notebook asks for: make exactly one "
                "random call, perm = rng.permutation(m), and cut perm in order (the test replays that draw, "
                "so rng.choice, np.random or a second call to rng give other numbers)")


class DiagnoseCheck(ReferenceCheck):
    """Compares the ``label`` of the diagnosis (a string or an object with ``.label``)."""

    def select(self, out):
        label = out if isinstance(out, str) else getattr(out, "label", out)
        return label, "the diagnosis"
