"""The sandbox policy: every limit and default that student code runs under, in one place.

Student code runs in two kinds of process, both started by a grading worker (:mod:`autograder.grading.execute`):
the notebook's kernel (the feedback run) and the verification process (:mod:`.session`). Both run
in bubblewrap (:mod:`.bubblewrap`) with the environment and resource limits set here; the worker
itself runs in a pids cgroup (:mod:`.cgroup`) with :meth:`Limits.rlimits`, which its children
inherit. The Dask workers (:mod:`autograder.grading.distributed`) grade with the same objects.

Feedback pages are rendered from the executed notebooks in a process of their own too, under
:class:`RenderLimits` (:data:`FEEDBACK`): the pages hold what the student wrote.

Resource limits are set in the child before it runs anything (``setrlimit``); they are per
process: the address space (``memory_mb``) caps each process, not their sum.
"""

import os
import resource
import sys
from dataclasses import dataclass
from pathlib import Path

MB = 2**20
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder that holds autograder/ and introdl/
HIDDEN_SEED = "AUTOGRADER_HIDDEN_SEED"  # the instructor's secret for the hidden cases: never in the kernel
SHOWN_FROM_CHECKOUT = ("introdl", "autograder", "datasets")  # all the sandbox sees of the checkout (and the venv)
WORKER_MEMORY_MB = 512  # a grading worker's own share of its memory cgroup (nbclient, the checks)
SANDBOX_UID_BASE = 1_000_000  # as root, student code runs as this + the worker's pid: no account has such a uid


@dataclass(frozen=True)
class Limits:
    """Limits of one grading worker, its kernel and its verification process.

    memory_mb : address space of each process (RLIMIT_AS), in MB.
    timeout : wall-clock seconds for the whole notebook; also bounds each process's CPU time.
    cell_timeout : wall-clock seconds for one cell of the notebook.
    call_timeout : wall-clock seconds for one call of a student's function in the verification
        pass (never more than ``cell_timeout``).
    processes : processes and threads the student's code may start (the worker's pids cgroup,
        and RLIMIT_NPROC where it applies: not to root).
    open_files : open file descriptors per process (RLIMIT_NOFILE).
    file_mb : largest file a process may write (RLIMIT_FSIZE), in MB.
    disk_mb : size of each private scratch folder of the sandbox (/tmp, /dev/shm, the kernel's
        home and working folder), in MB; they are memory, so the memory cgroup counts them.
    sandbox : run student code in bubblewrap where it is installed.
    """

    memory_mb: int = 2048
    timeout: float = 600.0
    cell_timeout: float = 120.0
    call_timeout: float = 20.0
    processes: int = 256
    open_files: int = 256
    file_mb: int = 64
    disk_mb: int = 256
    sandbox: bool = True

    @property
    def tree_memory_mb(self):
        """Memory of a worker's whole process tree (its memory cgroup): the student's processes
        (``memory_mb``), their scratch folders, and the worker itself."""
        return self.memory_mb + WORKER_MEMORY_MB

    @property
    def call_seconds(self):
        """The verification pass's time limit for one call."""
        return max(1.0, min(self.cell_timeout, self.call_timeout))

    def rlimits(self):
        """``{resource: (soft, hard)}`` of a grading worker; computed in the parent, before any fork."""
        cpu = int(self.timeout) + 10  # each process's own CPU time; kernels run one BLAS thread
        return {
            resource.RLIMIT_AS: (self.memory_mb * MB,) * 2,
            resource.RLIMIT_CPU: (cpu, cpu + 5),
            resource.RLIMIT_NPROC: (_running_processes() + self.processes,) * 2,
            resource.RLIMIT_NOFILE: (self.open_files,) * 2,
            resource.RLIMIT_FSIZE: (self.file_mb * MB,) * 2,
        }

    def call_rlimits(self):
        """``{resource: (soft, hard)}`` of the verification process (CPU for its calls, not the notebook)."""
        cpu = int(self.cell_timeout) + 10
        return {
            resource.RLIMIT_AS: (self.memory_mb * MB,) * 2,
            resource.RLIMIT_CPU: (cpu, cpu),
            resource.RLIMIT_NOFILE: (self.open_files,) * 2,
            resource.RLIMIT_FSIZE: (self.file_mb * MB,) * 2,
        }


