"""Run a student's functions in a separate, limited process and judge them here.

The verification pass of grading: student code runs in its own process (inside bubblewrap
where available), and only data comes back (:mod:`autograder.wire`). The checks run in the
grader's process, which student code never touches, so patching numpy, the checks, builtins
or IPython from a notebook cannot change a verified score.
"""

import functools
import os
import resource
import shutil
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path

import cloudpickle
import numpy as np

from . import wire
from .checks.core import StudentError
from .grading.limits import preexec

ROOT = Path(__file__).resolve().parent.parent


class Limits:
    """Resource limits for a student process (seconds, megabytes, counts)."""

    def __init__(self, *, call_timeout=20.0, memory_mb=2048, cpu_seconds=120, open_files=256, file_mb=64):
        self.call_timeout = call_timeout
        self.memory_mb, self.cpu_seconds = memory_mb, cpu_seconds
        self.open_files, self.file_mb = open_files, file_mb

    def preexec(self):
        """A ``preexec_fn`` that sets the limits in the child before exec, and a new session.

        A limit is never raised above what this process already has (a grading worker starts
        the verification with its own, possibly smaller, limits): see :mod:`.grading.limits`.
        """
        mb = 2**20
        set_limits = preexec({resource.RLIMIT_AS: (self.memory_mb * mb,) * 2,
                              resource.RLIMIT_CPU: (self.cpu_seconds,) * 2,
                              resource.RLIMIT_NOFILE: (self.open_files,) * 2,
                              resource.RLIMIT_FSIZE: (self.file_mb * mb,) * 2})

        def apply():
            set_limits()
            os.setsid()

        return apply


SANDBOX_UID_BASE = 1_000_000  # above every real account's uid; see sandbox_uid
SHOWN_FROM_CHECKOUT = ("introdl", "autograder", "datasets")  # the rest of the checkout is hidden


def sandbox_uid():
    """The unprivileged uid (and gid) that student code runs as when the grader is root, else None.

    One per grading process (its pid is unique while it runs), so the student's processes own no
    file of the grader's and RLIMIT_NPROC counts one submission's processes, not the class's.
    """
    return SANDBOX_UID_BASE + os.getpid() if os.geteuid() == 0 else None


