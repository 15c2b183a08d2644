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
from .registry import HINT, REGISTRY, REMARK, register


@dataclass
class Result:
    """Outcome of one check: the score and what the student should read.

    ``failures`` are the failed cases' lines, visible cases first; ``remarks`` what applies to
    the check as a whole, said once after them. ``visible`` and ``visible_failed`` count the
    visible cases (None when the result does not come from cases, e.g. a function that is not
    defined); ``hidden`` says whether hidden cases ran too.
    """

    name: str
    points: float
    passed: int
    total: int
    failures: list = field(default_factory=list)
    remarks: list = field(default_factory=list)
    visible: int | None = None
    visible_failed: int = 0
    hidden: bool = False

    @property
    def score(self):
        return self.points * self.passed / self.total if self.total else 0.0

    def report(self, shown=None):
        """What the student reads.

        A run of the visible cases only counts them and says that hidden cases count at
        grading (a points total here would differ from the grade). A run with hidden cases
        gives the one total; with ``shown``, the visible cases' report already printed in the
        same cell, it leaves out the failures and remarks that report had.
        """
        if self.visible is not None and not self.hidden:
            return self._lines(
                f"{self._mark()} {self.name}: {self._count(self.passed, self.total)} visible test cases passed; "
                "hidden test cases also count at grading.", (), ())
        total = self._count(self.passed, self.total) + " test cases passed"
        unit = "point" if self.points == 1 else "points"
        total += f" ({self.points:g} {unit})" if self.passed == self.total else \
            f" ({self.score:.3g} of {self.points:g} {unit})"
        if shown is None or self.visible is None:
            return self._lines(f"{self._mark()} {self.name}: {total}.", (), ())
        hidden = self.total - self.visible
        hidden_passed = hidden - (self.total - self.passed - self.visible_failed)
        return self._lines(f"{self._mark()} {self.name}: {self._count(hidden_passed, hidden)} hidden test cases "
                           f"passed; in all, {total}.", shown.failures, shown.remarks)

    def _mark(self):
        return "✓" if self.passed == self.total else "✗"

    @staticmethod
    def _count(passed, total):
        return f"all {total}" if passed == total else f"{passed} of {total}"

    def _lines(self, head, failures_shown, remarks_shown):
        failures = [f for f in self.failures if f not in failures_shown]
        remarks = [f"  Note: {r}" for r in self.remarks if r not in remarks_shown]
        return "\n".join([head, *failures, *remarks])


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
    failures, hints, remarks, repeats, failed = [], set(), [], {}, {False: 0, True: 0}
    for number, case in enumerate(cases, start=1):
        problem = _judge(spec, student_function, case)
        if not problem:
            continue
        failed[case.hidden] += 1
        problem, hint, remark = _parts(problem)
        if remark and remark not in remarks:
            remarks.append(remark)
        key = (problem, hint, case.hidden)
        if key in repeats:  # the same message again (e.g. not implemented): count it
            repeats[key][1] += 1
            continue
        repeats[key] = [len(failures), 0]
        if hint and hint not in hints:
            hints.add(hint)
            problem += HINT + hint
        where = "hidden case (inputs not shown)" if case.hidden else f"case {number}"
        label = f" [{case.label}]" if case.label and not case.hidden else ""
        failures.append(f"  ✗ {where}{label}: {problem}")
    for index, more in repeats.values():
        if more:
            failures[index] += f"\n    (the same in {more} more case{'s' if more > 1 else ''})"
    return Result(spec.name, spec.points, len(cases) - failed[False] - failed[True], len(cases), failures, remarks,
                  visible=sum(not c.hidden for c in cases), visible_failed=failed[False], hidden=hidden)


def _judge(spec, student_function, case):
    """The message for one case, or None when it passes."""
    try:
        return spec.judge(student_function, case)
    except BrokenContract as err:  # it ran, so not "failed": the message names the contract
        return str(err)
    except StudentError as err:
        return f"your function failed: {err}"
    except Exception as err:  # noqa: BLE001 - e.g. an output too odd to compare
        return f"the output could not be checked ({type(err).__name__}: {err})"


def _parts(message):
    """``(problem, hint, remark)`` of a check's message: ``problem[REMARK remark][HINT hint]``, in any order."""
    remark = ""
    if REMARK in message:
        head, _, rest = message.partition(REMARK)
        remark, sep, tail = rest.partition(HINT)
        message = head + sep + tail
    problem, _, hint = message.partition(HINT)
    return problem, hint, remark


# The last visible report that check() printed, by check name, with the function it was about:
# the hidden call that follows in the same test cell prints only what that report did not say.
_SHOWN = {}


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
    earlier = _SHOWN.pop(name, None)
    if hidden:
        report = result.report(shown=earlier[1] if earlier and earlier[0] is student_function else None)
    else:
        report = result.report()
        _SHOWN[name] = (student_function, result)
    if result.passed == 0:
        raise CheckFailed(report)
    print(report)
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
