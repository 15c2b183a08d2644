"""Grading throughput, measured: this grader (sandbox and verification as the code has them) against
plain ``nbgrader autograde`` on the same submissions of a real notebook, the floor, per-phase costs,
a worker's peak memory, and the costs an estimate for a course of 10,000 students needs.

:func:`measure` returns plain JSON data; ``report_grading.py`` turns it into section 6 of
results.md (``benchmarks/run.py`` does both). Alone::

    python benchmarks/bench_grading.py --json grading.json [-n N]
    python benchmarks/report_grading.py grading.json

Everything runs in a temporary folder (kept with ``BENCH_GRADING_KEEP=1``): two course roots with
the same source and release, one for ``nbgrader autograde`` (its own gradebook) and one for
``autograder grade`` (another), both reading the same
``submitted/<student>/<assignment>/<notebook>.ipynb``. ``BENCH_GRADING_N`` sets the number of
submissions (default 40).
"""

import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "a1_splits"
# Kinds of submission, in turn: the solution, the two catalogue-mistake samples of
# tools/samples.py, the solution with its last graded function left blank, the release.
KINDS = ("ada-complete", "ben-mistakes", "cai-mistakes", "partial", "dee-blank")
WORKERS = 2  # the cores the targets are stated for; autograder grade runs its default, cores + 1 workers
REPEATS = 5
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The heavy imports (nbformat, nbgrader, the grader) are inside the functions: ``--phases`` mode
# must time the grading worker's own imports in a fresh interpreter.


def tool_env():
    """The benchmark's environment for both graders: this venv first on PATH, one BLAS thread, and this
    checkout's packages first (the venv's editable install may point at another checkout)."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "/usr/bin:/bin")])
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return env


def answers(kind, source_nb):
    """``{answer grade_id: code}`` of one kind of submission (see KINDS)."""
    from tools import samples

    if kind != "partial":
        return samples.answers_for(kind, source_nb)
    found = samples.answers_for("ada-complete", source_nb)
    del found[samples.graded_functions(source_nb)[-1][2]]  # the last graded function stays blank
    return found


def write_submissions(folder, n, source, release):
    """``n`` students' notebooks in nbgrader's submitted layout; returns ``{student: kind}``."""
    import nbformat

    from tools.samples import filled

    source_nb = nbformat.read(source, as_version=4)
    students = {}
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        student = f"s{i:03d}-{kind.split('-')[-1]}"
        nb = filled(release, answers(kind, source_nb))
        path = folder / student / ASSIGNMENT / source.name
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
        students[student] = kind
    return students


CONFIG = """c = get_config()  # noqa: F821
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "bench"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "grading/autograded"
c.CourseDirectory.feedback_directory = "grading/feedback"
c.CourseDirectory.db_url = "sqlite:///grading/gradebook.db"
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
c.ExecutePreprocessor.timeout = 120
"""


def make_course(root):
    """A course root with the real a1_splits source and release, and a plain nbgrader config."""
    from autograder.grading import course as courses

    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, root / "source" / ASSIGNMENT)
    shutil.copytree(ROOT / "course" / ASSIGNMENT, root / "release" / ASSIGNMENT)
    (root / "nbgrader_config.py").write_text(CONFIG.format(root=str(root)))
    (root / "grading").mkdir()  # SQLite makes the gradebook's file, not its folder
    return courses.load(root)


def run_timed(cmd, cwd, cpu=None):
    """Seconds of a command's wall time; its output is kept for an error message.

    With ``cpu`` (a dict), the CPU seconds of the command's process tree, read from /proc every
    50 ms, are stored in it by kind of process.
    """
    start = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=tool_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        watch = _TreeWatcher(proc.pid)
        while proc.poll() is None:
            if cpu is not None:
                watch.sample()
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            log.seek(0)
            raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n"
                               f"{log.read().decode(errors='replace')[-3000:]}")
    if cpu is not None:
        cpu.update(watch.cpu_by_kind())
    return seconds


def totals(db_url, students):
    """``{student: total score}`` from an nbgrader gradebook."""
    from nbgrader.api import Gradebook

    from autograder.grading import gradebook

    with gradebook.known_warnings_hidden(), Gradebook(db_url) as gb:
        return {s: gb.find_submission(ASSIGNMENT, s).score for s in students}


def commit():
    """The checkout's commit, and whether the grader's code had uncommitted changes."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run([*git, "status", "--porcelain", "autograder"], capture_output=True, text=True,
                           check=False)
    if head.returncode != 0:
        return "unknown (not a git checkout)"
    return head.stdout.strip() + (" with uncommitted changes under autograder/" if dirty.stdout.strip() else "")


