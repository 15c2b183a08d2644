"""The ``autograder`` command is reachable as ``python -m autograder`` and through autograder.cli:main."""

import os
import subprocess
import sys
from pathlib import Path

from autograder.sandbox.policy import worker_env

ROOT = Path(__file__).resolve().parent.parent


def test_python_m_autograder_lists_the_commands():
    proc = subprocess.run([sys.executable, "-m", "autograder", "--help"], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    for command in ("release", "validate", "grade", "check", "export"):
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
