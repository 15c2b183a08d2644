"""The verification pass: re-grade a submission's functions out of the student's reach.

The notebook run gives the student's feedback, but its scores come from code running in the
student's kernel, which the student's own cells could have patched. Here the student's
definitions (imports, functions, classes, cheap constants; no other top-level statements)
run in a separate limited process (:mod:`autograder.sandbox.session`) and every graded function is
judged by the checks in this process, on visible and hidden cases.
"""

import ast
import os
import re
from dataclasses import dataclass

from IPython.core.inputtransformer2 import TransformerManager

from ..checks import PUBLIC_SALT, REGISTRY, Result, run_check
from ..sandbox.policy import Limits
from ..sandbox.session import RemoteSession
from ..sandbox.tracing import StudentError
from .cells import grade_id, is_graded, points

HIDDEN_CALL = re.compile(r"""check\([^)]*hidden\s*=\s*True""")
CHECK_CALL = re.compile(r"""check\(\s*["'](\w+)["']\s*,\s*([A-Za-z_]\w*)""")
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# Calls a kept constant may make: numbers and containers, never the student's or the course's code.
_SAFE_CALLS = {"float", "int", "bool", "str", "tuple", "list", "dict", "set", "frozenset", "range", "len",
               "abs", "min", "max", "round", "sum", "sorted", "zip", "enumerate"}
_SAFE_MODULES = {"numpy", "math"}


def _module_aliases(tree):
    """Names bound to numpy or math by the imports of ``tree`` (``np``, ``math``, ...)."""
    return {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.Import)
            for a in node.names if a.name in _SAFE_MODULES}


def _root_name(node):
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _is_constant(value, modules):
    """A cheap constant: literals, arithmetic, and calls only to numpy, math or a few builtins.

    Such assignments (``EPS = np.float64(1e-8)``, ``LAYERS = [64, 10]``) may be used by the
    student's functions; anything else at top level (loading data, training) is left out.
    """
    for node in ast.walk(value):
        if isinstance(node, ast.Call):
            func = node.func
            if not ((isinstance(func, ast.Name) and func.id in _SAFE_CALLS)
                    or (isinstance(func, ast.Attribute) and _root_name(func) in modules)):
                return False
        elif isinstance(node, ast.Lambda | ast.NamedExpr | ast.Await | ast.Yield | ast.YieldFrom):
            return False
    return True


# Imports that graded functions do not need (plots, the checks, notebook tools) but that cost a
# third of a second each in every student process: bound to a stand-in that imports on first use.
LAZY_ROOTS = {"matplotlib", "autograder", "IPython", "ipywidgets", "seaborn", "pandas", "tqdm", "introdl.plots"}


