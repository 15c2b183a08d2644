"""docs/authoring.md, followed on a copy of the fixture course so that the guide cannot rot.

The guide's code blocks marked ``<!-- authoring-test: NAME -->`` are run as they are written:
the check is added to a copy of the package, the cells script inserts the answer and test cells,
and the shell commands run in the copy (``autograder`` as ``python -m autograder``). The guide's
example targets assignment 5; the only changes made here point it at the fixture course's one
assignment (``TO_FIXTURE``). Everything runs in subprocesses whose ``PYTHONPATH`` is the copy,
so the new check is seen by the grading workers and the sandbox, and this process's
``REGISTRY`` is left alone.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from fixtures.grading_support import FIXTURE, SOLUTION

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "authoring.md"
BLOCK = re.compile(r"<!-- authoring-test: (\w+) -->\n```\w+\n(.*?)```", re.S)
# The guide adds sqrt_decay to a5_optimization after its staircase test; the fixture course has
# one assignment, f1_fixture, whose last cell is error_rate's test.
TO_FIXTURE = {"a5_optimization": "f1_fixture", "a5-test_staircase_decay": "f1-test_error_rate"}
NOTEBOOK = Path("f1_fixture") / "f1_fixture.ipynb"
TEST_CELL = "a5-test_sqrt_decay"  # the guide's grade_id, kept as it is in the fixture notebook
HINT = "the rate shrinks as training goes on: divide by np.sqrt(epoch), do not multiply"


def guide_blocks():
    blocks = dict(BLOCK.findall(GUIDE.read_text(encoding="utf-8")))
    missing = {"check", "catalogue", "cells", "release", "wrong", "grade"} - set(blocks)
    assert not missing, f"docs/authoring.md lost its marked blocks {sorted(missing)}"
    return blocks


def for_fixture(text):
    for old, new in TO_FIXTURE.items():
        text = text.replace(old, new)
    return text


def checkout_with_fixture_course(tmp_path):
    """A checkout (the packages, the catalogue test) that is also the fixture course's root."""
    root = tmp_path / "checkout"
    skip = shutil.ignore_patterns("__pycache__", "grading")
    for name in ("autograder", "introdl", "datasets"):
        shutil.copytree(ROOT / name, root / name, ignore=skip)
    (root / "tests").mkdir()
    for test in ("test_check_catalogue.py", "test_recorded_checks.py"):
        shutil.copy(ROOT / "tests" / test, root / "tests")
    for name in ("solutions", "course"):
        shutil.copytree(FIXTURE / name, root / name, ignore=skip)
    shutil.copy(FIXTURE / "nbgrader_config.py", root)
    return root


def run(root, line):
    """One command line of the guide, in the checkout; returns its stdout (fails on a non-zero exit)."""
    words = shlex.split(line)
    command = {"autograder": [sys.executable, "-m", "autograder"], "python": [sys.executable]}[words[0]]
    env = {**os.environ, "PYTHONPATH": str(root), "OPENBLAS_NUM_THREADS": "1",
           "AUTOGRADER_HIDDEN_SEED": "authoring-guide-secret"}
    proc = subprocess.run(command + words[1:], cwd=root, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300, check=False)
    assert proc.returncode == 0, f"`{line}` exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def run_block(root, block):
    return [run(root, line) for line in block.splitlines() if line.strip()]


def submission(root, folder, student, sqrt_decay_answer=None):
    """The release with every answer cell solved (sqrt_decay's by ``sqrt_decay_answer`` when given)."""
    solved = {cell.metadata["nbgrader"]["grade_id"]: SOLUTION.sub("", cell.source)
              for cell in nbformat.read(root / "solutions" / NOTEBOOK, as_version=4).cells
              if cell.metadata.get("nbgrader", {}).get("solution")}
    if sqrt_decay_answer is not None:
        solved["a5-sqrt_decay"] = sqrt_decay_answer
    nb = nbformat.read(root / "course" / NOTEBOOK, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solved:
            cell.source = solved[grade_id]
    path = folder / student / NOTEBOOK
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)