def load():
    """``(1, 5, 15)`` minute load averages, as a string."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


# --- 2 and 3: the two graders on the same submissions -----------------------------------------

def plain_nbgrader(course, cpu=None):
    """Seconds of ``nbgrader autograde`` (one process, the stock ExecutePreprocessor) on every submission.

    ``nbgrader generate_assignment`` first registers the assignment in its gradebook (not timed).
    """
    run_timed([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"], course.root)
    return run_timed([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT], course.root, cpu)


def this_grader(course, submissions, workers=WORKERS + 1, cpu=None):
    """Seconds of ``autograder grade --workers N`` (``python -m autograder``, as the console script runs it)."""
    return run_timed([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--submissions", str(submissions),
                      "--workers", str(workers), "--root", str(course.root)], course.root, cpu)


# --- 4: the floor ------------------------------------------------------------------------------

def floor(source, repeats=REPEATS):
    """Medians of (a) a fresh kernel until ready, (b) the notebook's imports cell, (c) the rest.

    The kernel is started as section 5 starts it (jupyter_client, the venv's python3 kernel, one
    BLAS thread, no sandbox), and shut down after each repeat.
    """
    import nbclient
    import nbformat
    from jupyter_client.manager import KernelManager

    os.environ.update(OPENBLAS_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    parts = {"kernel": [], "imports": [], "notebook": []}
    for _ in range(repeats):
        nb = nbformat.read(source, as_version=4)
        code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        with tempfile.TemporaryDirectory() as runtime:
            km = KernelManager(kernel_name="python3", transport="ipc", ip=f"{runtime}/kernel")
            client = nbclient.NotebookClient(nb, km=km, timeout=300,
                                             resources={"metadata": {"path": str(source.parent)}})
            start = time.perf_counter()
            try:
                with client.setup_kernel():
                    ready = time.perf_counter()
                    client.execute_cell(code[0][1], code[0][0])
                    imported = time.perf_counter()
                    for index, cell in code[1:]:
                        client.execute_cell(cell, index)
                    done = time.perf_counter()
            finally:
                km.shutdown_kernel(now=True)
        parts["kernel"].append(ready - start)
        parts["imports"].append(imported - ready)
        parts["notebook"].append(done - imported)
    return {k: statistics.median(v) for k, v in parts.items()}


# --- 4 and 5: one worker, as runner.run_worker starts it, timed by phase, its memory read --------

class _TreeWatcher:
    """Peak memory of a process and its descendants, read from /proc while it runs."""

    def __init__(self, pid):
        self.pid, self.peaks, self.kinds, self.peak_sum, self.cpu = pid, {}, {}, 0, {}

    def sample(self):
        tree, total = self._tree(self.pid), 0
        for pid in tree:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            self.cpu[pid] = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            hwm = int(fields.get("VmHWM", "0 kB").split()[0])
            total += int(fields.get("VmRSS", "0 kB").split()[0])
            self.peaks[pid] = max(self.peaks.get(pid, 0), hwm)
            if cmdline != [b""] or pid not in self.kinds:  # a zombie's cmdline is empty: keep what it ran
                self.kinds[pid] = _kind(pid == self.pid, cmdline)
        self.peak_sum = max(self.peak_sum, total)

    @staticmethod
    def _tree(root):
        found, todo = [], [root]
        while todo:
            pid = todo.pop()
            found.append(pid)
            try:
                for task in os.listdir(f"/proc/{pid}/task"):
                    todo += map(int, Path(f"/proc/{pid}/task/{task}/children").read_text().split())
            except OSError:
                continue
        return found

    def by_kind(self):
        """``{kind: peak kB}``, the largest process of each kind."""
        out = {}
        for pid, kb in self.peaks.items():
            out[self.kinds[pid]] = max(out.get(self.kinds[pid], 0), kb)
        return out

    def cpu_by_kind(self):
        """``{kind: CPU seconds}`` summed over the processes of each kind (as last sampled)."""
        out = {}
        for pid, seconds in self.cpu.items():
            out[self.kinds[pid]] = out.get(self.kinds[pid], 0.0) + seconds
        return out


def _kind(is_root, cmdline):
    text = b" ".join(cmdline)
    if b"autograder.grading.execute" in text or (is_root and b"--phases" in text):
        return "worker"
    if is_root:
        return "grading process"
    if b"ipykernel_launcher" in text:
        return "kernel"
    if b"autograder.sandbox.worker" in text:
        return "verification"
    if cmdline and cmdline[0].endswith(b"bwrap"):
        return "bwrap"
    return "other"


class _Watched:
    """A started worker for :func:`runner.run_worker` (``pid``, ``wait``): waiting reads its tree's memory
    and CPU from /proc every 20 ms, and its own usage from ``wait4`` when it is reaped, into ``info``."""

    def __init__(self, proc, info):
        self.proc, self.pid, self.info, self.watch = proc, proc.pid, info, _TreeWatcher(proc.pid)

    def wait(self, timeout=None):
        while True:
            self.watch.sample()
            pid, status, usage = os.wait4(self.pid, os.WNOHANG)
            if pid:
                self.info["reaped"] = time.time()
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                self.info.update(maxrss_kb=usage.ru_maxrss, peaks_kb=self.watch.by_kind(),
                                 cpu=self.watch.cpu_by_kind(), wait4_cpu=usage.ru_utime + usage.ru_stime,
                                 peak_sum_kb=self.watch.peak_sum)
                return self.proc.returncode
            time.sleep(0.02)


def instrumented_worker(submission, source, output, *, course, submissions, limits, phases=None):
    """Run one worker as :func:`runner.run_worker` starts it, reading its memory from /proc.

    The runner's ``launcher`` hook starts it with :func:`runner.start_worker` and hands back a
    :class:`_Watched`. With ``phases`` (a JSON path) the worker runs this file's ``--phases`` mode
    instead of ``-m autograder.grading.execute``, which times the same ``execute.main`` by phase.
    Returns ``(NotebookResult, {"wall", "maxrss_kb", "peaks_kb", "peak_sum_kb", "spawned", ...})``.
    """
    from autograder.grading import runner
    from autograder.sandbox.policy import secret_paths

    info = {}
    command = [sys.executable, str(Path(__file__).resolve()), "--phases", str(phases)] if phases else None

    def launcher(args, folder, rlimits, group):
        info["spawned"] = time.time()
        status = Path("/proc/self/status").read_text()
        info["parent_rss_kb"] = int(status.split("VmRSS:", 1)[1].split()[0])
        return _Watched(runner.start_worker(args, folder, rlimits, group, command=command), info)

    release = course.release_notebook(ASSIGNMENT, source.name)
    start = time.perf_counter()
    result = runner.run_worker(submission, source, output, limits=limits, release=release,
                               files=course.release / ASSIGNMENT, rlimits=limits.rlimits(),
                               hidden=secret_paths(course, submissions, course.db_url), launcher=launcher)
    info["wall"] = time.perf_counter() - start
    return result, info


def _phases_child(out, argv):
    """``--phases OUT ARGS``: ``execute.main(ARGS)``, with its steps timed, the times written to OUT."""
    started = time.time()
    from autograder.grading import execute

    imported = time.time()
    seconds, marks = {}, {}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            begin = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - begin
        return wrapper

    for name in ("read_submission", "rebuild", "verification"):
        setattr(execute, name, timed(name, getattr(execute, name)))
    execute.Run.save = timed("save", execute.Run.save)
    execute.Run.execute = timed("kernel", execute.Run.execute)
    run_cells, execute_cell = execute.Run._run_cells, execute.LimitedClient.async_execute_cell

    async def timed_cells(self, client, km):
        marks["cells"] = time.perf_counter()
        try:
            return await run_cells(self, client, km)
        finally:
            seconds["cells"] = time.perf_counter() - marks["cells"]

    async def timed_cell(self, cell, index, *args, **kwargs):
        begin = time.perf_counter()
        try:
            return await execute_cell(self, cell, index, *args, **kwargs)
        finally:
            if "first_cell" not in seconds:
                seconds["first_cell"] = time.perf_counter() - begin

    execute.Run._run_cells, execute.LimitedClient.async_execute_cell = timed_cells, timed_cell
    begin = time.perf_counter()
    execute.main(argv)
    seconds["run"] = time.perf_counter() - begin
    Path(out).write_text(json.dumps({"started": started, "imported": imported, "seconds": seconds,
                                     "ended": time.time()}))


def worker_phases(submission, source, work, *, course, submissions, limits, repeats=3):
    """Medians of the worker's phases (seconds) over ``repeats`` runs of one submission."""
    rows = []
    for i in range(repeats):
        out = Path(work) / f"phases-{i}.json"
        _, info = instrumented_worker(submission, source, Path(work) / f"phases-{i}", course=course,
                                      submissions=submissions, limits=limits, phases=out)
        data = json.loads(out.read_text())
        s = data["seconds"]
        rows.append({
            "interpreter start": data["started"] - info["spawned"],
            "imports": data["imported"] - data["started"],
            "read, rebuild, result files, temp folders": s["run"] - s.get("verification", 0) - s["kernel"]
            + (data["ended"] - data["imported"] - s["run"]),
            "verification": s.get("verification", 0),
            "kernel start and stop": s["kernel"] - s["cells"],
            "imports cell": s["first_cell"],
            "other cells": s["cells"] - s["first_cell"],
            "exit": info["reaped"] - data["ended"],
            "runner": info["wall"] - (info["reaped"] - info["spawned"]),
            "whole": info["wall"],
            "cpu": sum(info["cpu"].values()),
            **{f"cpu {kind}": v for kind, v in info["cpu"].items()},
        })
    return {k: statistics.median(r.get(k, 0.0) for r in rows) for k in rows[0]}


