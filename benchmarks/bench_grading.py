"""Grading throughput: this grader (sandbox and verification as the code has them) against plain
``nbgrader autograde`` on the same submissions of a real notebook, the floor, per-phase costs,
a worker's peak memory, and what a course of 10,000 students would cost.

Everything runs in a temporary folder: two course roots with the same source and release,
one for ``nbgrader autograde`` (its own gradebook) and one for ``autograder grade`` (another),
both reading the same ``submitted/<student>/<assignment>/<notebook>.ipynb``. ``BENCH_GRADING_N``
sets the number of submissions (default 40).
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
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


def instrumented_worker(submission, source, output, *, course, submissions, limits, phases=None):
    """Run one worker exactly as :func:`runner.run_worker` starts it, reading its memory from /proc.

    With ``phases`` (a JSON path) the command's ``-m autograder.grading.execute`` becomes this
    file's ``--phases`` mode, which times the same ``execute.main`` by phase. Returns
    ``(NotebookResult, {"wall", "maxrss_kb", "peaks_kb", "peak_sum_kb", "spawned"})``.
    """
    from autograder.grading import runner
    from autograder.sandbox.policy import secret_paths

    info = {}

    class Popen(subprocess.Popen):
        def __init__(self, cmd, **kwargs):
            if phases:
                at = cmd.index("-m")
                cmd = [*cmd[:at], str(Path(__file__).resolve()), "--phases", str(phases), *cmd[at + 2:]]
            info["spawned"] = time.time()
            status = Path("/proc/self/status").read_text()
            info["parent_rss_kb"] = int(status.split("VmRSS:", 1)[1].split()[0])
            super().__init__(cmd, **kwargs)
            self.watch = _TreeWatcher(self.pid)

        def wait(self, timeout=None):
            while True:
                self.watch.sample()
                pid, status, usage = os.wait4(self.pid, os.WNOHANG)
                if pid:
                    info["reaped"] = time.time()
                    self.returncode = os.waitstatus_to_exitcode(status)
                    info.update(maxrss_kb=usage.ru_maxrss, peaks_kb=self.watch.by_kind(),
                                cpu=self.watch.cpu_by_kind(), wait4_cpu=usage.ru_utime + usage.ru_stime,
                                peak_sum_kb=self.watch.peak_sum)
                    return self.returncode
                time.sleep(0.02)

    shim = types.SimpleNamespace(**{k: getattr(subprocess, k) for k in ("DEVNULL", "STDOUT", "TimeoutExpired")},
                                 Popen=Popen)
    real, runner.subprocess = runner.subprocess, shim
    release = course.release_notebook(ASSIGNMENT, source.name)
    try:
        start = time.perf_counter()
        result = runner.run_worker(submission, source, output, limits=limits, release=release,
                                   files=course.release / ASSIGNMENT, rlimits=limits.rlimits(),
                                   hidden=secret_paths(course, submissions, course.db_url))
        info["wall"] = time.perf_counter() - start
    finally:
        runner.subprocess = real
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
        group = cgroup.create(limits.processes)
        join = group.join_fd() if group else None
        made = time.perf_counter()
        try:
            subprocess.Popen(["/bin/true"], stdin=subprocess.DEVNULL, process_group=0,
                             preexec_fn=cgroup.joiner(join, setup) if group else setup).wait()
        finally:
            forked = time.perf_counter()
            if group:
                os.close(join)
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


def measure(n=None):
    """Every measurement of the section, in one run; returns a dict of numbers."""
    import shutil as _shutil

    from autograder.grading import gradebook
    from autograder.sandbox.policy import Limits

    n = n or int(os.environ.get("BENCH_GRADING_N", "40"))
    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        nbg, ours = make_course(work / "nbgrader"), make_course(work / "autograder")
        source = ours.source_notebooks(ASSIGNMENT)[0]
        submissions = nbg.root / "submitted"
        students = write_submissions(submissions, n, source, ours.release_notebook(ASSIGNMENT, source.name))
        m = {"n": n, "bwrap": _shutil.which("bwrap"), "load": {"before": load()}, "commit": commit()}
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


def breakdown(m):
    """``[(what, seconds per submission)]``: where one submission's time goes beyond the floor.

    The worker's phases are one worker alone on a complete submission; the writer's rows are the
    grading process's. The last row is what the class run took beyond their sum.
    """
    f, ph, w = m["floor"], m["phases"], m["writer"]
    rows = [("floor: plain kernel start + imports cell + other cells", f["kernel"] + f["imports"] + f["notebook"]),
            ("worker: interpreter start and imports (nbformat, nbclient, nbgrader, the checks)",
             ph["interpreter start"] + ph["imports"]),
            ("worker: read, rebuild, result files, temp folders", ph["read, rebuild, result files, temp folders"]),
            ("worker: verification pass (sandboxed)", ph["verification"]),
            ("worker: kernel start and stop in bubblewrap, beyond a plain kernel's start",
             ph["kernel start and stop"] - f["kernel"]),
            ("worker: the notebook's cells (Agg backend), beyond the floor's",
             ph["imports cell"] + ph["other cells"] - f["imports"] - f["notebook"]),
            ("worker: interpreter exit (after the result is written)", ph["exit"]),
            ("runner: pids cgroup, fork, limits, reading the result", ph["runner"]),
            ("writer: `gradebook.record` (SQLite)", w["record"]),
            ("writer: feedback HTML (`feedback.write`)", w["feedback"])]
    alone = sum(v for _, v in rows)
    marginal = WORKERS * (m["autograder"] - m["fixed"]["autograder"]) / m["n"]
    rows += [("**sum: one submission alone**", alone),
             (f"**class run: {WORKERS} x (wall - start-up) / {m['n']}**", marginal),
             ("rest: the workers and the writer sharing 2 cores (and the machine's other load), idle cores",
              marginal - alone)]
    return rows


STUDENTS, ASSIGNMENTS = 10_000, 8
COURSE = ("a1_splits", "a2_regularization", "a3_initialization", "a4_gradient_checking", "a5_optimization",
          "a6_hyperparameter_search", "a7_batch_normalization", "a8_softmax")  # the 8 graded assignments
LINK = 125e6  # bytes/s: a 1 Gbit/s link between a file server and the grading machines


def _verdict(seconds, target):
    """"met" or how far a per-submission time is from its target."""
    if seconds <= target:
        return f"met: {seconds:.2f} s <= {target:.2f} s"
    return f"missed: {seconds:.2f} s per submission would have to become {target:.2f} s"


def estimate(m, notebook_times):
    """Per-notebook worker cost and the wall time of the whole course on 1, 8 and 64 workers."""
    n, f = m["n"], m["floor"]
    floor_core = f["kernel"] + f["imports"] + f["notebook"]
    marginal = WORKERS * (m["autograder"] - m["fixed"]["autograder"]) / n  # core-seconds per submission
    writer = m["writer"]["record"] + m["writer"]["feedback"]
    overhead = marginal - floor_core - m["verification"][ASSIGNMENT] - writer
    costs = {a: notebook_times[a] + m["verification"][a] + overhead for a in COURSE if a in notebook_times}
    mean = statistics.mean(costs.values())
    total = STUDENTS * ASSIGNMENTS
    fork, sched = m["spawn"]["fork"], m["scheduler"]
    rows = []
    for workers in (1, 8, 64):
        stage = total * mean / workers
        rows.append({"workers": workers, "workers_s": stage, "writer_s": total * writer, "fork_s": total * fork,
                     "wall_s": max(stage, total * writer, total * fork) + ASSIGNMENTS * m["fixed"]["autograder"],
                     "rate": workers / mean})
    per_sub = sum(m["bytes"].values())
    ceilings = {"the one writer (gradebook write + feedback HTML, in the grading process)": 1 / writer,
                "forking workers (in the grading process)": 1 / fork,
                "file transfer at 1 Gbit/s": LINK / per_sub}
    if sched:
        ceilings["a Dask scheduler (`--scheduler`)"] = 1 / sched
    return {"floor_core": floor_core, "marginal": marginal, "writer": writer, "overhead": overhead,
            "costs": costs, "mean": mean, "rows": rows, "bytes": per_sub, "ceilings": ceilings, "total": total}


def _h(seconds):
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def _count(values):
    out = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return ", ".join(f"{c} {k}" for k, c in out.items())


def section(notebook_times, m=None):
    """The results.md section (markdown lines)."""
    m = m or measure()
    n, f = m["n"], m["floor"]
    e = estimate(m, notebook_times)
    ours, plain = m["autograder"] / n, m["nbgrader"] / n
    floor_sub = e["floor_core"] / WORKERS
    differ = {s: v for s, v in m["scores"].items() if abs(v[0] - v[1]) > 1e-6}
    lines = [
        f"## 6. Grading throughput: {n} submissions of {ASSIGNMENT}, {WORKERS} cores", "",
        f"Code measured: commit {m.get('commit', 'unknown')}. Submissions: {_count(m['kinds'].values())} "
        "(answers from `tools/samples.py`; `partial` "
        "leaves the last graded function blank). "
        f"bubblewrap: {'found at ' + m['bwrap'] if m['bwrap'] else 'NOT found'}; the measured worker ran "
        f"{'in the sandbox' if m['memory']['sandboxed'] else 'WITHOUT the sandbox'}, with the verification pass. "
        "Both graders' kernels use one BLAS thread. Load average (1/5/15 min): "
        f"{'; '.join(f'{k} {v}' for k, v in m['load'].items())}.", "",
        "| command | wall | per submission | start-up (no submissions) | per submission without it |",
        "|---|---|---|---|---|",
        f"| `nbgrader autograde` (one process) | {m['nbgrader']:.1f} s | {plain:.2f} s | "
        f"{m['fixed']['nbgrader']:.1f} s | {(m['nbgrader'] - m['fixed']['nbgrader']) / n:.2f} s |",
        f"| `autograder grade --workers {WORKERS + 1}` (default; with feedback HTML) | {m['autograder']:.1f} s | "
        f"{ours:.2f} s | "
        f"{m['fixed']['autograder']:.1f} s | {(m['autograder'] - m['fixed']['autograder']) / n:.2f} s |",
        f"| floor: (kernel {f['kernel']:.2f} + imports {f['imports']:.2f} + notebook {f['notebook']:.2f} s) "
        f"/ {WORKERS} cores | | {floor_sub:.2f} s | | |", "",
        f"Ratios: `nbgrader autograde` / `autograder grade` = **{plain / ours:.2f}x** (target >= 1.8x, "
        f"{_verdict(ours, plain / 1.8)}); `autograder grade` / floor = "
        f"**{ours / floor_sub:.2f}x** (target <= 1.3x, {_verdict(ours, 1.3 * floor_sub)}). "
        "nbgrader writes no feedback in "
        f"`autograde`; its `generate_feedback` took another {m['nbgrader feedback']:.1f} s "
        f"({m['nbgrader feedback'] / n:.2f} s per submission). Totals per student: {n - len(differ)} of {n} "
        "equal in both gradebooks"
        + (f"; differ: {', '.join(f'{s} ({a:.4g} vs {b:.4g})' for s, (a, b) in differ.items())}" if differ else "")
        + f". Statuses: {_count(m['statuses'].values())}.", "",
        "Where a submission's time goes (seconds; the worker's phases are one worker alone on a complete "
        "submission, median of 3, timed around the functions of `execute.run`):", "",
        "| where | seconds |", "|---|---|"]
    lines += [f"| {name} | {value:.3f} |" for name, value in breakdown(m)]
    used = {k: sum(v.values()) for k, v in m["cpu"].items()}
    share = ", ".join(f"{k} {v / n:.2f} s" for k, v in sorted(m["cpu"]["autograder"].items()) if v / n >= 0.005)
    lines += ["", f"CPU in the class runs (utime + stime of every process of each command's tree, read from /proc "
              f"every 50 ms): `nbgrader autograde` {used['nbgrader'] / n:.2f} s per submission, "
              f"{used['nbgrader'] / m['nbgrader']:.0%} of one core; `autograder grade` {used['autograder'] / n:.2f} s "
              f"per submission ({share}; start-up included), {used['autograder'] / (WORKERS * m['autograder']):.0%} "
              f"of {WORKERS} cores."]
    ph = m["phases"]
    by_kind = ", ".join(f"{k[4:]} {v:.2f} s" for k, v in ph.items() if k.startswith("cpu ") and v >= 0.005)
    lines += ["", f"One worker alone takes {ph['whole']:.2f} s of wall time and {ph['cpu']:.2f} s of CPU "
              f"({by_kind}; utime + stime of each process of its tree, read from /proc every 20 ms)."]
    mem = m["memory"]
    peaks = ", ".join(f"{k} {v / 1024:.0f} MB" for k, v in sorted(mem["peaks_kb"].items()))
    lines += ["", f"Peak memory of one grading worker (VmHWM of each process, read from /proc every 20 ms): "
              f"{peaks}; largest sum of the tree's resident sets at one moment {mem['peak_sum_kb'] / 1024:.0f} MB. "
              f"`wait4` gives ru_maxrss {mem['maxrss_kb'] / 1024:.0f} MB and {mem['wait4_cpu']:.2f} s of CPU: "
              "ru_maxrss survives exec, so it also counts the copy of the grading process that the worker starts "
              f"as (this benchmark's process had {mem['parent_rss_kb'] / 1024:.0f} MB resident), and the usage of "
              "the kernel and of the verification process (under bubblewrap, which is killed rather than left to "
              "reap them) does not reach it; hence the /proc figures.", ""]
    w, sp = m["writer"], m["spawn"]
    sched = f"; a Dask scheduler costs {m['scheduler'] * 1e3:.1f} ms per task" if m["scheduler"] else ""
    lines += [f"### Estimate: {STUDENTS:,} students x {ASSIGNMENTS} assignments = {e['total']:,} submissions", "",
              f"Worker overhead per submission, from this run: {WORKERS} x ({m['autograder']:.1f} - "
              f"{m['fixed']['autograder']:.1f}) s / {n} = {e['marginal']:.2f} core-seconds, minus the floor "
              f"{e['floor_core']:.2f} s, the verification pass of {ASSIGNMENT} {m['verification'][ASSIGNMENT]:.2f} s "
              f"and the writer's {e['writer']:.3f} s = **{e['overhead']:.2f} s**. A worker's cost for an assignment "
              "= its solution's run time in a fresh kernel (section 5) + its verification pass (measured here) + "
              "that overhead:", "",
              "| assignment | section 5 | verification | worker cost |", "|---|---|---|---|"]
    lines += [f"| {a} | {notebook_times[a]:.2f} | {m['verification'][a]:.2f} | {c:.2f} |"
              for a, c in e["costs"].items()]
    lines += [f"| **mean** | | | **{e['mean']:.2f}** |", "",
              f"The one writer (the grading process) records and renders each submission in {w['record']:.3f} + "
              f"{w['feedback']:.3f} = {e['writer']:.3f} s (`gradebook.record`: {w['record_first']:.3f} s for the "
              f"first 10 of 40 new students, {w['record_last']:.3f} s for the last 10); forking a worker costs "
              f"{sp['fork'] * 1e3:.1f} ms in the grading process"
              + (f" (and its pids cgroup {sp['cgroup'] * 1e3:.1f} ms, in the worker's thread)" if sp["cgroup"] else "")
              + f"{sched}; a submission moves {e['bytes'] / 1024:.0f} kB (submitted "
              f"{m['bytes']['submitted'] / 1024:.0f}, executed {m['bytes']['executed'] / 1024:.0f}, feedback "
              f"{m['bytes']['feedback'] / 1024:.0f}).", "",
              f"| workers | workers: {e['total']:,} x mean / W | writer: {e['total']:,} x writer | forks | "
              "expected wall (the largest + 8 start-ups) | submissions/s |", "|---|---|---|---|---|---|"]
    writer_rate = 1 / e["writer"]
    for r in e["rows"]:
        lines.append(f"| {r['workers']} | {e['total']:,} x {e['mean']:.2f} / {r['workers']} = {_h(r['workers_s'])} "
                     f"| {_h(r['writer_s'])} | {_h(r['fork_s'])} | **{_h(r['wall_s'])}** | "
                     f"{min(r['rate'], writer_rate):.1f} |")
    slowest = min(e["ceilings"].items(), key=lambda kv: kv[1])
    produced = e["rows"][-1]["rate"]
    lines += ["", "Ceilings (submissions/s): " + ", ".join(f"{k} {v:.1f}" for k, v in e["ceilings"].items())
              + f". 64 workers would finish {produced:.1f}/s, so at 64 workers the bottleneck is "
              + (f"**{slowest[0]}**." if slowest[1] < produced else "**the workers themselves**.")]
    return lines


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--phases":
        _phases_child(sys.argv[2], sys.argv[3:])
