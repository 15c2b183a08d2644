"""Grading workers forked from a server that has already imported them.

A fresh Python worker that imports nbclient, nbformat, numpy and the checks costs more than a
second of CPU, more than the whole notebook of a small assignment, and a class pays it once
per submission. :func:`start` launches multiprocessing's fork server once per grading run,
with a minimal environment and the worker's modules imported; each submission's worker is
then forked from it in milliseconds. The forked worker sets up its process exactly as
:mod:`.runner` sets up a fresh one (own process group, the cgroup, resource limits, the log
as stdout and stderr, the worker's environment and folder) before it runs
:func:`.execute.main`, so each submission still gets a process of its own.

The feedback renderer (:mod:`.feedback`) is forked from the same server: :func:`spawn` starts
either kind of process, ``module.main(argv)``.

Where forking is not possible (a daemonic process such as a Dask worker may not have
children of its own), :func:`context` returns None and :func:`spawn` starts a fresh interpreter.
"""

import importlib
import multiprocessing
import os
import subprocess
import sys
import threading
import traceback

from ..sandbox import cgroup
from ..sandbox.policy import preexec

PRELOAD = ["autograder.grading.execute", "autograder.grading.feedback"]
_lock = threading.Lock()
_started = None


def start(env):
    """Start the fork server once, with environment ``env`` (call before any worker thread runs).

    The server keeps the environment it started with; each worker replaces it with its own.
    """
    global _started
    if multiprocessing.current_process().daemon:
        return None
    with _lock:
        if _started is None:
            from multiprocessing import forkserver

            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(PRELOAD)
            saved = dict(os.environ)
            os.environ.clear()
            os.environ.update(env)  # what the server inherits: no secrets of the grader's shell
            try:
                forkserver.ensure_running()
            finally:
                os.environ.clear()
                os.environ.update(saved)
            _started = ctx
    return _started


def context():
    """The started fork server's context, or None (not started, or not possible here)."""
    return _started


def spawn(module, argv, *, cwd, log, env, rlimits, group=None, command=None):
    """A process running ``module.main(argv)`` in its own process group, with ``rlimits``, ``env``, in
    ``cwd``, ``log`` as its stdout and stderr (and in the cgroup ``group``, when given).

    Forked from the server when it runs, else a fresh interpreter (``python -m module``), or
    ``command`` with ``argv`` when given (always fresh: the grading benchmark times a worker's
    phases this way). The result has ``pid`` and ``wait(timeout)`` as :class:`subprocess.Popen` has.
    """
    ctx = context()
    if ctx is not None and command is None:
        return ForkedWorker(ctx, module, argv, cwd=cwd, log=log, env=env, rlimits=rlimits,
                            cgroup_procs=[str(p) for p in group.procs] if group else None)
    setup = preexec(rlimits)
    join = group.join_fds() if group else None
    try:
        with open(log, "wb") as out:
            return subprocess.Popen([*(command or (sys.executable, "-m", module)), *argv], stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, process_group=0,
                                    preexec_fn=cgroup.joiner(join, setup) if group else setup)
    finally:
        if join is not None:
            cgroup.close_fds(join)


class ForkedWorker:
    """A process forked from the server; ``pid`` and ``wait(timeout)`` as with :class:`subprocess.Popen`."""

    def __init__(self, ctx, module, argv, *, cwd, log, env, rlimits, cgroup_procs=None):
        self.module = module
        self.process = ctx.Process(target=_run, args=(module, argv, str(cwd), str(log), env, rlimits, cgroup_procs),
                                   daemon=False)
        self.process.start()
        self.pid = self.process.pid

    def wait(self, timeout=None):
        self.process.join(timeout)
        if self.process.exitcode is None:
            raise subprocess.TimeoutExpired(self.module, timeout)
        return self.process.exitcode


def _run(module, argv, cwd, log, env, rlimits, cgroup_procs):
    """In the forked process: set it up as a fresh one would be, run ``module.main(argv)``, exit at once."""
    os.setpgid(0, 0)
    if cgroup_procs:
        cgroup.join(cgroup_procs)
    preexec(rlimits)()
    null = os.open(os.devnull, os.O_RDONLY)
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    code = 1
    try:
        code = importlib.import_module(module).main(argv)
    except BaseException:  # noqa: BLE001 - reported in the log; the parent sees the exit code
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        # No interpreter shutdown: closing the kernel client's sockets lingers for a second.
        os._exit(code)
