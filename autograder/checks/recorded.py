"""Visible checks that judge from recorded data, for the sealed release (no reference inside).

In the open release a check computes the expected output by calling the ``introdl``
reference, and a catalogued mistake's output by calling the mistake's function. A sealed
student bundle holds neither. Instead, at release time :func:`record` runs the reference and
every mistake on the visible cases and keeps only data: each case's inputs (or the seed that
builds its generator), the reference's output, and each mistake's output with its key.
:func:`replay` rebuilds the check from that data: the original check's class with
:meth:`run_reference` answered from the record, so the comparison, the hint matching and
every message stay the code the open release runs.

A check's class names how it judges; the classes a record may name live in the modules of
:data:`SHIPPED` (and :mod:`.core`), which import neither ``introdl`` nor an assignment's
check module. What a judge needs from the reference beyond one output (a mask, a reference
trajectory, the outputs of catalogued mistakes on inputs it builds itself) it asks through
:meth:`~.core.Check.facts`, which the live check computes and the record keeps per case.
:func:`recordable` tells which checks can be recorded.

The record is a pickle that holds numbers, strings, arrays and containers only, and the case
helpers of :data:`SHIPPED` modules (a cost function a case passes in) by reference:
:func:`loads` refuses anything else, so a record can never carry the reference's code or a
mistake's.
"""

import copy
import importlib
import io
import pickle

from .core import Case, Mistake

FORMAT = 3  # bump when the record's layout or a class's place changes; replay refuses other versions

# The modules a sealed bundle ships besides core, helpers, registry and this one: the judging
# classes (the judges package, one module per assignment) and the case helpers (functions that
# cases pass in). None imports introdl or aN_*.py.
JUDGES = ("a1_splits", "a2_regularization", "a3_initialization", "a4_gradient_checking", "a5_optimization",
          "a6_hyperparameter_search", "a7_batch_normalization", "a8_softmax", "a9_project", "common")
SHIPPED = ("autograder.checks.judges", *(f"autograder.checks.judges.{m}" for m in JUDGES),
           "autograder.checks.casehelpers")
_CLASS_MODULES = ("autograder.checks.core", *SHIPPED)


class RecordError(ValueError):
    """A record that cannot be made or read (its message names the check and the problem)."""


def class_name(cls):
    """``"module:qualname"`` of a check class, as a record names it."""
    return f"{cls.__module__}:{cls.__qualname__}"


def recordable(spec):
    """Whether ``spec``'s class is one a sealed bundle ships (so its judge needs no reference)."""
    return type(spec).__module__ in _CLASS_MODULES


def _compares_outputs(spec):
    """Whether the judge compares the output of one call, as ``select`` reads it, with the reference's."""
    return callable(getattr(spec, "select", None))


def record(spec, cases):
    """The data a sealed visible check needs, as a dict of plain values.

    Parameters
    ----------
    spec : Check
        A check for which :func:`recordable` holds.
    cases : list of Case
        Its visible cases.

    Returns
    -------
    dict
        ``name``, ``class`` (``"module:qualname"``), ``options`` (the constructor's data
        arguments: points, the contracts ``dtype``, ``copies`` and ``parameters``, the
        reference's parameter names that messages use, and for a comparison its ``outputs``,
        ``compare_parts``, ``rtol``, ``atol``), ``mistakes`` (list of ``(key, hint)`` in
        catalogue order) and ``cases``: per case ``args``, ``kwargs``, ``label``, ``seed``,
        ``facts`` (what :meth:`~.core.Check.facts` gives) and, for a check that compares one
        call's output, ``expected`` (the reference's output) and ``wrong`` (mistake key -> its
        output; a mistake that raises is left out, as the live check skips it). Outputs are
        recorded as the check's ``select`` reads them: only the compared parts (not batch
        norm's cache), a diagnosis as its label.
    """
    if not recordable(spec):
        raise RecordError(f"{spec.name}: its class {class_name(type(spec))} is not in a shipped module "
                          f"({', '.join(_CLASS_MODULES)})")
    recorded = []
    for case in cases:
        if case.hidden:
            raise RecordError(f"{spec.name}: hidden cases are never recorded")
        data = {"args": case.args, "kwargs": case.kwargs, "label": case.label, "seed": case.seed,
                "facts": spec.facts(case)}
        if _compares_outputs(spec):
            wrong = {}
            for mistake in spec.mistakes:
                try:
                    wrong[mistake.key] = spec.select(spec.run_reference(case, mistake.fn))[0]
                except Exception:  # noqa: BLE001 - a mistake that cannot run on a case is not matched there
                    continue
            data.update(expected=spec.select(spec.run_reference(case))[0], wrong=wrong)
        recorded.append(data)
    return {"format": FORMAT, "name": spec.name, "class": class_name(type(spec)), "options": spec.options(),
            "mistakes": [(m.key, m.hint) for m in spec.mistakes], "cases": recorded}


