"""The judging classes of a4 (gradient checking), which a sealed bundle ships (see :mod:`..recorded`)."""

import copy

import numpy as np

from ..core import Check, ReferenceCheck, StudentError, student_call
from ..helpers import describe, first_change, matching_hint, own_function
from ..registry import HINT
from .common import passes_visible_cases, replay_helper


class NumericalGradientCheck(ReferenceCheck):
    """Compares with the reference, then checks that ``theta`` was left as it was given (in this
    order, so that a theta left perturbed, which also shifts the gradient, gets its hint)."""

    def judge(self, student_fn, case):
        args, kwargs = case.inputs()
        before = copy.deepcopy((args, kwargs))
        got = student_call(student_fn, args, kwargs, self)
        problem = self.judge_output(got, case)
        if problem is None:
            changed = self.changed_input(before, (args, kwargs))
            return None if changed is None else f"the gradient is right, but {changed}"
        return problem


_FLOOR, _RTOL = 1e-6, 1e-4


def _same_difference(got, expected):
    """Equal within a relative 1e-4, or both round-off noise: below 1e-6 and not exactly 0 (a numerical
    gradient never matches backprop to the last bit, so an exact 0 means nothing was compared)."""
    got, expected = float(got), float(expected)
    if not np.isfinite(got):
        return False
    if abs(got - expected) <= _RTOL * abs(expected):
        return True
    return abs(got) < _FLOOR and abs(expected) < _FLOOR and (got == 0) == (expected == 0)


def _fmt(x):
    return f"{float(x):.3e}"


def _compare_reports(got, expected, *, show):
    """None when two (difference, per_parameter) pairs agree, else a message."""
    (g_diff, g_per), (e_diff, e_per) = got, expected
    if not isinstance(g_per, dict):
        return f"report.per_parameter should be a dict {{key: relative difference}}, got {describe(g_per)}"
    if set(g_per) != set(e_per):
        return f"report.per_parameter has keys {sorted(g_per)}, expected the parameters' names {sorted(e_per)}"
    for key in e_per:
        try:
            same = _same_difference(g_per[key], e_per[key])
        except (TypeError, ValueError):
            return f"report.per_parameter[{key!r}] should be a number, got {describe(g_per[key])}"
        if not same:
            return (f"report.per_parameter[{key!r}] is {_fmt(g_per[key])}, expected {_fmt(e_per[key])}" if show
                    else f"report.per_parameter[{key!r}] is wrong")
    try:
        same = _same_difference(g_diff, e_diff)
    except (TypeError, ValueError):
        return f"report.difference should be a number, got {describe(g_diff)}"
    if not same:
        return (f"report.difference is {_fmt(g_diff)}, expected {_fmt(e_diff)}" if show
                else "report.difference is wrong")
    return None


def _fields(report):
    """(difference, per_parameter) of a report object or dict."""
    if isinstance(report, dict):
        if "difference" in report and "per_parameter" in report:
            return report["difference"], report["per_parameter"]
    elif hasattr(report, "difference") and hasattr(report, "per_parameter"):
        return report.difference, report.per_parameter
    raise StudentError("it should return a report with the fields difference and per_parameter, for example "
                       f"dl.GradCheckReport(difference, per_parameter, worst_entry, eps); got {describe(report)}")


IN_PLACE_PARAMS = ("perturb a copy, never the caller's arrays (the caller goes on training with params): "
                   "theta, spec = dict_to_vector(params) is a new vector, and vector_to_dict(theta, spec) builds "
                   "new arrays. Restoring by arithmetic (+eps, then -2 eps, then +eps) does not give back the same "
                   "numbers, since every addition rounds to the nearest float")
IN_PLACE_GRADS = "leave grads as it was given: flatten copies of its arrays, do not change them"


def _uses(fn, name):
    """Whether ``fn`` calls the global ``name``, itself or through the other functions of its namespace
    that it calls (a notebook's helper such as ``parts``), lambdas and inner functions included."""
    namespace = getattr(fn, "__globals__", {})
    seen, todo = set(), [getattr(fn, "__code__", None)]
    while todo:
        code = todo.pop()
        if code is None or code in seen:
            continue
        seen.add(code)
        if name in code.co_names:
            return True
        todo += [const for const in code.co_consts if hasattr(const, "co_names")]
        todo += [getattr(namespace.get(n), "__code__", None) for n in code.co_names]
    return False


