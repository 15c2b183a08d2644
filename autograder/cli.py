"""The ``autograder`` console script: release, validate, grade, check, export.

The commands live in :mod:`autograder.grading.cli`; this module is the entry point that
pyproject.toml names (``autograder = "autograder.cli:main"``).
"""

from .grading.cli import app, main

__all__ = ["app", "main"]
