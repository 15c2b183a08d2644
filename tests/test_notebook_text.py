"""What the notebooks say about themselves holds: each "(About N s.)" is within 2x of the measured time.

A claim is about the next code cell. The measured times are section 8 of benchmarks/results.md
(`python benchmarks/run.py --only cell-times`), a median of fresh runs on the benchmark machine;
this test only reads them, so it is fast and does not depend on the load of the machine it runs on.
"""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results.md"
NOTEBOOKS = sorted([*ROOT.glob("solutions/*/*.ipynb"), *ROOT.glob("course/*/*.ipynb")])
TOLERANCE = 2.0

# Any "about <something> s/seconds", so that a claim written another way ("about three seconds") is
# found too, and then asked to be written in digits.
CLAIM = re.compile(r"\babout\s+([\w.]+)\s+(?:s|secs?|seconds?)\b", re.IGNORECASE)
ROW = re.compile(r"^\| (\w+) \| ([\w-]+) \| ([\d.]+) \|$", re.MULTILINE)


def _cell_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def time_claims():
    """``[(notebook path, claim text, N as written, id of the code cell it is about)]``."""
    claims = []
    for path in NOTEBOOKS:
        cells = nbformat.read(path, as_version=4).cells
        for index, cell in enumerate(cells):
            if cell.cell_type != "markdown":
                continue
            following = next((c for c in cells[index + 1:] if c.cell_type == "code"), None)
            for match in CLAIM.finditer(cell.source):
                claims.append((path, match.group(0), match.group(1), following and _cell_id(following)))
    return claims


def measured():
    """``{(assignment, cell id): seconds}`` from section 8 of results.md."""
    text = RESULTS.read_text()
    start = text.find("## 8. ")
    assert start != -1, "benchmarks/results.md has no section 8; run `python benchmarks/run.py --only cell-times`"
    section = text[start:text.find("\n## ", start + 1) if "\n## " in text[start + 1:] else len(text)]
    return {(notebook, cell): float(seconds) for notebook, cell, seconds in ROW.findall(section)}


CLAIMS = time_claims()


def _name(claim):
    path, text, _, cell = claim
    return f"{path.parent.parent.name}/{path.parent.name}:{cell}:{text}"


def test_the_notebooks_state_times():
    """The test below has something to check (the solutions of a2, a5, a7 and a9 state times)."""
    assignments = {path.parent.name for path, *_ in CLAIMS}
    assert {"a2_regularization", "a5_optimization", "a7_batch_normalization", "a9_project"} <= assignments, (
        f"expected time claims in a2, a5, a7 and a9, found them in {sorted(assignments)}")


@pytest.mark.parametrize("claim", CLAIMS, ids=_name)
def test_time_claim_is_within_2x_of_the_measured_time(claim):
    path, text, number, cell = claim
    where = f"{path.relative_to(ROOT)}, {text!r}"
    assert re.fullmatch(r"\d+(?:\.\d+)?", number), (
        f"{where}: write the time in digits, '(About 3 s.)', so that benchmarks/run.py can measure it")
    assert cell, f"{where}: a time claim must come before the code cell it is about (no code cell follows it)"
    times = measured()
    key = (path.parent.name, cell)
    assert key in times, (f"{where}: benchmarks/results.md has no measured time for cell {cell}; "
                          "run `python benchmarks/run.py --only cell-times`")
    claimed, seconds = float(number), times[key]
    assert claimed / TOLERANCE <= seconds <= claimed * TOLERANCE, (
        f"{where}: cell {cell} took {seconds:.2f} s in the benchmark (section 8 of results.md), "
        f"more than {TOLERANCE:g}x away from the {claimed:g} s the text states")
