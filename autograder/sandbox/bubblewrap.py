"""The bubblewrap command line: what student code sees of the machine, and as whom it runs.

Used for the kernel (:mod:`autograder.grading.execute`) and the verification process
(:mod:`.session`) alike. The limits and environments are in :mod:`.policy`.
"""

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .policy import DEFAULTS, PACKAGE_ROOT, SANDBOX_UID_BASE, SHOWN_FROM_CHECKOUT


def sandbox_uid():
    """The unprivileged uid (and gid) that student code runs as when the grader is root, else None.

    One per grading process (its pid is unique while it runs), so the student's processes own no
    file of the grader's and RLIMIT_NPROC counts one submission's processes, not the class's.
    """
    return SANDBOX_UID_BASE + os.getpid() if os.geteuid() == 0 else None


@functools.cache
def _bwrap():
    """``(path of bwrap, its --help text)``, or None where bubblewrap is not installed."""
    path = shutil.which("bwrap")
    if path is None:
        return None
    try:
        return path, subprocess.run([path, "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def bubblewrap_prefix(*, hidden=(), writable=(), scratch=(), readonly=(), unset_env=(), scratch_mb=DEFAULTS.disk_mb):
    """The command line that runs a program (appended to it) in the sandbox, or None without it.

    The sandbox sees a read-only root, an empty /tmp and home, no network, its own process tree,
    and empty folders or files in place of ``hidden`` (solutions, the gradebook, submissions) and
    of the git repository that holds each of them. Of this package's checkout only
    ``SHOWN_FROM_CHECKOUT`` (and the interpreter's environment) are visible. ``writable``
    folders are bound read-write (they must belong to :func:`sandbox_uid` where it is not None).
    ``scratch`` folders, like /tmp and /dev/shm, are private tmpfs of ``scratch_mb`` MB each
    (memory, which the worker's memory cgroup counts): what student code writes there is bounded
    and never reaches the disk. ``readonly`` pairs ``(source, destination)`` are bound read-only
    (e.g. a release's data files into a scratch folder).

    The program runs with no capabilities. Started by root, bubblewrap mounts with root's
    rights (it can reach an interpreter under /root) and ``setpriv`` then switches to the
    unprivileged :func:`sandbox_uid`: the mounts that hide secrets cannot be undone from inside
    (no CAP_SYS_ADMIN; a user namespace made inside sees them locked), and nothing outside the
    writable folders is writable. Started by another user, bubblewrap runs in a user namespace
    that may not make further ones. Root without ``setpriv`` gets no sandbox (None).
    """
    found = _bwrap()
    uid = sandbox_uid()
    setpriv = shutil.which("setpriv")
    if found is None or (uid is not None and setpriv is None):
        return None
    bwrap, usage = found
    # Not --unshare-all: as root it makes a user namespace in which setpriv could not change uid.
    cmd = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-ipc", "--unshare-pid",
           "--unshare-net", "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    if uid is None:
        cmd += ["--unshare-user", *(["--disable-userns"] if "--disable-userns" in usage else [])]
    else:  # only what setpriv needs to drop to the sandbox's uid, and drop every capability for good
        cmd += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    for name in unset_env:
        cmd += ["--unsetenv", name]
    for _, options in _mounts(hidden, writable, scratch, readonly, scratch_mb):
        cmd += options
    cmd.append("--")
    if uid is not None:
        cmd += [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", "--no-new-privs"]
    return cmd


def _mounts(hidden, writable, scratch, readonly, scratch_mb):
    """``[(path, bwrap options)]`` in mount order: a folder's mount before the mounts inside it."""
    root = os.path.realpath(PACKAGE_ROOT)
    size = str(int(scratch_mb) * 2**20)
    # Sticky and world-writable: only this sandbox's processes see them (own mount namespace).
    ops = [(path, ["--perms", "1777", "--size", size, "--tmpfs", path])
           for path in ["/tmp", "/dev/shm", *map(os.path.abspath, scratch)]]
    ops += [(home, ["--tmpfs", home]) for home in ("/root", "/home") if os.path.isdir(home)]
    # The checkout is hidden, then the package and its data shown again; the interpreter (pyenv
    # lives under /root) and its venv (often inside the checkout) are shown after both.
    ops.append((root, ["--tmpfs", root]))
    shown = [os.path.join(root, name) for name in SHOWN_FROM_CHECKOUT]
    shown += [os.path.realpath(p) for p in (sys.base_prefix, sys.prefix)]
    ops += [(path, ["--ro-bind", path, path]) for path in shown if os.path.exists(path)]
    secret = [os.path.abspath(p) for p in hidden]
    gits = [git for p in [root, *secret] for git in repository_files(p)]
    for path in sorted({*secret, *gits}, key=lambda p: len(Path(p).parts)):
        if "--tmpfs" in _nearest_mount(path, ops):
            continue  # already hidden (a mount point here would only show its name)
        if os.path.isdir(path):
            ops.append((path, ["--tmpfs", path]))
        elif os.path.exists(path):  # e.g. a SQLite gradebook: an empty file in its place
            ops.append((path, ["--ro-bind", "/dev/null", path]))
    ops += [(path, ["--bind", path, path]) for path in map(os.path.abspath, writable)]
    ops += [(os.path.abspath(dest), ["--ro-bind", os.path.abspath(src), os.path.abspath(dest)])
            for src, dest in readonly]
    # bubblewrap makes the folders leading to a mount inside a tmpfs private (0700): open them up.
    tmpfs = {path for path, options in ops if "--tmpfs" in options}
    between = {str(parent) for path, options in ops if "--tmpfs" not in options
               for parent in Path(path).parents if any(Path(t) in parent.parents for t in tmpfs)}
    ops += [(path, ["--perms", "0755", "--dir", path]) for path in between]
    unique = {tuple(options): (path, options) for path, options in ops}.values()
    return sorted(unique, key=lambda op: len(Path(op[0]).parts))  # stable: on one path, the later option wins


def _nearest_mount(path, ops):
    """The options of the mount that decides what ``path`` shows (the deepest one above it), or []."""
    above = [(len(Path(p).parts), options) for p, options in ops if Path(p) in Path(path).parents]
    return max(above, key=lambda item: item[0])[1] if above else []


def repository_files(path):
    """The ``.git`` of the repository that holds ``path`` (and, for a worktree, the main one's).

    A repository's history holds every file ever committed, solutions included.
    """
    path = Path(os.path.realpath(path))
    for folder in [path, *path.parents]:
        git = folder / ".git"
        if git.is_dir():
            return [str(git)]
        if git.is_file():  # a worktree or submodule: "gitdir: <the real one>"
            found = [str(git)]
            text = git.read_text(errors="replace")[:4096]
            if text.startswith("gitdir:"):
                real = (folder / text[len("gitdir:"):].strip()).resolve()
                found.append(str(real))
                common = real / "commondir"
                if common.is_file():
                    found.append(str((real / common.read_text().strip()).resolve()))
            return found
    return []
