"""The machinery behind ``check(name, student_function)``.

A :class:`Check` knows one graded function: its points, the cases it runs (fixed seeds for
the visible test, other seeds and shapes for the hidden one) and how to judge the student's
output on one case. :class:`ReferenceCheck` judges by comparing with the ``introdl``
reference and, on a mismatch, with a catalogue of known wrong variants (:class:`Mistake`),
so that the message can name the likely mistake.

Student code runs inside :func:`student_call`: its exceptions, warnings, prints and calls to
the reference are caught and turned into messages; nothing reaches stderr.

Every check also enforces the package's contracts (:mod:`docs/conventions`), each with a
message that names it: floats in float64 (``Check.dtype``), inputs left as they were given
(named by the reference's parameter names), and copies where a notebook asks for them
(``Check.copies``).
"""

import contextlib
import copy
import inspect
import io
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..sandbox.tracing import NotImplementedYet, StudentError, shared_memory, traced_call, where
from .helpers import describe, first_change, matching_hint
from .registry import HINT

RTOL = 1e-6
ATOL = 1e-9


class CheckFailed(AssertionError):
    """A student-facing failure: its message is all the student sees (no traceback)."""


class BrokenContract(StudentError):
    """The function ran but broke one of the package's contracts; the message names it."""


@dataclass
class Case:
    """One call of the graded function.

    ``label`` describes the inputs to the student on visible cases. When ``seed`` is set, the
    function gets ``rng=np.random.default_rng(seed)``, a fresh generator for every call.
    """

    args: tuple
    kwargs: dict = field(default_factory=dict)
    label: str = ""
    seed: int | None = None
    hidden: bool = False

    def inputs(self):
        """Fresh deep copies of the arguments, with a fresh generator when the case draws."""
        args, kwargs = copy.deepcopy(self.args), copy.deepcopy(self.kwargs)
        if self.seed is not None:
            kwargs["rng"] = np.random.default_rng(self.seed)
        return args, kwargs


@dataclass
class Mistake:
    """A typical wrong implementation and the hint a student gets when theirs behaves like it.

    ``fn`` has the graded function's signature. On a case where ``fn`` gives the right
    answer the mistake cannot be told apart, so it is only matched on the other cases.
    """

    key: str
    hint: str
    fn: object


