"""Grading workers forked from a server that has already imported them.

A fresh Python worker that imports nbclient, nbformat, numpy and the checks costs more than a
second of CPU, more than the whole notebook of a small assignment, and a class pays it once
per submission. :func:`start` launches multiprocessing's fork server once per grading run,
with a minimal environment and the worker's modules imported; each submission's worker is
then forked from it in milliseconds. The forked worker sets up its process exactly as
:mod:`.runner` sets up a fresh one (own process group, the cgroup, resource limits, the log
as stdout and stderr, the worker's environment and folder) before it runs
:func:`.execute.main`, so each submission still gets a process of its own.

Where forking is not possible (a daemonic process such as a Dask worker may not have
children of its own), :func:`context` returns None and the runner starts a fresh interpreter.
"""

import multiprocessing
import os
import subprocess
import sys
import threading
import traceback

from ..sandbox import cgroup
from ..sandbox.policy import preexec

PRELOAD = ["autograder.grading.execute"]
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


class ForkedWorker:
    """A worker forked from the server; ``pid`` and ``wait(timeout)`` as with :class:`subprocess.Popen`."""

    def __init__(self, ctx, argv, *, cwd, log, env, rlimits, cgroup_procs=None):
        self.process = ctx.Process(target=_run, args=(argv, str(cwd), str(log), env, rlimits, cgroup_procs),
                                   daemon=False)
        self.process.start()
        self.pid = self.process.pid

    def wait(self, timeout=None):
        self.process.join(timeout)
        if self.process.exitcode is None:
            raise subprocess.TimeoutExpired("grading worker", timeout)
        return self.process.exitcode


def _run(argv, cwd, log, env, rlimits, cgroup_procs):
    """In the forked worker: set the process up as a fresh one would be, run the worker, exit at once."""
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
        from . import execute

        code = execute.main(argv)
    except BaseException:  # noqa: BLE001 - reported in the log; the runner sees the exit code
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        # No interpreter shutdown: closing the kernel client's sockets lingers for a second.
        os._exit(code)