# --- 6: the one writer: gradebook and feedback; spawning; bytes ---------------------------------

def writer_costs(course, result, work, repeats=40):
    """Medians of ``gradebook.record`` (new students, in a copy of the graded class's gradebook) and
    of ``feedback.write`` for one SubmissionResult; and how the record time grows."""
    from autograder.grading import feedback, gradebook
    from autograder.grading.submission import SubmissionResult

    db = Path(work) / "writer.db"
    db.parent.mkdir(parents=True)
    shutil.copy(course.db_url[len("sqlite:///"):], db)
    url = f"sqlite:///{db}"
    records = []
    for i in range(repeats):
        sub = SubmissionResult(f"bench-{i:04d}", ASSIGNMENT, result.status, notebooks=[result])
        begin = time.perf_counter()
        gradebook.record(url, sub)
        records.append(time.perf_counter() - begin)
    html, pages = feedback.exporter(), []
    for i in range(min(repeats, 10)):
        begin = time.perf_counter()
        feedback.write(result.executed, Path(work) / f"{i}" / f"{ASSIGNMENT}.html", db_url=url,
                       assignment=ASSIGNMENT, student=f"bench-{i:04d}", status=result.status,
                       detail=result.detail, html_exporter=html)
        pages.append(time.perf_counter() - begin)
    tenth = max(1, repeats // 4)
    return {"record": statistics.median(records), "record_first": statistics.median(records[:tenth]),
            "record_last": statistics.median(records[-tenth:]), "feedback": statistics.median(pages),
            "html_bytes": (Path(work) / "0" / f"{ASSIGNMENT}.html").stat().st_size}


def spawn_cost(limits, repeats=20):
    """Medians of the grader's own cost per task: forking a process as the runner does (limits, own
    group) and reaping it; creating and removing its pids cgroup (where there is one)."""
    from autograder.sandbox import cgroup
    from autograder.sandbox.policy import preexec

    setup, forks, groups = preexec(limits.rlimits()), [], []
    for _ in range(repeats):
        begin = time.perf_counter()
        group = cgroup.create(limits.processes, limits.tree_memory_mb)
        join = group.join_fds() if group else None
        made = time.perf_counter()
        try:
            subprocess.Popen(["/bin/true"], stdin=subprocess.DEVNULL, process_group=0,
                             preexec_fn=cgroup.joiner(join, setup) if group else setup).wait()
        finally:
            forked = time.perf_counter()
            if group:
                cgroup.close_fds(join)
                group.close()
        forks.append(forked - made)
        groups.append(time.perf_counter() - forked + made - begin)
    return {"fork": statistics.median(forks), "cgroup": statistics.median(groups) if group else None}


def _noop(x):
    return x


def scheduler_cost(tasks=500):
    """Seconds per task of a Dask scheduler (``--scheduler``) on a local cluster (2 workers, threads in
    this process: no network, no pickling between processes), for tasks that do nothing; None
    without dask.distributed."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        return None
    import logging

    logging.getLogger("distributed").setLevel(logging.ERROR)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.submit(_noop, 0).result()
        begin = time.perf_counter()
        client.gather(client.map(_noop, range(tasks), pure=False))
        return (time.perf_counter() - begin) / tasks


def verification_costs(repeats=1):
    """Seconds of the (sandboxed) verification pass on every solution notebook, graded as a submission."""
    import nbformat

    from autograder.grading import execute

    out = {}
    for path in sorted(ROOT.glob("solutions/*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        times = []
        for _ in range(repeats):
            begin = time.perf_counter()
            execute.verification(nb, nb, cell_timeout=120.0, memory_mb=2048, sandbox=True, hidden=[])
            times.append(time.perf_counter() - begin)
        out[path.parent.name] = statistics.median(times)
    return out


def fixed_costs(nbg, ours, work):
    """Seconds of each command with no submission to grade (start-up, gradebook, release), any exit code."""
    empty = Path(work) / "empty"
    empty.mkdir()
    out = {}
    for name, cmd, cwd in (
            ("nbgrader", [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--student", "nobody"],
             nbg.root),
            ("autograder", [sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--submissions",
                            str(empty), "--workers", str(WORKERS + 1), "--root", str(ours.root)], ours.root)):
        begin = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=tool_env(), stdin=subprocess.DEVNULL, capture_output=True, check=False)
        out[name] = time.perf_counter() - begin
    return out


def measure(n=None, notebook_times=None):
    """Every measurement of section 6, in one run, as plain JSON data (rendered by report_grading.py).

    ``n`` submissions (default ``BENCH_GRADING_N``, else 40). ``notebook_times`` (``{assignment:
    seconds}``) are the solution notebooks' run times in a fresh kernel (section 5), which the
    estimate builds on; they are measured first when not given, and kept in the result.
    """
    import shutil as _shutil

    from autograder.grading import gradebook
    from autograder.sandbox.policy import Limits

    n = n or int(os.environ.get("BENCH_GRADING_N", "40"))
    if notebook_times is None:
        from bench_notebooks import all_notebooks

        notebook_times = all_notebooks()
    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        nbg, ours = make_course(work / "nbgrader"), make_course(work / "autograder")
        source = ours.source_notebooks(ASSIGNMENT)[0]
        submissions = nbg.root / "submitted"
        students = write_submissions(submissions, n, source, ours.release_notebook(ASSIGNMENT, source.name))
        m = {"date": datetime.date.today().isoformat(), "n": n, "assignment": ASSIGNMENT, "workers": WORKERS,
             "grade workers": WORKERS + 1, "notebook times": notebook_times, "bwrap": _shutil.which("bwrap"),
             "load": {"before": load()}, "commit": commit()}
        m["cpu"] = {"nbgrader": {}, "autograder": {}}
        m["nbgrader"] = plain_nbgrader(nbg, m["cpu"]["nbgrader"])
        m["load"]["after nbgrader"] = load()
        # As nbgrader's generate_assignment before autograde (untimed): the release registers the
        # assignment in the gradebook, so grading does not register it again.
        run_timed([sys.executable, "-m", "autograder", "release", ASSIGNMENT, "--root", str(ours.root)], ours.root)
        m["autograder"] = this_grader(ours, submissions, cpu=m["cpu"]["autograder"])
        m["load"]["after autograder"] = load()
        m["nbgrader feedback"] = run_timed([sys.executable, "-m", "nbgrader", "generate_feedback", ASSIGNMENT],
                                           nbg.root)
        m["fixed"] = fixed_costs(nbg, ours, work)
        m["floor"] = floor(source)
        m["load"]["after the floor"] = load()
        plain, mine = totals(nbg.db_url, students), totals(ours.db_url, students)
        m["kinds"] = students
        m["scores"] = {s: (plain[s], mine[s]) for s in students}
        m["statuses"] = {k[1]: row["status"] for k, row in gradebook.statuses(ours.db_url, ASSIGNMENT).items()}
        limits = Limits(cell_timeout=ours.cell_timeout)
        complete = submissions / next(s for s, k in students.items() if k == "ada-complete") / ASSIGNMENT / source.name
        m["phases"] = worker_phases(complete, source, work / "phases", course=ours, submissions=submissions,
                                    limits=limits)
        result, m["memory"] = instrumented_worker(complete, source, work / "memory", course=ours,
                                                  submissions=submissions, limits=limits)
        m["memory"]["sandboxed"] = not any("without the sandbox" in note for note in result.notes)
        m["writer"] = writer_costs(ours, result, work / "writer")
        m["spawn"] = spawn_cost(limits)
        m["scheduler"] = scheduler_cost()
        m["verification"] = verification_costs()
        m["bytes"] = {"submitted": complete.stat().st_size, "executed": result.executed.stat().st_size,
                      "feedback": m["writer"]["html_bytes"]}
        m["load"]["end"] = load()
        return m
    finally:
        if not os.environ.get("BENCH_GRADING_KEEP"):
            shutil.rmtree(work, ignore_errors=True)


def save(m, path):
    """Write a measurement (see :func:`measure`) as JSON."""
    Path(path).write_text(json.dumps(m, indent=1) + "\n")


def main(argv=None):
    """``--json OUT [-n N]``: measure, and write the measurement to OUT."""
    import argparse

    parser = argparse.ArgumentParser(description="Measure grading throughput (section 6 of results.md) into JSON; "
                                                 "benchmarks/report_grading.py renders it.")
    parser.add_argument("--json", required=True, type=Path, help="where to write the measurement")
    parser.add_argument("-n", type=int, help="number of submissions (default: BENCH_GRADING_N, else 40)")
    args = parser.parse_args(argv)
    save(measure(args.n), args.json)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--phases":
        _phases_child(sys.argv[2], sys.argv[3:])
    else:
        main()
