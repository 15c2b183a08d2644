"""The ``autograder`` command is reachable as ``python -m autograder`` and through autograder.cli:main."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.sandbox.policy import worker_env

ROOT = Path(__file__).resolve().parent.parent


def test_python_m_autograder_lists_the_commands():
    proc = subprocess.run([sys.executable, "-m", "autograder", "--help"], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    for command in ("release", "validate", "grade", "similarity", "check", "export"):
        assert command in proc.stdout


def test_console_script_entry_point_is_the_grading_cli():
    from autograder.cli import main
    from autograder.grading.cli import main as grading_main

    assert main is grading_main


def test_workers_get_a_minimal_environment_with_the_hidden_seed(monkeypatch):
    monkeypatch.setenv("AUTOGRADER_HIDDEN_SEED", "s3cret-seed")
    monkeypatch.setenv("INSTRUCTOR_TOKEN", "do-not-leak")
    env = worker_env()
    assert env["AUTOGRADER_HIDDEN_SEED"] == "s3cret-seed"
    assert "INSTRUCTOR_TOKEN" not in env and env["HOME"] == "/nonexistent"
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    monkeypatch.delenv("AUTOGRADER_HIDDEN_SEED")
    assert "AUTOGRADER_HIDDEN_SEED" not in worker_env()


USAGE_ERRORS = [
    (["grade"], "Missing argument 'assignment'"),
    (["grade", "a1_splits"], "no submissions folder"),  # the default, grading/submitted, is not there
    (["grade", "a1_splits", "--submissions", "/nonexistent-folder"], "'/nonexistent-folder' does not exist"),
    (["grade", "a1_splits", "--bogus"], "No such option: --bogus"),
    (["gradee"], "Did you mean 'grade'?"),
    (["check", "/nonexistent.ipynb"], "does not exist"),
    (["export", "--workers", "x"], "No such option: --workers"),
]


@pytest.mark.parametrize(("argv", "names"), USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS])
def test_a_usage_error_is_one_line_on_stderr_with_exit_code_2(argv, names):
    proc = subprocess.run([sys.executable, "-m", "autograder", *argv], capture_output=True, text=True, cwd=ROOT,
                          stdin=subprocess.DEVNULL, check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "" and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("autograder: error: ") and names in proc.stderr, proc.stderr


def test_no_arguments_print_the_help():
    proc = subprocess.run([sys.executable, "-m", "autograder"], capture_output=True, text=True, cwd=ROOT,
                          stdin=subprocess.DEVNULL, check=False)
    assert proc.returncode == 0 and "Usage: autograder" in proc.stdout and not proc.stderr


def test_checking_a_file_that_is_not_a_notebook_is_an_error(tmp_path):
    text = tmp_path / "notes.md"
    text.write_text("# not a notebook\n")
    proc = subprocess.run([sys.executable, "-m", "autograder", "check", str(text)], capture_output=True, text=True,
                          cwd=ROOT, stdin=subprocess.DEVNULL, check=False)
    assert proc.returncode == 1 and "cannot be checked: the file is not valid JSON" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
