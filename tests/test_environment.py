"""environment.yml (for conda users) and pyproject.toml list the same dependencies."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _normalize(requirement):
    """'SQLAlchemy >=2.0, <2.2' -> ('sqlalchemy', '<2.2,>=2.0')."""
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-\[\]]+)\s*(.*)", requirement)
    name, spec = match.group(1), match.group(2)
    name = re.sub(r"\[.*\]", "", name).lower().replace("_", "-")
    return name, ",".join(sorted(part.strip() for part in spec.split(",") if part.strip()))


def _pyproject():
    """Every requirement of a full install (student, grader and dev), without the project itself."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    requirements = project["dependencies"] + extras["grader"] + extras["dev"]
    return dict(_normalize(r) for r in requirements if _normalize(r)[0] != project["name"])


def test_the_extras_follow_the_roles():
    """A student's install has no Dask and no grading database driver; dev includes the grader's extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    student = {_normalize(r)[0] for r in project["dependencies"]}
    assert not student & {"distributed", "dask", "sqlalchemy", "psycopg", "pytest"}, student
    assert f"{project['name']}[grader]" in project["optional-dependencies"]["dev"]


def _environment():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    return dict(_normalize(d) for d in conda if not re.match(r"(python|pip)\b", d))


def test_environment_yml_matches_pyproject():
    py, conda = _pyproject(), _environment()
    missing = sorted(set(py) - set(conda))
    extra = sorted(set(conda) - set(py))
    assert not missing and not extra, (
        f"environment.yml lacks {missing} and has extra {extra} compared with pyproject.toml "
        "(dependencies + the grader and dev extras)"
    )
    differ = {name: (py[name], conda[name]) for name in py if py[name] != conda[name]}
    assert not differ, f"version ranges differ (pyproject, environment.yml): {differ}"


def test_environment_yml_installs_the_package_itself():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_parts = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert pip_parts and "-e ." in pip_parts[0], "environment.yml should pip-install the project (-e .)"


def test_python_version_agrees():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    version = python.split("=")[-1]
    assert f">={version}" in requires.replace(" ", ""), f"{python} vs requires-python {requires}"
