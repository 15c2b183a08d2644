"""The grader's defences, one mechanism at a time: the verification pass, the kernel's
sandbox, and the per-worker process cgroup. (tests/adversarial/ grades a whole hostile class.)"""

import contextlib
import io
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from fixtures.escape import ESCAPE, assert_contained
from fixtures.grading_support import ASSIGNMENT, NOTEBOOK, copy_course, solutions, submit

from autograder.grading.cli import main
from autograder.grading.export import table
from autograder.grading.gradebook import statuses
from autograder.grading.runner import NotebookResult, apply_verification
from autograder.grading.score import CellScore
from autograder.sandbox import cgroup
from autograder.sandbox.bubblewrap import bubblewrap_prefix

SPLIT, ERROR = "f1-test_split_sizes", "f1-test_error_rate"
ROOT = Path(__file__).resolve().parents[1]
SITE_PACKAGES = str(Path(nbformat.__file__).parent.parent)
needs_bwrap = pytest.mark.skipif(bubblewrap_prefix() is None, reason="bubblewrap (bwrap) is not installed")


def _notebook(status="ok", **cells):
    return NotebookResult(NOTEBOOK, status, cells={k: CellScore(*v) for k, v in cells.items()})


def test_agreeing_scores_leave_the_notebook_as_it_ran():
    nb = _notebook(a=(2.0, 2.0, "✓ split_sizes"), b=(0.5, 1.0, "✗ error_rate"))
    apply_verification(nb, {"a": CellScore(2.0, 2.0, "v"), "b": CellScore(0.5, 1.0, "v")})
    assert (nb.status, nb.score, nb.detail, nb.cells["a"].message) == ("ok", 2.5, "", "✓ split_sizes")


def test_a_notebook_claiming_more_than_verified_is_flagged_and_the_verified_score_stands():
    nb = _notebook(a=(2.0, 2.0, "✓"), b=(1.0, 1.0, "✓"))
    apply_verification(nb, {"a": CellScore(2.0, 2.0, "✓"), "b": CellScore(0.0, 1.0, "✗ error_rate: 0 of 4")})
    assert nb.status == "flagged" and nb.score == 2.0
    assert "b (notebook 1, verified 0)" in nb.detail and "✗ error_rate" in nb.cells["b"].message


def test_cells_that_never_ran_get_the_verified_score_without_a_flag_and_worse_statuses_stay():
    nb = _notebook("crashed", a=(2.0, 2.0, "✓"), b=(0.0, 1.0, "not run: the kernel died earlier"))
    nb.detail = "the kernel died"
    apply_verification(nb, {"a": CellScore(0.0, 2.0, "✗"), "b": CellScore(1.0, 1.0, "✓")})
    assert nb.status == "crashed" and nb.score == 1.0
    assert "verified (the notebook gave 0)" in nb.cells["b"].message and "claim more" in nb.detail


def test_a_notebook_that_ran_fewer_cases_shows_one_total_not_two():
    """A release's test cell runs the visible cases only: its lower or higher score is no news."""
    nb = _notebook(a=(1.5, 2.0, "✗ 3 of 4 visible"))
    apply_verification(nb, {"a": CellScore(1.0, 2.0, "✗ split_sizes: 4 of 8 test cases passed (1 of 2 points)",
                                          public=1.5)})
    assert nb.status == "ok" and nb.score == 1.0
    assert nb.cells["a"].message == ("verified, with the hidden cases too: "
                                     "✗ split_sizes: 4 of 8 test cases passed (1 of 2 points)")


def test_the_flag_compares_the_cases_the_notebook_ran_and_the_secret_cases_score():
    nb = _notebook(a=(1.0, 1.0, "✓"))  # the notebook ran the public hidden cases and passed them all
    apply_verification(nb, {"a": CellScore(0.5, 1.0, "✗ 2 of 4", public=1.0)})
    assert (nb.status, nb.score) == ("ok", 0.5), "a secret case failed: no flag, its score stands"
    nb = _notebook(a=(1.0, 1.0, "✓"))
    apply_verification(nb, {"a": CellScore(0.5, 1.0, "✗ 2 of 4", public=0.5)})
    assert (nb.status, nb.score) == ("flagged", 0.5)


