"""The sandbox: where student code runs during grading, and under which limits.

- :mod:`.policy`: every limit and default (one :class:`~.policy.Limits`), the environments of the
  processes that run student code, and what must stay hidden from it;
- :mod:`.bubblewrap`: the bubblewrap command line (mounts, namespaces, the unprivileged uid);
- :mod:`.cgroup`: a pids cgroup per grading worker (fork bombs, leftover daemons);
- :mod:`.tracing`: one call of student code, watched (output, errors, calls of the reference);
- :mod:`.withhold`: a check's reference implementations, taken out of the process that runs it;
- :mod:`.wire`: the data-only format of what comes back from student code;
- :mod:`.session` and :mod:`.worker`: the verification process, from the grader's side and inside;
- :mod:`.processes`: a pid's start time, stopping a process group, explaining an exit.

Nothing here imports the grading tool (:mod:`autograder.grading`) or the checks.
"""
