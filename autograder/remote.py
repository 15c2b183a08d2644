"""Run a student's functions in a separate, limited process and judge them here.

The verification pass of grading: student code runs in its own process (inside bubblewrap
where available), and only data comes back (:mod:`autograder.wire`). The checks run in the
grader's process, which student code never touches, so patching numpy, the checks, builtins
or IPython from a notebook cannot change a verified score.
"""

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


def bubblewrap_prefix(*, hidden=(), writable=()):
    """The ``bwrap`` command line that hides ``hidden`` folders, or None without bubblewrap.

    The sandbox sees a read-only root, an empty /tmp and home, no network, its own process
    tree, and empty folders or files in place of ``hidden`` (solutions, the gradebook,
    submissions).
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return None
    cmd = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
           "--unshare-all", "--die-with-parent", "--new-session"]
    for home in ("/root", "/home"):
        if os.path.isdir(home):
            cmd += ["--tmpfs", home]
    # Mounts stack in order: show the interpreter (pyenv lives under /root), its venv and this
    # package again (a checkout may live under /tmp), then hide the secret folders inside them.
    shown = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, ROOT)}
    for folder in sorted(shown, key=len):
        cmd += ["--ro-bind", folder, folder]
    for path in map(os.path.abspath, hidden):
        if os.path.isdir(path):
            cmd += ["--tmpfs", path]
        elif os.path.isfile(path):  # e.g. a SQLite gradebook: an empty file in its place
            cmd += ["--ro-bind", "/dev/null", path]
    for folder in map(os.path.abspath, writable):
        cmd += ["--bind", folder, folder]
    return cmd


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