class Check:
    """One graded function. Subclasses define :meth:`cases` and :meth:`judge`."""

    def __init__(self, name, *, points, reference, make_cases=None, mistakes=(), alternatives=(), forbidden=None,
                 dtype=np.float64, copies=False, parameters=None):
        self.name = name
        self.make_cases = make_cases  # (rng, hidden) -> list of Case, unless cases() is overridden
        self.points = float(points)
        self.reference = reference
        self.mistakes = list(mistakes)
        # Correct implementations written another way; the catalogue test gives them full marks.
        self.alternatives = list(alternatives)
        # Code objects the student's function must not run: calling the reference gets no credit.
        self.forbidden_functions = [f for f in (forbidden or [reference]) if hasattr(f, "__code__")]
        self.forbidden = [f.__code__ for f in self.forbidden_functions]
        # The contracts: the float type of every float in the output (None: any), and whether the
        # output must be copies (no memory shared with the inputs, as a notebook asks).
        self.dtype = None if dtype is None else np.dtype(dtype)
        self.copies = copies
        # The graded function's positional parameter names, for messages (default: the reference's).
        self.parameters = list(parameters) if parameters is not None else _positional_names(reference)

    def cases(self, rng, hidden):
        """The cases to run: visible ones for ``hidden=False``, other ones for ``hidden=True``."""
        return self.make_cases(rng, hidden)

    def options(self):
        """The constructor's keyword arguments that are data (not functions), for a record."""
        return {"points": self.points, "dtype": None if self.dtype is None else self.dtype.str,
                "copies": self.copies, "parameters": self.parameters}

    def facts(self, case):
        """What the judge needs to know about ``case`` from the reference, beyond the expected output.

        The live check computes it here (with the reference and the catalogued mistakes); a
        recorded check reads it from the record (:mod:`.recorded`), so a judge that asks only
        through this method needs no reference. A dict of plain data; none by default.
        """
        return {}

    def judge(self, student_fn, case):
        """Return ``None`` when the student's function is right on ``case``, else a message."""
        raise NotImplementedError

    def call(self, fn, case):
        """Run the student's ``fn`` on fresh inputs of ``case`` and return its output.

        Raises :class:`BrokenContract` when the call changed its inputs or, for a check with
        ``copies``, returned arrays that share memory with them.
        """
        args, kwargs = case.inputs()
        before = copy.deepcopy((args, kwargs))
        out = student_call(fn, args, kwargs, self)
        problem = self.changed_input(before, (args, kwargs)) or self.shared_memory(fn, out, args, kwargs)
        if problem:
            raise BrokenContract(problem)
        return out

    def input_names(self, args, kwargs):
        """``[(name, value)]`` of a call's arguments, by the reference's parameter names."""
        positional = self.parameters
        names = [positional[i] if i < len(positional) else f"argument {i + 1}" for i in range(len(args))]
        return [*zip(names, args, strict=True), *((k, v) for k, v in kwargs.items() if k != "rng")]

    def changed_input(self, before, after):
        """None when a call left its inputs as they were, else the message (the contract: no
        change to inputs). ``before`` is a deep copy of ``(args, kwargs)``, ``after`` the same
        objects after the call."""
        for (name, old), (_, new) in zip(self.input_names(*before), self.input_names(*after), strict=True):
            path = first_change(old, new, name)
            if path is not None:
                return changed_input_message(name, path, old, new)
        return None

    def shared_memory(self, fn, out, args, kwargs):
        """None unless the check asks for copies and ``out`` shares memory with an input array.

        A function of the verification process (its value arrives as a copy) says where the
        student's process saw memory shared, as its ``shared_memory`` attribute.
        """
        if not self.copies:
            return None
        shared = getattr(fn, "shared_memory", None) if hasattr(fn, "session") else \
            shared_memory(out, args, kwargs)
        if shared is None:
            return None
        part, key = shared
        outputs = getattr(self, "outputs", None)
        whole = outputs[0] if outputs and len(outputs) == 1 else "the output"
        names = {i: n for i, (n, _) in enumerate(self.input_names(args, {}))}
        name = names.get(key, key if isinstance(key, str) and key in kwargs else "one of its inputs")
        return (f"{whole}{str(part)[:80]} shares memory with the input {name} (np.shares_memory is True), but the "
                f"notebook asks for copies: return arrays of your own, so that changing one cannot "
                f"change {name} (add .copy() after the slice or reshape)")

    def wrong_dtype(self, out, name):
        """None when every float of ``out`` has the check's dtype, else the message (the contract:
        the package computes in float64). ``name``: the output's name, or a tuple of names of its parts."""
        if self.dtype is None:
            return None
        parts = zip(out, name, strict=False) if isinstance(name, tuple) else [(out, name)]
        for value, part in parts:
            for path, x in _arrays_with_paths(value, part):
                if x.dtype.kind == "f" and x.dtype != self.dtype:
                    return (f"{path} has dtype {x.dtype}, expected {self.dtype}: the package computes and "
                            f"returns {self.dtype} ({x.dtype} keeps fewer digits, too few for a gradient check); "
                            f"do not convert to {x.dtype} (.astype, dtype=, np.{x.dtype}(...))")
        return None

    def run_reference(self, case, fn=None):
        args, kwargs = case.inputs()
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return (fn or self.reference)(*args, **kwargs)


