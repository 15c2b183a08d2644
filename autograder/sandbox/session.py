"""Run a student's functions in a separate, limited process and judge them here.

The verification pass of grading: student code runs in its own process (inside bubblewrap
where available), and only data comes back (:mod:`.wire`). The checks run in the
grader's process, which student code never touches, so patching numpy, the checks, builtins
or IPython from a notebook cannot change a verified score.

The process (:mod:`.worker`) forks a child for each check, with that check's reference
implementations taken out of it (:mod:`.withhold`). Every read and write on the child's
socket has a deadline: a child that sends half a message, or stops reading, fails its call
within the call limit instead of blocking the grader.
"""

import json
import socket
import struct
import subprocess
import sys
import time

import cloudpickle
import numpy as np

from . import processes, wire
from .bubblewrap import bubblewrap_prefix
from .policy import Limits, preexec, verification_env
from .tracing import StudentError

_PARENT_EXITS_WITHIN = 2.0  # seconds for the verification process to stop its children and exit


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
    withheld, graded
        The first check's reference implementations and the student's function it grades (:meth:`load`).
    """

    def __init__(self, source, *, limits=None, sandbox=True, hidden=(), withheld=(), graded=""):
        self.limits = limits or Limits()
        self.source = source
        self.channel = None
        self.namespace = {}
        ours, theirs = socket.socketpair()
        prefix = bubblewrap_prefix(hidden=hidden) if sandbox else None
        # -P: not the working folder (/tmp, where student code writes) on sys.path; -s: no user site.
        cmd = [*(prefix or []), sys.executable, "-P", "-s", "-m", "autograder.sandbox.worker", str(theirs.fileno()),
               *(["--pid-namespace"] if prefix else [])]
        self.proc = subprocess.Popen(cmd, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=verification_env(),
                                     preexec_fn=preexec(self.limits.call_rlimits(), new_session=True), cwd="/tmp")
        theirs.close()
        self.control = ours
        self.sandboxed = prefix is not None
        self.load(withheld, graded)

    def running(self):
        """Whether the process that forks the children still runs."""
        return self.proc.poll() is None

    def load(self, withheld=(), graded=""):
        """A fresh child for one check: ``withheld`` functions taken out, then the student's code loaded.

        ``withheld``: ``(module, qualname)`` of the functions the student's ``graded`` function must
        not call. Afterwards :attr:`namespace` holds the student's functions.
        """
        self._end_child()
        if not self.running():
            raise StudentError("its process is no longer running (it crashed or was stopped earlier)")
        ours, theirs = socket.socketpair()
        try:
            socket.send_fds(self.control, [b"F"], [theirs.fileno()])
        except OSError:
            ours.close()
            self.close()
            raise StudentError("its process is no longer running (it crashed or was stopped earlier)") from None
        finally:
            theirs.close()
        self.channel = ours
        settings = {"source": self.source, "withhold": [list(pair) for pair in withheld], "graded": graded}
        deadline = self._deadline()
        # The first answer comes before the student's code runs, so only the grader can be at fault.
        withholding = self._exchange(json.dumps(settings).encode(), deadline)
        if "broken" in withholding or "withheld" not in withholding:
            self.close()
            raise RuntimeError(f"the verification process could not withhold the reference: {withholding}")
        hello = self._exchange(None, deadline)
        if "failed" in hello:
            self._end_child()
            raise StudentError(f"your code could not be loaded: {hello['failed']}")
        names = hello.get("ready")
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            self._end_child()
            raise StudentError("its process sent what is not a list of its functions")
        self.namespace = {name: RemoteFunction(self, name) for name in names}

    def call(self, name, args, kwargs):
        if self.channel is None:
            raise StudentError("its process is no longer running (it crashed or was stopped earlier)")
        return self._exchange(cloudpickle.dumps({"name": name, "args": args, "kwargs": kwargs}), self._deadline())

    def _deadline(self):
        return time.monotonic() + self.limits.call_seconds

    def _exchange(self, request, deadline):
        """Send ``request`` (unless None), return the child's answer (a dict), both before ``deadline``."""
        try:
            if request is not None:
                _send_message(self.channel, request, deadline)
            reply = wire.decode(_receive_message(self.channel, deadline, wire.MAX_BYTES))
        except TimeoutError:
            self._end_child()
            raise StudentError(f"it did not finish within {self.limits.call_seconds:g} s") from None
        except wire.WireError as err:
            self._end_child()
            raise StudentError(f"its process sent what is not a result ({err})") from None
        except (EOFError, OSError) as err:
            self._end_child()
            raise StudentError(f"its process died ({type(err).__name__}): out of memory, or os._exit?") from None
        if not isinstance(reply, dict):
            self._end_child()
            raise StudentError("its process sent what is not a result")
        return reply

    def _end_child(self):
        """Close the child's socket: it exits, and the next :meth:`load` stops whatever it left running."""
        if self.channel is not None:
            self.channel.close()
            self.channel = None

    def close(self):
        """Stop the process and every child: the parent stops them when its socket closes, else SIGKILL."""
        self._end_child()
        self.control.close()
        try:
            self.proc.wait(timeout=_PARENT_EXITS_WITHIN)
        except subprocess.TimeoutExpired:
            processes.kill_group(self.proc.pid)
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _send_message(sock, data, deadline):
    """Write ``data`` framed as :meth:`multiprocessing.connection.Connection.send_bytes` does."""
    header = struct.pack("!i", len(data)) if len(data) <= 0x7FFFFFFF else struct.pack("!iQ", -1, len(data))
    sock.settimeout(_remaining(deadline))
    sock.sendall(header + data)  # socket.timeout is TimeoutError