def _cgroups_available():
    group = cgroup.create(8)
    if group is not None:
        group.close()
    return group is not None


@pytest.mark.skipif(not _cgroups_available(), reason="no writable pids cgroup (not root, or no pids controller)")
def test_the_worker_cgroup_caps_processes_and_kills_every_leftover():
    group = cgroup.create(20)
    token = uuid.uuid4().hex
    bomb = ("import os, time\nfor _ in range(60):\n    try:\n        if os.fork() == 0:\n            os.setsid()\n"
            "    except OSError:\n        break\ntime.sleep(120)\n")
    fds = group.join_fds()
    try:
        proc = subprocess.Popen([sys.executable, "-c", bomb, token], preexec_fn=cgroup.joiner(fds, lambda: None))
        deadline = time.monotonic() + 10
        while len(group.pids()) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(group.pids()) == 20, "the bomb stops at pids.max"
    finally:
        cgroup.close_fds(fds)
        group.close()
    proc.wait(timeout=10)
    assert not group.folder.exists()
    assert not _processes_with(token), "every process the bomb started (in new sessions too) is gone"


def _processes_with(token):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if token.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            continue
    return found


PROBE = """
import os, socket
def _try(action):
    try:
        return repr(action())
    except Exception as err:
        return type(err).__name__
print("PROBE solutions=" + _try(lambda: os.listdir({solutions!r})))
print("PROBE gradebook=" + _try(lambda: len(open({gradebook!r}, "rb").read())))
print("PROBE write_course=" + _try(lambda: open({course!r} + "/pwned.txt", "w").write("x")))
print("PROBE home=" + _try(lambda: os.listdir(os.path.expanduser("~root"))))
print("PROBE network=" + _try(lambda: socket.create_connection(("1.1.1.1", 53), timeout=2) and "connected"))
print("PROBE seed=" + _try(lambda: os.environ.get("AUTOGRADER_HIDDEN_SEED")))
print("PROBE escape=" + repr(escape({hidden!r}, {targets!r}, {git!r})))
if os.fork() == 0:  # a daemon that outlives the kernel, unless the grader removes it
    os.setsid()
    os.execv("/bin/sleep", ["sleep", "300", {token!r}])
"""
SWALLOW = "get_ipython().set_custom_exc((AssertionError,), lambda *args, **kwargs: None)\n"
PATCH = "def check(name, fn, **kw):\n    return {'split_sizes': 2.0, 'error_rate': 1.0}[name]\n"


@pytest.fixture(scope="module")
def hostile_class():
    """One batch: an honest student whose answer also probes the sandbox, and two who patch the checks.

    The course lives in the checkout, not under /tmp (which the sandbox replaces as a whole),
    so that hiding solutions/, the grading folder and the gradebook is what is tested.
    """
    tmp = ROOT / ".pytest-sandbox" / uuid.uuid4().hex
    try:
        yield _grade_hostile_class(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        with contextlib.suppress(OSError):
            tmp.parent.rmdir()  # unless another run still uses it


def _grade_hostile_class(tmp):
    course = copy_course(tmp)
    done, token = solutions(course), uuid.uuid4().hex
    subs = tmp / "submitted"
    probe = ESCAPE + PROBE.format(solutions=str(course.source), gradebook=course.db_url[len("sqlite:///"):],
                                  course=str(course.root), token=token, git=str(ROOT / ".git"),
                                  hidden=[str(course.source), str(course.grading)],
                                  targets=[str(course.root), str(ROOT / "autograder"), SITE_PACKAGES])
    submit(subs, "pia", course, {**done, "f1-split_sizes": done["f1-split_sizes"] + "\n" + probe})
    submit(subs, "sam", course, edit=_added_cell(SWALLOW))  # blank answers, failures swallowed
    submit(subs, "pat", course, edit=_added_cell(PATCH))  # blank answers, check() replaced
    before = _snapshot(course)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["grade", ASSIGNMENT, "--submissions", str(subs), "--root", str(course.root), "--workers", "2",
                     "--cell-timeout", "20", "--timeout", "120"])
    assert code == 0, buffer.getvalue()
    rows = {r["student"]: r for r in table(course.db_url, ASSIGNMENT, course)[1]}
    return course, token, before, rows


