"""A process-count cgroup per grading worker: caps fork bombs and removes every leftover process.

RLIMIT_NPROC does not apply to root, who often runs graders in containers and CI; a cgroup's
``pids.max`` does, and it counts every process and thread the worker, its kernel and the
student's code start, whatever session or process group they move to. When the worker is
done, everything still in the cgroup (a daemon the student double-forked, a fork bomb) is
killed, then the cgroup is removed.

Works with cgroup v1 (``/sys/fs/cgroup/pids``) and v2 (when the pids controller is enabled
for our cgroup's children); where neither is writable, :func:`create` returns None and the
grader relies on RLIMIT_NPROC.
"""

import itertools
import os
import signal
import time
from pathlib import Path

MOUNT = Path("/sys/fs/cgroup")
_names = itertools.count()


def _own_cgroups():
    """``[(controllers, path)]`` of this process, from /proc/self/cgroup."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return []
    return [(parts[1], parts[2]) for parts in (line.split(":", 2) for line in lines) if len(parts) == 3]


def _parent():
    """The folder under which this process may create a pids cgroup, or None."""
    for controllers, path in _own_cgroups():
        if "pids" in controllers.split(","):  # v1: a pids hierarchy of its own
            folder = MOUNT / "pids" / path.lstrip("/")
            if (folder / "cgroup.procs").is_file():
                return folder
    for controllers, path in _own_cgroups():
        if controllers == "":  # v2: the unified hierarchy
            folder = MOUNT / path.lstrip("/")
            try:
                if "pids" in (folder / "cgroup.subtree_control").read_text().split():
                    return folder
            except OSError:
                return None
    return None


class PidsCgroup:
    """One worker's cgroup: at most ``max_pids`` processes and threads; :meth:`close` kills them all."""

    def __init__(self, folder, max_pids):
        self.folder = folder
        (folder / "pids.max").write_text(str(max_pids))
        self.procs = folder / "cgroup.procs"

    def join_fd(self):
        """An open descriptor of ``cgroup.procs``: a child writes ``0`` to it to join, before exec."""
        return os.open(self.procs, os.O_WRONLY | os.O_CLOEXEC)

    def pids(self):
        try:
            return [int(p) for p in self.procs.read_text().split()]
        except (OSError, ValueError):
            return []

    def close(self):
        """Kill every process left in the cgroup, then remove it."""
        for _ in range(50):  # a fork bomb may still be forking: repeat until empty
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.02)
        for _ in range(50):
            try:
                self.folder.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:  # killed processes leave the cgroup a moment later
                time.sleep(0.02)


def _sweep(parent):
    """Remove the cgroups of graders that died (killed before they could clean up), and their processes."""
    for folder in parent.glob("autograder-*-*"):
        owner = folder.name.split("-")[1]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            try:
                PidsCgroup(folder, max_pids=0).close()  # 0: nothing left in it can fork any more
            except OSError:
                continue  # another grader swept it first


def create(max_pids):
    """A new :class:`PidsCgroup`, or None where cgroups cannot be used (not root, no pids controller)."""
    parent = _parent()
    if parent is None:
        return None
    if next(_names) == 0:  # once per grader process
        _sweep(parent)
    folder = parent / f"autograder-{os.getpid()}-{next(_names)}"
    try:
        folder.mkdir()
        return PidsCgroup(folder, max_pids)
    except OSError:
        try:
            folder.rmdir()
        except OSError:
            pass
        return None


def _enter(fd):
    """Write ``0`` (this process) to an open ``cgroup.procs``."""
    try:
        os.write(fd, b"0")
    except OSError:
        pass  # not in the cgroup: RLIMIT_NPROC still applies to other users than root


def join(procs):
    """Move this process into the cgroup whose ``cgroup.procs`` is at ``procs`` (its children follow)."""
    try:
        fd = os.open(procs, os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        return  # the cgroup is gone: as _enter, the process limits still apply
    try:
        _enter(fd)
    finally:
        os.close(fd)


def joiner(fd, then):
    """A ``preexec_fn``: join the cgroup (``fd`` from :meth:`PidsCgroup.join_fd`), then run ``then``."""

    def apply():
        _enter(fd)
        then()

    return apply
