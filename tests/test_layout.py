"""The autograder package's architecture, as its imports show it: no cycle, and each role's boundary.

- ``autograder.sandbox`` (isolation, limits, tracing, wire format) imports neither the checks
  nor the grading tool;
- ``autograder.checks`` (what test cells call) imports the sandbox's tracing, never the
  grading tool;
- nothing imports ``tools/`` (developer generators outside the installed package).
Every import counts, also one inside a function.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "autograder"


def _module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path):
    """Names of the autograder modules that ``path`` imports (absolute or relative, at any depth)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def import_graph():
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: sorted(m for m in _imports(path) if m in modules and m != name)
            for name, path in modules.items()}


def _cycle(graph):
    """One import cycle as a list of modules, or None."""
    state = {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                return [*trail[trail.index(nxt):], nxt] if nxt in trail else [node, nxt]
            if nxt not in state:
                found = visit(nxt, [*trail, nxt])
                if found:
                    return found
        state[node] = "done"
        return None

    for start in graph:
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_the_autograder_package_has_no_import_cycle():
    assert _cycle(import_graph()) is None, f"import cycle: {' -> '.join(_cycle(import_graph()))}"


def test_a_cycle_is_found_when_there_is_one():
    assert _cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]


def test_the_sandbox_imports_neither_the_checks_nor_the_grading_tool():
    graph = import_graph()
    wrong = {name: [m for m in deps if m.startswith(("autograder.checks", "autograder.grading"))]
             for name, deps in graph.items() if name.startswith("autograder.sandbox")}
    assert {k: v for k, v in wrong.items() if v} == {}


def test_the_checks_do_not_import_the_grading_tool():
    graph = import_graph()
    wrong = {name: [m for m in deps if m.startswith("autograder.grading")]
             for name, deps in graph.items() if name.startswith("autograder.checks")}
    assert {k: v for k, v in wrong.items() if v} == {}


def test_the_installed_packages_do_not_import_the_developer_tools():
    for path in [*PACKAGE.rglob("*.py"), *(ROOT / "introdl").rglob("*.py")]:
        assert not any(m == "tools" or m.startswith("tools.") for m in _imports(path)), path


def test_what_a_sealed_bundle_ships_of_the_checks_needs_no_reference():
    """The recorded checks and the machinery under them (with the judging classes and case helpers
    of ``recorded.SHIPPED``) import neither ``introdl`` nor an assignment's check module (which
    hold the reference and the catalogued mistakes)."""
    from autograder.checks.recorded import SHIPPED

    shipped = ["autograder.checks.recorded", "autograder.checks.core", "autograder.checks.helpers",
               "autograder.checks.registry", "autograder.sandbox.tracing", *SHIPPED]
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    for name in shipped:
        found = _imports(paths[name])
        wrong = [m for m in found if m.split(".")[0] == "introdl" or m.startswith("autograder.checks.a")]
        assert not wrong, f"{name} imports {wrong}"


def test_every_module_of_the_judges_package_ships():
    """A judge's module left out of ``recorded.SHIPPED`` would be missing from a sealed bundle, and
    its checks could not be recorded."""
    from autograder.checks.recorded import SHIPPED

    judges = {_module_name(p) for p in (PACKAGE / "checks" / "judges").glob("*.py")}
    assert "autograder.checks.judges.a1_splits" in judges
    assert sorted(judges - set(SHIPPED)) == []


def test_every_relative_import_names_a_module_of_the_package():
    """A relative import left pointing at the old place after a move (``from .recorded`` in a module
    one package deeper) fails only when its function runs: catch it here."""
    modules = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, node.module] if node.module else anchor)
                if base not in modules:
                    wrong.append(f"{name}: from {'.' * node.level}{node.module or ''}")
    assert wrong == []
