"""The sealed release: a student bundle in which no graded function of a locked assignment exists.

``build_bundle(course, out, unlock=...)`` writes a folder an instructor hands out:

    OUT/
      README.md            for students: one pip command, then open the notebooks
      course/aN_*/         the release notebooks (as ``autograder release`` builds them)
      datasets/            the data files the notebooks load (also inside the introdl wheel)
      wheels/              introdl-*.whl and introdl_autograder-*.whl: the student build

The student build is made from this repository at release time (never kept as a second
source tree, so the two releases cannot drift apart):

- ``introdl``: every module, with the definition of each graded function of a locked
  assignment cut out (found in the module's syntax tree), with the private helpers only those
  functions use, and without ``fused.py`` unless the optimizers' assignment is unlocked. A
  name another module still uses becomes a stub that asks ``introdl.library`` for the
  student's own function (where the build has that module) or says the name is graded.
- ``autograder``: the student side only (the checks' core, helpers, registry, recorded
  checks and the call tracing), with a ``checks/__init__.py`` whose checks judge from records
  computed here (:mod:`autograder.checks.recorded`) and whose ``use`` skips a cell whose
  function does not pass yet (:mod:`.sealed_student`). An unlocked assignment's check module
  ships as it is and its checks run live.
"""

import ast
import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
import tomllib
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np

from ..checks import REGISTRY, recorded, seed_for
from .verify import graded_checks

REPO = Path(__file__).resolve().parents[2]
VERSION = "0.1.0+sealed"
FUSED = "fused"
OPTIMIZERS = ("momentum_update", "rmsprop_update", "adam_update")  # what introdl.fused computes
# The student side of autograder, relative to the package: nothing that grades, no aN_*.py.
STUDENT_FILES = ("__init__.py", "checks/core.py", "checks/helpers.py", "checks/registry.py",
                 "checks/recorded.py", "sandbox/__init__.py", "sandbox/tracing.py")


class SealError(ValueError):
    """The bundle cannot be built; the message is one line that says why and what to do."""


@dataclass
class Bundle:
    """What :func:`build_bundle` wrote: the folder, its size in bytes, the locked and unlocked assignments."""

    path: Path
    size: int
    locked: list
    unlocked: list


def graded_by_assignment(course):
    """``{assignment: [check name, ...]}`` from the source notebooks' test cells."""
    found = {}
    for assignment in course.assignments():
        names = found.setdefault(assignment, [])
        for path in course.source_notebooks(assignment):
            for _, name, _, _ in graded_checks(nbformat.read(path, as_version=4)):
                if name not in names:
                    names.append(name)
    return found


