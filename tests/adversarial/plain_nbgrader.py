"""Grade the adversarial corpus with stock ``nbgrader autograde`` and compare (a script, not a test).

    .venv/bin/python tests/adversarial/plain_nbgrader.py [--report REPORT.json] [--output TABLE.md]

Builds a throwaway nbgrader course in a temporary folder (``source/`` from this repository's
``solutions/a1_splits``, ``release/`` by ``nbgrader generate_assignment``), writes every case of
``corpus.py`` into its ``submitted/`` folder, and runs ``nbgrader autograde a1_splits --student X``
once per student, each in its own process group with a time limit, so one bad case cannot stop
the rest. The attacks aim at the temporary course, its submissions and a fake home; the
repository is only read. Safety nets that stock nbgrader does not have: a 4 GB address-space
limit on each nbgrader run and its kernel, and leftover processes of the corpus (the fork
bomb's, the daemon) are killed after each student. The cell timeout is 5 s (the test batch has
10 s since a1 trains with full batches).

Prints a markdown table ``| attack | plain nbgrader | this grader |``; the last column is the
status and score the test asserts, or, with ``--report`` (the test's report.json, under
``<pytest basetemp>/adversarial-batch/``), what the grader really gave. Run it while nothing else
uses the corpus: after each student it kills every process named like the corpus's (``adv-*``).
"""

import argparse
import hashlib
import json
import os
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: import adversarial.corpus

from adversarial.corpus import (  # noqa: E402
    ASSIGNMENT,
    CASES,
    MAX_SCORE,
    NOTEBOOK,
    PROCESS_PREFIX,
    SENTINEL,
    Context,
    build_all,
)

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CONFIG = """
c = get_config()  # noqa: F821
c.CourseDirectory.root = "."
c.CourseDirectory.course_id = "plain-nbgrader"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
c.ExecutePreprocessor.timeout = 5
"""
# Run last, in this order: they damage the course or the gradebook for whoever comes after.
LAST = ("write-outside", "gradebook-rewrite", "daemon")


def _limit():
    resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))


def _digest(root, skip):
    out = {}
    for path in sorted(Path(root).rglob("*")):
        if any(part in skip for part in path.relative_to(root).parts):
            continue
        if path.is_symlink():
            out[str(path.relative_to(root))] = "link"
        elif path.is_file():
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _corpus_processes():
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if Path(entry.path, "comm").read_text().startswith(PROCESS_PREFIX):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _gradebook_scores(db):
    from nbgrader.api import Gradebook, MissingEntry

    scores = {}
    with Gradebook(f"sqlite:///{db}") as gb:
        for student in gb.students:
            try:
                scores[student.id] = gb.find_submission(ASSIGNMENT, student.id).score
            except MissingEntry:
                continue
    return scores


def _outputs(path):
    """The text of an executed notebook's outputs (a very large notebook is only searched as text)."""
    if not path.is_file():
        return ""
    if path.stat().st_size > 256 * 2**20:
        return path.read_text(errors="replace")
    try:
        nb = json.loads(path.read_text(errors="replace"))
    except ValueError:
        return ""
    return "\n".join(str(o.get("text") or o.get("evalue") or "") for c in nb.get("cells", [])
                     for o in c.get("outputs", []))


def autograde(course, student, timeout, env):
    """Run stock nbgrader for one student; returns (exit code or None on timeout, why it failed)."""
    cmd = [str(BIN / "nbgrader"), "autograde", ASSIGNMENT, "--student", student, "--force"]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, cwd=course, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_limit)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = None
        log.seek(0)
        text = log.read().decode(errors="replace")
    return code, _failure(text)


def _failure(log):
    """The gist of a failed autograde run's log: the last exception named in it."""
    if "Did you mean" in log or "No notebooks were matched" in log:
        return "no submission found"
    if "Could not match" in log:
        return "its folder name breaks nbgrader's path pattern"
    names = [n for n in re.findall(r"\b([A-Z]\w*(?:Error|Exception|Interrupt|Entry))\b", log)
             if n not in ("AutogradeApp",)]
    return names[-1] if names else (log.strip().splitlines() or ["?"])[-1][:80]