DEFAULTS = Limits()


@dataclass(frozen=True)
class RenderLimits:
    """Limits of the process that renders one feedback page (student data, never student code).

    A page is rendered from the executed notebook, whose markdown and outputs the student
    wrote: some markdown takes the renderer minutes, some outputs make a huge page.
    timeout : wall-clock seconds for one page (the process is killed then); also its CPU time.
    memory_mb : address space of the process (RLIMIT_AS), in MB.
    page_mb : largest page it may write (RLIMIT_FSIZE), in MB.
    """

    timeout: float = 60.0
    memory_mb: int = 2048
    page_mb: int = 128

    def rlimits(self):
        """``{resource: (soft, hard)}`` of the rendering process."""
        cpu = int(self.timeout) + 5
        return {
            resource.RLIMIT_AS: (self.memory_mb * MB,) * 2,
            resource.RLIMIT_CPU: (cpu, cpu + 5),
            resource.RLIMIT_NOFILE: (64, 64),
            resource.RLIMIT_FSIZE: (self.page_mb * MB,) * 2,
        }


FEEDBACK = RenderLimits()  # read when a class is graded: grade_class(render_limits=...) overrides it


def preexec(rlimits, *, new_session=False):
    """A ``preexec_fn`` for :class:`subprocess.Popen` that only calls ``setrlimit`` (and ``setsid``).

    Everything is computed beforehand: between fork and exec the child must not take locks
    that another thread of the grader may hold. A limit is never raised above what this
    process already has (a worker starts the verification with its own, possibly smaller, limits).
    """
    items = [(res, _capped(res, soft, hard)) for res, (soft, hard) in rlimits.items()]

    def apply():
        for res, limit in items:
            resource.setrlimit(res, limit)
        if new_session:
            os.setsid()

    return apply


def worker_env():
    """A grading worker's environment: minimal, so no secret of the instructor's shell reaches student code.

    The hidden seed is passed on when the instructor set it: the worker's verification pass
    needs it; the worker keeps it from the kernel (:func:`kernel_env`).
    """
    env = {"PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONNOUSERSITE": "1",
           "PYTHONPATH": str(PACKAGE_ROOT), "HOME": "/nonexistent", "TMPDIR": "/tmp"}
    if os.environ.get(HIDDEN_SEED):
        env[HIDDEN_SEED] = os.environ[HIDDEN_SEED]
    return env


def kernel_env(home):
    """The kernel's environment: the worker's without the hidden seed, with a private ``home``.

    The kernel's test cells run the public hidden cases; the recorded scores come from the
    verification pass, which has the seed. Matplotlib draws inline, as in JupyterLab, so the
    student's figures are outputs of the executed notebook and appear on the feedback page.
    """
    env = {k: v for k, v in os.environ.items() if k != HIDDEN_SEED}
    env.update(HOME=str(home), IPYTHONDIR=str(home / ".ipython"), MPLCONFIGDIR=str(home / ".matplotlib"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), MPLBACKEND="module://matplotlib_inline.backend_inline",
               PYDEVD_DISABLE_FILE_VALIDATION="1",
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MALLOC_ARENA_MAX="2",
               PYTHONUNBUFFERED="1")
    return env


def render_env():
    """The feedback renderer's environment: the worker's without the hidden seed (it runs no check)."""
    return {k: v for k, v in worker_env().items() if k != HIDDEN_SEED}


def verification_env():
    """The verification process's environment: nothing of the worker's but the path."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp", "PYTHONPATH": str(PACKAGE_ROOT),
            "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


def secret_paths(course, submissions, db_url):
    """What student code must never see: solutions, the grading folder, the submissions, the gradebook.

    The sandbox also hides the git repository that holds each of them (:mod:`.bubblewrap`).
    """
    paths = [course.source, course.grading, course.autograded, course.feedback, Path(submissions)]
    if db_url.startswith("sqlite:///") and db_url != "sqlite:///:memory:":
        paths.append(Path(db_url[len("sqlite:///"):]))
    return [str(Path(p).resolve()) for p in paths]


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
