"""The sealed student bundle (issue 17, step 4): built, installed in a fresh venv, searched for answers.

The bundle locks every assignment whose checks can all be recorded today and unlocks the
rest (their reference ships). It is installed into a virtual environment made from the base
interpreter, which sees the shared venv's site-packages (numpy, IPython) through a plain path
line, so the repository's editable install (a ``.pth`` of its own) is not on its path.
"""

import ast
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import nbformat
import pytest

from autograder.checks import REGISTRY, CheckFailed, check
from autograder.grading import course as courses
from autograder.grading import sealed

# The interpreter the shared venv was made from: a venv of it does not see the repository.
BASE_PYTHON = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
SHARED_SITE = Path(sysconfig.get_paths()["purelib"])  # the shared venv's: numpy, IPython, tqdm


@pytest.fixture(scope="module")
def course():
    return courses.load(Path(__file__).resolve().parents[1])


@pytest.fixture(scope="module")
def plan(course):
    """``(locked assignments, unlocked assignments)``: locked where every check has a record today."""
    graded = sealed.graded_by_assignment(course)
    locked = []
    for assignment, names in graded.items():
        try:
            sealed._records(dict.fromkeys(names, assignment))
        except sealed.SealError:
            continue
        locked.append(assignment)
    assert locked, "no assignment can be sealed: the test would check nothing"
    return locked, [a for a in graded if a not in locked]


@pytest.fixture(scope="module")
def bundle(course, plan, tmp_path_factory):
    return sealed.build_bundle(course, tmp_path_factory.mktemp("sealed") / "bundle", unlock=plan[1])


@pytest.fixture(scope="module")
def venv(bundle, tmp_path_factory):
    """``(python, site-packages)`` of a fresh venv with the bundle's wheels installed, offline."""
    if not BASE_PYTHON.is_file():
        pytest.skip(f"no base interpreter {BASE_PYTHON} to make a venv without the repository")
    root = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([str(BASE_PYTHON), "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    site = Path(_run(python, "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--no-index", *map(str, sorted((bundle.path / "wheels").glob("*.whl")))],
                   check=True, capture_output=True)
    (site / "shared.pth").write_text(f"{SHARED_SITE}\n", encoding="utf-8")  # numpy, IPython: no .pth of its own
    return python, site


def _run(python, code, cwd=None, **environment):
    env = {"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg", "HOME": str(cwd or "/tmp"), **environment}
    proc = subprocess.run([str(python), "-c", code], cwd=cwd or "/tmp", env=env, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _locked_names(course, plan):
    graded = sealed.graded_by_assignment(course)
    return {name: a for a in plan[0] for name in graded[a]}


def test_the_bundle_has_notebooks_data_readme_and_two_wheels(bundle, plan):
    assert sorted(p.name for p in (bundle.path / "course").iterdir()) == sorted(plan[0] + plan[1])
    assert {p.name for p in (bundle.path / "datasets").iterdir()} >= {"digits.npz", "MANIFEST.json"}
    wheels = sorted(p.name.split("-")[0] for p in (bundle.path / "wheels").glob("*.whl"))
    assert wheels == ["introdl", "introdl_autograder"]
    assert "pip install" in (bundle.path / "README.md").read_text(encoding="utf-8")
    files = [p for p in bundle.path.rglob("*")]
    assert not [p for p in files if p.suffix == ".pyc" or p.name in (".git", "solutions")]


def test_the_installed_bundle_imports_without_the_repository(venv):
    python, site = venv
    out = _run(python, textwrap.dedent("""
        import sys, introdl, autograder
        from autograder import check
        print(introdl.__file__); print(autograder.__file__)
        print(any('/work/' in p and 'site-packages' not in p for p in sys.path))
        print(len(introdl.load_digits()) > 0)
    """))
    introdl_file, autograder_file, repo_on_path, data = out.split()
    assert introdl_file.startswith(str(site)) and autograder_file.startswith(str(site))
    assert repo_on_path == "False" and data == "True"


def test_no_graded_submodule_or_solution_ships(venv):
    _, site = venv
    shipped = {p.relative_to(site).as_posix() for p in (site / "autograder").rglob("*.py")}
    assert not any(p.startswith("autograder/grading") or "sandbox/worker" in p for p in shipped)
    assert not list(site.glob("introdl/**/*.pyc")) or all("__pycache__" in p.parts for p in site.rglob("*.pyc"))


# --- (a) no graded reference's code in any file of the bundle --------------------------------

def _normalised(node):
    """The function's syntax tree without docstrings, every identifier renamed in order of appearance."""
    node = ast.parse(ast.unparse(node)).body[0] if not isinstance(node, ast.Lambda) else node
    names = {}
    for sub in ast.walk(node):
        if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Module) and sub.body and \
                isinstance(sub.body[0], ast.Expr) and isinstance(getattr(sub.body[0], "value", None), ast.Constant) \
                and isinstance(sub.body[0].value.value, str):
            sub.body = sub.body[1:] or [ast.Pass()]
        for field in ("id", "arg", "name"):
            value = getattr(sub, field, None)
            if isinstance(value, str):
                setattr(sub, field, names.setdefault(value, f"v{len(names)}"))
    return ast.dump(node, annotate_fields=False)


def _functions(text):
    return [n for n in ast.walk(ast.parse(text))
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)]


