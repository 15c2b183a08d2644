"""``python tools/samples.py``: write the demo's sample submissions.

For each sample assignment, from its release (``course/``) and its solutions, one folder per
student in nbgrader's submitted layout, ``samples/demo/<student>/<assignment>/<notebook>.ipynb``:

- ``ada-complete``: every answer is the solution;
- ``ben-mistakes``, ``cai-mistakes``: typical mistakes from the checks' catalogue
  (``REGISTRY[name].mistakes``, the first one written with only numpy and introdl), in every
  other graded function, the rest solved;
- ``dee-blank``: the release as it was handed out;
- ``eli-crash``: solved, but one answer cell kills its kernel with ``os._exit``;
- ``fay-endless-loop``: solved, but one answer cell starts with an endless loop.

The output is a pure function of the notebooks and the catalogue; a test regenerates it and
compares it with the committed files.
"""

import argparse
import ast
import builtins
import inspect
import re
import shutil
import sys
from pathlib import Path

import nbformat

from autograder.checks import REGISTRY
from autograder.grading import course as courses
from autograder.grading.cells import is_answer, is_test_cell, nbgrader

ASSIGNMENTS = ("a1_splits", "a2_regularization")
STUDENTS = ("ada-complete", "ben-mistakes", "cai-mistakes", "dee-blank", "eli-crash", "fay-endless-loop")
CHECK_CALL = re.compile(r"""check\(\s*["'](\w+)["']\s*,\s*(\w+)""")
SOLUTION = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)
# Names a mistake may use: what the notebooks import (numpy as np, introdl, introdl as dl).
NOTEBOOK_NAMES = {"np", "introdl", "dl"}


def solved(source):
    """A solution cell's code as a student would write it (the markers removed)."""
    return SOLUTION.sub("", source)


def graded_functions(source_nb):
    """``[(check name, function name, answer grade_id)]`` in notebook order."""
    defined = {}
    for cell in source_nb.cells:
        if is_answer(cell):
            for name in re.findall(r"^def (\w+)\(", cell.source, re.M):
                defined[name] = nbgrader(cell)["grade_id"]
    found = []
    for cell in source_nb.cells:
        match = CHECK_CALL.search(cell.source) if is_test_cell(cell) else None
        if match and match.group(2) in defined and match.group(1) in REGISTRY:
            found.append((match.group(1), match.group(2), defined[match.group(2)]))
    return found


def _global_names(code):
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= _global_names(const)
    return names


def mistake_source(check_name, function_name):
    """Source of the first catalogued mistake that runs in a notebook, renamed to ``function_name``."""
    for mistake in REGISTRY[check_name].mistakes:
        fn = mistake.fn
        code = getattr(fn, "__code__", None)
        if code is None or code.co_freevars:
            continue
        # co_names also holds attribute names (np.mean -> "mean"): keep the module's globals
        globals_used = {n for n in _global_names(code) if n in fn.__globals__ and not hasattr(builtins, n)}
        if not globals_used <= NOTEBOOK_NAMES:
            continue
        node = _function_node(fn)
        if node is None:
            continue
        node.name = function_name
        text = ast.unparse(node)
        prefix = "import introdl\n" if "introdl" in globals_used else ""
        return f"{prefix}# typical mistake ({mistake.key}): {mistake.hint.splitlines()[0]}\n{text}\n"
    return None


def _function_node(fn):
    """The ``def`` of ``fn`` (a lambda becomes a one-line def), or None."""
    try:
        lines, first = inspect.getsourcelines(inspect.getmodule(fn))
    except (OSError, TypeError):
        return None
    tree = ast.parse("".join(lines))
    line = fn.__code__.co_firstlineno
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.lineno <= line <= node.end_lineno and node.name == fn.__name__:
            node.decorator_list = []
            return node
    lambdas = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda) and n.lineno == line]
    if len(lambdas) != 1:
        return None
    lam = lambdas[0]
    node = ast.parse("def mistake(): pass").body[0]
    node.args, node.body = lam.args, [ast.Return(lam.body)]
    return ast.fix_missing_locations(node)


def answers_for(student, source_nb):
    """``{answer grade_id: code}`` of one sample student (None: leave the release's blank)."""
    solutions = {nbgrader(c)["grade_id"]: solved(c.source) for c in source_nb.cells if is_answer(c)}
    functions = graded_functions(source_nb)
    if student == "dee-blank":
        return {}
    answers = dict(solutions)
    if student in ("ben-mistakes", "cai-mistakes"):
        start = 0 if student == "ben-mistakes" else 1
        for check_name, function_name, grade_id in functions[start::2]:
            wrong = mistake_source(check_name, function_name)
            if wrong:
                answers[grade_id] = wrong
    elif student == "eli-crash":
        grade_id = functions[min(2, len(functions) - 1)][2]
        answers[grade_id] = "import os\n\nos._exit(1)  # the kernel dies here\n" + answers[grade_id]
    elif student == "fay-endless-loop":
        grade_id = functions[-1][2]
        answers[grade_id] = "while True:  # never ends: the cell time limit stops it\n    pass\n\n" + answers[grade_id]
    return answers


def filled(release, answers):
    """The release notebook at ``release`` with ``answers`` ({answer grade_id: code}) in its answer cells."""
    nb = nbformat.read(release, as_version=4)
    for cell in nb.cells:
        if is_answer(cell) and nbgrader(cell)["grade_id"] in answers:
            cell.source = answers[nbgrader(cell)["grade_id"]].rstrip("\n")
    return nb


def write_samples(course, output, assignments=ASSIGNMENTS):
    """Write every sample into ``output`` (emptied first); returns the files written."""
    output = Path(output)
    if output.exists():
        shutil.rmtree(output)
    written = []
    for assignment in assignments:
        for source in course.source_notebooks(assignment):
            release = course.release_notebook(assignment, source.name)
            if release is None:
                raise ValueError(f"no release of {assignment}/{source.name}: run `autograder release` first")
            source_nb = nbformat.read(source, as_version=4)
            for student in STUDENTS:
                nb = filled(release, answers_for(student, source_nb))
                path = output / student / assignment / source.name
                path.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, path)
                written.append(path)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description="Write the demo's sample submissions.")
    parser.add_argument("--root", help="course folder (default: found from here)")
    parser.add_argument("--output", help="default: <root>/samples/demo")
    args = parser.parse_args(argv)
    course = courses.load(args.root)
    output = Path(args.output) if args.output else course.root / "samples" / "demo"
    for path in write_samples(course, output):
        print(path.relative_to(output.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
