"""Where a course's folders are: read from its ``nbgrader_config.py``, so plain nbgrader agrees.

Relative paths (and a relative ``sqlite:///`` gradebook) are taken relative to the course
root, not to the current directory, so the commands work from anywhere.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

from ..sandbox.policy import DEFAULTS

CONFIG_FILE = "nbgrader_config.py"
DEFAULT_CELL_TIMEOUT = DEFAULTS.cell_timeout

# A student id is also a folder name under grading/: letters, digits and . _ @ + -, not starting
# with a dot (no '..', no slashes, no spaces or control characters), at most 64 characters.
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
# Folders that editors and tools leave in a submissions folder; not students.
NOT_STUDENTS = {".ipynb_checkpoints", "__pycache__", ".DS_Store", ".git"}


def is_safe_id(name):
    """True when ``name`` can be used as a student or assignment folder name."""
    return isinstance(name, str) and STUDENT_ID.fullmatch(name) is not None and ".." not in name


@dataclass
class Course:
    """The folders and the gradebook URL of one course."""

    root: Path
    source: Path
    release: Path
    autograded: Path
    feedback: Path
    db_url: str
    cell_timeout: float = DEFAULT_CELL_TIMEOUT
    submitted: Path | None = None  # where collected submissions are (nbgrader's submitted_directory)

    @property
    def grading(self):
        """The git-ignored working folder (the parent of autograded/ and feedback/)."""
        return self.autograded.parent

    def assignments(self):
        """Names of the assignments in the source folder, in lecture order (a1, a2, ... a10)."""
        if not self.source.is_dir():
            return []
        names = [p.name for p in self.source.iterdir() if p.is_dir() and any(p.glob("*.ipynb"))]
        return sorted(names, key=_natural)

    def source_notebooks(self, assignment):
        """The source notebooks (solutions and hidden tests) of an assignment."""
        folder = self.source / assignment
        if not is_safe_id(assignment) or not folder.is_dir():
            raise ValueError(f"no assignment {assignment!r} in {self.source}")
        return sorted(folder.glob("*.ipynb"))

    def release_notebook(self, assignment, name):
        """The released (student) version of a notebook, or None when there is none yet."""
        path = self.release / assignment / name
        return path if path.is_file() else None


def _natural(name):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def find_root(start=None):
    """The nearest folder at or above ``start`` (default: the current one) with an nbgrader_config.py."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    return None


def load(root=None):
    """The :class:`Course` at ``root`` (default: found from the current folder)."""
    root = Path(root).resolve() if root else find_root()
    if root is None or not (root / CONFIG_FILE).is_file():
        raise ValueError(f"no {CONFIG_FILE} found (looked in {root or Path.cwd()} and above); "
                         "run from the course folder or pass --root")
    config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    directory = config.get("CourseDirectory", {})

    def folder(key, default):
        return (root / directory.get(key, default)).resolve()

    timeout = config.get("ExecutePreprocessor", {}).get("timeout", DEFAULT_CELL_TIMEOUT)
    return Course(
        root=root,
        source=folder("source_directory", "source"),
        release=folder("release_directory", "release"),
        autograded=folder("autograded_directory", "autograded"),
        feedback=folder("feedback_directory", "feedback"),
        db_url=resolve_db_url(directory.get("db_url", "sqlite:///gradebook.db"), root),
        cell_timeout=float(timeout) if timeout and timeout > 0 else DEFAULT_CELL_TIMEOUT,
        submitted=folder("submitted_directory", "submitted"),
    )


def resolve_db_url(url, root):
    """A relative SQLite path is relative to the course root; other URLs are kept as they are."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str((Path(root) / url[len(prefix):]).resolve())
    return url
