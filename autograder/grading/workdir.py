"""The grading work folder: one folder per graded notebook, ``<work>/<student>/<notebook stem>/``.

The worker (:mod:`.execute`) writes into it; the runner, the grader and the Dask pool read it:

- ``result.json``: the status and the scores (rewritten after every test cell);
- ``notebook.ipynb``: the executed notebook;
- ``worker.log``: the worker's stdout and stderr (never student output, which goes to the notebook);
- ``kernel.pid``: ``pid start_time`` of the kernel, so the runner can stop its process group;
- ``feedback.json``, ``feedback.html``, ``feedback.log``: the feedback renderer's job, page and
  log (:func:`autograder.grading.feedback.render_pages`).
"""

from pathlib import Path


class NotebookFolder:
    """The files of one graded notebook."""

    def __init__(self, path):
        self.path = Path(path)

    @classmethod
    def under(cls, work, student, notebook):
        """The folder of ``student``'s ``notebook`` (a name or path) in the work folder ``work``."""
        return cls(Path(work) / student / Path(Path(notebook).name).stem)

    @property
    def result(self):
        return self.path / "result.json"

    @property
    def executed(self):
        return self.path / "notebook.ipynb"

    @property
    def log(self):
        return self.path / "worker.log"

    @property
    def kernel_pid(self):
        return self.path / "kernel.pid"

    @property
    def render_job(self):
        return self.path / "feedback.json"

    @property
    def page(self):
        return self.path / "feedback.html"

    @property
    def page_log(self):
        return self.path / "feedback.log"


def add_detail(detail, *notes):
    """A status detail with ``notes`` after it, ``"; "`` between the parts that are not empty."""
    return "; ".join(filter(None, [detail, *notes]))
