"""Helpers that judges of several assignments share."""

import numpy as np

from ..core import StudentError


def replay_helper(data):
    """The check a judge asks about (a helper of the graded function), replayed from its record ``data``."""
    from ..recorded import replay  # imported here: the record module builds on the judges' classes

    return replay(data)


def passes_visible_cases(spec, fn):
    """Whether ``fn`` is right on the visible cases of ``spec`` (the check of a helper the graded
    function builds on), so that a wrong result can be blamed on the right function."""
    for case in spec.cases(np.random.default_rng(0), False):
        try:
            if spec.judge(fn, case) is not None:
                return False
        except StudentError:
            return False
    return True
