"""``make lab`` (students) and ``make lab-instructor``: which nbgrader extensions each launch has,
and formgrader on this course's configuration: no exchange warning, students' names shown.

The launches are read from the Makefile itself (``make -n``), so the configuration tested is the
one ``make`` starts. Servers run on 127.0.0.1 on temporary copies (tests/browser_helpers.py's
JupyterLab, no browser needed); their logs are kept in test-artifacts/lab/.
"""

import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from functools import cache
from pathlib import Path

import pytest

pytest.register_assert_rewrite("browser_helpers")  # as test_browser.py does, whichever module comes first
from browser_helpers import JupyterLab  # noqa: E402

from autograder.grading.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "lab"
STUDENT_CONFIG = ROOT / "jupyter-config" / "student"
# nbgrader's Lab plugins (@jupyter/nbgrader) and server extensions an instructor has and a student has not.
INSTRUCTOR_PLUGINS = ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:assignment-list",
                      "@jupyter/nbgrader:menu"]
INSTRUCTOR_ROUTES = ["/formgrader", "/formgraders", "/assignments"]  # formgrader, course_list, assignment_list
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@cache
def launch(target):
    """``(cwd, env)`` of the ``python -m jupyterlab`` command that ``make <target>`` runs."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed: the launches are read from the Makefile")
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_CONFIG_PATH"}
    printed = subprocess.run(["make", "-n", "-s", target], cwd=ROOT, env=env, capture_output=True, text=True,
                             check=True).stdout.replace("\\\n", " ")
    line = next(line for line in printed.splitlines() if "-m jupyterlab" in line)
    words = shlex.split(line)
    cwd = ROOT
    if words[0] == "cd":
        cwd, words = ROOT / words[1], words[words.index("&&") + 1:]
    assignments = {}
    while "=" in words[0]:
        name, value = words.pop(0).split("=", 1)
        assignments[name] = value
    return cwd, assignments


def isolated_env(tmp_path, target):
    """This process's environment with ``make <target>``'s variables, and an empty user config dir
    (so the developer's own ~/.jupyter decides nothing here)."""
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_CONFIG_PATH"}
    env.update(launch(target)[1])
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / f"user-config-{target}")
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def test_make_lab_opens_the_release_with_the_student_config_and_lab_instructor_the_root_without():
    cwd, env = launch("lab")
    assert cwd == ROOT / "course", cwd
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep)[0] == str(STUDENT_CONFIG), env
    cwd, env = launch("lab-instructor")
    assert cwd == ROOT and "JUPYTER_CONFIG_PATH" not in env, (cwd, env)


def disabled_labextensions(tmp_path, target):
    """The plugins that ``jupyter labextension list`` reports disabled in ``make <target>``'s launch."""
    proc = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"], cwd=launch(target)[0],
                          env=isolated_env(tmp_path, target), capture_output=True, text=True, check=True)
    text = ANSI.sub("", proc.stdout + proc.stderr)
    assert re.search(r"@jupyter/nbgrader v[\d.]+ enabled", text), text  # the package; its plugins below
    section = text.split("Disabled extensions:", 1)[1] if "Disabled extensions:" in text else ""
    return {line.strip() for line in section.splitlines() if line.strip()}


def test_student_lab_has_none_of_nbgrader_instructor_plugins(tmp_path):
    assert set(INSTRUCTOR_PLUGINS) <= disabled_labextensions(tmp_path, "lab")


def test_instructor_lab_has_every_nbgrader_plugin(tmp_path):
    assert not {p for p in disabled_labextensions(tmp_path, "lab-instructor") if p.startswith("@jupyter/nbgrader")}


# --- running servers -----------------------------------------------------------------------------