@functools.cache
def _bwrap():
    """``(path of bwrap, its --help text)``, or None where bubblewrap is not installed."""
    path = shutil.which("bwrap")
    if path is None:
        return None
    try:
        return path, subprocess.run([path, "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def bubblewrap_prefix(*, hidden=(), writable=(), unset_env=()):
    """The command line that runs a program (appended to it) in the sandbox, or None without it.

    The sandbox sees a read-only root, an empty /tmp and home, no network, its own process tree,
    and empty folders or files in place of ``hidden`` (solutions, the gradebook, submissions) and
    of the git repository that holds each of them. Of this package's checkout only
    ``SHOWN_FROM_CHECKOUT`` (and the interpreter's environment) are visible. ``writable``
    folders are bound read-write (they must belong to :func:`sandbox_uid` where it is not None).

    The program runs with no capabilities. Started by root, bubblewrap mounts with root's
    rights (it can reach an interpreter under /root) and ``setpriv`` then switches to the
    unprivileged :func:`sandbox_uid`: the mounts that hide secrets cannot be undone from inside
    (no CAP_SYS_ADMIN; a user namespace made inside sees them locked), and nothing outside the
    writable folders is writable. Started by another user, bubblewrap runs in a user namespace
    that may not make further ones. Root without ``setpriv`` gets no sandbox (None).
    """
    found = _bwrap()
    uid = sandbox_uid()
    setpriv = shutil.which("setpriv")
    if found is None or (uid is not None and setpriv is None):
        return None
    bwrap, usage = found
    # Not --unshare-all: as root it makes a user namespace in which setpriv could not change uid.
    cmd = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-ipc", "--unshare-pid",
           "--unshare-net", "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    if uid is None:
        cmd += ["--unshare-user", *(["--disable-userns"] if "--disable-userns" in usage else [])]
    else:  # only what setpriv needs to drop to the sandbox's uid, and drop every capability for good
        cmd += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    for name in unset_env:
        cmd += ["--unsetenv", name]
    for _, options in _mounts(hidden, writable):
        cmd += options
    cmd.append("--")
    if uid is not None:
        cmd += [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", "--no-new-privs"]
    return cmd


def _mounts(hidden, writable):
    """``[(path, bwrap options)]`` in mount order: a folder's mount before the mounts inside it."""
    root = os.path.realpath(ROOT)
    ops = [("/tmp", ["--perms", "1777", "--tmpfs", "/tmp"])]
    ops += [(home, ["--tmpfs", home]) for home in ("/root", "/home") if os.path.isdir(home)]
    # The checkout is hidden, then the package and its data shown again; the interpreter (pyenv
    # lives under /root) and its venv (often inside the checkout) are shown after both.
    ops.append((root, ["--tmpfs", root]))
    shown = [os.path.join(root, name) for name in SHOWN_FROM_CHECKOUT]
    shown += [os.path.realpath(p) for p in (sys.base_prefix, sys.prefix)]
    ops += [(path, ["--ro-bind", path, path]) for path in shown if os.path.exists(path)]
    secret = [os.path.abspath(p) for p in hidden]
    gits = [git for p in [root, *secret] for git in repository_files(p)]
    for path in sorted({*secret, *gits}, key=lambda p: len(Path(p).parts)):
        if "--tmpfs" in _nearest_mount(path, ops):
            continue  # already hidden (a mount point here would only show its name)
        if os.path.isdir(path):
            ops.append((path, ["--tmpfs", path]))
        elif os.path.exists(path):  # e.g. a SQLite gradebook: an empty file in its place
            ops.append((path, ["--ro-bind", "/dev/null", path]))
    ops += [(path, ["--bind", path, path]) for path in map(os.path.abspath, writable)]
    # bubblewrap makes the folders leading to a mount inside a tmpfs private (0700): open them up.
    tmpfs = {path for path, options in ops if "--tmpfs" in options}
    between = {str(parent) for path, options in ops if "--tmpfs" not in options
               for parent in Path(path).parents if any(Path(t) in parent.parents for t in tmpfs)}
    ops += [(path, ["--perms", "0755", "--dir", path]) for path in between]
    unique = {tuple(options): (path, options) for path, options in ops}.values()
    return sorted(unique, key=lambda op: len(Path(op[0]).parts))  # stable: on one path, the later option wins


def _nearest_mount(path, ops):
    """The options of the mount that decides what ``path`` shows (the deepest one above it), or []."""
    above = [(len(Path(p).parts), options) for p, options in ops if Path(p) in Path(path).parents]
    return max(above, key=lambda item: item[0])[1] if above else []


def repository_files(path):
    """The ``.git`` of the repository that holds ``path`` (and, for a worktree, the main one's).

    A repository's history holds every file ever committed, solutions included.
    """
    path = Path(os.path.realpath(path))
    for folder in [path, *path.parents]:
        git = folder / ".git"
        if git.is_dir():
            return [str(git)]
        if git.is_file():  # a worktree or submodule: "gitdir: <the real one>"
            found = [str(git)]
            text = git.read_text(errors="replace")[:4096]
            if text.startswith("gitdir:"):
                real = (folder / text[len("gitdir:"):].strip()).resolve()
                found.append(str(real))
                common = real / "commondir"
                if common.is_file():
                    found.append(str((real / common.read_text().strip()).resolve()))
            return found
    return []


class RemoteSession:
    """A student process holding the definitions of ``source``; use as a context manager.

    Parameters
    ----------
    source : str
        The student's code (definitions and imports).
    limits : Limits
    sandbox : bool
        Wrap the process in bubblewrap (when it is installed).
    hidden : sequence of path
        Folders the sandbox must not see.
    """

    def __init__(self, source, *, limits=None, sandbox=True, hidden=()):
        self.limits = limits or Limits()
        parent, child = socket.socketpair()
        prefix = bubblewrap_prefix(hidden=hidden) if sandbox else None
        cmd = [*(prefix or []), sys.executable, "-m", "autograder._remote_worker", str(child.fileno())]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp", "PYTHONPATH": str(ROOT),
               "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
        self.proc = subprocess.Popen(cmd, pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                                     preexec_fn=self.limits.preexec(), cwd="/tmp")
        child.close()
        self.conn = Connection(os.dup(parent.fileno()))
        parent.close()
        self.sandboxed = prefix is not None
        self.conn.send_bytes(source.encode())
        hello = self._receive(self.limits.call_timeout)
        if "failed" in hello:
            self.close()
            raise StudentError(f"your code could not be loaded: {hello['failed']}")
        self.names = hello["ready"]
        self.namespace = {name: RemoteFunction(self, name) for name in self.names}

    def _receive(self, timeout):
        if not self.conn.poll(timeout):
            self.close()
            raise StudentError(f"it did not finish within {timeout:g} s")
        try:
            return wire.decode(self.conn.recv_bytes(wire.MAX_BYTES))
        except (EOFError, OSError, wire.WireError) as err:
            self.close()
            raise StudentError(f"its process died ({type(err).__name__}): out of memory, or os._exit?") from None

    def call(self, name, args, kwargs, forbidden):
        if self.proc.poll() is not None:
            raise StudentError("its process is no longer running (it crashed or was stopped earlier)")
        self.conn.send_bytes(cloudpickle.dumps({"name": name, "args": args, "kwargs": kwargs, "forbidden": forbidden}))
        return self._receive(self.limits.call_timeout)

    def close(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 9)
            except ProcessLookupError:
                pass
        self.proc.wait()
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class RemoteFunction:
    """Stands for a student's function: calling it runs the function in the student process.

    In-place changes the student makes to array, list or dict arguments are copied back, so
    that the checks see them; ``__globals__`` offers the student's other functions.
    """

    def __init__(self, session, name):
        self.session, self.__name__ = session, name
        self.forbidden = ()  # (module, qualname) of reference functions, set per check

    @property
    def __globals__(self):
        return self.session.namespace

    def __call__(self, *args, **kwargs):
        reply = self.session.call(self.__name__, args, kwargs, self.forbidden)
        if "untraced" in reply:
            raise StudentError("it switches off sys.setprofile, with which the grader checks that it does not call "
                               "the reference implementation (no credit)")
        if "reference" in reply:
            raise StudentError(f"it calls the reference implementation introdl.{reply['reference']}; write the "
                               "computation yourself (no credit for calling the reference)")
        if "error" in reply:
            import builtins

            kind = getattr(builtins, reply["error"], RuntimeError)
            kind = kind if isinstance(kind, type) and issubclass(kind, Exception) else RuntimeError
            raise kind(f"{reply['message']}{reply['where']}")
        for local, remote in zip((*args, *kwargs.values()), (*reply["args"], *reply["kwargs"].values()), strict=False):
            _copy_back(local, remote)
        return reply["value"]


def _copy_back(local, remote):
    if isinstance(local, np.ndarray) and isinstance(remote, np.ndarray) and local.shape == remote.shape:
        if local.flags.writeable:
            np.copyto(local, remote, casting="unsafe")
    elif isinstance(local, dict) and isinstance(remote, dict):
        for key in set(local) | set(remote):
            if key in local and key in remote and isinstance(local[key], np.ndarray | dict | list):
                _copy_back(local[key], remote[key])
            elif key in remote:
                local[key] = remote[key]
            else:
                del local[key]
    elif isinstance(local, list) and isinstance(remote, list):
        local[:] = remote
    elif isinstance(local, np.random.Generator) and isinstance(remote, np.random.Generator):
        local.bit_generator.state = remote.bit_generator.state  # the draws the student made
