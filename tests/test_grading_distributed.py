"""``autograder grade --scheduler``: grading on a Dask cluster gives the grades of one machine.

A ``LocalCluster`` of two worker processes stands in for several machines: its tasks get the
submissions as bytes and return bytes, so they would work the same on machines that cannot
see the grader's folders. The grader's process still writes the gradebook alone.
"""

import logging
import os
import threading
import time

import psutil
import pytest
from distributed import Client, LocalCluster
from fixtures.grading_support import ACCURACY, ASSIGNMENT, FLOOR_ALL, NOTEBOOK, copy_course, run_cli, solutions, submit

from autograder.grading import distributed
from autograder.grading.execute import MAX_NOTEBOOK_BYTES
from autograder.grading.export import table
from autograder.grading.grade import grade_class
from autograder.grading.gradebook import statuses
from autograder.sandbox.policy import Limits

LIMITS = Limits(cell_timeout=30, timeout=90)


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes (restarted by their nannies when they die); no dashboard."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.CRITICAL) as local, Client(local, set_as_default=False) as client:
        yield local.scheduler_address, client


def _class(folder, course):
    """A class with each way a submitted folder can look (how a notebook fails does not depend on it)."""
    done = solutions(course)
    submit(folder, "alice", course, done)
    renamed = submit(folder, "rene", course, {**done, "f1-split_sizes": FLOOR_ALL, "f1-error_rate": ACCURACY})
    renamed.rename(renamed.with_name("f1_fixture (1).ipynb"))  # a renamed download is still graded
    os.truncate(submit(folder, "hugo", course, raw=""), MAX_NOTEBOOK_BYTES + 1)  # too large (sparse)
    link = folder / "lena" / ASSIGNMENT / NOTEBOOK
    link.parent.mkdir(parents=True)
    link.symlink_to(folder / "alice" / ASSIGNMENT / NOTEBOOK)
    (folder / "otto" / ASSIGNMENT / NOTEBOOK).mkdir(parents=True)  # a folder where the notebook should be
    (folder / "nora" / ASSIGNMENT).mkdir(parents=True)  # no notebook
    (folder / "noah").mkdir()  # no assignment folder
    (folder / "bad name" / ASSIGNMENT).mkdir(parents=True)


def _summary(results):
    """Everything a result says, but where its files are."""
    return {r.student: (r.status, r.detail, r.timestamp, r.score, r.max_score,
                        [(nb.notebook, nb.status, nb.detail, nb.notes, nb.executed is not None,
                          {k: (c.points, c.max) for k, c in nb.cells.items()}) for nb in r.notebooks])
            for r in results}


def _gradebook(course):
    """The gradebook's rows (scores of each test cell) and statuses, but when they were written."""
    rows = sorted(table(course.db_url, ASSIGNMENT, course)[1], key=lambda row: row["student"])
    recorded = {key: {k: v for k, v in value.items() if k != "graded_at"}
                for key, value in statuses(course.db_url, ASSIGNMENT).items()}
    return rows, recorded


