"""Processes of student code seen from outside: which one a pid is, stopping a group, why it ended."""

import os
import signal
import subprocess
from pathlib import Path

# What a signal usually means for a grading process or a kernel.
SIGNAL_HINTS = {"SIGKILL": ": out of memory, or killed", "SIGXCPU": ": CPU time limit",
                "SIGSEGV": ": a crash in compiled code", "SIGABRT": ": aborted, often out of memory",
                "SIGXFSZ": ": file size limit"}


def start_time(pid):
    """The start time of process ``pid`` (field 22 of ``/proc/<pid>/stat``), or None when it is gone.

    A pid and its start time name one process: a pid reused later has another start time.
    """
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def kill_group(pgid):
    """SIGKILL to a process group; nothing when it is gone or not ours."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def wait_or_kill(proc, timeout):
    """``(exit code, killed)`` of ``proc`` (a Popen, or a forked process alike), which leads its own process
    group: it gets ``timeout`` seconds, then its group is killed."""
    try:
        return proc.wait(timeout=timeout), False
    except subprocess.TimeoutExpired:
        kill_group(proc.pid)
        return proc.wait(), True


def exit_reason(code):
    """A process's exit, for a status detail: ``killed by SIGKILL: out of memory, or killed``, ``exit code 1``.

    ``code`` is what :mod:`subprocess` reports (``-N`` for signal N), or what bubblewrap reports
    for a signal (``128 + N``); None when unknown.
    """
    if code is None:
        return "no exit code"
    known = signal.Signals._value2member_map_
    if code < 0 or (code > 128 and code - 128 in known):
        number = -code if code < 0 else code - 128
        name = signal.Signals(number).name if number in known else f"signal {number}"
        return f"killed by {name}{SIGNAL_HINTS.get(name, '')}"
    return f"exit code {code}"
