"""Visible checks that judge from recorded data, for the sealed release (no reference inside).

In the open release a check computes the expected output by calling the ``introdl``
reference, and a catalogued mistake's output by calling the mistake's function. A sealed
student bundle holds neither. Instead, at release time :func:`record` runs the reference and
every mistake on the visible cases and keeps only data: each case's inputs (or the seed that
builds its generator), the reference's output, and each mistake's output with its key. A
:class:`Recorded` check replays that data: it is the original check's class with
:meth:`run_reference` answered from the record, so the comparison, the hint matching and
every message stay the code the open release runs.

Only checks that judge by comparing one call's output with the reference
(``ReferenceCheck.judge``) can be recorded this way; :func:`recordable` tells which.

The record is a pickle that holds numbers, strings, arrays and containers only:
:func:`loads` refuses anything else (a function, a class outside numpy's arrays), so a
record can never carry code, the reference's or a mistake's.
"""

import io
import pickle

from .core import Case, Mistake, ReferenceCheck

FORMAT = 1  # bump when the record's layout changes; load refuses other versions


class RecordError(ValueError):
    """A record that cannot be made or read (its message names the check and the problem)."""


def recordable(spec):
    """Whether ``spec`` judges only by comparing one call's output with the reference's."""
    return isinstance(spec, ReferenceCheck) and type(spec).judge is ReferenceCheck.judge


def record(spec, cases):
    """The data a sealed visible check needs, as a dict of plain values.

    Parameters
    ----------
    spec : ReferenceCheck
        A check for which :func:`recordable` holds.
    cases : list of Case
        Its visible cases.

    Returns
    -------
    dict
        ``name``, ``points``, ``outputs``, ``compare_parts``, ``rtol``, ``atol``,
        the contracts (``dtype``, ``copies``, and ``parameters``, the reference's
        parameter names that messages use), ``mistakes`` (list of ``(key, hint)`` in catalogue order) and ``cases``:
        per case ``args``, ``kwargs``, ``label``, ``seed``, ``expected`` (the reference's output)
        and ``wrong`` (mistake key -> its output; a mistake that raises is left out, as the
        live check skips it). Outputs are recorded as the check's ``select`` reads them: only
        the compared parts (not batch norm's cache), a diagnosis as its label.
    """
    if not recordable(spec):
        raise RecordError(f"{spec.name}: only checks that compare one call with the reference can be recorded")
    recorded = []
    for case in cases:
        if case.hidden:
            raise RecordError(f"{spec.name}: hidden cases are never recorded")
        wrong = {}
        for mistake in spec.mistakes:
            try:
                wrong[mistake.key] = spec.select(spec.run_reference(case, mistake.fn))[0]
            except Exception:  # noqa: BLE001 - a mistake that cannot run on a case is not matched there
                continue
        recorded.append({"args": case.args, "kwargs": case.kwargs, "label": case.label, "seed": case.seed,
                         "expected": spec.select(spec.run_reference(case))[0], "wrong": wrong})
    return {"format": FORMAT, "name": spec.name, "points": spec.points, "outputs": spec.outputs,
            "compare_parts": spec.compare_parts, "rtol": spec.rtol, "atol": spec.atol,
            "dtype": None if spec.dtype is None else spec.dtype.str,
            "copies": spec.copies, "parameters": spec.parameters,
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
    """A visible case with the reference's and the mistakes' outputs on it."""

    def __init__(self, data):
        super().__init__(data["args"], data["kwargs"], data["label"], data["seed"])
        self.expected, self.wrong = data["expected"], data["wrong"]


class _Replay:
    """Mixed in before a check class: outputs come from the record, never from a function."""

    def cases(self, rng, hidden):
        return [] if hidden else list(self.recorded_cases)

    def run_reference(self, case, fn=None):
        if fn is None:
            return _Selected(case.expected)
        if fn.key not in case.wrong:
            raise LookupError(f"the mistake {fn.key!r} did not run on this case")
        return _Selected(case.wrong[fn.key])

    def select(self, out):
        # The student's output is read as the live check reads it; a recorded one already was.
        return (out.value, None) if isinstance(out, _Selected) else super().select(out)


def replay(data, cls=ReferenceCheck):
    """A check of class ``cls`` that judges from the record ``data`` (see :func:`record`).

    ``cls`` gives how the check reads an output (its ``select``); the reference and the
    mistakes' functions are never needed.
    """
    if data.get("format") != FORMAT:
        raise RecordError(f"{data.get('name', '?')}: record format {data.get('format')!r}, expected {FORMAT}")
    check_class = type(f"Recorded{cls.__name__}", (_Replay, cls), {})
    spec = check_class(
        data["name"], points=data["points"], reference=None, outputs=data["outputs"],
        compare_parts=data["compare_parts"], rtol=data["rtol"], atol=data["atol"],
        dtype=data["dtype"], copies=data["copies"], parameters=data["parameters"],
        mistakes=[Mistake(key, hint, _RecordedOutput(key)) for key, hint in data["mistakes"]])
    spec.recorded_cases = [_RecordedCase(case) for case in data["cases"]]
    return spec


# --- the file: a pickle of plain data only --------------------------------------------------

_ALLOWED = {
    ("builtins", "complex"), ("builtins", "slice"), ("builtins", "frozenset"), ("builtins", "set"),
    ("numpy", "dtype"), ("numpy", "ndarray"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"),
}


class _DataOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED or (module == "numpy" and name.endswith("DType")) or \
                module == "numpy.dtypes":
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