def build_bundle(course, out, *, unlock=()):
    """Write the student bundle for ``course`` into the new folder ``out``.

    Parameters
    ----------
    course : autograder.grading.course.Course
        The course (its ``solutions/``, ``course/`` and ``datasets/``).
    out : path-like
        A folder that does not exist yet, or an empty one.
    unlock : iterable of str
        Assignments whose reference ships (their deadline has passed).

    Returns
    -------
    Bundle

    Raises
    ------
    SealError
        An unknown assignment, ``out`` not empty, a locked check without a record, or a
        student build that does not import.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SealError(f"{out} exists and is not an empty folder: give a new one")
    graded = graded_by_assignment(course)
    unknown = sorted(set(unlock) - set(graded))
    if unknown:
        raise SealError(f"unknown assignment(s) to unlock: {', '.join(unknown)}; known: {', '.join(graded)}")
    locked = [a for a in graded if a not in unlock]
    locked_names = {name: a for a in locked for name in graded[a]}
    records = _records(locked_names)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".sealed-", dir=out.parent) as tmp:
        stage = Path(tmp) / "bundle"
        _write_bundle(course, stage, locked_names, records, [a for a in graded if a in unlock])
        if out.exists():
            out.rmdir()
        stage.rename(out)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return Bundle(out, size, locked, [a for a in graded if a in unlock])


def _write_bundle(course, stage, locked_names, records, unlocked):
    build = stage.parent / "build"
    introdl_project = _introdl_project(build / "introdl", locked_names, course.root / "datasets")
    autograder_project = _autograder_project(build / "autograder", records, unlocked)
    _imports_alone(introdl_project, autograder_project)
    for project in (introdl_project, autograder_project):
        _wheel(project, stage / "wheels")
    for assignment in [*sorted({*locked_names.values()}), *unlocked]:
        shutil.copytree(course.release / assignment, stage / "course" / assignment,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    _copy_datasets(course.root / "datasets", stage / "datasets")
    wheels = sorted(p.name for p in (stage / "wheels").glob("*.whl"))
    (stage / "README.md").write_text(_readme(wheels, unlocked), encoding="utf-8")


# --- records ---------------------------------------------------------------------------------

def _records(locked_names):
    """``{name: record bytes}`` for every locked check.

    Raises SealError naming every locked check whose class a bundle does not ship (its judge
    would need code that is not in ``recorded.SHIPPED``).
    """
    records, missing = {}, []
    for name, assignment in locked_names.items():
        spec = REGISTRY[name]
        if not recorded.recordable(spec):
            missing.append(f"{name} ({assignment})")
            continue
        cases = list(spec.cases(np.random.default_rng(seed_for(name, False)), False))
        records[name] = recorded.dumps(recorded.record(spec, cases))
    if missing:
        assignments = sorted({m.split("(")[1].rstrip(")") for m in missing})
        raise SealError(f"no record for {', '.join(missing)} (its check's class is not in recorded.SHIPPED): pass "
                        f"{' '.join('--unlock ' + a for a in assignments)} or move the class to "
                        "its assignment's module in autograder/checks/judges/")
    return records


def _relative_file(source, module):
    """The file of ``module`` (``autograder.x.y``) relative to the package folder ``source``: a
    package's is its ``__init__.py``."""
    relative = module.removeprefix("autograder.").replace(".", "/")
    return f"{relative}/__init__.py" if (source / relative).is_dir() else f"{relative}.py"


# --- introdl ---------------------------------------------------------------------------------

def _introdl_project(project, locked_names, datasets):
    """Write the student build of introdl into ``project``; returns ``project``."""
    source = REPO / "introdl"
    modules = {p.stem: p.read_text(encoding="utf-8") for p in sorted(source.glob("*.py"))}
    if any(name in locked_names for name in OPTIMIZERS):  # the fused step computes them in place
        modules.pop(FUSED, None)
    gone = {}  # module -> names cut out of it
    for stem, text in modules.items():
        gone[stem] = {n for n in _top_level(ast.parse(text)) if n in locked_names}
    if FUSED not in modules:
        gone[FUSED] = set(_top_level(ast.parse((source / f"{FUSED}.py").read_text(encoding="utf-8"))))
    package = project / "introdl"
    package.mkdir(parents=True)
    for stem, text in modules.items():
        sealed = _seal_module(text, stem, gone, locked_names)
        (package / f"{stem}.py").write_text(sealed, encoding="utf-8")
    _copy_datasets(datasets, package / "data")
    datasets_py = package / "datasets.py"
    text = datasets_py.read_text(encoding="utf-8")
    old = 'DATASETS_DIR = Path(__file__).resolve().parent.parent / "datasets"'
    if old not in text:
        raise SealError("introdl/datasets.py no longer defines DATASETS_DIR as release --sealed expects")
    datasets_py.write_text(text.replace(old, 'DATASETS_DIR = Path(__file__).resolve().parent / "data"'),
                           encoding="utf-8")
    _pyproject(project, "introdl", ["introdl"], {"introdl": ["data/*"]}, ("numpy", "matplotlib", "tqdm"))
    return project


