"""Execute a notebook in a fresh kernel for the tests (IPC transport: no TCP warning)."""

import os
import tempfile

import nbclient
import nbformat
from jupyter_client.manager import KernelManager

# Two notebooks run at once under pytest -n 2: one BLAS thread each avoids oversubscription.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def execute(path, *, timeout=120):
    """Run every cell of the notebook at ``path`` in its own folder; return the executed notebook."""
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as runtime:
        km = KernelManager(kernel_name="python3", transport="ipc", ip=f"{runtime}/kernel")
        client = nbclient.NotebookClient(nb, km=km, timeout=timeout, allow_errors=True,
                                         resources={"metadata": {"path": str(path.parent)}})
        client.execute()
    return nb


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def is_test_cell(cell):
    return cell.cell_type == "code" and nbgrader_meta(cell).get("grade", False)


def errors(cell):
    return [o for o in cell.get("outputs", []) if o.output_type == "error"]