def _in_place(before, after):
    """A message when gradient_check changed ``params`` or ``grads`` in place, else None.

    Parameters
    ----------
    before, after : tuple (cost_fn, params, grads)
        The arguments before (a deep copy) and after the student's call.
    """
    for name, i, hint in (("params", 1, IN_PLACE_PARAMS), ("grads", 2, IN_PLACE_GRADS)):
        changed = first_change(before[i], after[i], name)
        if changed is None:
            continue
        key = changed[len(name):].strip("[]'\"")
        old, new = before[i].get(key), after[i].get(key)
        tiny = (isinstance(old, np.ndarray) and isinstance(new, np.ndarray) and old.shape == new.shape
                and np.allclose(new, old, rtol=1e-12, atol=0))
        how = " (in the last digits only)" if tiny else ""
        return f"your gradient_check changed {changed} in place{how}{HINT}{hint}"
    return None


class GradientCheckCheck(Check):
    """Judges the report's ``difference`` and ``per_parameter`` against the reference's.

    The notebook tells the student to build ``gradient_check`` from their own ``dict_to_vector``,
    ``vector_to_dict``, ``numerical_gradient`` and ``relative_difference``. On a wrong report, the
    helpers that the student's function calls (found by name in its globals, as in a notebook) are
    tried on their own tests' cases, so that the message names a wrong helper, or says that the
    helpers are right and the error is in ``gradient_check`` itself.
    """

    def __init__(self, name, *, helpers=(), helper_records=None, **kw):
        super().__init__(name, **kw)
        # The helpers' checks: the live ones, or rebuilt from their records in a sealed bundle.
        self.helpers = tuple(helpers) if helper_records is None else tuple(map(replay_helper, helper_records))

    def options(self):
        from ..recorded import record  # imported here: the record module builds on the judges' classes

        return {**super().options(), "helper_records": [
            record(spec, spec.cases(np.random.default_rng(0), False)) for spec in self.helpers]}

    def select(self, out):
        """(difference, per_parameter) of a report (a recorded report is kept in this form)."""
        return _fields(out), None

    def judge(self, student_fn, case):
        args, kwargs = case.inputs()
        before = copy.deepcopy(args)
        got = _fields(student_call(student_fn, args, kwargs, self))
        changed = _in_place(before, args)
        if changed:
            return changed
        problem = self.wrong_dtype(got, ("report.difference", "report.per_parameter"))
        if problem:
            return problem
        expected = self.select(self.run_reference(case))[0]
        problem = _compare_reports(got, expected, show=not case.hidden)
        if problem is None:
            return None
        hint = matching_hint(self.mistakes, got, expected, run=lambda fn: self.select(self.run_reference(case, fn))[0],
                             same=lambda a, b: _compare_reports(a, b, show=False) is None)
        note = self._blame(student_fn)
        # One hint line, so that the same finding on several cases is shown once.
        hint = f"{note}; {hint}" if note and hint else note or hint
        return problem if not hint else f"{problem}{HINT}{hint}"

    def _blame(self, student_fn):
        """Which of the student's own helpers is wrong, or that they are right; "" when none is used."""
        used = [spec for spec in self.helpers if _uses(student_fn, spec.name)
                and own_function(student_fn, spec.name, spec.reference) is not None]
        wrong = [spec.name for spec in used
                 if not passes_visible_cases(spec, own_function(student_fn, spec.name, spec.reference))]
        if wrong:
            one = len(wrong) == 1
            return (f"your gradient_check calls your {' and '.join(wrong)}, which {'is' if one else 'are'} wrong "
                    f"(see {'its test' if one else 'their tests'}): fix {'it' if one else 'them'} first")
        if used:
            one = len(used) == 1
            return (f"your {', '.join(spec.name for spec in used)} {'passes its test' if one else 'pass their tests'}, "
                    "so the error is in gradient_check itself")
        return ""
