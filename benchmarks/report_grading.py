"""Section 6 of results.md (grading throughput), rendered from a measurement of bench_grading.py.

Every number comes from the measurement's JSON (:func:`bench_grading.measure`), so a saved
measurement renders again without re-running it::

    python benchmarks/report_grading.py grading.json

The estimate's assumptions (a course of 10,000 students, its 8 graded assignments, a 1 Gbit/s
link) and the targets live here.
"""

import json
import statistics
import sys
from pathlib import Path

STUDENTS, ASSIGNMENTS = 10_000, 8
COURSE = ("a1_splits", "a2_regularization", "a3_initialization", "a4_gradient_checking", "a5_optimization",
          "a6_hyperparameter_search", "a7_batch_normalization", "a8_softmax")  # the 8 graded assignments
LINK = 125e6  # bytes/s: a 1 Gbit/s link between a file server and the grading machines


def read(path):
    """A measurement saved as JSON (``bench_grading.py --json``, ``run.py --json``)."""
    return json.loads(Path(path).read_text())


def _marginal(m):
    """Core-seconds per submission of the class run: cores x (wall - start-up) / n."""
    return m["workers"] * (m["autograder"] - m["fixed"]["autograder"]) / m["n"]


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
    alone, marginal = sum(v for _, v in rows), _marginal(m)
    rows += [("**sum: one submission alone**", alone),
             (f"**class run: {m['workers']} x (wall - start-up) / {m['n']}**", marginal),
             (f"rest: the workers and the writer sharing {m['workers']} cores (and the machine's other load), "
              "idle cores", marginal - alone)]
    return rows


def _verdict(seconds, target):
    """"met" or how far a per-submission time is from its target."""
    if seconds <= target:
        return f"met: {seconds:.2f} s <= {target:.2f} s"
    return f"missed: {seconds:.2f} s per submission would have to become {target:.2f} s"


def estimate(m):
    """Per-notebook worker cost (from the solution times of section 5 that the measurement kept) and
    the wall time of the whole course on 1, 8 and 64 workers."""
    f, notebook_times = m["floor"], m["notebook times"]
    floor_core = f["kernel"] + f["imports"] + f["notebook"]
    marginal = _marginal(m)
    writer = m["writer"]["record"] + m["writer"]["feedback"]
    overhead = marginal - floor_core - m["verification"][m["assignment"]] - writer
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


def section(m):
    """The results.md section (markdown lines) of a measurement (:func:`bench_grading.measure`)."""
    n, f, cores, assignment = m["n"], m["floor"], m["workers"], m["assignment"]
    e = estimate(m)
    ours, plain = m["autograder"] / n, m["nbgrader"] / n
    floor_sub = e["floor_core"] / cores
    differ = {s: v for s, v in m["scores"].items() if abs(v[0] - v[1]) > 1e-6}
    lines = [
        f"## 6. Grading throughput: {n} submissions of {assignment}, {cores} cores", "",
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
        f"| `autograder grade --workers {m['grade workers']}` (default; with feedback HTML) | "
        f"{m['autograder']:.1f} s | {ours:.2f} s | "
        f"{m['fixed']['autograder']:.1f} s | {(m['autograder'] - m['fixed']['autograder']) / n:.2f} s |",
        f"| floor: (kernel {f['kernel']:.2f} + imports {f['imports']:.2f} + notebook {f['notebook']:.2f} s) "
        f"/ {cores} cores | | {floor_sub:.2f} s | | |", "",
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
              f"per submission ({share}; start-up included), {used['autograder'] / (cores * m['autograder']):.0%} "
              f"of {cores} cores."]
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
              f"Worker overhead per submission, from this run: {cores} x ({m['autograder']:.1f} - "
              f"{m['fixed']['autograder']:.1f}) s / {n} = {e['marginal']:.2f} core-seconds, minus the floor "
              f"{e['floor_core']:.2f} s, the verification pass of {assignment} {m['verification'][assignment]:.2f} s "
              f"and the writer's {e['writer']:.3f} s = **{e['overhead']:.2f} s**. A worker's cost for an assignment "
              "= its solution's run time in a fresh kernel (section 5) + its verification pass (measured here) + "
              "that overhead:", "",
              "| assignment | section 5 | verification | worker cost |", "|---|---|---|---|"]
    lines += [f"| {a} | {m['notebook times'][a]:.2f} | {m['verification'][a]:.2f} | {c:.2f} |"
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
    if len(sys.argv) != 2:
        sys.exit("usage: python benchmarks/report_grading.py MEASUREMENT.json  (from bench_grading.py --json)")
    print("\n".join(section(read(sys.argv[1]))))
