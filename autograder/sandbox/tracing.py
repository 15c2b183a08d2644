"""One call of student code, watched: its output captured, its errors located, its reference calls seen.

Used by the checks in the notebook's own kernel (:func:`autograder.checks.core.student_call`) and
by the verification process (:mod:`.worker`), so both judge a call the same way.

In the kernel, calls of the reference are seen with ``sys.setprofile``, which reports every
Python function call of this thread whose code object is one of the ``forbidden`` ones. That is
feedback only: the student's own code can switch it off, call the reference from another
thread or run a copy of its code object. The verification process, whose scores stand, does not
trace: the reference is not there to call (:mod:`.withhold`).
"""

import contextlib
import io
import sys
import traceback
import warnings
from dataclasses import dataclass

import numpy as np

STUDENT_FILE = "<student>"  # the file name the verification process compiles student code under
_GRADER_PATHS = ("site-packages", "/autograder/", "/introdl/")


class StudentError(Exception):
    """The student's function raised, printed to stderr, called the reference, or its process failed."""


class NotImplementedYet(StudentError):
    """The student's function still raises ``NotImplementedError`` (the release's placeholder)."""


@dataclass
class Traced:
    """What one call did: its ``value``, or the ``error`` it raised; the reference functions it called."""

    value: object = None
    error: BaseException | None = None
    reference: list | None = None  # names of the forbidden functions it called, in order
    stdout: str = ""
    stderr: str = ""


def traced_call(fn, args, kwargs, forbidden=None):
    """Call ``fn(*args, **kwargs)`` with output captured and calls to ``forbidden`` code recorded.

    ``forbidden`` maps code objects to the names to report (no profiler without it). Numpy
    warnings and errors are silenced: a student's overflow must not reach the grader's stderr.
    """
    result = Traced(reference=[])
    out, err = io.StringIO(), io.StringIO()

    def profiler(frame, event, arg):
        if event == "call" and frame.f_code in forbidden:
            result.reference.append(forbidden[frame.f_code])

    previous = sys.getprofile()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), np.errstate(all="ignore"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if forbidden:
            sys.setprofile(profiler)
        try:
            result.value = fn(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 - reported to the caller, who decides
            result.error = error
        finally:
            if forbidden:
                sys.setprofile(previous)
    result.stdout, result.stderr = out.getvalue(), err.getvalue()
    return result


def shared_memory(value, args, kwargs):
    """Where a call's ``value`` shares memory with one of its array arguments, or None.

    Computed where the call ran (the verification process sends it with the value, whose
    arrays arrive as copies), for checks whose notebook asks for copies.

    Returns
    -------
    tuple (str, int or str) or None
        The part of ``value`` (``""`` for the value itself, else e.g. ``"['W1']"``) and the
        argument it shares memory with: a position in ``args`` or a key of ``kwargs``.
    """
    inputs = [(i, a) for i, a in enumerate(args)] + list(kwargs.items())
    arrays = [(key, a) for key, x in inputs for _, a in _array_parts(x, "") if a.size]
    for part, out in _array_parts(value, ""):
        for key, arr in arrays:
            if out.size and np.shares_memory(out, arr, max_work=10_000):
                return part, key
    return None


def _array_parts(value, path, depth=0):
    """``(path, array)`` for the arrays in ``value``, walking dicts, lists and tuples."""
    if isinstance(value, np.ndarray):
        yield path, value
    elif depth < 20 and isinstance(value, dict):
        for key, item in value.items():
            yield from _array_parts(item, f"{path}[{key!r}]", depth + 1)
    elif depth < 20 and isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _array_parts(item, f"{path}[{i}]", depth + 1)


def where(error, *, student_file=None):
    """`` (line N of your code: <line>)`` for the innermost frame of the student's own code, or ''.

    With ``student_file`` only frames of that file count; otherwise every frame outside the
    installed packages and this project's two packages.
    """
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if (f.filename == student_file if student_file else not any(p in f.filename for p in _GRADER_PATHS))]
    return f" (line {frames[-1].lineno} of your code: {frames[-1].line})" if frames and frames[-1].line else ""
