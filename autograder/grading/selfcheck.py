"""``autograder check NOTEBOOK``: a self-learner's report, from the same worker as grading.

The notebook runs in a fresh worker, the way the grader runs it; nothing is written next to
it and no gradebook is needed. Its test cells come from the course when the course has this
notebook (``solutions/`` with the hidden tests where present, else the release in
``course/``); a notebook the course does not know keeps its own test cells.
"""

import tempfile
from pathlib import Path

from ..sandbox.policy import Limits
from . import course as courses
from .runner import run_worker


def find_source(path, course=None):
    """``(source, release)`` notebooks for a student's notebook at ``path``."""
    path = Path(path).resolve()
    if course is None:
        root = courses.find_root(path.parent)
        course = courses.load(root) if root else None
    if course is not None:
        assignment, name = path.parent.name, path.name
        source, release = course.source / assignment / name, course.release / assignment / name
        if source.is_file():
            return source, release if release.is_file() else None
        if release.is_file():
            return release, release
    return path, None


def check_notebook(path, *, course=None, limits=None):
    """Run a notebook as the grader would; returns its :class:`~.runner.NotebookResult`."""
    source, release = find_source(path, course)
    limits = limits or Limits()
    files = release.parent if release else None
    with tempfile.TemporaryDirectory(prefix="autograder-check-") as tmp:
        result = run_worker(path, source, Path(tmp) / "run", limits=limits, release=release, files=files)
        result.executed = None  # it lived in the temporary folder
    result.notebook = Path(path).name
    return result


def verdict(cell):
    """"passed", "partial", "failed" or "manual" for a CellScore."""
    if cell.points is None:
        return "manual"
    if cell.points >= cell.max:
        return "passed"
    return "partial" if cell.points > 0 else "failed"
