"""The adversarial corpus (``corpus.py``) graded in ONE batch with honest submissions, then re-graded.

The batch runs once per test session (a module fixture; under pytest-xdist the first worker runs
it and the other reads its report, so each case still shows as its own test). It grades the real
assignment 1 copied into a temporary course, with small limits (10 s per cell, 60 s per notebook,
1024 MB, 2 workers), AUTOGRADER_HIDDEN_SEED set to a fresh secret and HOME pointing at a fake
home with a sentinel file. Asserted: every case's status and score, that every student got a
result, that no file outside the grading folder changed or appeared, that no process the corpus
started outlives the batch, that the gradebook holds one current result per student and agrees
with the status table, and that re-grading with a broken submission replaces a good score.

Cases that only hold inside bubblewrap are not even written when ``bwrap`` is missing (they
would damage the batch) and their tests skip.
"""

import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import MissingEntry

from autograder.grading import course as courses
from autograder.grading.export import export
from autograder.grading.grade import grade_class
from autograder.grading.gradebook import open_gradebook, statuses
from autograder.sandbox import cgroup
from autograder.sandbox.policy import Limits, RenderLimits

from .corpus import ASSIGNMENT, CASES, MAX_SCORE, NOTEBOOK, PROCESS_PREFIX, SENTINEL, SITE_PACKAGES, Context, build_all

ROOT = Path(__file__).resolve().parents[2]
# ADVERSARIAL_NO_SANDBOX=1 grades as if bubblewrap were missing (to check that the rest still passes).
SANDBOX = shutil.which("bwrap") is not None and not os.environ.get("ADVERSARIAL_NO_SANDBOX")
NO_SANDBOX = "bubblewrap (bwrap) is not installed: the attack would run unconfined (make test installs it)"
LIMITS = Limits(memory_mb=1024, timeout=60, cell_timeout=10, sandbox=SANDBOX)  # a1-code-24 takes about 2 s alone
RENDER = RenderLimits(timeout=8)  # a feedback page; the slow markdown takes minutes unbounded
WORKERS = 2
ATTACK_FILE = "PWNED"  # part of the name of every file an attack tries to create


MEMORY_CGROUP = "memory" in cgroup._parents()
NO_MEMORY_CGROUP = "no memory cgroup (not root, or no memory controller): the processes' total is not capped"


def cases_run():
    return [c for c in CASES if (SANDBOX or not c.sandbox) and (MEMORY_CGROUP or not c.memory_cgroup)]


def make_course(root):
    """A course with only assignment 1 (the real notebooks); its grading folder lives under ``root``."""
    course_root = root / "course-root"
    for part in ("solutions", "course"):
        shutil.copytree(ROOT / part / ASSIGNMENT, course_root / part / ASSIGNMENT)
    shutil.copy(ROOT / "nbgrader_config.py", course_root)
    return courses.load(course_root)


def snapshot(root, exclude):
    """``{path: sha256, "dir" or "link:<target>"}`` of everything under ``root`` except ``exclude``."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        found[str(here)] = "dir"
        keep = []
        for name in dirnames:
            path = here / name
            if path == exclude:
                continue
            if path.is_symlink():
                found[str(path)] = f"link:{os.readlink(path)}"
            else:
                keep.append(name)
        dirnames[:] = keep
        for name in filenames:
            path = here / name
            if path.is_symlink():
                found[str(path)] = f"link:{os.readlink(path)}"
            else:
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def corpus_processes():
    """``[(pid, name)]`` of running processes named like the corpus's (fork bomb, daemon)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                name = Path(entry.path, "comm").read_text().strip()
            except OSError:
                continue
            if name.startswith(PROCESS_PREFIX):
                found.append((int(entry.name), name))
    return found


def files_containing(root, needle):
    hits = []
    for path in Path(root).rglob("*"):
        if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
            hits.append(str(path.relative_to(root)))
    return sorted(hits)