def _receive_message(sock, deadline, limit):
    """Read one framed message, all of it before ``deadline``; refuse one longer than ``limit``."""
    (size,) = struct.unpack("!i", _read_exactly(sock, 4, deadline))
    if size == -1:
        (size,) = struct.unpack("!Q", _read_exactly(sock, 8, deadline))
    if not 0 <= size <= limit:
        raise wire.WireError(f"a message of {size} bytes")
    return _read_exactly(sock, size, deadline)


def _read_exactly(sock, size, deadline):
    buffer = bytearray(size)
    view, got = memoryview(buffer), 0
    while got < size:
        sock.settimeout(_remaining(deadline))
        count = sock.recv_into(view[got:], min(size - got, 2**20))
        if count == 0:
            raise EOFError("the connection was closed")
        got += count
    return bytes(buffer)


def _remaining(deadline):
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


class RemoteFunction:
    """Stands for a student's function: calling it runs the function in the student process.

    In-place changes the student makes to array, list or dict arguments are copied back, so
    that the checks see them; ``__globals__`` offers the student's other functions.
    """

    def __init__(self, session, name):
        self.session, self.__name__ = session, name
        # Where the last call's value shared memory with an argument, as the student process saw it
        # (the value arrives as a copy): see autograder.sandbox.tracing.shared_memory.
        self.shared_memory = None

    @property
    def __globals__(self):
        return self.session.namespace

    def __call__(self, *args, **kwargs):
        reply = self.session.call(self.__name__, args, kwargs)
        if "reference" in reply:
            raise StudentError(f"it calls the reference implementation {reply['reference']}; write the "
                               "computation yourself (no credit for calling the reference)")
        if "error" in reply:
            import builtins

            kind = getattr(builtins, str(reply["error"]), RuntimeError)
            kind = kind if isinstance(kind, type) and issubclass(kind, Exception) else RuntimeError
            raise kind(f"{reply['message']}{reply['where']}")
        for local, remote in zip((*args, *kwargs.values()), (*reply["args"], *reply["kwargs"].values()), strict=False):
            _copy_back(local, remote)
        shared = reply.get("shared")
        self.shared_memory = tuple(shared) if isinstance(shared, list | tuple) and len(shared) == 2 else None
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
