"""The sealed bundle's ``use`` and its recorded checks (shipped as ``autograder/checks/_sealed.py``).

This file is not used by the instructor's tool: ``release --sealed`` copies it into the student
build of ``autograder``, whose ``checks/__init__.py`` is the open one with ``use`` and the
loading of the ``aN_*.py`` modules taken out, and ends with ``from ._sealed import ...``.

What it does there:

- :func:`load` fills ``REGISTRY`` from the records written at release time
  (``checks/records/<name>.pkl``, read by :func:`autograder.checks.recorded.loads`, which
  refuses anything but data) and imports the check modules of the unlocked assignments, whose
  reference ships (``checks/records/index.json`` lists both);
- :func:`check` is the open release's check on the recorded visible cases, and keeps a
  function that passes them all in the student's own library (``introdl.library.keep``), so
  that later notebooks' experiments run on it;
- :func:`use` returns the student's function when it passes its visible test; a function of
  an unlocked assignment that does not pass is replaced by the reference, as in the open
  release; otherwise the cell prints one line naming what to finish first and skips its work:
  the function returned raises :class:`FinishFirst`, which IPython shows as nothing at all and
  which does not count as an error, so Run All still reaches the end of the notebook.
"""

import importlib
import inspect
import json
from importlib import resources

from autograder.checks import check as _check
from autograder.checks import recorded, run_check
from autograder.checks.registry import REGISTRY

RECORDS = "records"  # the folder of records inside autograder/checks


class FinishFirst(Exception):  # noqa: N818 - the student reads the name: it says what to do
    """Raised by the stand-in for a graded function whose visible test does not pass yet."""


def load():
    """Add the recorded checks and the unlocked assignments' live checks to ``REGISTRY``."""
    folder = resources.files("autograder.checks").joinpath(RECORDS)
    index = json.loads(folder.joinpath("index.json").read_text(encoding="utf-8"))
    for module in index["live"]:
        importlib.import_module(f"autograder.checks.{module}")
    for name in index["recorded"]:
        data = recorded.loads(folder.joinpath(f"{name}.pkl").read_bytes())
        REGISTRY[name] = recorded.replay(data, **_supplied(name))


def _supplied(name):
    """What a recorded judge needs from the bundle's own code (no graded reference in it)."""
    if name == "final_model":  # the forward pass of the trained network, on the student's own softmax
        return {"predict": importlib.import_module("introdl").predict_proba}
    return {}


def check(name, student_function, **kwargs):
    """The open release's ``check``; a function that passes every visible case is also kept.

    Kept means given to ``introdl.library`` (``provide`` for this process, ``keep`` for later
    notebooks): the student's "own library", from which introdl's machinery takes the functions
    of earlier assignments. Grading never reads it (it runs the submitted notebook against the
    instructor's full reference).
    """
    points = _check(name, student_function, **kwargs)
    if points == REGISTRY[name].points:
        _keep(name, student_function)
    return points


def use(name, student_function):
    """The student's function when it passes its visible test, else what the cell can run.

    Parameters
    ----------
    name : str
        The graded function's check, e.g. ``"dropout_forward"``.
    student_function : callable
        The notebook's own definition.

    Returns
    -------
    callable
        ``student_function`` when it passes (it is also handed to ``introdl.library``, so
        later notebooks' experiments use it); the reference of an unlocked assignment when it
        does not; otherwise a function that raises :class:`FinishFirst` when called.
    """
    spec = REGISTRY[name]
    result = run_check(spec, student_function)
    if result.passed == result.total:
        _keep(name, student_function)
        return student_function
    if spec.reference is not None:  # an unlocked assignment: its reference ships
        print(f"(note: your {name} does not pass its test yet, so this cell uses the reference solution)")
        return spec.reference
    _install_quiet_skip()
    print(f"(finish {name} first: it does not pass its visible test yet, so this cell skips its work)")

    def unfinished(*args, **kwargs):
        raise FinishFirst(f"finish {name} first")

    unfinished.__name__ = name
    return unfinished


def _keep(name, student_function):
    """Give the passing function to ``introdl.library``: for this process, and kept for later notebooks."""
    from introdl import library  # the bundle installs introdl beside this package

    library.provide(name, student_function)
    try:
        library.keep(name, inspect.getsource(student_function))
    except (OSError, TypeError):  # defined where no source is kept (e.g. exec'd)
        pass


_INSTALLED = set()


class _Skips:
    """What this kernel has skipped: once a cell skipped its work, a later cell that fails
    (most often on what the skipped cell would have made: a NameError, an empty list) is a
    skip too, shown as one line with its error, so a blank notebook's Run All reaches the end."""

    def __init__(self):
        self.any = False  # a cell of this kernel skipped
        self.forgiven = None  # the exception the handler turned into a skip, for post_run_cell


def _install_quiet_skip():
    """In IPython: a skipped cell is no error; FinishFirst shows nothing (``use`` said why).

    ``introdl.library.Unfinished`` (introdl's machinery needs a graded function that is neither
    the student's yet nor shipped) is a skip too, shown as its one line, and so is any later
    failure of a cell that is not a check's (see :class:`_Skips`). IPython keeps one custom
    exception handler, so this one also shows CheckFailed as the package does, and other errors
    with IPython's own traceback. A cleared ``error_in_exec`` (``post_run_cell`` runs before
    the kernel answers) makes the reply ``ok``, so the kernel does not abort the cells queued
    after it. ``autograder`` calls this (as ``install_ipython_handler``) when a notebook first
    imports ``check`` or ``use``.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with jupyter
        return
    shell = get_ipython()
    if shell is None or id(shell) in _INSTALLED:
        return
    import autograder
    from autograder.checks import CheckFailed
    from introdl.library import Unfinished

    state = _Skips()

    def handler(shell, etype, value, tb, tb_offset=None):
        if issubclass(etype, CheckFailed):
            return autograder._show_message_only(shell, etype, value, tb, tb_offset)
        if issubclass(etype, Unfinished) and not issubclass(etype, FinishFirst):
            print(f"({value}; this cell skips its work)")
        elif not issubclass(etype, FinishFirst):
            if not state.any:
                shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
                return None
            print(f"(this cell skips its work: it needs what a cell above skipped; {etype.__name__}: "
                  f"{str(value)[:200]})")
        state.any, state.forgiven = True, value
        return []

    def forgive(result):
        if result.error_in_exec is not None and result.error_in_exec is state.forgiven:
            result.error_in_exec = None
        state.forgiven = None

    shell.set_custom_exc((Exception,), handler)
    shell.events.register("post_run_cell", forgive)
    _INSTALLED.add(id(shell))


install_ipython_handler = _install_quiet_skip  # what autograder/__init__.py calls, instead of its own
