"""Wall time of every solution notebook, top to bottom in a fresh kernel (kernel start included),
and of each cell whose time the notebook's text states ("(About 3 s.)")."""

import os
import re
import tempfile
import time
from pathlib import Path

import nbclient
import nbformat
from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parent.parent

# A time claim in a markdown cell, "(About 3 s.)"; it is about the next code cell. The claimed figure is
# not recorded: tests/test_notebook_text.py compares each claim as it stands with the measured time.
CLAIM = re.compile(r"\babout (\d+(?:\.\d+)?) s\b", re.IGNORECASE)


def run(path, cell_times=None):
    """Seconds to execute the notebook at ``path`` (one BLAS thread, as the grader runs it).

    With ``cell_times`` (a dict), also fills it with each code cell's wall time, by cell index: from
    sending the cell to the kernel to its reply, what a student waits for.
    """
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    nb = nbformat.read(path, as_version=4)
    started = {}
    cell_times = {} if cell_times is None else cell_times

    def on_execute(cell, cell_index):
        started[cell_index] = time.perf_counter()

    def on_executed(cell, cell_index, execute_reply):
        cell_times[cell_index] = time.perf_counter() - started[cell_index]

    with tempfile.TemporaryDirectory() as runtime:
        km = KernelManager(kernel_name="python3", transport="ipc", ip=f"{runtime}/kernel")
        start = time.perf_counter()
        try:
            nbclient.NotebookClient(nb, km=km, timeout=300, on_cell_execute=on_execute,
                                    on_cell_executed=on_executed,
                                    resources={"metadata": {"path": str(path.parent)}}).execute()
            return time.perf_counter() - start
        finally:  # nbclient leaves a kernel it was given running (idle, but in the later sections' way)
            if km.has_kernel:
                km.shutdown_kernel(now=True)


def cell_id(nb, index):
    """The nbgrader id of cell ``index`` (the same in solutions/ and course/), else its position."""
    return nb.cells[index].metadata.get("nbgrader", {}).get("grade_id", f"cell {index}")


def claimed_cells_of(nb):
    """Indices of the code cells whose time ``nb`` states (each the next code cell after a claim)."""
    indices = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown" or not CLAIM.search(cell.source):
            continue
        following = next((i for i in range(index + 1, len(nb.cells)) if nb.cells[i].cell_type == "code"), None)
        if following is not None and following not in indices:
            indices.append(following)
    return indices


def all_notebooks():
    return {p.parent.name: run(p) for p in sorted(ROOT.glob("solutions/*/*.ipynb"))}


def claimed_cells(repeats=3):
    """Every cell whose time a solution notebook states, timed in ``repeats`` fresh runs of its notebook.

    Returns
    -------
    list of dict ``{"notebook", "cell", "seconds"}``, seconds the fastest of the runs (other
    work on a shared machine only ever adds time, so the fastest run is the closest to the cell's own)
    """
    rows = []
    for path in sorted(ROOT.glob("solutions/*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        indices = claimed_cells_of(nb)
        if not indices:
            continue
        runs = []
        for _ in range(repeats):
            runs.append({})
            run(path, runs[-1])
        rows += [{"notebook": path.parent.name, "cell": cell_id(nb, index), "seconds": min(r[index] for r in runs)}
                 for index in indices]
    return rows