def gradebook_facts(course):
    """What the gradebook holds: submissions per student (nbgrader's API) and the status table."""
    with open_gradebook(course.db_url) as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        submissions = {}
        for sub in assignment.submissions:
            entry = submissions.setdefault(sub.student.id, {"count": 0, "score": None})
            entry["count"] += 1
            entry["score"] = float(sub.score)
        students = sorted(s.id for s in gb.students)
    table = {student: {"status": row["status"], "score": row["score"], "max_score": row["max_score"]}
             for (_, student), row in statuses(course.db_url, ASSIGNMENT).items()}
    return {"submissions": submissions, "students": students, "status_table": table}


def outcome(result):
    return {"status": result.status, "score": result.score, "max_score": result.max_score, "detail": result.detail,
            "cells": {gid: cell.points for nb in result.notebooks for gid, cell in nb.cells.items()}}


PACKAGE_FOLDERS = (ROOT / "autograder", ROOT / "introdl", Path(SITE_PACKAGES))


def file_states(folders):
    """``{path: (size, mtime_ns)}`` of every file under ``folders`` (cheaper than hashing a venv;
    any write changes the time). Bytecode caches are left out: Python writes them on import."""
    states = {}
    for folder in folders:
        for parent, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for name in files:
                path = os.path.join(parent, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                states[path] = (info.st_size, info.st_mtime_ns)
    return states


def feedback_body(course, student):
    """What follows the template's <body> in the student's feedback page: the scores and their cells."""
    page = course.feedback / student / ASSIGNMENT / "a1_splits.html"
    return page.read_text().partition("<body>")[2] if page.is_file() else ""


def autograded_outputs(course, student):
    """The text of the autograded notebook's outputs (not its code)."""
    path = course.autograded / student / ASSIGNMENT / NOTEBOOK
    if not path.is_file():
        return ""
    texts = []
    for cell in nbformat.read(path, as_version=4).cells:
        for out in cell.get("outputs", []):
            texts.append(str(out.get("text") or out.get("evalue") or out.get("data", {}).get("text/plain", "")))
    return "\n".join(texts)


def run_batch(root):
    """Write the corpus, grade it in one grade_class call, re-grade two students; returns the facts."""
    root.mkdir(parents=True)
    course = make_course(root)
    home, subs = root / "home", root / "submitted"
    home.mkdir()
    (home / SENTINEL).write_text("the grader's home; no student may change this file\n")
    ctx = Context(source_notebook=course.source / ASSIGNMENT / NOTEBOOK,
                  release_notebook=course.release / ASSIGNMENT / NOTEBOOK, course_root=course.root,
                  grading=course.grading, gradebook=Path(course.db_url[len("sqlite:///"):]), submissions=subs,
                  home=home)
    cases = build_all(ctx, cases_run())
    before = snapshot(root, course.grading)
    package_before = file_states(PACKAGE_FOLDERS)
    secret = f"adv-seed-{secrets.token_hex(12)}"
    saved = {key: os.environ.get(key) for key in ("HOME", "AUTOGRADER_HIDDEN_SEED")}
    os.environ.update(HOME=str(home), AUTOGRADER_HIDDEN_SEED=secret)
    try:
        started = time.monotonic()
        results = grade_class(course, ASSIGNMENT, subs, workers=WORKERS, limits=LIMITS, render_limits=RENDER)
        seconds = time.monotonic() - started
        time.sleep(2)  # a process that outlived its kernel would act now
        survivors = corpus_processes()
        for pid, _ in survivors:  # started by this test's corpus: stop them before anything else runs
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        after = snapshot(root, course.grading)
        package_after = file_states(PACKAGE_FOLDERS)
        report = {
            "sandbox": SANDBOX, "seconds": seconds, "cases": [c.student for c in cases],
            "results": {r.student: outcome(r) for r in results},
            "changed": sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p)),
            "attack_files": sorted(str(p.relative_to(course.grading))
                                   for p in course.grading.rglob(f"*{ATTACK_FILE}*")),
            "package_changed": sorted(p for p in package_before.keys() | package_after.keys()
                                      if package_before.get(p) != package_after.get(p)),
            "attack_files_in_package": sorted(str(p) for folder in (ROOT / "autograder", Path(SITE_PACKAGES))
                                              for p in folder.glob(f"*{ATTACK_FILE}*")),
            "survivors": survivors,
            "largest_autograded": max((p.stat().st_size for p in course.autograded.rglob("*.ipynb")), default=0),
            "seed_leaks": files_containing(root, secret.encode()),
            "outputs": {c.student: autograded_outputs(course, c.student) for c in cases
                        if c.output_has or c.output_lacks},
            "pages": {c.student: feedback_body(course, c.student) for c in cases if c.page_lacks},
            "gradebook": gradebook_facts(course),
            "export_formulas": [cell for line in export(course.db_url, assignment=ASSIGNMENT).splitlines()
                                for cell in line.split(",") if cell[:1] in ("=", "+", "@")],
        }
        # Re-grading: two students graded fully above now hand in a broken submission.
        again = root / "again"
        (again / "regrade-then-invalid" / ASSIGNMENT).mkdir(parents=True)
        (again / "regrade-then-invalid" / ASSIGNMENT / NOTEBOOK).write_text('{"cells": [')
        (again / "regrade-then-missing" / ASSIGNMENT).mkdir(parents=True)
        regraded = grade_class(course, ASSIGNMENT, again, workers=WORKERS, limits=LIMITS)
        pages = {}
        for student in ("regrade-then-invalid", "regrade-then-missing"):
            page = course.feedback / student / ASSIGNMENT / "a1_splits.html"
            pages[student] = page.read_text() if page.is_file() else ""
        with open_gradebook(course.db_url) as gb:
            grades = {}
            for student in ("regrade-then-invalid", "regrade-then-missing"):
                try:
                    grades[student] = [g.auto_score for nb in gb.find_submission(ASSIGNMENT, student).notebooks
                                       for g in nb.grades]
                except MissingEntry:
                    grades[student] = None
        report["regrade"] = {"results": {r.student: outcome(r) for r in regraded}, "pages": pages,
                             "grades": grades, "gradebook": gradebook_facts(course)}
        return report
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The batch's facts, computed once per session (shared by pytest-xdist workers through a lock)."""
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "adversarial-batch"
    shared.mkdir(exist_ok=True)
    done = shared / "report.json"
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            # In the checkout, not under /tmp (which the sandbox replaces whole): hiding is what is tested.
            run = ROOT / ".pytest-sandbox" / f"adversarial-{os.getpid()}-{secrets.token_hex(4)}"
            try:
                facts = run_batch(run)
            finally:
                shutil.rmtree(run, ignore_errors=True)
            done.write_text(json.dumps(facts, indent=1))
    return json.loads(done.read_text())


