"""The process that runs a student's functions for the verification pass.

Started by :class:`autograder.sandbox.session.RemoteSession` with one end of a socket pair as file
descriptor ``argv[1]``. It executes the student's definitions, then answers calls: requests
come pickled from the (trusted) grader; answers go back as data only (:mod:`.wire`).
Nothing it prints reaches the grader (stdout and stderr are discarded by the parent).
"""

import builtins
import contextlib
import io
import os
import socket
import sys
from multiprocessing.connection import Connection

import cloudpickle

from autograder.sandbox import wire
from autograder.sandbox.tracing import STUDENT_FILE, traced_call, where


def _forbidden_codes(names):
    """Code objects of the reference functions the student must not call."""
    import importlib

    codes = {}
    for module, qualname in names:
        obj = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        codes[obj.__code__] = qualname
    return codes


def _call(fn, args, kwargs, forbidden):
    """One call, as data for the grader: its value and arguments, or what went wrong."""
    call = traced_call(fn, args, kwargs, forbidden)
    if call.error is not None:
        name = type(call.error).__name__
        return {"error": name if isinstance(getattr(builtins, name, None), type) else "RuntimeError",
                "message": f"{call.error}" if hasattr(builtins, name) else f"{name}: {call.error}",
                "where": where(call.error, student_file=STUDENT_FILE)}
    if call.reference:
        return {"reference": call.reference[0]}
    if call.untraced:  # the function switched the detector of reference calls off
        return {"untraced": True}
    return {"value": call.value, "args": args, "kwargs": kwargs}


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
        forbidden = _forbidden_codes(request.get("forbidden", ()))
        reply = _call(namespace[request["name"]], request["args"], request["kwargs"], forbidden)
        try:
            conn.send_bytes(wire.encode(reply))
        except wire.WireError as err:
            conn.send_bytes(wire.encode({"error": "TypeError", "message": f"its result cannot be checked: {err}",
                                         "where": ""}))


def main():
    sock = socket.socket(fileno=int(sys.argv[1]))
    conn = Connection(os.dup(sock.fileno()))
    sock.close()
    source = conn.recv_bytes().decode()
    serve(conn, source)


if __name__ == "__main__":
    main()
