"""Which graded functions each solution notebook needs, and which of them a LATER assignment grades.

The sealed release (docs/sealed.md, step 6) needs every notebook to run on the functions of its own
and earlier assignments. This runs each notebook of ``solutions/`` in a kernel that logs every
graded function the notebook reaches: calls of ``introdl.<name>`` from the notebook, and the lookups
of introdl's machinery (``introdl.library.function``), with the fused step off as in a sealed
build (the readable step asks for each function it runs). It prints, per notebook, the graded
functions of later assignments it needed.

    .venv/bin/python tools/notebook_dependencies.py [a1_splits ...]
"""

import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]

LOGGER = r'''
import introdl as _dl, introdl.fused as _fused, introdl.library as _lib
from autograder import REGISTRY as _REGISTRY
_USED = set()
_reference = _lib.reference
def _logged(name):  # every lookup of the machinery that nothing provided reaches the reference
    _USED.add(name)
    return _reference(name)
_lib.reference = _logged
_fused.fused_supported = lambda *args, **kwargs: False  # as in a sealed build: the readable step runs
for _name in _REGISTRY:
    if callable(getattr(_dl, _name, None)):
        def _wrapper(*args, _f=getattr(_dl, _name), _n=_name, **kwargs):
            _USED.add(_n)
            return _f(*args, **kwargs)
        setattr(_dl, _name, _wrapper)
'''


def needed(assignment, out):
    """Run ``solutions/<assignment>``'s notebook with the logger; the graded names it reached."""
    source = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(source, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(LOGGER))
    nb.cells.append(nbformat.v4.new_code_cell(f"import json; open({str(out)!r}, 'w').write(json.dumps(sorted(_USED)))"))
    NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(source.parent)}}).execute()
    return set(json.loads(out.read_text()))


def main(assignments):
    from autograder.grading.verify import graded_checks

    order = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
    owner = {name: a for a in order
             for _, name, _, _ in graded_checks(nbformat.read(ROOT / "solutions" / a / f"{a}.ipynb", as_version=4))}
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(2) as pool:
        used = dict(zip(assignments, pool.map(lambda a: needed(a, Path(tmp) / f"{a}.json"), assignments), strict=True))
    for a in assignments:
        later = sorted(n for n in used[a] if order.index(owner[n]) > order.index(a))
        shown = ", ".join(f"{n} ({owner[n]})" for n in later)
        print(f"{a}: {shown or 'nothing from a later assignment'}")


if __name__ == "__main__":
    main(sys.argv[1:] or sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir()))
