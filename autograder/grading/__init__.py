"""The grading tool behind the ``autograder`` command, one module per step.

In the order a submission meets them:

- :mod:`.course`     where the course's folders are (its ``nbgrader_config.py``)
- :mod:`.release`    ``course/`` from ``solutions/`` with nbgrader, and the in-sync check
- :mod:`.cells`      what a cell is to nbgrader (answer, test, graded, protected)
- :mod:`.grade`      a whole class in parallel; the one writer of the gradebook
- :mod:`.submission` one student's folder: found, graded notebook by notebook, its status
- :mod:`.distributed` the same on a Dask cluster (``--scheduler``)
- :mod:`.runner`     starts a worker with its limits and a wall clock, reads its result
- :mod:`.prefork`    workers and feedback renderers forked from a server that imported their modules once
- :mod:`.workdir`    the files a worker leaves for one notebook
- :mod:`.execute`    the worker process: verification pass, then the notebook with nbclient
- :mod:`.rebuild`    a submission rebuilt around the source's test and locked cells
- :mod:`.verify`     the verification pass: each graded function judged out of the student's reach
- :mod:`.score`      test-cell scores as nbgrader computes them
- :mod:`.gradebook`  nbgrader's gradebook, plus the status of each submission
- :mod:`.feedback`   HTML feedback without the hidden tests, rendered in a limited process
- :mod:`.sanitize`   what of a student's HTML may reach a feedback page
- :mod:`.export`     CSV / JSON, one row per student and assignment
- :mod:`.similarity` copy detection: each graded function's answers against its sources and each other
  (:mod:`.similarity_report` its HTML page and CSV, :mod:`.similarity_calibration` its numbers)
- :mod:`.validate`   solutions score full marks, blank releases score 0 cleanly
- :mod:`.selfcheck`  a self-learner's per-question report
- :mod:`.cli`        the command line (parses and prints only)

The limits, the bubblewrap sandbox and the cgroup are :mod:`autograder.sandbox`'s.
The grader's own process never executes student code: every notebook runs in a worker
process, whose kernel and verification process run in bubblewrap where it is installed.
Statuses are listed in :data:`autograder.grading.submission.STATUSES`.
"""

import sys

# jsonschema (under nbformat) builds an RFC 3987 grammar at import when rfc3987_syntax is
# installed: 0.8 s of CPU in every grading process, for the "iri" format that notebook
# validation never checks. Marking it absent makes jsonschema skip that checker.
sys.modules.setdefault("rfc3987_syntax", None)
