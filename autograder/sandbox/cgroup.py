"""A cgroup per grading worker: caps its processes and its memory, and removes every leftover process.

RLIMIT_NPROC does not apply to root, who often runs graders in containers and CI; a cgroup's
``pids.max`` does, and it counts every process and thread the worker, its kernel and the
student's code start, whatever session or process group they move to. RLIMIT_AS caps each
process; the memory controller caps the whole tree, including what it keeps in the sandbox's
RAM-backed scratch folders (tmpfs pages are charged to the cgroup that wrote them). When the
worker is done, everything still in the cgroup (a daemon the student double-forked, a fork
bomb) is killed, then the cgroup is removed.

Works with cgroup v1 (a hierarchy per controller, ``/sys/fs/cgroup/pids`` and
``/sys/fs/cgroup/memory``) and v2 (one folder, when the controllers are enabled for our
cgroup's children). Without a writable pids controller :func:`create` returns None and the
grader relies on the resource limits; without a memory controller the cgroup caps processes only.
"""

import itertools
import os
import signal
import time
from pathlib import Path

MOUNT = Path("/sys/fs/cgroup")
CONTROLLERS = ("pids", "memory")
_names = itertools.count()


def _own_cgroups():
    """``[(controllers, path)]`` of this process, from /proc/self/cgroup."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return []
    return [(parts[1], parts[2]) for parts in (line.split(":", 2) for line in lines) if len(parts) == 3]


def _parents():
    """``{controller: folder}`` under which this process may create cgroups of that controller."""
    found = {}
    for controllers, path in _own_cgroups():
        for controller in set(controllers.split(",")) & set(CONTROLLERS):  # v1: a hierarchy each
            folder = MOUNT / controller / path.lstrip("/")
            if (folder / "cgroup.procs").is_file() and os.access(folder, os.W_OK):
                found[controller] = folder
    if found:
        return found
    for controllers, path in _own_cgroups():
        if controllers == "":  # v2: the unified hierarchy
            folder = MOUNT / path.lstrip("/")
            try:
                enabled = (folder / "cgroup.subtree_control").read_text().split()
            except OSError:
                return {}
            return {c: folder for c in CONTROLLERS if c in enabled}
    return {}


def _parent():
    """The folder under which the pids cgroups are made, or None."""
    return _parents().get("pids")


class WorkerCgroup:
    """One worker's cgroups: at most ``max_pids`` processes and threads, at most ``memory_mb`` of memory.

    ``folders`` maps each controller to the worker's folder in that controller's hierarchy (the
    same folder for both under cgroup v2). :meth:`close` kills every process and removes them.
    """

    def __init__(self, folders, max_pids, memory_mb=None):
        self.folders = dict(folders)
        self.folder = self.folders["pids"]
        (self.folder / "pids.max").write_text(str(max_pids))
        memory = self.folders.get("memory")
        if memory is not None and memory_mb:
            limit = str(int(memory_mb) * 2**20)
            for name in ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.max"):
                try:  # v1 (memsw where swap accounting is on) or v2; the others do not exist
                    (memory / name).write_text(limit)
                except OSError:
                    continue
            try:
                (memory / "memory.swap.max").write_text("0")  # v2: no swapping past the limit
            except OSError:
                pass
        self.procs = [folder / "cgroup.procs" for folder in dict.fromkeys(self.folders.values())]

    def join_fds(self):
        """Open descriptors of every ``cgroup.procs``: a child writes ``0`` to each to join, before exec.

        Close them with :func:`close_fds` once the child is started.
        """
        return [os.open(procs, os.O_WRONLY | os.O_CLOEXEC) for procs in self.procs]

    def pids(self):
        try:
            return [int(p) for p in (self.folder / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def refused_processes(self):
        """How many new processes or threads ``pids.max`` refused (``pids.events``, v1 and v2)."""
        try:
            events = dict(line.split() for line in (self.folder / "pids.events").read_text().splitlines())
            return int(events.get("max", 0))
        except (OSError, ValueError):
            return 0

    def oom_kills(self):
        """How often the memory limit made the kernel kill or refuse memory to a process of the tree."""
        memory = self.folders.get("memory")
        if memory is None:
            return 0
        try:  # v2: memory.events "oom_kill N"; v1: memory.failcnt counts hits of the limit
            events = dict(line.split() for line in (memory / "memory.events").read_text().splitlines())
            return int(events.get("oom_kill", 0))
        except OSError:
            pass
        try:
            return int((memory / "memory.oom_control").read_text().split("oom_kill ")[1].split()[0])
        except (OSError, IndexError, ValueError):
            return 0

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
        for folder in dict.fromkeys(self.folders.values()):
            _remove(folder)


def _remove(folder):
    for _ in range(50):
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:  # killed processes leave the cgroup a moment later
            time.sleep(0.02)


def _sweep(parents):
    """Remove the cgroups of graders that died (killed before they could clean up), and their processes."""
    pids_parent = parents.get("pids")
    for parent in dict.fromkeys(parents.values()):
        for folder in parent.glob("autograder-*-*"):
            owner = folder.name.split("-")[1]
            if not owner.isdigit() or Path(f"/proc/{owner}").exists():
                continue
            if parent == pids_parent:
                try:  # 0: nothing left in it can fork any more
                    WorkerCgroup({"pids": folder}, max_pids=0).close()
                except OSError:
                    continue  # another grader swept it first
            else:
                _remove(folder)


def create(max_pids, memory_mb=None):
    """A new :class:`WorkerCgroup`, or None where cgroups cannot be used (not root, no pids controller)."""
    parents = _parents()
    if "pids" not in parents:
        return None
    if next(_names) == 0:  # once per grader process
        _sweep(parents)
    name = f"autograder-{os.getpid()}-{next(_names)}"
    folders = {controller: parent / name for controller, parent in parents.items()}
    try:
        for folder in dict.fromkeys(folders.values()):
            folder.mkdir()
        return WorkerCgroup(folders, max_pids, memory_mb)
    except OSError:
        for folder in dict.fromkeys(folders.values()):
            _remove(folder)
        return None


def _enter(fds):
    """Write ``0`` (this process) to each open ``cgroup.procs``."""
    for fd in fds:
        try:
            os.write(fd, b"0")
        except OSError:
            pass  # not in that cgroup: the process limits still apply


def join(procs):
    """Move this process into the cgroups whose ``cgroup.procs`` paths are ``procs`` (its children follow)."""
    for path in procs:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        except OSError:
            continue  # the cgroup is gone: as _enter, the process limits still apply
        try:
            _enter([fd])
        finally:
            os.close(fd)


def joiner(fds, then):
    """A ``preexec_fn``: join the cgroups (``fds`` from :meth:`WorkerCgroup.join_fds`), then run ``then``."""

    def apply():
        _enter(fds)
        then()

    return apply


def close_fds(fds):
    for fd in fds:
        os.close(fd)
