"""The grading tool behind the ``autograder`` command, one module per step.

- :mod:`.course`    where the course's folders are (its ``nbgrader_config.py``)
- :mod:`.release`   ``course/`` from ``solutions/`` with nbgrader, and the in-sync check
- :mod:`.rebuild`   a submission rebuilt around the source's test and locked cells
- :mod:`.execute`   the worker process: runs one notebook with nbclient, scores it
- :mod:`.limits`    the worker's resource limits (``setrlimit`` before exec)
- :mod:`.runner`    starts a worker with its limits and a wall clock, reads its result
- :mod:`.score`     test-cell scores as nbgrader computes them
- :mod:`.grade`     a whole class in parallel; the one writer of the gradebook
- :mod:`.gradebook` nbgrader's gradebook, plus the status of each submission
- :mod:`.feedback`  HTML feedback without the hidden tests
- :mod:`.export`    CSV / JSON, one row per student and assignment
- :mod:`.validate`  solutions score full marks, blank releases score 0 cleanly
- :mod:`.selfcheck` a self-learner's per-question report
- :mod:`.samples`   the bundled sample submissions of the demo
- :mod:`.cli`       the command line (parses and prints only)
- :mod:`.cgroup`    a pids cgroup per worker (process cap, no leftovers)
- :mod:`.prefork`   workers forked from a server that imported their modules once
- :mod:`.distributed` grading on a Dask cluster (``--scheduler``)

The grader's own process never executes student code: every notebook runs in a worker
process, whose kernel and verification process run in bubblewrap where it is installed.
Statuses are listed in :data:`autograder.grading.grade.STATUSES`.
"""

import sys

# jsonschema (under nbformat) builds an RFC 3987 grammar at import when rfc3987_syntax is
# installed: 0.8 s of CPU in every grading process, for the "iri" format that notebook
# validation never checks. Marking it absent makes jsonschema skip that checker.
sys.modules.setdefault("rfc3987_syntax", None)