class ReferenceCheck(Check):
    """Judge by comparison with the reference, then name the mistake from the catalogue.

    Parameters
    ----------
    make_cases : callable (rng, hidden) -> list of Case
    outputs : tuple of str or None
        Names of the parts of a tuple output, used in messages.
    compare_parts : tuple of int or None
        Which parts of a tuple output to compare (e.g. not an opaque cache); all when None.
    rtol, atol : float
    """

    def __init__(self, name, *, outputs=None, compare_parts=None, rtol=RTOL, atol=ATOL, **kw):
        super().__init__(name, **kw)
        self.outputs = outputs
        self.compare_parts = compare_parts
        self.rtol, self.atol = rtol, atol

    def options(self):
        return {**super().options(), "outputs": self.outputs, "compare_parts": self.compare_parts,
                "rtol": self.rtol, "atol": self.atol}

    def select(self, out):
        """The compared part of an output, and its name (or names) for messages."""
        if not self.outputs:
            return out, "the output"
        if len(self.outputs) == 1:
            return out, self.outputs[0]
        if not isinstance(out, tuple | list) or len(out) != len(self.outputs):
            raise StudentError(f"it should return {len(self.outputs)} values ({', '.join(self.outputs)}), "
                               f"got {describe(out)}")
        parts = range(len(self.outputs)) if self.compare_parts is None else self.compare_parts
        return tuple(out[i] for i in parts), tuple(self.outputs[i] for i in parts)

    def judge(self, student_fn, case):
        return self.judge_output(self.call(student_fn, case), case)

    def judge_output(self, out, case):
        """Judge an output of the student's function on ``case`` (for checks that call it themselves)."""
        got, name = self.select(out)
        problem = self.wrong_dtype(got, name)
        if problem:
            return problem
        expected, _ = self.select(self.run_reference(case))
        problem = compare(got, expected, name, rtol=self.rtol, atol=self.atol, show_values=not case.hidden)
        if problem is None:
            return None
        hint = matching_hint(self.mistakes, got, expected,
                             run=lambda fn: self.select(self.run_reference(case, fn))[0],
                             same=lambda a, b: compare(a, b, name, rtol=self.rtol, atol=self.atol) is None)
        return problem if hint is None else f"{problem}{HINT}{hint}"