def _top_level(tree):
    """``{name: node}`` of the module's definitions: functions, classes, and assignments to one name
    (a table of formulas such as ``_SCALES = {"he": lambda ...}`` is as much an answer as a function)."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found[node.name] = node
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name):
                found[targets[0].id] = node
    return found


def _names_in(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _seal_module(text, stem, gone, locked_names):
    """``text`` without the definitions in ``gone[stem]``, their private helpers and imports of cut names."""
    tree = ast.parse(text)
    cut = set(gone.get(stem, ()))
    cut |= _private_helpers(tree, cut)
    gone[stem] = cut
    edits, dropped = [], set()  # (first line, last line, replacement text)
    definitions = {node: name for name, node in _top_level(tree).items()}
    for node in tree.body:
        if definitions.get(node) in cut:
            edits.append((_first_line(node, text), node.end_lineno, None))
            dropped.add(definitions[node])
        elif isinstance(node, ast.ImportFrom) and node.level == 1 and (node.module or "") in gone:
            names = [a for a in node.names if a.name not in gone[node.module]]
            dropped |= {a.asname or a.name for a in node.names if a.name in gone[node.module]}
            if len(names) < len(node.names):
                kept = ast.unparse(ast.ImportFrom(node.module, names, 1)) if names else None
                edits.append((node.lineno, node.end_lineno, kept))
    sealed = _apply(text, edits)
    remaining = ast.parse(sealed)
    still_used = _names_in(remaining)
    if stem == "__init__":  # re-exported: a lookup of the student's own function
        still_used |= set(locked_names)
    stubs = [_stub(name, locked_names.get(name)) for name in sorted(dropped & still_used)
             if name not in _top_level(remaining)]
    if stubs:
        sealed = _insert_after_imports(sealed, "\n\n".join(stubs))
    return sealed


def _private_helpers(tree, cut):
    """Private top-level definitions used only by the definitions in ``cut`` (transitively)."""
    found = set(cut)
    while True:
        more = set()
        for name, node in _top_level(tree).items():
            if not name.startswith("_") or name in found:
                continue
            users = [n for n in tree.body if n is not node and name in _names_in(n)]
            if users and all(getattr(u, "name", None) in found for u in users):
                more.add(name)
        if not more:
            return found - set(cut)
        found |= more


def _first_line(node, text):
    """The first line of a definition with its decorators and the comment lines right above it."""
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    lines = text.splitlines()
    while first > 1 and lines[first - 2].lstrip().startswith("#"):
        first -= 1
    return first


def _apply(text, edits):
    lines = text.splitlines()
    for first, last, replacement in sorted(edits, reverse=True):
        lines[first - 1:last] = [] if replacement is None else replacement.splitlines()
    return "\n".join(lines) + "\n"


def _insert_after_imports(text, block):
    tree = ast.parse(text)
    last = 0
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom) or (
                isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and last == 0):
            last = node.end_lineno
        else:
            break
    lines = text.splitlines()
    return "\n".join([*lines[:last], "", "", *block.splitlines(), *lines[last:]]) + "\n"


def _stub(name, assignment):
    """A stand-in for a cut name that other code still uses: no implementation in it."""
    if name == "fused_supported":
        return ("def fused_supported(*args, **kwargs):\n"
                "    return False  # the sealed release has no fused step: the readable one runs\n")
    if assignment:
        return (f"def {name}(*args, **kwargs):\n"
                f'    """``{name}``, graded in {assignment}: your own (see :mod:`introdl.library`)."""\n'
                "    from .library import function\n\n"
                f"    return function({name!r})(*args, **kwargs)\n")
    return (f"def {name}(*args, **kwargs):\n"
            f'    raise NotImplementedError("{name} is not in the sealed release: the sealed release does not '
            'include it")\n')


# --- autograder ------------------------------------------------------------------------------

def _autograder_project(project, records, unlocked):
    """Write the student build of autograder into ``project``; returns ``project``."""
    source, package = REPO / "autograder", project / "autograder"
    extra = [_relative_file(source, m) for m in recorded.SHIPPED]
    live = [a for a in unlocked if (source / "checks" / f"{a}.py").is_file()]
    for relative in [*STUDENT_FILES, *extra, *(f"checks/{a}.py" for a in live)]:
        (package / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, package / relative)
    checks = package / "checks"
    (checks / "__init__.py").write_text(_student_checks_init(source / "checks" / "__init__.py"), encoding="utf-8")
    shutil.copyfile(Path(__file__).with_name("sealed_student.py"), checks / "_sealed.py")
    folder = checks / "records"
    folder.mkdir()
    for name, raw in records.items():
        (folder / f"{name}.pkl").write_bytes(raw)
    index = {"live": live, "recorded": sorted(records)}
    (folder / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    _pyproject(project, "introdl-autograder",
               ["autograder", "autograder.checks", "autograder.checks.judges", "autograder.sandbox"],
               {"autograder.checks": ["records/*"]}, ("numpy", "ipython"))
    return project


def _student_checks_init(path):
    """The open ``checks/__init__.py`` without ``use`` and the aN_*.py loading; the sealed ones instead."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    edits = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in ("use", "_load_assignments"):
            edits.append((_first_line(node, text), node.end_lineno, None))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and \
                getattr(node.value.func, "id", None) == "_load_assignments":
            edits.append((node.lineno, node.end_lineno, None))
    if len(edits) != 3:
        raise SealError("autograder/checks/__init__.py no longer has use and _load_assignments "
                        "as release --sealed expects")
    return _apply(text, edits) + ("\nfrom ._sealed import FinishFirst, check, install_ipython_handler, load, use"
                                  "  # noqa: E402\n\nload()\n")


