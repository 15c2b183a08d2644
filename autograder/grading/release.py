"""Release: build the student notebooks (``course/``) from the source (``solutions/``) with nbgrader.

``nbgrader generate_assignment`` runs in a subprocess with this interpreter's ``bin`` first on
``PATH`` (nbgrader 0.9.6 calls ``alembic`` by name when it creates a gradebook), so the caller's
``PATH`` does not matter. Its output is kept, and shown only when it fails.

nbgrader's checksums are md5 sums of each cell's source and metadata, so a release is
byte-for-byte reproducible: ``check`` builds a fresh release in a temporary folder and
compares it with ``course/`` file by file.
"""

import filecmp
import hashlib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from . import gradebook


class ReleaseError(RuntimeError):
    """nbgrader could not generate an assignment; the message has its log."""


def tool_env():
    """The environment for nbgrader and its tools: this interpreter's bin first on PATH."""
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH") or "/usr/local/bin:/usr/bin:/bin"])
    return env


def generate(course, assignments, *, release_dir=None, db_url=None, database=True):
    """Run ``nbgrader generate_assignment`` for ``assignments`` (one name or a list).

    ``release_dir`` and ``db_url`` default to the course's; pass others to build a copy (the
    check, with ``database=False``) or to register the assignment in another gradebook
    (grading with ``--gradebook``). Every assignment of the course goes through one nbgrader
    run (its assignment id is a glob, "*"); a selection, one run each.
    """
    names = [assignments] if isinstance(assignments, str) else list(assignments)
    patterns = ["*"] if len(names) > 1 and sorted(names) == sorted(course.assignments()) else names
    for pattern in patterns:
        cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", pattern, "--force",
               f"--CourseDirectory.root={course.root}",
               f"--CourseDirectory.release_directory={release_dir or course.release}"]
        cmd += [f"--CourseDirectory.db_url={db_url or course.db_url}"] if database else ["--no-db"]
        proc = subprocess.run(cmd, cwd=course.root, env=tool_env(), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0 or "[GenerateAssignmentApp | ERROR]" in proc.stderr:
            lines = [line.strip() for line in proc.stderr.splitlines()]
            errors = [line for line in lines if "ERROR]" in line or re.match(r"[\w.]*(Error|Exception)\b", line)]
            raise ReleaseError(f"nbgrader generate_assignment {pattern} failed:\n"
                               + "\n".join(dict.fromkeys(errors[-8:] or lines[-20:])))
    if database:
        for name in names:
            gradebook.mark_registered(db_url or course.db_url, name, fingerprint(course, name))


def fingerprint(course, assignment):
    """sha256 of an assignment's source notebooks (names and bytes): a new version changes it."""
    digest = hashlib.sha256()
    for path in course.source_notebooks(assignment):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def release(course, assignments):
    """Build ``course/<assignment>/`` for each assignment; returns the notebooks written."""
    for assignment in assignments:
        course.source_notebooks(assignment)  # raises for an unknown assignment
    course.grading.mkdir(parents=True, exist_ok=True)  # nbgrader's default gradebook lives there
    generate(course, assignments)
    return [p for a in assignments for p in sorted((course.release / a).glob("*.ipynb"))]


def out_of_sync(course, assignments):
    """Paths (relative to the course root) of released files that differ from a fresh release."""
    for assignment in assignments:
        course.source_notebooks(assignment)
    differ = []
    with tempfile.TemporaryDirectory(prefix="autograder-release-") as tmp:
        fresh_root = Path(tmp) / "release"
        generate(course, assignments, release_dir=fresh_root, database=False)
        for assignment in assignments:
            fresh, committed = fresh_root / assignment, course.release / assignment
            names = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
            if committed.is_dir():
                names |= {p.relative_to(committed) for p in committed.rglob("*")
                          if p.is_file() and ".ipynb_checkpoints" not in p.parts}
            for name in sorted(names):
                if not _same(fresh / name, committed / name):
                    differ.append((course.release / assignment / name).relative_to(course.root))
    return differ


def _same(a, b):
    if not a.is_file() or not b.is_file():
        return False
    if a.suffix == ".ipynb":  # equal content, whatever the JSON formatting
        try:
            return nbformat.read(a, as_version=4) == nbformat.read(b, as_version=4)
        except Exception:  # noqa: BLE001 - an unreadable committed notebook is out of sync
            return False
    return filecmp.cmp(a, b, shallow=False)
