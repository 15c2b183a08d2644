"""Copy detection on a large class: 300 students x the graded functions of a5_optimization.

Each student's answer to each function is one of the function's known implementations (the
reference, the solution, the catalogue's alternatives and the catalogued mistakes whose code is
long enough to be compared), mutated as a student's own edits would be: identifiers renamed and independent
statements swapped (``similarity_calibration.disguise``), and up to two lines of their own added.
So many answers share a base and are flagged, the worst case for the report. The pass
(``similarity.check_similarity``: read the notebooks, fingerprint, compare, record the flags in a
gradebook where every student has a result, write the report and the CSV) runs in a fresh
interpreter, whose wall time per phase and peak resident memory are measured.

    python benchmarks/bench_similarity.py [--students 300] [--write]

prints the results.md section; ``--write`` also puts it in benchmarks/results.md (section 7).
"""

import argparse
import ast
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "a5_optimization"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
RESULTS = Path(__file__).resolve().parent / "results.md"
SECTION = "## 7. "
TARGET = 60.0  # seconds for 300 students
STARTER = re.compile(r"^[ \t]*# YOUR CODE HERE\n[ \t]*raise NotImplementedError\(\)", re.M)
EXTRA_LINES = ["assert len(params) > 0", "debug = False", "_ = None", "checked = True", "count = 0",
               "print('running')", "np.seterr(all='ignore')", "tol = 1e-12"]


def bases(course, k=None):
    """``{function: [code, ...]}``: each compared function's reference, solution, alternatives and mistakes."""
    from autograder.checks import REGISTRY
    from autograder.grading import similarity
    from autograder.grading.similarity_calibration import alternative_code

    found = {}
    for fn in similarity.graded_functions(course, ASSIGNMENT, k=k):
        if fn.solution is None or fn.solution.length < similarity.MIN_LENGTH:
            continue
        spec = REGISTRY[fn.check]
        codes = [source.code for source in fn.sources] + [alternative_code(f) for f in spec.alternatives]
        codes += [alternative_code(m.fn) for m in spec.mistakes]
        found[fn.name] = [c for c in codes if c and similarity.document("", "student", c).length
                          >= similarity.MIN_LENGTH]
    return found


def _mutated(code, rng):
    from autograder.grading.similarity_calibration import disguise

    code = disguise(code, seed=rng.randrange(10**6))
    lines = code.split("\n")
    starts = sorted({(node.lineno, node.col_offset) for node in ast.walk(ast.parse(code))
                     if isinstance(node, ast.stmt)})
    for line, column in sorted(rng.sample(starts, min(len(starts), rng.randrange(3))), reverse=True):
        lines.insert(line - 1, " " * column + rng.choice(EXTRA_LINES))  # a statement of its own, before another
    return "\n".join(lines)


def write_class(folder, students, seed=0):
    """``folder/submitted/<student>/a5_optimization/a5_optimization.ipynb`` for ``students`` students."""
    import nbformat

    from autograder.grading import course as courses

    course = courses.load(ROOT)
    pool = bases(course)
    release = nbformat.read(ROOT / "course" / ASSIGNMENT / NOTEBOOK, as_version=4)
    rng = random.Random(seed)
    names = [f"s{i:03d}" for i in range(students)]
    for name in names:
        nb = nbformat.from_dict(json.loads(json.dumps(release)))
        for cell in nb.cells:
            match = re.search(r"^def (\w+)\(", cell.source, re.M)
            if match and match.group(1) in pool and STARTER.search(cell.source):
                body = textwrap.indent(_mutated(rng.choice(pool[match.group(1)]), rng), "    ")
                cell.source = STARTER.sub(lambda _, body=body: body, cell.source)
        path = folder / "submitted" / name / ASSIGNMENT / NOTEBOOK
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
    return names, {name: len(codes) for name, codes in pool.items()}


def _gradebook(url, names):
    """A gradebook where every student has a result (the flags go to graded submissions only)."""
    from autograder.grading.gradebook import STATUS, open_gradebook

    with open_gradebook(url) as gb:
        gb.add_assignment(ASSIGNMENT)
        for name in names:
            gb.add_student(name)
        gb.db.execute(STATUS.insert(), [dict(assignment=ASSIGNMENT, student=name, status="ok", detail="", score=1.0,
                                             max_score=15.0, graded_at="2026-01-01T00:00:00+00:00") for name in names])
        gb.db.commit()


