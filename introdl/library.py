"""Which implementation of a graded function introdl's own machinery calls.

The graded functions are the ones an assignment's test cells check (``dropout_forward``,
``adam_update``, ... the names of ``autograder.REGISTRY``). The package's machinery
(``train`` and its steppers, the network, ``coarse_to_fine``, ``eps_sweep``, ``accuracy``,
``random_flip``, the demo) calls them only through :func:`function`, at call time, never
through a name bound at import. So a build of ``introdl`` without a graded function's code
(the sealed student release, ``docs/sealed.md``) still imports, and its machinery runs on the
student's own function.

Where :func:`function` finds ``name``, first found wins:

1. **provided** in this process by :func:`provide` (what the sealed ``use()``/``check()`` set
   when the student's function passes its visible test);
2. **kept** in the student's own library by :func:`keep`: a function of the student's that
   passed in an earlier session or notebook, so later experiments train with the layers the
   student wrote (as CS231n's later notebooks do). The student's own work comes before the
   reference because the experiments are there to run it;
3. the **reference**, when this build has it (the open package always, the sealed one for an
   unlocked assignment), looked up in its module at each call;
4. otherwise :class:`Unfinished`: "finish <name> first".

The own library is a folder of ``<name>.py`` files, ``$INTRODL_OWN_LIBRARY`` or
``~/.introdl/own``. Grading never reads it: grading runs the submitted notebook against the
instructor's full reference in a sandbox whose home is a private empty folder and whose
environment is built from nothing (``autograder.sandbox.policy``), and the checks compare with
the reference itself, never through :func:`function`.
"""

import ast
import builtins
import functools
import importlib
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

# Every graded name, with the introdl module that holds its reference (None: the reference
# lives with its check only). A test keeps this equal to ``autograder.REGISTRY``'s names.
REFERENCE_MODULES = {
    "error_rate": "metrics", "split_sizes": "splits", "train_dev_test_split": "splits", "diagnose": "diagnosis",
    "l2_penalty": "penalties", "l2_penalty_grads": "penalties", "dropout_forward": "dropout",
    "dropout_backward": "dropout", "flip_horizontal": "augmentation", "early_stopping": "early_stopping",
    "fit_normalizer": "normalization", "normalize": "normalization", "initialize_parameters": "initialization",
    "dict_to_vector": "gradient_check", "vector_to_dict": "gradient_check",
    "numerical_gradient": "gradient_check", "relative_difference": "gradient_check",
    "gradient_check": "gradient_check", "random_mini_batches": "minibatch", "ewa": "averages",
    "momentum_init": "optimizers", "momentum_update": "optimizers", "rmsprop_init": "optimizers",
    "rmsprop_update": "optimizers", "adam_init": "optimizers", "adam_update": "optimizers",
    "inverse_time_decay": "schedules", "exponential_decay": "schedules", "staircase_decay": "schedules",
    "sample_log_uniform": "search", "sample_beta": "search", "random_search": "search",
    "grid_search": "search", "zoom_bounds": "search", "batchnorm_forward": "batchnorm",
    "batchnorm_backward": "batchnorm", "one_hot": "softmax", "softmax": "softmax",
    "softmax_cross_entropy": "softmax", "softmax_cross_entropy_backward": "softmax", "final_model": None,
}
OWN_LIBRARY_VARIABLE = "INTRODL_OWN_LIBRARY"

_provided = {}  # name -> the function provide() registered in this process
_loaded = {}  # name -> ((path, mtime_ns, size), function): a kept file is executed once per version


class Unfinished(Exception):  # noqa: N818 - the name is the message a student reads
    """Neither the student's own ``name`` nor a reference is available here."""

    def __init__(self, name):
        self.name = name
        super().__init__(f"finish {name} first: this needs it, and there is neither a passing {name} of "
                         "yours (run its test cell) nor a reference in this installation")


class KeptFunctionError(Exception):
    """A file of the own library does not give the function it is named after."""


def own_library():
    """The own library's folder: ``$INTRODL_OWN_LIBRARY``, or ``~/.introdl/own`` (may not exist yet)."""
    return Path(_own_folder())


@functools.lru_cache(maxsize=8)
def _expanded(folder):
    return os.path.expanduser(folder)


def _own_folder():
    # A plain string, expanded once per setting: the machinery asks on every layer of every step.
    return _expanded(os.environ.get(OWN_LIBRARY_VARIABLE) or "~/.introdl/own")