def _reference_trees(names):
    import inspect

    return {name: _normalised(ast.parse(textwrap.dedent(inspect.getsource(REGISTRY[name].reference))).body[0])
            for name in names}


def test_the_ast_comparison_finds_a_reference_where_it_is(course, plan):
    """The comparison works: the open package's own files hold every locked reference."""
    names = _locked_names(course, plan)
    references = _reference_trees(names)
    repo = Path(__file__).resolve().parents[1]
    found = {_normalised(f) for p in (repo / "introdl").glob("*.py") for f in _functions(p.read_text())}
    found |= {_normalised(f) for p in (repo / "autograder" / "checks").glob("*.py") for f in _functions(p.read_text())}
    assert set(references.values()) <= found


def test_no_file_of_the_bundle_holds_a_locked_reference(course, plan, venv):
    _, site = venv
    references = _reference_trees(_locked_names(course, plan))
    by_tree = {tree: name for name, tree in references.items()}
    leaks = []
    for path in [*site.glob("introdl/**/*.py"), *site.glob("autograder/**/*.py")]:
        for function in _functions(path.read_text(encoding="utf-8")):
            name = by_tree.get(_normalised(function))
            if name:
                leaks.append(f"{path.relative_to(site)}:{function.lineno} is {name}")
    assert not leaks


# --- (b) no callable of the installed bundle passes a locked check ---------------------------

WALK = textwrap.dedent("""
    import functools, importlib, inspect, pkgutil, sys, types
    import importlib.util
    site = sys.argv[1]
    sys.path.insert(0, site)  # the installed bundle first: its own introdl and autograder
    found, seen = {}, set()

    def walk(obj, where, depth=0):
        if id(obj) in seen or depth > 4:
            return
        seen.add(id(obj))
        if isinstance(obj, functools.partial):
            found[where] = obj
            walk(obj.func, where + ".func", depth + 1)
            for i, arg in enumerate(obj.args):
                walk(arg, f"{where}.args[{i}]", depth + 1)
        elif inspect.isclass(obj) and obj.__module__.split(".")[0] in ("introdl", "autograder"):
            for key, value in vars(obj).items():
                value = getattr(value, "__func__", value)
                walk(value, f"{where}.{key}", depth + 1)
        elif inspect.isfunction(obj) and obj.__module__ and obj.__module__.split(".")[0] in ("introdl", "autograder"):
            found[where] = obj
            for i, cell in enumerate(obj.__closure__ or ()):
                try:
                    walk(cell.cell_contents, f"{where}.<closure {i}>", depth + 1)
                except ValueError:
                    pass
            for i, const in enumerate(obj.__defaults__ or ()):
                walk(const, f"{where}.<default {i}>", depth + 1)
        elif isinstance(obj, dict | list | tuple):
            for key, value in (obj.items() if isinstance(obj, dict) else enumerate(obj)):
                walk(value, f"{where}[{key!r}]", depth + 1)
        elif callable(obj) and type(obj).__module__.split(".")[0] in ("introdl", "autograder"):
            found[where] = obj

    import introdl, autograder
    for package in (introdl, autograder):
        modules = [package] + [importlib.import_module(m.name)
                               for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
        for module in modules:
            for key, value in vars(module).items():
                walk(value, f"{module.__name__}.{key}")
""")