def child(folder, url):
    """The measured pass, in this (fresh) interpreter; prints its phases as JSON."""
    from autograder.grading import course as courses
    from autograder.grading import gradebook, similarity
    from autograder.grading.similarity_report import write_csv, write_html

    imported = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    course = courses.load(ROOT)
    phases = {}
    result = similarity.find_similar(course, ASSIGNMENT, folder / "submitted")
    phases["read, fingerprint and compare"] = time.perf_counter() - start
    mark = time.perf_counter()
    for fn in result.functions:
        if not fn.skipped:
            similarity.compare(fn, result.threshold)
    phases["of which: the comparisons (timed again)"] = time.perf_counter() - mark
    mark = time.perf_counter()
    notes = {student: (flag.text, flag.best.score) for student, flag in result.flags.items()}
    gradebook.record_similarity(url, ASSIGNMENT, result.students, notes)
    phases["flags into the gradebook (SQLite)"] = time.perf_counter() - mark
    mark = time.perf_counter()
    out = folder / "report"
    out.mkdir(exist_ok=True)
    write_html(result, out / "report.html")
    write_csv(result, out / "pairs.csv")
    phases["report and CSV"] = time.perf_counter() - mark
    phases["total, without the interpreter's start"] = time.perf_counter() - start - \
        phases["of which: the comparisons (timed again)"]
    answers = sum(len(fn.answers) for fn in result.functions)
    pairs = sum(len(fn.answers) * (len(fn.answers) - 1) // 2 + len(fn.answers) * len(fn.sources)
                for fn in result.functions if not fn.skipped)
    print(json.dumps({"phases": phases, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "import_peak_mb": imported, "students": len(result.students), "answers": answers,
                      "comparisons": pairs,
                      "distinct": sum(len({a.normalised for a in fn.answers}) for fn in result.functions),
                      "flagged pairs": len(result.matches), "flagged students": len(result.flags),
                      "report bytes": (out / "report.html").stat().st_size,
                      "csv bytes": (out / "pairs.csv").stat().st_size,
                      "compared": [fn.check for fn in result.functions if not fn.skipped]}))


def _run(args):
    """Run ``args`` in a fresh interpreter; returns (stdout, wall seconds)."""
    start = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, check=True)
    return done.stdout, time.perf_counter() - start


def measure(students=300):
    import datetime

    with tempfile.TemporaryDirectory(prefix="bench-similarity-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        names, pool = write_class(folder, students)
        generated = time.perf_counter() - started
        url = f"sqlite:///{folder / 'gradebook.db'}"
        _gradebook(url, names)
        load = os.getloadavg()
        _, import_wall = _run(["-c", "import autograder.grading.similarity, autograder.grading.similarity_report"])
        out, wall = _run([__file__, "--child", str(folder), url])
    data = json.loads(out)
    data.update(date=str(datetime.date.today()), wall=wall, import_wall=import_wall, generated=generated,
                bases=pool, load=load, load_after=os.getloadavg(), cores=os.cpu_count())
    return data


def section(m):
    phases = "\n".join(f"| {name} | {seconds:.2f} |" for name, seconds in m["phases"].items())
    met = "met" if m["wall"] < TARGET else "NOT met"
    return [f"{SECTION}Copy detection: {m['students']} students x the graded functions of {ASSIGNMENT}", "",
            f"Measured on {m['date']} (`python benchmarks/bench_similarity.py --write`) on this shared "
            f"{m['cores']}-core machine, which other work was using (load average before: {m['load'][0]:.2f} / "
            f"{m['load'][1]:.2f} / {m['load'][2]:.2f}; after: {m['load_after'][0]:.2f}); the pass runs in one "
            "process. Answers: each function's reference, solution, catalogued alternatives and mistakes long "
            f"enough to compare ({', '.join(f'{k} {v}' for k, v in m['bases'].items())}), renamed, reordered and "
            "with up to two extra lines each, so most answers share a base and many pairs are flagged: the "
            "report's worst case.", "",
            "| phase | seconds |", "|---|---|", phases,
            f"| **`autograder similarity`, fresh interpreter, wall** | **{m['wall']:.2f}** |", "",
            f"Target: under {TARGET:.0f} s for {m['students']} students ({met}). Peak resident memory of the "
            f"pass's process: {m['peak_mb']:.0f} MB, {m['import_peak_mb']:.0f} MB of it once its modules were "
            f"imported (a fresh interpreter that only imports them takes {m['import_wall']:.2f} s). "
            f"{len(m['compared'])} functions compared ({', '.join(m['compared'])}; the other five are too short to "
            f"tell apart): {m['answers']} answers, {m['distinct']} distinct after normalisation (the same normalised "
            f"code is compared once); {m['comparisons']:,} pairs of two answers or of an answer and a source; "
            f"{m['flagged pairs']:,} flagged pairs, {m['flagged students']} students flagged; report "
            f"{m['report bytes'] / 2**20:.1f} MB (2,000 pairs listed, the first 200 side by side), CSV "
            f"{m['csv bytes'] / 2**20:.1f} MB (every flagged pair). Writing the class took {m['generated']:.0f} s "
            "(not counted)."]


def write(lines, out=RESULTS):
    """Put the section in results.md: in place of an earlier one, else at the end."""
    text = out.read_text()
    new = "\n".join(lines) + "\n"
    if SECTION in text:
        start = text.index(SECTION)
        end = text.find("\n## ", start + 1)
        text = text[:start] + new + (text[end + 1:] if end != -1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + new
    out.write_text(text)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(Path(sys.argv[2]), sys.argv[3])
        sys.exit(0)
    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--write", action="store_true", help="also write the section into benchmarks/results.md")
    args = parser.parse_args()
    lines = section(measure(args.students))
    print("\n".join(lines))
    if args.write:
        write(lines)
