"""nbgrader configuration for this course: plain `nbgrader` commands work from the repo root.

solutions/  source notebooks (solutions and hidden tests), kept by the instructor
course/     the student release, generated from solutions/ and committed
grading/    everything a grading run produces (git-ignored): submissions, autograded
            notebooks, feedback and the gradebook database; and exchange/, the course's own
            nbgrader exchange
"""

import contextlib
import os

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.root = "."
c.CourseDirectory.course_id = "introdl-tuning-dnn"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "course"
c.CourseDirectory.submitted_directory = "grading/submitted"
c.CourseDirectory.autograded_directory = "grading/autograded"
c.CourseDirectory.feedback_directory = "grading/feedback"
c.CourseDirectory.db_url = "sqlite:///grading/gradebook.db"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ExecutePreprocessor.timeout = 120

# Students hand in their .ipynb files; the course shares no nbgrader exchange. nbgrader's default,
# /usr/local/share/nbgrader/exchange, must pre-exist and be writable, or formgrader warns on every
# page and logs "Unwritable directory". A private exchange inside grading/ (made here, because every
# nbgrader app and formgrader read this file) keeps release/collect working on this machine only.
# On a shared JupyterHub set c.Exchange.root to the hub's exchange instead.
c.Exchange.root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grading", "exchange")
with contextlib.suppress(OSError):  # a read-only checkout: nbgrader then reports the exchange missing
    os.makedirs(c.Exchange.root, exist_ok=True)