def test_no_callable_of_the_bundle_passes_a_locked_check(course, plan, venv):
    """Every callable reachable from the installed bundle's modules, given to the full grader.

    The bundle is loaded in this interpreter in a subprocess whose path starts with the venv's
    site-packages, so the bundle's introdl and autograder shadow the repository's; the full
    grader's checks were imported before, from the repository.
    """
    _, site = venv
    names = sorted(_locked_names(course, plan))
    code = textwrap.dedent(f"""
        import json, sys
        import autograder.checks as full
        from autograder.checks import REGISTRY, run_check
        specs = {{name: REGISTRY[name] for name in {names!r}}}
        for key in [k for k in sys.modules if k.split(".")[0] in ("introdl", "autograder")]:
            del sys.modules[key]
    """) + WALK + textwrap.dedent("""
        assert introdl.__file__.startswith(site), introdl.__file__
        passing, partial = [], []
        for where, fn in found.items():
            for name, spec in specs.items():
                result = run_check(spec, fn)
                if result.passed == result.total:
                    passing.append(f"{where} passes {name}")
                elif result.passed:
                    partial.append(f"{where} passes {result.passed} of {result.total} cases of {name}")
        print(json.dumps({"walked": len(found), "passing": passing, "partial": partial}))
    """)
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, "-c", code, str(site)], cwd="/tmp", env=env, capture_output=True,
                          text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["walked"] > 100, result  # the walk reached the package, not nothing
    assert result["passing"] == [], result
    print("\n".join(result["partial"]))  # coincidences such as relative_difference(a, a) == 0 == error rate


# --- (c) a right and a wrong answer get the open release's report ----------------------------

def _solution_source(course, assignment, names):
    """The notebook's imports and function definitions (a graded function may call the notebook's
    other functions, a9's ``fit``), from the solution notebooks' code cells."""
    code = [cell.source for path in course.source_notebooks(assignment)
            for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    assert any(f"def {name}(" in source for source in code for name in names), \
        f"no solution cell of {assignment} defines {names}"
    kept = []
    for source in code:
        try:
            tree = ast.parse(source)
        except SyntaxError:  # a cell with IPython magics defines no graded function
            continue
        kept += [ast.unparse(node) for node in tree.body
                 if isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef)]
    return "\n\n".join(dict.fromkeys(kept))


WRONG = {  # a plausible wrong answer per a1 check: not the reference, not a catalogued mistake's code
    "split_sizes": "def split_sizes(m, ratios):\n    return tuple(int(m * r) + 1 for r in ratios)\n",
    "error_rate": "def error_rate(y_pred, y_true):\n    return float((y_pred == y_true).mean())\n",
    "diagnose": "def diagnose(train_error, dev_error, *, human_error=0.0):\n    return 'high variance'\n",
    "train_dev_test_split": ("def train_dev_test_split(X, Y, ratios, *, rng):\n"
                             "    return (X, Y), (X[:, :1], Y[:, :1]), (X[:, :1], Y[:, :1])\n"),
}


# final_model trains with dl.initialize_parameters, dl.train ...: in a sealed bundle those come from
# the student's own library, which this test does not fill (test_a_passing_function_is_kept...).
NEEDS_OWN_LIBRARY = {"final_model"}
PREAMBLE = "import numpy as np\n"  # what every answer may use, as the blank notebooks import it


def _open_report(source, name):
    namespace = {}
    exec(PREAMBLE + source, namespace)  # noqa: S102 - the test's own answer
    try:
        import contextlib
        import io

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            check(name, namespace[name])
        return out.getvalue().strip()
    except CheckFailed as failed:
        return str(failed)


