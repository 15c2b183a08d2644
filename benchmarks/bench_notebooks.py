"""Wall time of every solution notebook, top to bottom in a fresh kernel (kernel start included)."""

import os
import tempfile
import time
from pathlib import Path

import nbclient
import nbformat
from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parent.parent


def run(path):
    """Seconds to execute the notebook at ``path`` (one BLAS thread, as the grader runs it)."""
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as runtime:
        km = KernelManager(kernel_name="python3", transport="ipc", ip=f"{runtime}/kernel")
        start = time.perf_counter()
        try:
            nbclient.NotebookClient(nb, km=km, timeout=300,
                                    resources={"metadata": {"path": str(path.parent)}}).execute()
            return time.perf_counter() - start
        finally:  # nbclient leaves a kernel it was given running (idle, but in the later sections' way)
            if km.has_kernel:
                km.shutdown_kernel(now=True)


def all_notebooks():
    return {p.parent.name: run(p) for p in sorted(ROOT.glob("solutions/*/*.ipynb"))}
