"""The verification process: a parent that never runs student code, and one child per check.

Started by :class:`autograder.sandbox.session.RemoteSession` with one end of a socket pair as
file descriptor ``argv[1]`` (and ``--pid-namespace`` when it is the first process of a pid
namespace of its own, as in bubblewrap).

The parent imports numpy, introdl and what a child needs, makes itself non-dumpable (no
process of the same uid may trace it or read its memory: it holds the reference
implementations), and then waits. Each byte the grader sends carries a socket (``SCM_RIGHTS``):
the parent stops every process of the previous check, then forks a child that talks to the
grader on that socket. The child reads its check's settings, takes the check's reference
implementations out of the process (:mod:`.withhold`), executes the student's definitions
and answers calls: requests come pickled from the (trusted) grader, answers go back as data
only (:mod:`.wire`). Nothing it prints reaches the grader (stdout and stderr are discarded).
"""

import builtins
import contextlib
import ctypes
import io
import json
import os
import signal
import socket
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

import cloudpickle

import introdl  # noqa: F401 - loaded once, here, for every child; children withhold from it
from autograder.sandbox import processes, wire, withhold
from autograder.sandbox.tracing import STUDENT_FILE, shared_memory, traced_call, where

_PR_SET_DUMPABLE = 4
_STOPPED_WITHIN = 2.0  # seconds for the previous check's processes to be gone before the next starts


def _call(fn, args, kwargs):
    """One call, as data for the grader: its value and arguments, or what went wrong."""
    withhold.CALLED.clear()
    call = traced_call(fn, args, kwargs)
    if withhold.CALLED:  # it called a withheld reference (from any thread), whatever it did next
        return {"reference": str(withhold.CALLED[0])}
    if call.error is not None:
        name = type(call.error).__name__
        return {"error": name if isinstance(getattr(builtins, name, None), type) else "RuntimeError",
                "message": f"{call.error}" if hasattr(builtins, name) else f"{name}: {call.error}",
                "where": where(call.error, student_file=STUDENT_FILE)}
    try:
        shared = shared_memory(call.value, args, kwargs)
    except Exception:  # noqa: BLE001 - a structure too odd (or too costly) to walk: no claim
        shared = None
    return {"value": call.value, "args": args, "kwargs": kwargs, "shared": shared}


def _encoded(reply):
    """``reply`` as wire bytes; a result that cannot be encoded becomes the student's error."""
    try:
        return wire.encode(reply)
    except Exception as err:  # noqa: BLE001 - whatever the student's objects raise while encoded
        message = err if isinstance(err, wire.WireError) else f"{type(err).__name__} while reading it"
        return wire.encode({"error": "TypeError", "message": f"its result cannot be checked: {message}", "where": ""})


class Lazy:
    """Stands for a module, or a name imported from one, that is imported on first use.

    :func:`autograder.grading.verify.student_source` binds plotting and notebook imports to these:
    a graded function rarely needs them, and importing them costs more than its checks.
    ``root``: ``import a.b`` binds ``a`` (the package, after importing ``a.b``).
    """

    def __init__(self, module, attribute=None, root=None):
        self._spec = (module, attribute, root)
        self._value = None

    def _resolve(self):
        if self._value is None:
            import importlib

            module, attribute, root = self._spec
            value = importlib.import_module(module)
            if root:
                value = sys.modules[root]
            elif attribute:
                value = getattr(value, attribute, None) or importlib.import_module(f"{module}.{attribute}")
            self._value = value
        return self._value

    def __getattr__(self, name):
        return getattr(self._resolve(), name)

    def __call__(self, *args, **kwargs):
        return self._resolve()(*args, **kwargs)


def serve(conn, source):
    """Load the student's definitions, then answer the grader's calls until it closes the socket."""
    namespace = {"__name__": "__student__", "__lazy__": Lazy}
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            exec(compile(source, STUDENT_FILE, "exec"), namespace)  # noqa: S102 - the point of this process
        functions = sorted(k for k, v in namespace.items()
                           if callable(v) and getattr(v, "__module__", None) == "__student__")
        conn.send_bytes(wire.encode({"ready": functions}))
    except BaseException as err:  # noqa: BLE001
        conn.send_bytes(wire.encode({"failed": f"{type(err).__name__}: {err}"}))
        return
    while True:
        try:
            request = cloudpickle.loads(conn.recv_bytes())
        except EOFError:
            return
        conn.send_bytes(_encoded(_call(namespace[request["name"]], request["args"], request["kwargs"])))


def _child(fd):
    """One check: its reference implementations withheld, then the student's code loaded and called."""
    conn = Connection(fd)
    settings = json.loads(conn.recv_bytes())
    try:
        withhold.withhold([tuple(pair) for pair in settings["withhold"]], settings["graded"])
    except withhold.NotWithheld as err:
        conn.send_bytes(wire.encode({"broken": str(err)}))
        return
    conn.send_bytes(wire.encode({"withheld": True}))  # before the student's code runs: the grader trusts it
    serve(conn, settings["source"])


def _set_dumpable(value):
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_DUMPABLE, int(value), 0, 0, 0)


def _stop_previous(child, own_namespace):
    """Stop every process of the previous check: the child, and whatever it started."""
    if own_namespace:  # every other process of this pid namespace but its init is the students'
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)
    elif child is not None:  # without a pid namespace: the child's process group
        processes.kill_group(child)
    if child is not None:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(child, 0)
    if own_namespace:
        deadline = time.monotonic() + _STOPPED_WITHIN
        while _others_running() and time.monotonic() < deadline:
            time.sleep(0.005)


def _others_running():
    """Whether a process other than this one and the namespace's init still runs (zombies do not)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in (1, os.getpid()):
            with contextlib.suppress(OSError, IndexError):
                if Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    return True
    return False


def main():
    """The parent: fork a child for each socket the grader sends; stop them all when it closes."""
    control = socket.socket(fileno=int(sys.argv[1]))
    # kill(-1) reaches every process of the uid: only as the first process under a namespace's init.
    own_namespace = "--pid-namespace" in sys.argv[2:] and os.getppid() == 1
    _set_dumpable(False)
    child = None
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, 1, 1)
        except OSError:
            data, fds = b"", []
        _stop_previous(child, own_namespace)
        child = None
        if not data:
            return
        if not fds:
            continue
        child = os.fork()
        if child == 0:
            try:
                control.close()
                os.setpgid(0, 0)
                _set_dumpable(True)
                _child(fds[0])
            finally:
                os._exit(0)
        os.close(fds[0])


if __name__ == "__main__":
    main()