def test_following_the_guide_adds_a_graded_function_that_grades_right_and_wrong_answers(tmp_path):
    blocks = guide_blocks()
    assert HINT in blocks["check"], "the hint the guide quotes is not the check's"
    root = checkout_with_fixture_course(tmp_path)

    # step 2: the check, and the catalogue and recorded-check tests on it
    with open(root / "autograder" / "checks" / "a5_optimization.py", "a", encoding="utf-8") as module:
        module.write("\n\n" + blocks["check"])
    (catalogue,) = run_block(root, blocks["catalogue"])
    # the catalogue: 4 mistakes x 4 (rejected, visible, own hint on a visible case, no other's hint), the
    # alternative, the reference, unfinished; recorded: 2
    assert re.search(r"\b21 passed\b", catalogue), catalogue

    # step 3: the cells script, run from the course root
    subprocess.run([sys.executable, "-c", for_fixture(blocks["cells"])], cwd=root, check=True,
                   capture_output=True, timeout=60)

    # step 4: release and validate
    released, validated = run_block(root, for_fixture(blocks["release"]))
    assert "released course/f1_fixture/f1_fixture.ipynb" in released, released
    student_view = (root / "course" / NOTEBOOK).read_text()
    assert 'check(\\"sqrt_decay\\", sqrt_decay)' in student_view and "hidden=True" not in student_view
    assert "k / np.sqrt(epoch)" not in student_view, "the release shows the solution"
    assert "ok     f1_fixture/f1_fixture.ipynb solution: 4 of 4 points" in validated, validated
    assert "ok     f1_fixture/f1_fixture.ipynb release: 0 of 4 points" in validated, validated
    run(root, "autograder release --check")

    # step 5: a right and a wrong answer, graded and exported
    trial = root / "grading" / "trial"
    submission(root, trial, "right")
    submission(root, trial, "wrong", blocks["wrong"])
    graded, exported = run_block(root, for_fixture(blocks["grade"]))
    rows = {row["student"]: row for row in json.loads(exported)}
    assert (rows["right"]["status"], rows["right"]["score"], rows["right"][TEST_CELL]) == ("ok", 4.0, 1.0), graded
    # k * sqrt(epoch) * lr0 is right only where epoch = 1: one visible and one hidden case of 8
    assert (rows["wrong"]["status"], rows["wrong"]["score"], rows["wrong"][TEST_CELL]) == ("ok", 3.25, 0.25), graded
    feedback = root / "grading" / "feedback"
    wrong_page = (feedback / "wrong" / NOTEBOOK.with_suffix(".html")).read_text(encoding="utf-8")
    right_page = (feedback / "right" / NOTEBOOK.with_suffix(".html")).read_text(encoding="utf-8")
    assert HINT in wrong_page and HINT not in right_page
    assert "Score: 4.0 / 4.0" in right_page


@pytest.mark.parametrize("path", sorted([*ROOT.glob("solutions/*/*.ipynb"), *FIXTURE.glob("solutions/*/*.ipynb")]),
                         ids=lambda path: path.stem)
def test_every_test_cell_is_worth_its_checks_points(path):
    """A test cell's value is its check's score, which nbgrader reads as the cell's partial credit
    (more than the cell's points is an error there): validate's rule, on every notebook."""
    from autograder.grading.validate import points_problems
    from autograder.grading.verify import graded_checks

    nb = nbformat.read(path, as_version=4)
    assert graded_checks(nb), f"{path.name} has no test cell that calls a check"
    wrong = points_problems(nb)
    assert not wrong, "\n".join(wrong)


def test_validate_names_a_test_cell_worth_other_points_than_its_check():
    from autograder import REGISTRY
    from autograder.grading.validate import points_problems
    from autograder.grading.verify import graded_checks

    nb = nbformat.read(ROOT / "solutions" / "a1_splits" / "a1_splits.ipynb", as_version=4)
    grade_id, name, _, _ = graded_checks(nb)[0]
    cell = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)
    cell.metadata.nbgrader.points = REGISTRY[name].points + 3
    assert points_problems(nb) == [
        f"{grade_id}: the cell is worth {REGISTRY[name].points + 3:g} points, its check {name!r} "
        f"{REGISTRY[name].points:g}"]