def _param(item):
    marks = []
    if item.sandbox and not SANDBOX:
        marks.append(pytest.mark.skip(reason=NO_SANDBOX))
    elif item.memory_cgroup and not MEMORY_CGROUP:
        marks.append(pytest.mark.skip(reason=NO_MEMORY_CGROUP))
    if item.xfail:
        marks.append(pytest.mark.xfail(strict=True, reason=item.xfail))
    return pytest.param(item, id=item.student, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case(report, case):
    got = report["results"][case.student]
    assert (got["status"], got["score"]) == (case.status, pytest.approx(case.score, abs=1e-9)), \
        f"{case.description}\ngot {got}"
    assert got["max_score"] == MAX_SCORE
    if case.detail_has:
        assert case.detail_has in got["detail"], f"not on record: {case.detail_has!r} not in {got['detail']!r}"
    if case.page_lacks:
        body = report["pages"][case.student]
        assert body and case.page_lacks not in body.lower(), f"the feedback page holds {case.page_lacks!r}"
        assert not re.search(r"<[^>]*\son\w+\s*=|<[^>]*javascript:", body, re.IGNORECASE), "active markup"
    text = report["outputs"].get(case.student, "")
    if case.output_has:
        assert case.output_has in text, f"the probe did not run: {case.output_has!r} not in the autograded notebook"
    if case.output_lacks:
        assert case.output_lacks not in text, f"the attack got through: {case.output_lacks!r} in the notebook"


def test_corpus_size():
    honest = [c for c in CASES if c.honest]
    hostile = [c for c in CASES if c.category not in ("honest", "re-grading")]
    assert len(honest) >= 3 and len(hostile) >= 25
    assert len({c.student for c in CASES}) == len(CASES), "two cases share a student"


def test_every_submission_got_a_result(report):
    assert sorted(report["results"]) == sorted(report["cases"])
    expected = {c.student: c.status for c in CASES}
    errors = {s: r["detail"] for s, r in report["results"].items()
              if r["status"] == "error" and expected.get(s) != "error"}  # slow-markdown's page is one
    assert not errors, errors


def test_honest_scores_are_exact(report):
    for item in cases_run():
        if item.honest:
            got = report["results"][item.student]
            assert (got["status"], got["score"]) == ("ok", pytest.approx(item.score, abs=1e-9)), (item.student, got)


def test_nothing_outside_the_grading_folder_changed(report):
    assert report["changed"] == []


def test_no_attack_file_inside_the_grading_folder(report):
    assert report["attack_files"] == []


def test_no_attack_file_in_the_package_or_the_venv(report):
    """What the grading process imports later (the package, site-packages) stays as it was."""
    assert report["attack_files_in_package"] == []
    assert report["package_changed"] == [], "files of the package or the venv changed during the batch"


def test_the_export_holds_no_spreadsheet_formula(report):
    """A student folder named =2+5 is listed (refused), as text a spreadsheet does not run."""
    assert report["export_formulas"] == []


def test_every_kind_of_output_is_capped(report):
    """A cell keeps at most 200,000 characters of output of any kind: no notebook grows past a few MB."""
    assert report["largest_autograded"] < 8 * 2**20


def test_no_process_outlives_the_batch(report):
    assert report["survivors"] == [], "processes of the corpus still ran after the batch (killed by the test)"


def test_hidden_seed_does_not_leak(report):
    assert report["seed_leaks"] == []


def test_gradebook_holds_one_current_result_per_student(report):
    book, results = report["gradebook"], report["results"]
    graded = {s for s, r in results.items() if r["status"] != "invalid_student"}
    assert set(book["submissions"]) == graded
    assert {s: e["count"] for s, e in book["submissions"].items()} == dict.fromkeys(graded, 1)
    assert set(book["students"]) == graded, "a refused folder name must not become a student"
    for student, entry in book["submissions"].items():
        assert entry["score"] == pytest.approx(results[student]["score"], abs=1e-6), student
    assert set(book["status_table"]) == set(results)
    for student, row in book["status_table"].items():
        assert row["status"] == results[student]["status"], student
        assert row["score"] == pytest.approx(results[student]["score"], abs=1e-6), student
        assert row["max_score"] == MAX_SCORE


def test_regrade_replaces_a_good_score_with_the_failure(report):
    regrade = report["regrade"]
    got = {s: (r["status"], r["score"]) for s, r in regrade["results"].items()}
    assert got == {"regrade-then-invalid": ("invalid_notebook", 0.0), "regrade-then-missing": ("missing", 0.0)}
    for student, status in (("regrade-then-invalid", "invalid_notebook"), ("regrade-then-missing", "missing")):
        assert report["results"][student]["score"] == MAX_SCORE, "graded fully the first time"
        assert regrade["grades"][student] and not any(regrade["grades"][student]), "no stale grade left"
        assert f"Grading status: {status}" in regrade["pages"][student]
        row = regrade["gradebook"]["status_table"][student]
        assert (row["status"], row["score"]) == (status, 0.0)
        assert regrade["gradebook"]["submissions"][student] == {"count": 1, "score": 0.0}
    before, after = report["gradebook"]["submissions"], regrade["gradebook"]["submissions"]
    assert set(after) == set(before), "re-grading adds or removes no student"
    unchanged = {s for s in before if not s.startswith("regrade-")}
    assert {s: after[s] for s in unchanged} == {s: before[s] for s in unchanged}
