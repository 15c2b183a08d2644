"""``check(name, student_function)``: what the notebooks' test cells call.

Every graded function of the course has a :class:`~autograder.checks.core.Check` in
``REGISTRY``, defined in the module of its assignment (``a1_splits.py`` ...).
"""

import importlib
import os
import pkgutil
import zlib
from dataclasses import dataclass, field

import numpy as np

from .core import BrokenContract, Case, Check, CheckFailed, Mistake, ReferenceCheck, StudentError
from .registry import HINT, REGISTRY, register


@dataclass
class Result:
    """Outcome of one check: the score and what the student should read."""

    name: str
    points: float
    passed: int
    total: int
    failures: list = field(default_factory=list)

    @property
    def score(self):
        return self.points * self.passed / self.total if self.total else 0.0

    def report(self):
        if not self.failures:
            return f"✓ {self.name}: all {self.total} test cases passed ({self.points:g} points)."
        head = (f"✗ {self.name}: {self.passed} of {self.total} test cases passed "
                f"({self.score:.3g} of {self.points:g} points).")
        return "\n".join([head, *self.failures])


PUBLIC_SALT = "introdl-hidden"  # the hidden cases' salt without a secret: what a notebook kernel uses


def seed_for(name, hidden, salt=None):
    """Seed of a check's cases: fixed for the visible test; for the hidden test it also
    depends on ``salt``, by default ``AUTOGRADER_HIDDEN_SEED``, which an instructor keeps secret."""
    if hidden:
        salt = salt or os.environ.get("AUTOGRADER_HIDDEN_SEED") or PUBLIC_SALT
    return zlib.crc32(f"{name}:{salt if hidden else 'visible'}".encode())


def run_check(spec, student_function, *, hidden=False, salt=None):
    """Run every case of ``spec`` on the student's function; never raises.

    ``salt`` chooses the hidden cases (default: the instructor's secret, see :func:`seed_for`).
    """
    if not callable(student_function):
        return Result(spec.name, spec.points, 0, 1,
                      [f"  {spec.name} should be a function, got {type(student_function).__name__}"])
    try:
        cases = list(spec.cases(np.random.default_rng(seed_for(spec.name, False)), False))
        if hidden:
            hidden_cases = spec.cases(np.random.default_rng(seed_for(spec.name, True, salt)), True)
            cases += [Case(c.args, c.kwargs, c.label, c.seed, hidden=True) for c in hidden_cases]
    except Exception as err:  # noqa: BLE001 - a broken check must not show a traceback
        return Result(spec.name, spec.points, 0, 1, [f"  internal error building the test cases: {err!r}"])
    failures, hints, repeats = [], set(), {}
    for number, case in enumerate(cases, start=1):
        try:
            problem = spec.judge(student_function, case)
        except BrokenContract as err:  # it ran, so not "failed": the message names the contract
            problem = str(err)
        except StudentError as err:
            problem = f"your function failed: {err}"
        except Exception as err:  # noqa: BLE001 - e.g. an output too odd to compare
            problem = f"the output could not be checked ({type(err).__name__}: {err})"
        key = (problem, case.hidden)
        if problem and key in repeats:  # the same message again (e.g. not implemented): count it
            repeats[key][1] += 1
            continue
        if problem:
            repeats[key] = [len(failures), 0]
            problem, _, hint = problem.partition(HINT)
            if hint and hint not in hints:
                hints.add(hint)
                problem += HINT + hint
            where = "hidden case (inputs not shown)" if case.hidden else f"case {number}"
            label = f" [{case.label}]" if case.label and not case.hidden else ""
            failures.append(f"  ✗ {where}{label}: {problem}")
    for index, more in repeats.values():
        if more:
            failures[index] += f"\n    (the same in {more} more case{'s' if more > 1 else ''})"
    failed = len(failures) + sum(more for _, more in repeats.values())
    return Result(spec.name, spec.points, len(cases) - failed, len(cases), failures)


def check(name, student_function, *, hidden=False):
    """Grade ``student_function`` against the check called ``name``.

    Returns the points on full marks, a plain float in ``[0, points)`` for partial credit
    (the report is printed), and raises :class:`CheckFailed` (an ``AssertionError``) with the
    report when no case passes.
    """
    spec = REGISTRY.get(name)
    if spec is None:
        raise CheckFailed(f"there is no check called {name!r}; known checks: {', '.join(sorted(REGISTRY))}")
    result = run_check(spec, student_function, hidden=hidden)
    if result.passed == 0:
        raise CheckFailed(result.report())
    print(result.report())
    return float(result.score)


def use(name, student_function):
    """The student's function when it passes its visible test, else the reference.

    Experiments after a graded cell call this, so that a notebook with unfinished answers
    still runs to the end (with a note saying which function was replaced).
    """
    spec = REGISTRY[name]
    result = run_check(spec, student_function)
    if result.passed == result.total:
        return student_function
    print(f"(note: your {name} does not pass its test yet, so this cell uses the reference solution)")
    return spec.reference


def _load_assignments():
    """Import every ``aN_*.py`` module of this package; each registers its checks."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name[:1] == "a" and info.name[1:2].isdigit():
            importlib.import_module(f"{__name__}.{info.name}")


_load_assignments()

__all__ = ["REGISTRY", "Case", "Check", "CheckFailed", "Mistake", "ReferenceCheck", "Result",
           "StudentError", "check", "register", "run_check", "use"]