def _added_cell(source):
    """An ``edit`` for :func:`submit`: a cell of the student's own after the imports."""
    return lambda nb: nb.cells.insert(2, nbformat.v4.new_code_cell(source))


def _snapshot(course):
    return {p: p.stat().st_mtime_ns for p in course.root.rglob("*") if course.grading not in (p, *p.parents)}


def test_patched_checks_score_what_the_functions_deserve_and_are_flagged(hostile_class):
    course, _, _, rows = hostile_class
    for student in ("sam", "pat"):
        assert (rows[student]["status"], rows[student]["score"]) == ("flagged", 0.0), rows[student]
    detail = {key[1]: row["detail"] for key, row in statuses(course.db_url, ASSIGNMENT).items()}
    for student in ("sam", "pat"):
        assert "claim more than the verification pass" in detail[student], detail
        assert SPLIT in detail[student] and ERROR in detail[student], detail


def test_an_honest_student_probing_the_machine_keeps_full_marks(hostile_class):
    _, _, _, rows = hostile_class
    assert (rows["pia"]["status"], rows["pia"][SPLIT], rows["pia"][ERROR]) == ("ok", 2.0, 1.0)


@needs_bwrap
def test_the_kernel_sees_no_solutions_gradebook_home_or_network_and_cannot_write_the_course(hostile_class):
    course, _, before, _ = hostile_class
    nb = nbformat.read(course.autograded / "pia" / ASSIGNMENT / NOTEBOOK, as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    probe = dict(line[len("PROBE "):].split("=", 1) for line in printed.splitlines() if line.startswith("PROBE "))
    assert probe["solutions"] in ("[]", "FileNotFoundError"), probe  # empty, or not there at all
    # an empty file, a device it cannot read, or nothing (the grading folder around it is hidden)
    assert probe["gradebook"] in ("0", "PermissionError", "FileNotFoundError"), probe
    # /root is empty but for the mount point of the interpreter (pyenv installs under /root)
    assert all(f"/root/{name}" in sys.base_prefix for name in eval(probe["home"])), probe  # noqa: S307 - a repr
    assert probe["network"] != repr("connected"), probe
    assert probe["write_course"] in ("OSError", "PermissionError", "FileNotFoundError"), probe  # read-only, or hidden
    assert _snapshot(course) == before, "nothing outside the grading folder changed"


@needs_bwrap
def test_a_kernel_cell_cannot_undo_the_sandbox_mounts_or_write_outside_it(hostile_class):
    """The security review's escape (umount2 and remount through ctypes), run in the kernel."""
    course, _, _, _ = hostile_class
    nb = nbformat.read(course.autograded / "pia" / ASSIGNMENT / NOTEBOOK, as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    seen = next(line for line in printed.splitlines() if line.startswith("PROBE escape="))[len("PROBE escape="):]
    assert_contained(eval(seen))  # noqa: S307 - a repr of plain data
    assert not (ROOT / "autograder" / "pwned-by-escape.txt").exists()
    assert not (Path(SITE_PACKAGES) / "pwned-by-escape.txt").exists()


def test_processes_the_student_left_running_are_gone_after_grading(hostile_class):
    _, token, _, _ = hostile_class
    assert not _processes_with(token)


def test_without_bubblewrap_the_grader_warns_once_and_still_grades(tmp_path, monkeypatch, capsys):
    course = copy_course(tmp_path)
    submit(tmp_path / "subs", "ann", course, solutions(course))
    monkeypatch.setattr("autograder.grading.cli.bubblewrap_prefix", lambda **kw: None)
    code = main(["grade", ASSIGNMENT, "--submissions", str(tmp_path / "subs"), "--root", str(course.root),
                 "--no-sandbox"])
    out = capsys.readouterr().out
    assert code == 0 and "sandbox is unavailable" not in out, "--no-sandbox: no warning"
    code = main(["grade", ASSIGNMENT, "--submissions", str(tmp_path / "subs"), "--root", str(course.root)])
    out, err = capsys.readouterr()
    assert code == 0 and not err
    assert out.count("the sandbox is unavailable") == 1, out
    assert table(course.db_url, ASSIGNMENT, course)[1][0]["score"] == 3.0


@pytest.mark.skipif(not _cgroups_available(), reason="no writable pids cgroup (not root, or no pids controller)")
def test_cgroups_of_a_grader_that_died_are_swept_with_their_processes():
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = cgroup._parent() / f"autograder-{dead.stdout.strip()}-0"
    stale.mkdir()
    group = cgroup.WorkerCgroup({"pids": stale}, 10)
    fds = group.join_fds()
    orphan = subprocess.Popen(["sleep", "300"], preexec_fn=cgroup.joiner(fds, lambda: None))
    cgroup.close_fds(fds)
    cgroup._sweep(cgroup._parents())
    assert orphan.wait(timeout=10) == -9 and not stale.exists()


def _as_a_normal_user():
    """A command prefix that runs as uid 1000 with no capabilities (a user namespace), or None."""
    if os.geteuid() != 0 or bubblewrap_prefix() is None:
        return None
    probe = subprocess.run(["bwrap", "--dev-bind", "/", "/", "--unshare-user", "--uid", "1000", "--gid", "1000",
                            "--cap-drop", "ALL", "--", "bwrap", "--ro-bind", "/", "/", "--unshare-user", "true"],
                           capture_output=True, check=False)
    if probe.returncode != 0:
        return None
    return ["bwrap", "--dev-bind", "/", "/", "--unshare-user", "--uid", "1000", "--gid", "1000", "--cap-drop", "ALL",
            "--"]


@pytest.mark.skipif(_as_a_normal_user() is None,
                    reason="needs root, bubblewrap and user namespaces to play a normal user")
def test_grading_as_a_normal_user_keeps_the_sandbox():
    """The grader run by a user without privileges (uid 1000 in a user namespace, no capabilities):
    bubblewrap then runs unprivileged, student code cannot see the solutions or the repository's
    history, cannot mount, and an honest student who sorts after the attacker keeps full marks."""
    tmp = ROOT / ".pytest-sandbox" / uuid.uuid4().hex
    try:
        course = copy_course(tmp)
        done = solutions(course)
        subs = tmp / "submitted"
        probe = ESCAPE + PROBE.format(solutions=str(course.source), gradebook=course.db_url[len("sqlite:///"):],
                                      course=str(course.root), token=uuid.uuid4().hex, git=str(ROOT / ".git"),
                                      hidden=[str(course.source), str(course.grading)],
                                      targets=[str(course.root), str(ROOT / "autograder"), SITE_PACKAGES])
        submit(subs, "amy", course, {**done, "f1-split_sizes": done["f1-split_sizes"] + "\n" + probe})
        submit(subs, "zed", course, done)
        before = _snapshot(course)
        proc = subprocess.run([*_as_a_normal_user(), sys.executable, "-m", "autograder", "grade", ASSIGNMENT,
                               "--submissions", str(subs), "--root", str(course.root), "--cell-timeout", "20"],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL, cwd=ROOT, check=False,
                              env={**os.environ, "HOME": "/tmp"})
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "sandbox is unavailable" not in proc.stdout + proc.stderr
        rows = {r["student"]: r for r in table(course.db_url, ASSIGNMENT, course)[1]}
        assert (rows["amy"]["status"], rows["amy"]["score"]) == ("ok", 3.0), rows["amy"]
        assert (rows["zed"]["status"], rows["zed"]["score"]) == ("ok", 3.0), rows["zed"]
        nb = nbformat.read(course.autograded / "amy" / ASSIGNMENT / NOTEBOOK, as_version=4)
        printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
        seen = next(line for line in printed.splitlines() if line.startswith("PROBE escape="))[len("PROBE escape="):]
        assert_contained(eval(seen), root_grader=False)  # noqa: S307 - a repr of plain data
        assert "PROBE solutions=[]" in printed or "PROBE solutions=FileNotFoundError" in printed, printed
        assert _snapshot(course) == before, "nothing outside the grading folder changed"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        with contextlib.suppress(OSError):
            tmp.parent.rmdir()  # unless another run still uses it