class _Selected:
    """An output from the record, already in the form the check's ``select`` gives."""

    def __init__(self, value):
        self.value = value


class _RecordedOutput:
    """Stands for a mistake's function: its outputs are looked up in the record by ``key``."""

    def __init__(self, key):
        self.key = key


class _RecordedCase(Case):
    """A visible case with the reference's and the mistakes' outputs on it, and the judge's facts."""

    def __init__(self, data):
        super().__init__(data["args"], data["kwargs"], data["label"], data["seed"])
        self.expected, self.wrong = data.get("expected"), data.get("wrong", {})
        self.recorded_facts = data["facts"]


class _Replay:
    """Mixed in before a check class: outputs and facts come from the record, never from a function."""

    def cases(self, rng, hidden):
        return [] if hidden else list(self.recorded_cases)

    def facts(self, case):
        # A copy, as the live check computes them afresh: a student's function may change what it is given.
        return copy.deepcopy(case.recorded_facts)

    def run_reference(self, case, fn=None):
        if fn is None:
            return _Selected(case.expected)
        if fn.key not in case.wrong:
            raise LookupError(f"the mistake {fn.key!r} did not run on this case")
        return _Selected(case.wrong[fn.key])

    def select(self, out):
        # The student's output is read as the live check reads it; a recorded one already was.
        return (out.value, None) if isinstance(out, _Selected) else super().select(out)


def _resolve(name):
    """The check class a record names, from a shipped module only."""
    module, _, qualname = str(name).partition(":")
    if module not in _CLASS_MODULES:
        raise RecordError(f"a record may name a check class of {', '.join(_CLASS_MODULES)} only, not {name}")
    cls = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part, None)
    if not isinstance(cls, type):
        raise RecordError(f"no check class {name}")
    return cls


def replay(data, cls=None, **supplied):
    """A check that judges from the record ``data`` (see :func:`record`).

    Its class is the one the record names (``cls``, when given, must be that class): it gives
    how the check reads an output and judges; the reference and the mistakes' functions are
    never needed. ``supplied``: functions the bundle gives a judge that are no graded
    function's reference (``final_model``'s ``predict``, the forward pass of a trained network).
    """
    if data.get("format") != FORMAT:
        raise RecordError(f"{data.get('name', '?')}: record format {data.get('format')!r}, expected {FORMAT}")
    named = _resolve(data["class"])
    if cls is not None and cls is not named:
        raise RecordError(f"{data['name']}: the record is of class {data['class']}, not {class_name(cls)}")
    check_class = type(f"Recorded{named.__name__}", (_Replay, named), {})
    spec = check_class(data["name"], reference=None, **data["options"], **supplied,
                       mistakes=[Mistake(key, hint, _RecordedOutput(key)) for key, hint in data["mistakes"]])
    spec.recorded_cases = [_RecordedCase(case) for case in data["cases"]]
    return spec


# --- the file: a pickle of plain data only --------------------------------------------------

_ALLOWED = {
    # functools.partial of a case helper: the function it wraps must itself come from a shipped module
    ("functools", "partial"),
    ("builtins", "complex"), ("builtins", "slice"), ("builtins", "frozenset"), ("builtins", "set"),
    ("numpy", "dtype"), ("numpy", "ndarray"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"),
}


class _DataOnly(pickle.Unpickler):
    def find_class(self, module, name):
        # A case helper (e.g. the cost function a case passes in) by reference, from a shipped module only.
        if (module, name) in _ALLOWED or (module == "numpy" and name.endswith("DType")) or \
                module == "numpy.dtypes" or module in SHIPPED:
            return super().find_class(module, name)
        raise RecordError(f"a record may hold data only, not {module}.{name}")


def dumps(data):
    """The record as bytes; :func:`loads` reads it back (and refuses anything but data)."""
    raw = pickle.dumps(data, protocol=5)
    loads(raw)  # fail at release time, not in a student's notebook
    return raw


def loads(raw):
    """A record from :func:`dumps`'s bytes; raises :class:`RecordError` for anything but data."""
    return _DataOnly(io.BytesIO(raw)).load()