def _lazy(node):
    """``node`` (an import) as ``name = __lazy__(module, attribute)`` assignments, when it is in LAZY_ROOTS."""
    def lazy(name, module, attribute=None, root=None):
        args = [ast.Constant(module), ast.Constant(attribute), ast.Constant(root)]
        call = ast.Call(ast.Name("__lazy__", ast.Load()), args, [])
        return ast.Assign([ast.Name(name, ast.Store())], call)

    if isinstance(node, ast.Import) and all(_is_lazy(a.name) for a in node.names):
        return [lazy(a.asname, a.name) if a.asname else lazy(a.name.split(".")[0], a.name, root=a.name.split(".")[0])
                for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
            all(_is_lazy(f"{node.module}.{a.name}") for a in node.names) and "*" not in {a.name for a in node.names}:
        return [lazy(a.asname or a.name, node.module, a.name) for a in node.names]
    return None


def _is_lazy(dotted):
    parts = dotted.split(".")
    return any(".".join(parts[:i]) in LAZY_ROOTS for i in range(1, len(parts) + 1))


def _guarded(node):
    """``node`` in a ``try``: an import or constant that fails leaves its name undefined."""
    handler = ast.ExceptHandler(type=ast.Name("Exception", ast.Load()), name=None, body=[ast.Pass()])
    return ast.Try(body=[node], handlers=[handler], orelse=[], finalbody=[])


def _parsed_cells(nb):
    transform = TransformerManager().transform_cell
    for cell in nb.cells:
        if cell.cell_type != "code" or is_graded(cell):
            continue
        try:
            yield ast.parse(transform(cell.source))
        except (SyntaxError, ValueError, RecursionError):
            continue  # a cell that does not parse defines nothing usable


def _syntax_note(nb):
    """`` (cell N has a syntax error ...)`` for the first code cell that does not parse, or ''.

    A cell that does not parse defines nothing, so its functions are "not defined"; the
    student needs the syntax error, with its line, to know why.
    """
    transform = TransformerManager().transform_cell
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or is_graded(cell):
            continue
        err = _syntax_error(transform(cell.source))
        if err is not None:
            err = _syntax_error(cell.source) or err  # as written, the line number is the cell's own
            line = (err.text or "").strip()
            return (f" (cell {index + 1} has a syntax error at its line {err.lineno}: {err.msg}"
                    + (f": {line}" if line else "") + ")")
    return ""


def _syntax_error(source):
    """The SyntaxError that parsing ``source`` raises, or None."""
    try:
        ast.parse(source)
    except SyntaxError as err:
        return err
    except (ValueError, RecursionError):
        return None
    return None


def student_source(nb):
    """The definitions of every code cell except the test cells, as one module's source.

    Functions and classes are kept; imports and cheap constants are kept inside ``try``
    blocks; every other top-level statement (loading data, training, printing) is dropped.
    """
    trees = list(_parsed_cells(nb))
    modules = set().union(*map(_module_aliases, trees))
    kept = []
    for tree in trees:
        nodes = []
        for node in tree.body:
            if isinstance(node, _DEFINITIONS):
                nodes.append(node)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                nodes.extend(_lazy(node) or [_guarded(node)])
            elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None \
                    and _is_constant(node.value, modules):
                nodes.append(_guarded(node))
        kept.append(ast.unparse(ast.fix_missing_locations(ast.Module(body=nodes, type_ignores=[]))))
    return "\n\n".join(kept)


def graded_checks(source_nb):
    """``(grade_id, check name, function name, points)`` for each test cell that calls a check."""
    found = []
    for cell in source_nb.cells:
        if cell.cell_type == "code" and is_graded(cell):
            match = CHECK_CALL.search(cell.source)
            if match and match.group(1) in REGISTRY:
                found.append((grade_id(cell), match.group(1), match.group(2), points(cell)))
    return found


@dataclass
class Verified:
    """One graded function, judged in the grader's process.

    result : Result
        On the visible cases and the instructor's hidden cases: the score that stands.
    public : Result
        On the visible cases and the public hidden cases, the ones the notebook's own test
        cell ran (the kernel never holds the secret); the same object without a secret.
    """

    result: Result
    public: Result


def _failed(name, points, message):
    failed = Result(name, points, 0, 1, [f"  ✗ {message}"])
    return Verified(failed, failed)


def _runs_hidden(source_nb, test_id):
    """Whether the source's test cell ``test_id`` runs a check on the hidden cases."""
    return any(grade_id(c) == test_id and HIDDEN_CALL.search(c.source) for c in source_nb.cells)


def verify(submission_nb, source_nb, *, limits=None, sandbox=True, hidden_paths=()):
    """Judge every graded function of the submission here; returns ``{grade_id: Verified}``.

    Each check gets a fresh child of the verification process without the reference
    implementations it forbids (:mod:`autograder.sandbox.withhold`); a check whose function
    crashed the whole process starts the next check in a new one.
    """
    source = student_source(submission_nb)
    secret = bool(os.environ.get("AUTOGRADER_HIDDEN_SEED"))
    results, session = {}, None
    try:
        for grade_id, name, function, points in graded_checks(source_nb):
            spec = REGISTRY[name]
            withheld = [(f.__module__, f.__qualname__) for f in spec.forbidden_functions]
            try:
                if session is not None and session.running():
                    session.load(withheld, function)
                else:
                    if session is not None:
                        session.close()
                    session = RemoteSession(source, limits=limits or Limits(), sandbox=sandbox, hidden=hidden_paths,
                                            withheld=withheld, graded=function)
                fn = session.namespace.get(function)
            except StudentError as err:
                results[grade_id] = _failed(name, points, err)
                continue
            if fn is None:
                results[grade_id] = _failed(name, points, f"the function {function} is not defined"
                                            + _syntax_note(submission_nb))
                continue
            result = run_check(spec, fn, hidden=True)
            # The cases the notebook's own test cell ran, to compare like with like: a release's
            # cell (a student's self-check) has no hidden test; the grader's has the public ones.
            if not _runs_hidden(source_nb, grade_id):
                public = run_check(spec, fn, hidden=False)
            else:
                public = run_check(spec, fn, hidden=True, salt=PUBLIC_SALT) if secret else result
            result.points = public.points = points
            results[grade_id] = Verified(result, public)
    finally:
        if session is not None:
            session.close()
    return results
