"""Resource limits of a grading worker, set in the child before it runs anything (``setrlimit``).

The worker's kernel, and everything the student's code starts, inherit them. They are
per process: the address space (``--memory``) caps each process, not their sum.
"""

import os
import resource
from dataclasses import dataclass

MB = 2**20


@dataclass(frozen=True)
class Limits:
    """Limits of one worker and its kernel.

    memory_mb : address space of each process (RLIMIT_AS), in MB.
    timeout : wall-clock seconds for the whole notebook; also bounds its CPU time.
    cell_timeout : wall-clock seconds for one cell.
    processes : processes the student's code may start (RLIMIT_NPROC, counted on top of the
        user's processes when the limits are built; root is exempt from it).
    open_files : open file descriptors per process (RLIMIT_NOFILE).
    file_mb : largest file a process may write (RLIMIT_FSIZE), in MB.
    sandbox : run student code in bubblewrap where it is installed.
    """

    memory_mb: int = 2048
    timeout: float = 600.0
    cell_timeout: float = 120.0
    processes: int = 256
    open_files: int = 256
    file_mb: int = 64
    sandbox: bool = True

    def rlimits(self):
        """``{resource: (soft, hard)}`` for these limits; computed in the parent, before any fork."""
        cpu = int(self.timeout) + 10  # each process's own CPU time; kernels run one BLAS thread
        return {
            resource.RLIMIT_AS: (self.memory_mb * MB,) * 2,
            resource.RLIMIT_CPU: (cpu, cpu + 5),
            resource.RLIMIT_NPROC: (_running_processes() + self.processes,) * 2,
            resource.RLIMIT_NOFILE: (self.open_files,) * 2,
            resource.RLIMIT_FSIZE: (self.file_mb * MB,) * 2,
        }


def preexec(rlimits):
    """A ``preexec_fn`` for :class:`subprocess.Popen` that only calls ``setrlimit``.

    Everything is computed beforehand: between fork and exec the child must not take locks
    that another thread of the grader may hold.
    """
    items = [(res, _capped(res, soft, hard)) for res, (soft, hard) in rlimits.items()]

    def apply():
        for res, limit in items:
            resource.setrlimit(res, limit)

    return apply


def _capped(res, soft, hard):
    """Never ask for more than the current hard limit (an unprivileged user cannot raise it)."""
    current = resource.getrlimit(res)[1]
    if current != resource.RLIM_INFINITY:
        soft, hard = min(soft, current), min(hard, current)
    return soft, hard


def _running_processes():
    """Processes (and threads, which RLIMIT_NPROC also counts) of this user right now."""
    uid, count = os.getuid(), 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                continue
    return count
