"""Grading into a real PostgreSQL gradebook gives the same export as grading into SQLite.

The test starts its own server from Debian's ``postgresql`` package (``make system-deps``
installs it): ``initdb`` and ``pg_ctl`` in a temporary folder, listening only on a Unix
socket in that folder (no TCP port, so parallel runs cannot collide), run as the
unprivileged ``postgres`` user when the tests run as root (``initdb`` refuses root). It
stops the server and removes the folder at the end.
"""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from fixtures.grading_support import ACCURACY, ASSIGNMENT, copy_course, run_cli, solutions, submit

pytest.importorskip("psycopg", reason="psycopg (a dev dependency) is not installed")


def _postgres_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _server_user():
    if os.getuid() != 0:
        return None  # an ordinary user runs its own server
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' user to run initdb as")


@pytest.fixture
def postgres_url():
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql, or make system-deps)")
    user = _server_user()
    folder = Path(tempfile.mkdtemp(prefix="autograder-pg-"))
    if user is not None:
        os.chown(folder, user.pw_uid, user.pw_gid)
    as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []} if user else {}
    data, sock = folder / "data", folder / "sock"

    def run(*cmd):
        return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=folder,
                              stdin=subprocess.DEVNULL, check=False, **as_user)

    started = False
    try:
        step = run(bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        assert step.returncode == 0, step.stderr
        step = run("mkdir", sock)
        assert step.returncode == 0, step.stderr
        options = f"-k {sock} -c listen_addresses='' -p 5432 -c fsync=off"
        step = run(bindir / "pg_ctl", "-D", data, "-o", options, "-l", folder / "server.log", "-w", "start")
        assert step.returncode == 0, step.stdout + step.stderr + (folder / "server.log").read_text()
        started = True
        yield f"postgresql+psycopg://postgres@/postgres?host={sock}&port=5432"
    finally:
        if started:
            run(bindir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def test_postgres_gradebook_exports_the_same_as_sqlite(postgres_url, tmp_path, capsys):
    course = copy_course(tmp_path)
    done = solutions(course)
    subs = tmp_path / "submitted"
    submit(subs, "alice", course, done)
    submit(subs, "bob", course, {**done, "f1-error_rate": ACCURACY})
    submit(subs, "dave", course, {**done, "f1-error_rate": "import os\nos._exit(1)"})
    (subs / "bad name").mkdir()
    exports = {}
    for name, url in (("sqlite", None), ("postgres", postgres_url)):
        gradebook = ["--gradebook", url] if url else []
        code, out = run_cli(capsys, "grade", ASSIGNMENT, "--submissions", subs, "--root", course.root,
                            "--workers", "2", *gradebook)
        assert code == 0, out
        for fmt in ("csv", "json"):
            code, text = run_cli(capsys, "export", "--root", course.root, "--format", fmt, *gradebook)
            assert code == 0, text
            exports[name, fmt] = text
    assert exports["postgres", "csv"] == exports["sqlite", "csv"]
    assert exports["postgres", "json"] == exports["sqlite", "json"]
    lines = exports["postgres", "csv"].splitlines()
    assert lines[0] == ("student,assignment,score,max_score,status,detail,similarity,"
                        "f1-test_split_sizes,f1-test_error_rate")
    assert "alice,f1_fixture,3.0,3.0,ok,,,2.0,1.0" in lines and any(line.startswith("dave,") and ",crashed," in line
                                                                    for line in lines)
    assert "bad name,f1_fixture,0.0,3.0,invalid_student,unsafe folder name 'bad name',,," in lines, lines