def _positional_names(fn):
    """The names of ``fn``'s positional parameters; [] when it has no signature (None, a builtin)."""
    try:
        return [p.name for p in inspect.signature(fn).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return []


def student_call(fn, args, kwargs, check):
    """Call student code; turn everything it does wrong into a :class:`StudentError`."""
    call = traced_call(fn, args, kwargs, {code: code.co_name for code in check.forbidden})
    err = call.error
    if err is not None and not isinstance(err, Exception):
        raise err  # KeyboardInterrupt (the grader's interrupt of a cell), SystemExit: not the check's to judge
    if isinstance(err, StudentError):  # the verification pass's own verdict on a remote call
        raise type(err)(str(err)) from None
    if isinstance(err, NotImplementedError):
        raise NotImplementedYet("it is not implemented yet (the cell still raises NotImplementedError)") from None
    if isinstance(err, RecursionError):
        raise StudentError("it recursed without end (RecursionError)") from None
    if err is not None:
        raise StudentError(f"it raised {type(err).__name__}: {err}{where(err)}") from None
    if call.reference:
        raise StudentError(
            f"it calls the reference implementation introdl.{call.reference[0]}; write the computation "
            "yourself (no credit for calling the reference)"
        )
    return call.value


def changed_input_message(name, path, old, new):
    """The message for an input ``name`` changed in place (first at ``path``), saying how to avoid it.

    ``old`` is a copy of the input before the call, ``new`` the input after it. A change by
    round-off only is what restoring a perturbed entry arithmetically leaves, so the message
    says why that does not work.
    """
    if _only_rounding(old, new):
        return (f"it changed the last digits of its input {path} in place: perturbing an entry and undoing it by "
                "arithmetic (+eps, then -2 eps, then +eps) does not give back the same number, because every "
                "floating-point operation rounds (x + eps - 2*eps + eps != x in general); keep the old value and "
                "put it back (old = x[i] ... x[i] = old), or perturb a copy")
    where = "" if path == name else f" (first at {path})"
    if isinstance(old, dict):
        how = (f"build a new dict for what you return (e.g. new = dict({name}), then assign into new) instead of "
               f"assigning into {name} or changing its arrays with -=, += or *=")
    elif isinstance(old, np.ndarray):
        how = (f"write new arrays ({name} = {name} * 2 makes a new one, {name} *= 2 changes the caller's) "
               f"or work on {name}.copy()")
    else:
        how = f"work on a copy of {name}"
    return f"it changed its input {name} in place{where}; the caller's {name} must stay as it was: {how}"


def _only_rounding(old, new):
    """Whether ``new`` differs from ``old`` by round-off only: the same structure, every array
    within 1e-10 of its largest entry (an entry left perturbed by eps >= 1e-7 is far more)."""
    if isinstance(old, dict):
        return isinstance(new, dict) and old.keys() == new.keys() and all(_only_rounding(old[k], new[k]) for k in old)
    if isinstance(old, list | tuple):
        return isinstance(new, list | tuple) and len(old) == len(new) and all(
            _only_rounding(a, b) for a, b in zip(old, new, strict=True))
    if isinstance(old, np.ndarray):
        if not (isinstance(new, np.ndarray) and old.shape == new.shape and old.dtype.kind == new.dtype.kind == "f"):
            return False
        scale = float(np.max(np.abs(old), initial=0.0))
        with np.errstate(all="ignore"):
            return scale > 0 and bool(np.all(np.abs(new - old) <= 1e-10 * scale))
    return True


def _arrays_with_paths(value, path):
    """``(path, array)`` for every numpy array or numpy scalar in ``value`` (dicts, lists, tuples walked)."""
    if isinstance(value, np.ndarray | np.generic):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _arrays_with_paths(item, f"{path}[{key!r}]")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _arrays_with_paths(item, f"{path}[{i}]")


def compare(got, expected, name, *, rtol=RTOL, atol=ATOL, show_values=False):
    """Compare a student's output with the expected one; return None or a message.

    Arrays and numbers must agree within ``|got - expected| <= atol + rtol * |expected|``
    and, where the expected value is not negligibly small, have the same sign (so a tiny
    value of the wrong sign fails even when it is within ``atol``).
    """
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"{name} should be a dict with keys {sorted(expected)}, got {describe(got)}"
        missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
        if missing or extra:
            return f"{name} has keys {sorted(got)}, expected {sorted(expected)}"
        for key in expected:
            problem = compare(got[key], expected[key], f"{name}[{key!r}]",
                              rtol=rtol, atol=atol, show_values=show_values)
            if problem:
                return problem
        return None
    if isinstance(expected, tuple | list):
        if not isinstance(got, tuple | list) or len(got) != len(expected):
            return f"{name} should be {len(expected)} values, got {describe(got)}"
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            part = name[i] if isinstance(name, tuple) else f"{name}[{i}]"
            problem = compare(g, e, part, rtol=rtol, atol=atol, show_values=show_values)
            if problem:
                return problem
        return None
    if expected is None or isinstance(expected, str | bool):
        return None if got == expected else f"{name} is {got!r}, expected {expected!r}"
    try:
        g = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return f"{name} should be numeric, got {describe(got)}"
    e = np.asarray(expected, dtype=np.float64)
    if g.shape != e.shape:
        return f"{name} has shape {g.shape}, expected {e.shape}"
    if not np.all(np.isfinite(g) == np.isfinite(e)):
        return f"{name} contains NaN or infinity where the right answer is finite"
    with np.errstate(all="ignore"):  # inf - inf: a warning here would reach the student's stderr
        close = np.abs(g - e) <= atol + rtol * np.abs(e)
    scale = np.max(np.abs(e)) if e.size else 0.0
    significant = np.abs(e) > 1e-12 * scale
    close &= ~significant | (np.sign(g) == np.sign(e))
    close |= ~np.isfinite(e) & ((g == e) | (np.isnan(g) & np.isnan(e)))  # so a NaN mistake can match
    if np.all(close):
        return None
    wrong = int(np.size(close) - np.count_nonzero(close))
    msg = f"{name} is wrong" if e.ndim == 0 else f"{name} is wrong in {wrong} of {e.size} entries"
    if show_values:
        if e.ndim == 0:
            got_text, expected_text = distinct(float(g), float(e))
            msg = f"{name} is {got_text}, expected {expected_text}"
        else:
            idx = tuple(int(i) for i in np.argwhere(~close)[0])
            got_text, expected_text = distinct(g[idx], e[idx])
            msg += f" (first at index {idx}: got {got_text}, expected {expected_text})"
    return msg


def distinct(got, expected, *, digits=6):
    """Both numbers as texts that visibly differ: at least ``digits`` significant digits, more
    until the texts differ, and as many digits in one as in the other (-0.4629999 against
    -0.462999 reads ``-0.463000``, ``-0.462999``; 0.5 against 0.25 stays ``0.5``, ``0.25``)."""
    if not (np.isfinite(got) and np.isfinite(expected)):
        return f"{got:.{digits}g}", f"{expected:.{digits}g}"
    precision = next((p for p in range(digits, 18) if f"{got:.{p}g}" != f"{expected:.{p}g}"), 17)
    a, b = f"{got:.{precision}g}", f"{expected:.{precision}g}"
    if max(_significant(a), _significant(b)) == precision > min(_significant(a), _significant(b)):
        # one needs every digit, the other lost its trailing zeros: show them
        a, b = f"{got:#.{precision}g}", f"{expected:#.{precision}g}"
    return a, b


def _significant(text):
    """How many significant digits a number's text shows."""
    mantissa = text.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
    return len(mantissa)


# The step of numeric_grad's five-point stencil: its truncation error (of order h**4) and its
# rounding error (of order 1e-16 / h) are both about 1e-12 there.
_STENCIL_STEP = 1e-4


def numeric_grad(f, x):
    """Numerical gradient of a scalar function of one array (for locating errors in a student's code).

    A five-point stencil with a fixed step, ``(-f(x+2h) + 8 f(x+h) - 8 f(x-h) + f(x-2h)) / 12h``
    per entry, not the lecture's two-sided difference: a sealed bundle ships this function, and
    it must not be an answer to ``numerical_gradient`` (which takes the step and uses two points).

    Parameters
    ----------
    f : callable (ndarray shaped like x) -> float
    x : ndarray

    Returns
    -------
    ndarray shaped like x
    """
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    h = _STENCIL_STEP
    for idx in np.ndindex(x.shape):
        values = []
        for k in (2, 1, -1, -2):
            shifted = x.copy()
            shifted[idx] += k * h
            values.append(f(shifted))
        grad[idx] = (-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * h)
    return grad


# Looser than the reference comparison: numeric_grad is accurate to about 1e-10 on batch norm and
# 1e-9 relative on costs of size up to 1000.
NUMERIC_RTOL, NUMERIC_ATOL = 1e-4, 1e-6


def matches_numeric(got, numeric, name):
    """Whether a student's gradient equals the numerical gradient of their own forward pass (or
    cost): then a wrong gradient is the forward pass's fault, not the backward pass's.

    Parameters
    ----------
    got : ndarray or tuple of ndarray
        The student's gradient(s).
    numeric : callable () -> the numerical gradient(s), shaped like ``got``
        Runs with prints, warnings and floating-point errors silenced, since perturbed inputs
        may make student code complain; when it raises, nothing matches.
    name : str or tuple of str
        Names for :func:`compare`.

    Returns
    -------
    bool
        Equal within ``NUMERIC_RTOL`` and ``NUMERIC_ATOL``.
    """
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            expected = numeric()
    except Exception:  # noqa: BLE001 - code that breaks under perturbation says nothing
        return False
    return compare(got, expected, name, rtol=NUMERIC_RTOL, atol=NUMERIC_ATOL) is None