def test_right_and_wrong_answers_get_the_open_report(course, plan, venv):
    python, _ = venv
    names = _locked_names(course, plan)
    cases = {}
    for name, assignment in names.items():
        if name in NEEDS_OWN_LIBRARY:
            continue
        cases[name] = {"right": _solution_source(course, assignment, [n for n, a in names.items() if a == assignment])}
        if name in WRONG:
            cases[name]["wrong"] = WRONG[name]
    code = textwrap.dedent("""
        import contextlib, io, json, sys
        from autograder import check
        (preamble, cases), reports = json.loads(sys.stdin.read()), {}
        for name, answers in cases.items():
            for kind, source in answers.items():
                namespace = {}
                exec(preamble + source, namespace)
                out = io.StringIO()
                try:
                    with contextlib.redirect_stdout(out):
                        check(name, namespace[name])
                    reports[f"{name} {kind}"] = out.getvalue().strip()
                except AssertionError as failed:
                    reports[f"{name} {kind}"] = str(failed)
        print(json.dumps(reports))
    """)
    proc = subprocess.run([str(python), "-c", code], input=json.dumps([PREAMBLE, cases]), cwd="/tmp",
                          capture_output=True, text=True, check=False,
                          env={"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    sealed_reports = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, answers in cases.items():
        for kind, source in answers.items():
            expected = _open_report(source, name)
            assert expected.startswith("✓" if kind == "right" else "✗"), expected
            assert sealed_reports[f"{name} {kind}"] == expected, name


def test_use_skips_an_unfinished_function_with_one_line(course, plan, venv):
    python, _ = venv
    name = sorted(_locked_names(course, plan))[0]
    out = _run(python, textwrap.dedent(f"""
        from autograder import use
        from autograder.checks import FinishFirst
        stand_in = use({name!r}, lambda *a, **k: None)
        try:
            stand_in()
        except FinishFirst:
            print("skipped")
    """))
    assert out.splitlines() == [f"(finish {name} first: it does not pass its visible test yet, so this cell "
                                "skips its work)", "skipped"]


def test_a_skipped_cell_is_no_error_in_a_kernel(course, plan, venv):
    """In Jupyter the skipped cell shows its one line, no traceback, and the next cells still run."""
    python, _ = venv
    name = sorted(_locked_names(course, plan))[0]
    out = _run(python, textwrap.dedent(f"""
        import nbclient, nbformat
        cells = ["from autograder import use", "f = use({name!r}, None)\\nf()\\nprint('not reached')", "print('end')"]
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in cells])
        nbclient.NotebookClient(nb, kernel_name="python3", allow_errors=False, timeout=60).execute()
        for cell in nb.cells:
            print(repr([(o.output_type, o.get("text", "")) for o in cell.outputs]))
    """))
    assert out.splitlines()[1:] == [
        repr([("stream", f"(finish {name} first: it does not pass its visible test yet, so this cell skips its "
                         "work)\n")]),
        repr([("stream", "end\n")])]


TRAIN_WITH_DROPOUT = textwrap.dedent("""
    import numpy as np, introdl as dl
    from introdl import library
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 40))
    Y = (X[:1] * X[1:] > 0).astype(float)
    params = {"W1": rng.standard_normal((8, 2)), "b1": np.zeros((8, 1)),
              "W2": rng.standard_normal((1, 8)), "b2": np.zeros((1, 1))}
    try:
        run = dl.train(params, X, Y, output="sigmoid", optimizer="gd", lr=0.1, epochs=3, batch_size=40,
                       keep_prob=0.8, rng=np.random.default_rng(1), progress=False)
    except library.Unfinished as err:
        print("unfinished:", err)
    else:
        print(library.function("dropout_forward").__code__.co_filename)
        print(len(run.history["cost"]), all(np.isfinite(run.history["cost"])))
""")


def test_a_passing_function_is_kept_and_later_trains_the_network(course, plan, venv, tmp_path):
    """A student passes a2's dropout (and a5's shuffle): a later notebook's training runs on them."""
    python, _ = venv
    names = ["dropout_forward", "dropout_backward", "random_mini_batches"]
    assert {"a2_regularization", "a5_optimization"} <= set(plan[0])
    own, work = tmp_path / "own", tmp_path / "work"
    work.mkdir()
    (work / "answers.py").write_text(  # a module, so that their source can be read as in a notebook
        _solution_source(course, "a2_regularization", names[:2]) + "\n\n"
        + _solution_source(course, "a5_optimization", names[2:]), encoding="utf-8")
    before = _run(python, TRAIN_WITH_DROPOUT, cwd=work, INTRODL_OWN_LIBRARY=str(own))
    assert before.startswith("unfinished: finish ") and before.split()[2] in names, before

    out = _run(python, "import contextlib, io\nfrom autograder import check\nimport answers\n"
               "with contextlib.redirect_stdout(io.StringIO()):\n"
               f"    print([check(n, getattr(answers, n)) for n in {names!r}])\n"
               "print(sorted(p.name for p in __import__('pathlib').Path(" + repr(str(own)) + ").iterdir()))",
               cwd=work, INTRODL_OWN_LIBRARY=str(own))
    assert out.strip() == repr(sorted(f"{n}.py" for n in names))

    (work / "answers.py").unlink()  # a later notebook: only the own library is left
    kept_file, trained = _run(python, TRAIN_WITH_DROPOUT, cwd=work, INTRODL_OWN_LIBRARY=str(own)).splitlines()
    assert kept_file == str(own / "dropout_forward.py") and trained == "3 True"


def test_unlocking_an_assignment_ships_its_reference(course, tmp_path):
    """Unlocked after its deadline, a2's reference is in the bundle's introdl, so a5 runs for a student
    whose own dropout never passed (introdl.library falls back to the reference)."""
    import zipfile

    def dropout_module(unlock):
        built = sealed.build_bundle(course, tmp_path / "-".join(unlock or ["none"]), unlock=unlock)
        wheel = next((built.path / "wheels").glob("introdl-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            return {node.name for node in ast.parse(archive.read("introdl/dropout.py")).body
                    if isinstance(node, ast.FunctionDef)}

    assert {"dropout_forward", "dropout_backward"} <= dropout_module(["a2_regularization"])
    assert not {"dropout_forward", "dropout_backward"} & dropout_module([])


def test_an_experiment_missing_an_earlier_function_skips_with_one_line_in_a_kernel(venv, tmp_path):
    """introdl's machinery needs a graded function the student has not passed yet: one line, no
    traceback, and Run All goes on."""
    python, _ = venv
    out = _run(python, textwrap.dedent(f"""
        import nbclient, nbformat
        cells = ["from autograder import check", {TRAIN_WITH_DROPOUT.replace('print("unfinished:", err)', 'raise')!r},
                 "print('end')"]
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in cells])
        nbclient.NotebookClient(nb, kernel_name="python3", allow_errors=False, timeout=60).execute()
        for cell in nb.cells[1:]:
            print(repr([(o.output_type, o.get("text", "")) for o in cell.outputs]))
    """), INTRODL_OWN_LIBRARY=str(tmp_path / "empty"))
    skipped, end = out.splitlines()
    assert skipped.startswith("[('stream', '(finish dropout_forward first: ") and "Traceback" not in skipped
    assert skipped.endswith("this cell skips its work)\\n')]") and end == repr([("stream", "end\n")])


def test_every_blank_notebook_of_the_bundle_runs_to_the_end_without_a_traceback(bundle, venv, tmp_path):
    """Run All on each blank notebook of the bundle: test cells fail with their check's message,
    experiments skip with one line, and nothing shows a traceback."""
    python, _ = venv
    notebooks = sorted(str(p) for p in (bundle.path / "course").glob("*/*.ipynb"))
    out = _run(python, textwrap.dedent(f"""
        import json, nbclient, nbformat
        from pathlib import Path
        found = {{}}
        for path in {notebooks!r}:
            nb = nbformat.read(path, as_version=4)
            nbclient.NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=300,
                                    resources={{"metadata": {{"path": str(Path(path).parent)}}}}).execute()
            errors, skips = [], 0
            for cell in nb.cells:
                graded = bool(cell.get("metadata", {{}}).get("nbgrader", {{}}).get("grade"))  # a test cell
                for o in cell.get("outputs", []):
                    if o.output_type == "error":
                        errors.append((o.ename, graded, "Traceback" in "".join(o.traceback)))
                    if o.output_type == "stream" and "skips its work" in o.text:
                        skips += 1
            found[Path(path).stem] = {{"errors": errors, "skips": skips}}
        print(json.dumps(found))
    """), INTRODL_OWN_LIBRARY=str(tmp_path / "own"))
    found = json.loads(out)
    assert len(found) == 9
    for name, seen in found.items():
        wrong = [e for e in seen["errors"] if e != ["CheckFailed", True, False]]
        assert not wrong, f"{name}: {wrong}"
        assert len(seen["errors"]) >= 1 and seen["skips"] >= 1, f"{name}: {seen}"


# --- (d) a student who works the assignments in order runs every experiment ------------------

KEEP_ANSWERS = textwrap.dedent("""
    import contextlib, importlib, io, json, os, shutil, sys
    from pathlib import Path
    from autograder import check
    order, snapshots = json.loads(sys.stdin.read())
    own = Path(os.environ["INTRODL_OWN_LIBRARY"])
    own.mkdir()
    for assignment, names in order:
        shutil.copytree(own, Path(snapshots) / assignment)  # what the student has before this one
        answers = importlib.import_module(f"answers_{assignment}")
        for name in names:
            with contextlib.redirect_stdout(io.StringIO()):
                check(name, getattr(answers, name))
    print(sorted(p.stem for p in own.iterdir()))
""")


@pytest.fixture(scope="module")
def own_libraries(course, plan, venv, tmp_path_factory):
    """``{assignment: folder}``: the own library of a student who passed every earlier assignment,
    kept by the bundle's ``check`` from the solutions' answers (as a student's Run All keeps them)."""
    python, _ = venv
    graded = sealed.graded_by_assignment(course)
    work, snapshots = tmp_path_factory.mktemp("answers"), tmp_path_factory.mktemp("own")
    order = []
    for assignment, names in graded.items():
        (work / f"answers_{assignment}.py").write_text(_solution_source(course, assignment, names), encoding="utf-8")
        order.append([assignment, [n for n in names if n not in NEEDS_OWN_LIBRARY]])
    proc = subprocess.run([str(python), "-c", KEEP_ANSWERS], input=json.dumps([order, str(snapshots)]),
                          cwd=work, capture_output=True, text=True, check=False,
                          env={"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg", "HOME": str(work),
                               "PYTHONPATH": str(work), "INTRODL_OWN_LIBRARY": str(work / "own")})
    assert proc.returncode == 0, proc.stderr[-2000:]
    kept = set(ast.literal_eval(proc.stdout.strip().splitlines()[-1]))
    assert kept == {n for _, names in order for n in names}, "every solution answer passes and is kept"
    return {assignment: snapshots / assignment for assignment, _ in order}


def _answered(release, solution):
    """The release notebook with each answer cell's source taken from the solution (by grade_id)."""
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in release.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and grade_id in answers:
            cell.source = answers[grade_id]
    return release


RUN_ANSWERED = textwrap.dedent("""
    import json, sys, nbclient, nbformat
    path, cwd = sys.argv[1], sys.argv[2]
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=600,
                            resources={"metadata": {"path": cwd}}).execute()
    seen = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.output_type == "error":
                seen.append(["error", o.ename, o.evalue[:300]])
            elif o.output_type == "stream" and ("skips its work" in o.text or "✗" in o.text):
                seen.append(["stream", o.text[:300]])
    print(json.dumps(seen))
""")


@pytest.mark.parametrize("assignment", sorted(p.name for p in (Path(__file__).resolve().parents[1] / "course").iterdir()
                                          if p.is_dir()))
def test_a_student_who_works_in_order_runs_every_experiment(assignment, course, bundle, venv, own_libraries,
                                                            tmp_path):
    """The bundle's notebook with right answers, on the own library of the earlier assignments only:
    every visible test passes and no experiment skips, so no notebook needs a later assignment's
    graded function (docs/sealed.md, step 6)."""
    python, _ = venv
    (release_path,) = (bundle.path / "course" / assignment).glob("*.ipynb")
    (solution_path,) = course.source_notebooks(assignment)
    answered = tmp_path / release_path.name
    nbformat.write(_answered(nbformat.read(release_path, as_version=4),
                             nbformat.read(solution_path, as_version=4)), answered)
    own = tmp_path / "own"
    shutil.copytree(own_libraries[assignment], own)
    proc = subprocess.run([str(python), "-c", RUN_ANSWERED, str(answered), str(release_path.parent)],
                          cwd=tmp_path, capture_output=True, text=True, check=False,
                          env={"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg", "HOME": str(tmp_path),
                               "INTRODL_OWN_LIBRARY": str(own)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen == [], "\n".join(map(str, seen))
