"""The verification pass: re-grade a submission's functions out of the student's reach.

The notebook run gives the student's feedback, but its scores come from code running in the
student's kernel, which the student's own cells could have patched. Here the student's
definitions (imports, functions, classes, literal constants; no other top-level statements)
run in a separate limited process (:mod:`autograder.remote`) and every graded function is
judged by the checks in this process, on visible and hidden cases.
"""

import ast
import re

from IPython.core.inputtransformer2 import TransformerManager

from .checks import REGISTRY, Result, run_check
from .checks.core import StudentError
from .remote import Limits, RemoteSession

CHECK_CALL = re.compile(r"""check\(\s*["'](\w+)["']\s*,\s*([A-Za-z_]\w*)""")
_KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)


def _is_literal_assignment(node):
    if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
        return False
    try:
        ast.literal_eval(node.value)
    except ValueError:
        return False
    return True


def student_source(nb):
    """The definitions of every code cell except the test cells, as one module's source."""
    transform = TransformerManager().transform_cell
    kept = []
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.metadata.get("nbgrader", {}).get("grade"):
            continue
        try:
            tree = ast.parse(transform(cell.source))
        except (SyntaxError, ValueError):
            continue  # a cell that does not parse defines nothing usable
        nodes = [n for n in tree.body if isinstance(n, _KEEP) or _is_literal_assignment(n)]
        kept.append(ast.unparse(ast.Module(body=nodes, type_ignores=[])))
    return "\n\n".join(kept)


def graded_checks(source_nb):
    """``(grade_id, check name, function name, points)`` for each test cell that calls a check."""
    found = []
    for cell in source_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade"):
            match = CHECK_CALL.search(cell.source)
            if match and match.group(1) in REGISTRY:
                found.append((meta["grade_id"], match.group(1), match.group(2), float(meta.get("points", 0))))
    return found


def verify(submission_nb, source_nb, *, limits=None, sandbox=True, hidden_paths=()):
    """Scores of the graded functions, judged here; returns {grade_id: Result}.

    A check whose function crashed the student process starts the next check in a new one.
    """
    source = student_source(submission_nb)
    results, session = {}, None
    try:
        for grade_id, name, function, points in graded_checks(source_nb):
            spec = REGISTRY[name]
            try:
                if session is None or session.proc.poll() is not None:
                    session = RemoteSession(source, limits=limits or Limits(), sandbox=sandbox, hidden=hidden_paths)
                fn = session.namespace.get(function)
            except StudentError as err:
                results[grade_id] = Result(name, points, 0, 1, [f"  ✗ {err}"])
                continue
            if fn is None:
                results[grade_id] = Result(name, points, 0, 1, [f"  ✗ the function {function} is not defined"])
                continue
            fn.forbidden = [(f.__module__, f.__qualname__) for f in spec.forbidden_functions]
            result = run_check(spec, fn, hidden=True)
            result.points = points
            results[grade_id] = result
    finally:
        if session is not None:
            session.close()
    return results