def test_a_cluster_grades_a_class_as_one_machine_does(tmp_path, cluster):
    address, _ = cluster
    subs = tmp_path / "submitted"
    here, there = copy_course(tmp_path / "here"), copy_course(tmp_path / "there")
    _class(subs, here)
    local = grade_class(here, ASSIGNMENT, subs, limits=LIMITS, workers=2)
    progress = []
    remote = grade_class(there, ASSIGNMENT, subs, limits=LIMITS, scheduler=address,
                         on_start=lambda n: progress.append(n), on_result=lambda r: progress.append(r.student))

    assert _summary(remote) == _summary(local)
    statuses_seen = {r.student: r.status for r in remote}
    assert statuses_seen == {"alice": "ok", "rene": "ok", "hugo": "invalid_notebook", "lena": "invalid_notebook",
                             "otto": "invalid_notebook", "nora": "missing", "noah": "missing",
                             "bad name": "invalid_student"}
    scores = {r.student: r.score for r in remote if r.score}
    assert set(scores) == {"alice", "rene"} and scores["alice"] == 3 and 0 < scores["rene"] < 3
    assert {r.student: r.detail for r in remote if r.student in ("rene", "hugo", "lena", "otto")} == {
        "rene": "graded f1_fixture (1).ipynb (expected f1_fixture.ipynb)",
        "hugo": "the notebook file is too large (64 MB)", "lena": "the notebook is a symbolic link",
        "otto": "the notebook is not a regular file"}
    assert progress[0] == len(remote) and sorted(progress[1:]) == sorted(r.student for r in remote)
    assert _gradebook(there) == _gradebook(here)
    for course in (here, there):  # executed notebooks and feedback written by the grader's process
        assert {p.parts[-3] for p in course.autograded.glob(f"*/{ASSIGNMENT}/*.ipynb")} == {
            "alice", "rene", "hugo", "lena", "otto"}
        assert len(list(course.feedback.glob(f"*/{ASSIGNMENT}/*.html"))) == len(remote) - 1


def _kill_when_running(client, marker, killed, timeout=60):
    """Kill the worker process that runs the task whose key holds ``marker``, with its children."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and not killed:
        for address, keys in client.processing().items():
            if not any(marker in str(key) for key in keys):
                continue
            worker = psutil.Process(client.run(os.getpid, workers=[address])[address])
            children = worker.children(recursive=True)
            # Once the notebook's grading process has started, the task is surely running.
            if any("autograder.grading.execute" in " ".join(p.cmdline()) for p in children):
                for proc in (worker, *children):
                    proc.kill()
                killed.update(pid=worker.pid, address=address)
        time.sleep(0.05)


def test_a_task_whose_worker_dies_runs_again_and_one_that_always_fails_is_an_error(tmp_path, cluster, capsys,
                                                                                    monkeypatch):
    address, client = cluster
    course = copy_course(tmp_path)
    subs = tmp_path / "submitted"
    submit(subs, "sam", course, solutions(course))
    killed = {}
    killer = threading.Thread(target=_kill_when_running, args=(client, f"-{ASSIGNMENT}-sam-", killed), daemon=True)
    killer.start()
    (result,) = grade_class(course, ASSIGNMENT, subs, limits=LIMITS, scheduler=address)
    killer.join()

    assert killed, "the task's worker was not killed"
    assert (result.status, result.score) == ("ok", 3.0), result.detail
    (row,) = table(course.db_url, ASSIGNMENT, course)[1]
    assert (row["status"], row["score"]) == ("ok", 3.0)
    client.wait_for_workers(2, timeout=60)  # the nanny started a new worker process
    assert killed["pid"] not in client.run(os.getpid).values()

    # The grader's hidden-test seed differs from the workers': every attempt refuses to grade,
    # and the submission's grade is then an error, not the grade it had.
    monkeypatch.setenv("AUTOGRADER_HIDDEN_SEED", "not-the-workers-seed")
    code, out = run_cli(capsys, "grade", ASSIGNMENT, "--submissions", subs, "--root", course.root,
                        "--scheduler", address, "--cell-timeout", "30")
    assert code == 1, out
    assert "sam" in out and "error" in out
    (row,) = table(course.db_url, ASSIGNMENT, course)[1]
    assert (row["status"], row["score"]) == ("error", 0.0)
    detail = statuses(course.db_url, ASSIGNMENT)[ASSIGNMENT, "sam"]["detail"]
    assert "ClusterError" in detail and "AUTOGRADER_HIDDEN_SEED on this worker differs" in detail, detail


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(distributed, "CONNECT_TIMEOUT", "1s")
    course = copy_course(tmp_path)
    pool = distributed.ClusterPool("tcp://127.0.0.1:9", course, ASSIGNMENT, limits=LIMITS, work=tmp_path / "work")
    with pytest.raises(RuntimeError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"), pool:
        pass