def status(server, path):
    """The HTTP status and body of a GET of ``path`` on ``server``, with its token."""
    request = urllib.request.Request(server.url(path), headers={"Authorization": f"token {server.token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, ""


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def serve(tmp_path, target, cwd, monkeypatch):
    """A JupyterLab server started in ``cwd`` with ``make <target>``'s environment."""
    for name, value in isolated_env(tmp_path, target).items():
        monkeypatch.setenv(name, value)
    if "JUPYTER_CONFIG_PATH" not in launch(target)[1]:
        monkeypatch.delenv("JUPYTER_CONFIG_PATH", raising=False)
    (tmp_path / f"state-{target}").mkdir()
    return JupyterLab(cwd, tmp_path / f"state-{target}")


def test_student_server_has_validate_but_no_instructor_extension(tmp_path, monkeypatch, artifacts):
    shutil.copytree(ROOT / "course" / "a1_splits", tmp_path / "course" / "a1_splits")
    server = serve(tmp_path, "lab", tmp_path / "course", monkeypatch)
    with server:
        try:
            found = {route: status(server, route)[0] for route in INSTRUCTOR_ROUTES}
            version = status(server, "/nbgrader_version?version=0")[0]  # validate_assignment answers it too
        finally:
            shutil.copyfile(server.log_path, artifacts / "student-server.log")
    assert found == dict.fromkeys(INSTRUCTOR_ROUTES, 404), found
    assert version == 200


def test_formgrader_shows_roster_names_and_no_exchange_warning(tmp_path, monkeypatch, capsys, artifacts):
    root = tmp_path / "course-root"
    root.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "solutions" / "a1_splits", root / "solutions" / "a1_splits")
    roster = tmp_path / "roster.csv"
    roster.write_text("id,first_name,last_name,email\nada,Ada,Lovelace,ada@example.org\n", encoding="utf-8")
    assert main(["roster", "import", str(roster), "--root", str(root)]) == 0, capsys.readouterr()
    capsys.readouterr()
    server = serve(tmp_path, "lab-instructor", root, monkeypatch)
    with server:
        try:
            page_status, page = status(server, "/formgrader/manage_assignments")
            students_status, students = status(server, "/formgrader/api/students")
            found = {route: status(server, route)[0] for route in INSTRUCTOR_ROUTES}
        finally:
            shutil.copyfile(server.log_path, artifacts / "instructor-server.log")
    log = server.log_path.read_text(errors="replace")
    assert page_status == 200 and "Manage Assignments" in page, page[:500]
    assert 'id="warning-exchange"' not in page and "does not exist and could" not in page
    warnings = [line for line in log.splitlines() if line.startswith(("[W", "[E", "[C")) and (
        "exchange" in line.lower() or "Unwritable directory" in line)]
    assert not warnings, warnings
    assert students_status == 200
    assert [(s["id"], s["first_name"], s["last_name"]) for s in json.loads(students)] == [("ada", "Ada", "Lovelace")]
    assert all(code != 404 for code in found.values()), found


# --- nbgrader's exchange check, in this process --------------------------------------------------

def exchange_check(root, monkeypatch):
    """``(exchange_missing, log text)`` of nbgrader's API built as formgrader builds it, in ``root``."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.apps.baseapp import NbGrader
    from nbgrader.coursedir import CourseDirectory

    monkeypatch.chdir(root)
    app = NbGrader()
    app.load_config_file()  # nbgrader_config.py of the current folder, as formgrader's handlers load it
    logger = logging.getLogger(f"test_lab.{root.name}")
    logger.propagate = False
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    api = NbGraderAPI(CourseDirectory(config=app.config), config=app.config, log=logger)
    return api.exchange_missing, "\n".join(record.getMessage() for record in records)


def test_the_course_config_gives_nbgrader_a_working_exchange(tmp_path, monkeypatch):
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    missing, log = exchange_check(tmp_path, monkeypatch)
    assert (missing, log) == (False, "")
    assert (tmp_path / "grading" / "exchange").is_dir()


def test_without_it_nbgrader_reports_the_exchange_missing(tmp_path, monkeypatch):
    """The check above can fail: a config whose exchange folder is absent gets nbgrader's warning."""
    text = (ROOT / "nbgrader_config.py").read_text()
    (tmp_path / "nbgrader_config.py").write_text(f"{text}\nc.Exchange.root = {str(tmp_path / 'absent')!r}\n")
    missing, log = exchange_check(tmp_path, monkeypatch)
    assert missing is True and "Unwritable directory" in log, log