def provide(name, fn):
    """Make ``fn`` what the machinery calls for the graded function ``name`` in this process."""
    _check_name(name)
    if not callable(fn):
        raise TypeError(f"provide({name!r}, fn) needs a function, got {type(fn).__name__}")
    _provided[name] = fn


def forget(name):
    """Undo :func:`provide` for ``name`` (nothing happens when nothing was provided)."""
    _check_name(name)
    _provided.pop(name, None)


def keep(name, source):
    """Write the source of the student's passing ``name`` to the own library; returns the file's path.

    ``source`` is Python text with a top-level ``def name(...)``; it is run later with ``numpy``
    as ``np`` and every other graded name available (through :func:`function`). The file is
    replaced in one step, so a reader never sees half of it.
    """
    _check_name(name)
    if not isinstance(source, str):
        raise TypeError(f"keep({name!r}, source) needs the source as text, got {type(source).__name__}")
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise ValueError(f"the source of {name} does not parse: {err.msg} (line {err.lineno})") from None
    if not any(isinstance(node, ast.FunctionDef) and node.name == name for node in tree.body):
        raise ValueError(f"the source to keep defines no top-level function {name}")
    folder = own_library()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=folder, suffix=".tmp", delete=False, encoding="utf-8") as file:
        file.write(source)
    path = folder / f"{name}.py"
    os.replace(file.name, path)
    _loaded.pop(name, None)
    return path


def reference(name):
    """The reference of ``name`` in this build, or None when this build does not have it."""
    _check_name(name)
    module_name = REFERENCE_MODULES[name]
    if module_name is None:
        return None
    qualified = f"{__package__}.{module_name}"
    module = sys.modules.get(qualified)
    if module is None:
        try:
            module = importlib.import_module(qualified)
        except ModuleNotFoundError as err:
            if err.name != qualified:
                raise  # the module exists but something it imports is missing: not ours to hide
            return None
    fn = getattr(module, name, None)
    return fn if callable(fn) else None


def function(name):
    """The implementation of the graded function ``name`` that the machinery calls now.

    Provided in this process, else kept in the own library, else the reference (see the module
    docstring for why in this order).

    Raises
    ------
    Unfinished
        When none of them exists.
    KeptFunctionError
        When the own library's file for ``name`` does not load (the message names the file).
    """
    _check_name(name)
    if name in _provided:
        return _provided[name]
    fn = _kept(name)
    if fn is None:
        fn = reference(name)
    if fn is None:
        raise Unfinished(name)
    return fn


def uses_reference(name):
    """Whether :func:`function` gives the reference of ``name`` (the fused path stands in only for that)."""
    try:
        fn = function(name)
    except (Unfinished, KeptFunctionError):
        return False
    return fn is reference(name)


def _check_name(name):
    if name not in REFERENCE_MODULES:
        raise ValueError(f"{name!r} is not a graded function; graded: {', '.join(sorted(REFERENCE_MODULES))}")


def _kept(name):
    """The own library's ``name``, loaded once per version of its file; None when it has none."""
    path = os.path.join(_own_folder(), f"{name}.py")
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    version = (path, stat.st_mtime_ns, stat.st_size)
    cached = _loaded.get(name)
    if cached is not None and cached[0] == version:
        return cached[1]
    fn = _load(name, Path(path))
    _loaded[name] = (version, fn)
    return fn


def _load(name, path):
    """Run the kept source in a fresh namespace and return its ``name``."""
    # Other graded names resolve through function() when called, so a kept sample_beta may
    # call sample_log_uniform as the notebook's version did.
    namespace = {other: _deferred(other) for other in REFERENCE_MODULES if other != name}
    namespace.update(__name__=f"introdl.own.{name}", __builtins__=builtins, np=np)
    try:
        source = path.read_text(encoding="utf-8")
        exec(compile(source, str(path), "exec"), namespace)  # noqa: S102 - the student's own kept code
    except Exception as err:  # noqa: BLE001 - any failure of the student's file is reported with its name
        raise KeptFunctionError(f"{path}: the kept {name} does not load ({type(err).__name__}: {err}); "
                                f"fix or delete this file") from None
    fn = namespace.get(name)
    if not callable(fn):
        raise KeptFunctionError(f"{path}: defines no function {name}; fix or delete this file")
    return fn


def _deferred(name):
    """A function that calls whatever :func:`function` gives for ``name`` at call time."""

    def call(*args, **kwargs):
        return function(name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call