def run(timeout, only=None, keep=False):
    tmp = Path(tempfile.mkdtemp(prefix="plain-nbgrader-"))
    course, home = tmp / "course", tmp / "home"
    (course / "source").mkdir(parents=True)
    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    (course / "nbgrader_config.py").write_text(CONFIG)
    home.mkdir()
    (home / SENTINEL).write_text("the grader's home\n")
    secret = f"adv-seed-{secrets.token_hex(12)}"
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1",
           "AUTOGRADER_HIDDEN_SEED": secret, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    subprocess.run([str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"], cwd=course, env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    ctx = Context(source_notebook=course / "source" / ASSIGNMENT / NOTEBOOK,
                  release_notebook=course / "release" / ASSIGNMENT / NOTEBOOK, course_root=course, grading=course,
                  gradebook=course / "gradebook.db", submissions=course / "submitted", home=home)
    build_all(ctx)
    order = sorted(CASES, key=lambda c: LAST.index(c.folder) + 1 if c.folder in LAST else 0)
    rows = {}
    for item in order:
        if only and item.folder not in only:
            continue
        skip = {"autograded", "feedback", "gradebook.db", ".nbgrader.log", "gradebook.db-journal"}
        before = _digest(tmp, skip)
        started = time.monotonic()
        code, tail = autograde(course, item.folder, timeout, env)
        seconds = time.monotonic() - started
        time.sleep(1)
        left = _corpus_processes()
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        after = _digest(tmp, skip)
        scores = _gradebook_scores(course / "gradebook.db")
        notes = []
        if code is None:
            plain = f"no grade: still running after {timeout:g} s, killed"
        elif code != 0 or item.folder not in scores:
            plain = f"no grade (autograde failed: {tail})"
        else:
            plain = f"{scores[item.folder]:.3g} / {MAX_SCORE:g}"
        changed = sorted(p for p in before.keys() | after.keys()
                         if before.get(p) != after.get(p) and not p.startswith(f"submitted/{item.folder}/")
                         and not p.startswith("home/."))  # the kernel's own caches and settings
        if changed:
            notes.append("changed " + ", ".join(changed[:3]) + (" ..." if len(changed) > 3 else ""))
        if left:
            notes.append(f"{len(left)} processes left running")
        executed = course / "autograded" / item.folder / ASSIGNMENT / NOTEBOOK
        text = _outputs(executed)
        if item.output_lacks and item.output_lacks in text:
            notes.append(f"the attack got through ({item.output_lacks})")
        if secret in text:
            notes.append("the hidden seed is in the autograded notebook")
        for other, score in scores.items():  # did this student lower scores graded before?
            if other in rows and rows[other]["score"] is not None and score < rows[other]["score"] - 1e-9:
                notes.append(f"lowered {other}'s score to {score:g}")
                break
        rows[item.folder] = {"plain": plain + (f" ({'; '.join(notes)})" if notes else ""),
                             "score": scores.get(item.folder) if code == 0 else None, "seconds": seconds}
        # The course as it was, for the next student (damage is reported above, not inherited).
        shutil.rmtree(course / "source" / ASSIGNMENT)
        shutil.copytree(ROOT / "solutions" / ASSIGNMENT, course / "source" / ASSIGNMENT)
        (home / SENTINEL).write_text("the grader's home\n")
        for stray in [*course.glob("PWNED*"), *course.rglob("release/**/PWNED*"), home / "leaked-seed.txt"]:
            stray.unlink(missing_ok=True)
    if keep:
        print(f"the temporary course: {tmp}", file=sys.stderr)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def ours(item, report):
    if report and item.student in report.get("results", {}):
        got = report["results"][item.student]
        status, score = got["status"], got["score"]
    else:
        status, score = item.status, item.score
    text = f"{status}, {score:.3g} / {MAX_SCORE:g}"
    if item.xfail:
        text += f" (should be {item.status}, {item.score:.3g}: known bug)"
    return text


def table(rows, report):
    lines = ["| attack | plain nbgrader | this grader |", "|---|---|---|"]
    for item in CASES:
        if item.folder not in rows:
            continue
        name = item.student.replace("|", "\\|")
        lines.append(f"| `{name}` ({item.category}) | {rows[item.folder]['plain'].replace('|', '/')} | "
                     f"{ours(item, report)} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", help="the test's report.json (actual results of this grader)")
    parser.add_argument("--output", help="also write the table to this file")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per student")
    parser.add_argument("--only", action="append", help="grade only this case (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary course")
    parser.add_argument("--save", help="write plain nbgrader's results (JSON) here")
    parser.add_argument("--rows", help="render the table from a --save file instead of grading again")
    args = parser.parse_args(argv)
    report = json.loads(Path(args.report).read_text()) if args.report else None
    rows = json.loads(Path(args.rows).read_text()) if args.rows else run(args.timeout, args.only, args.keep)
    if args.save:
        Path(args.save).write_text(json.dumps(rows, indent=1))
    text = table(rows, report)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
