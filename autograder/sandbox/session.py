"""Run a student's functions in a separate, limited process and judge them here.

The verification pass of grading: student code runs in its own process (inside bubblewrap
where available), and only data comes back (:mod:`.wire`). The checks run in the
grader's process, which student code never touches, so patching numpy, the checks, builtins
or IPython from a notebook cannot change a verified score.
"""

import os
import socket
import subprocess
import sys
from multiprocessing.connection import Connection

import cloudpickle
import numpy as np

from . import wire
from .bubblewrap import bubblewrap_prefix
from .policy import Limits, preexec, verification_env
from .tracing import StudentError


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
        cmd = [*(prefix or []), sys.executable, "-m", "autograder.sandbox.worker", str(child.fileno())]
        self.proc = subprocess.Popen(cmd, pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=verification_env(),
                                     preexec_fn=preexec(self.limits.call_rlimits(), new_session=True), cwd="/tmp")
        child.close()
        self.conn = Connection(os.dup(parent.fileno()))
        parent.close()
        self.sandboxed = prefix is not None
        self.conn.send_bytes(source.encode())
        hello = self._receive(self.limits.call_seconds)
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
        return self._receive(self.limits.call_seconds)

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