# --- packaging -------------------------------------------------------------------------------

def _pyproject(project, name, packages, package_data, requirements):
    """pyproject.toml of a student wheel; requirements keep the repository's version ranges."""
    pinned = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    ranges = {_dist(r): r for r in pinned["dependencies"]}
    deps = [ranges.get(r, f"{r}>=8,<10" if r == "ipython" else r) for r in requirements]
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "{name}"\nversion = "{VERSION}"\nrequires-python = "{pinned["requires-python"]}"\n'
        f"dependencies = {json.dumps(deps)}\n\n"
        f"[tool.setuptools]\npackages = {json.dumps(packages)}\n\n"
        "[tool.setuptools.package-data]\n"
        + "".join(f'"{pkg}" = {json.dumps(globs)}\n' for pkg, globs in package_data.items()),
        encoding="utf-8")


def _dist(requirement):
    return requirement.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip()


def _wheel(project, wheels):
    """Build the project's wheel into ``wheels`` with this interpreter's setuptools, offline."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--wheel-dir", str(wheels), str(project)],
        cwd=project, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise SealError(f"building the wheel of {project.name} failed: {last}")


def _imports_alone(*projects):
    """Import the student build by itself (no repository on the path), or raise SealError."""
    code = ("import sys\nsys.path[:0] = sys.argv[1:]\nimport pkgutil, importlib\nimport introdl, autograder\n"
            "from autograder import check, use\n"
            "for pkg in (introdl, autograder):\n"
            "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
            "        importlib.import_module(m.name)\n"
            "assert all(p.startswith(tuple(sys.argv[1:])) for p in (introdl.__file__, autograder.__file__))\n")
    proc = subprocess.run([sys.executable, "-I", "-c", code, *map(str, projects)], cwd=projects[0],
                          capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
                          env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"})
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise SealError(f"the student build does not import: {last}")


def _copy_datasets(source, dest):
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.npz")) + [source / "MANIFEST.json"]:
        shutil.copyfile(path, dest / path.name)


def _readme(wheels, unlocked):
    opened = (f"The reference of {', '.join(unlocked)} is included (unlocked by your instructor)."
              if unlocked else "No assignment's reference is included.")
    return textwrap.dedent(f"""\
        # Tuning deep networks: your course bundle

        Install the course's packages into your Python (3.11 or newer; a virtual environment
        is best), from this folder:

            python -m pip install {' '.join('wheels/' + w for w in wheels)} jupyterlab

        Then open the notebooks in `course/` with `jupyter lab`, in order. Each graded
        function has a test cell below it; the experiments after it use your own function
        once it passes. Until it does, such a cell prints one line saying what to finish first
        and skips its work. {opened}

        `datasets/` holds the data the notebooks load (the installed `introdl` has its own copy).
        """)
