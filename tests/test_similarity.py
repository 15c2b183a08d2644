"""Copy detection (``autograder similarity``, ``grade --similarity``) on a class of a5_optimization.

The class is built here from the release notebook, answers pasted into its answer cells (as
``tests/adversarial/corpus.py`` does): honest students whose answers are the catalogue's correct
alternatives or written by hand another way, a student who pasted the reference with renamed
variables and reordered lines, two who share one function, one who pasted a known public
solution, blank releases, and input that cannot be read. No notebook is run, except in the
``grade --similarity`` test on the fixture course.
"""

import copy
import csv
import io
import re
import textwrap
from pathlib import Path

import nbformat
import pytest
from copydetect import compare_files
from fixtures.grading_support import copy_course, run_cli, solutions, submit

from autograder.checks import REGISTRY
from autograder.grading import course as courses
from autograder.grading import similarity
from autograder.grading.export import table
from autograder.grading.gradebook import STATUS, open_gradebook, statuses
from autograder.grading.similarity import function_body
from autograder.grading.similarity_calibration import alternative_code, calibrate, disguise

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "a5_optimization"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
COMPARED = ["random_mini_batches", "ewa", "momentum_update", "rmsprop_update", "adam_init", "adam_update"]
TOO_SHORT = ["momentum_init", "rmsprop_init", "inverse_time_decay", "exponential_decay", "staircase_decay"]
REFERENCE = "introdl.optimizers.adam_update"
STARTER = re.compile(r"^([ \t]*)# YOUR CODE HERE\n[ \t]*raise NotImplementedError\(\)", re.M)

# Written by hand, another way than the reference, the solution and the catalogue.
BY_HAND = {
    "random_mini_batches": """
        n_examples = X.shape[1]
        order = rng.permutation(n_examples)
        batches = []
        start = 0
        while start < n_examples:
            cols = order[start:start + batch_size]
            batches.append((X[:, cols], Y[:, cols]))
            start += batch_size
        return batches""",
    "ewa": """
        T = len(values)
        out = np.empty(T)
        running = 0.0
        for i in range(T):
            running = running + (1 - beta) * (values[i] - running)
            out[i] = running
        if bias_correction:
            out = out / (1 - beta ** np.arange(1, T + 1))
        return out""",
    "momentum_update": """
        velocity = {}
        updated = dict(params)
        for name in params:
            grad = grads["d" + name]
            velocity["d" + name] = beta * state["v"]["d" + name] + (1 - beta) * grad
            updated[name] = params[name] - lr * velocity["d" + name]
        return updated, {"v": velocity}""",
    "rmsprop_update": """
        squares = {}
        result = {}
        for name, weights in params.items():
            g = grads["d" + name]
            squares["d" + name] = beta2 * state["s"]["d" + name] + (1 - beta2) * g * g
            step = g / (squares["d" + name] ** 0.5 + eps)
            result[name] = weights - lr * step
        return result, {"s": squares}""",
    "adam_init": """
        zeros = {}
        for name in params:
            zeros["d" + name] = np.zeros(np.shape(params[name]))
        return {"t": 0, "v": dict(zeros), "s": {k: z.copy() for k, z in zeros.items()}}""",
    "adam_update": """
        step = state["t"] + 1
        m1, m2, out = {}, {}, {}
        for name in params:
            d = "d" + name
            m1[d] = state["v"][d] * beta1 + grads[d] * (1 - beta1)
            m2[d] = state["s"][d] * beta2 + np.square(grads[d]) * (1 - beta2)
            corrected = (m1[d] / (1 - beta1 ** step), m2[d] / (1 - beta2 ** step))
            out[name] = params[name] - lr * corrected[0] / (np.sqrt(corrected[1]) + eps)
        return out, {"t": step, "v": m1, "s": m2}""",
}

# introdl.optimizers.adam_update, pasted: names renamed, independent lines reordered, comments changed.
PASTED_REFERENCE = """
    # my adam
    g_, p_, rate = _check_step(params, grads, lr)
    e = check_number("eps", eps, low=0.0, low_open=True)
    b2 = check_number("beta2", beta2, low=0.0, high=1.0, high_open=True)
    b1 = check_number("beta1", beta1, low=0.0, high=1.0, high_open=True)
    step = check_int("state['t']", state["t"], low=0) + 1
    second = {k: b2 * state["s"][k] + (1 - b2) * grads[k] ** 2 for k in state["s"]}
    first = {k: b1 * state["v"][k] + (1 - b1) * grads[k] for k in state["v"]}
    out = {}
    for name, W in params.items():
        s_corr = second["d" + name] / (1 - b2**step)   # bias correction
        v_corr = first["d" + name] / (1 - b1**step)
        out[name] = W - rate * v_corr / (np.sqrt(s_corr) + e)
    return out, {"t": step, "v": first, "s": second}"""

# A public solution an instructor found online (known/), and a student's paste of it, renamed.
PUBLIC = '''
"""Deep learning course, homework 5 (found online)."""
import numpy as np


def adam_update(params, grads, state, *, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    out = {"t": state["t"] + 1, "v": dict(state["v"]), "s": dict(state["s"])}
    new = {}
    for key in sorted(params):
        grad = grads[f"d{key}"]
        out["v"][f"d{key}"] = beta1 * out["v"][f"d{key}"] + (1.0 - beta1) * grad
        out["s"][f"d{key}"] = beta2 * out["s"][f"d{key}"] + (1.0 - beta2) * np.power(grad, 2)
        mhat = out["v"][f"d{key}"] / (1.0 - np.power(beta1, out["t"]))
        vhat = out["s"][f"d{key}"] / (1.0 - np.power(beta2, out["t"]))
        new[key] = params[key] - lr * mhat / (np.sqrt(vhat) + eps)
    return new, out
'''
FROM_PUBLIC = disguise(function_body(PUBLIC, "adam_update"), seed=1)  # names renamed, lines swapped

# A notebook found online (known/), one of whose cells Joe pasted, renamed; a cell with a magic is read too.
LEAKED_CELLS = ["%matplotlib inline\nimport numpy as np", '''def random_mini_batches(X, Y, batch_size=64, *, rng):
    idx = rng.permutation(X.shape[1])
    X_s = np.take(X, idx, axis=1)
    Y_s = np.take(Y, idx, axis=1)
    n_full = X.shape[1] // batch_size
    out = [(X_s[:, b * batch_size:(b + 1) * batch_size], Y_s[:, b * batch_size:(b + 1) * batch_size])
           for b in range(n_full)]
    if X.shape[1] % batch_size:
        out.append((X_s[:, n_full * batch_size:], Y_s[:, n_full * batch_size:]))
    return out''']
FROM_LEAKED = disguise(function_body(LEAKED_CELLS[1], "random_mini_batches"), seed=2)


# Eve's own momentum_update, and Fay's copy of it with other names and lines swapped; their ewa answers differ.
EVE_MOMENTUM = """
    velocity = {}
    for g in grads:
        velocity[g] = (1 - beta) * grads[g] + beta * state["v"][g]
    new_params = {}
    for key in params:
        new_params[key] = params[key] - lr * velocity["d" + key]
    return new_params, {"v": velocity}"""
FAY_MOMENTUM = disguise(textwrap.dedent(EVE_MOMENTUM), seed=3)
EVE_EWA = """
    weights = np.array([(1 - beta) * beta ** k for k in range(len(values))])
    result = np.array([np.dot(weights[:t + 1][::-1], values[:t + 1]) for t in range(len(values))])
    return result / (1 - beta ** np.arange(1, len(values) + 1)) if bias_correction else result"""
FAY_EWA = """
    smoothed, v = [], 0.0
    for t in range(1, len(values) + 1):
        v = beta * v + (1 - beta) * values[t - 1]
        smoothed.append(v / (1 - beta ** t) if bias_correction else v)
    return np.asarray(smoothed)"""


def _release():
    return nbformat.read(ROOT / "course" / ASSIGNMENT / NOTEBOOK, as_version=4)


def _function_of(cell):
    match = re.search(r"^def (\w+)\(", cell.source, re.M)
    return match.group(1) if match else None


def _notebook(answers):
    """The release with ``answers`` ({function: body}) pasted in place of its starter code."""
    nb = _release()
    for cell in nb.cells:
        function = _function_of(cell)
        if cell.metadata.get("nbgrader", {}).get("solution") and function in answers:
            body = textwrap.indent(textwrap.dedent(answers[function]).strip("\n"), "    ")
            cell.source = STARTER.sub(lambda _, body=body: body, cell.source)
            assert "NotImplementedError" not in cell.source, function
    return nb


def _write(submissions, student, nb=None, raw=None):
    path = submissions / student / ASSIGNMENT / NOTEBOOK
    path.parent.mkdir(parents=True, exist_ok=True)
    if raw is not None:
        path.write_text(raw)
    else:
        nbformat.write(nb, path)


def _alternatives():
    """Every function's first catalogued alternative, as its body (the one honest student's answers)."""
    answers = {}
    for cell in _release().cells:
        function = _function_of(cell)
        if function in REGISTRY and REGISTRY[function].alternatives:
            answers[function] = alternative_code(REGISTRY[function].alternatives[0])
    return answers


def build_class(folder):
    """The class's submissions and the known folder; returns (submissions, known)."""
    subs, known = folder / "submitted", folder / "known"
    _write(subs, "ann", _notebook(_alternatives()))
    _write(subs, "ben", _notebook(BY_HAND))
    _write(subs, "cat", _release())
    _write(subs, "dee", _release())
    _write(subs, "dan", _notebook({"adam_update": PASTED_REFERENCE}))
    _write(subs, "eve", _notebook({"momentum_update": EVE_MOMENTUM, "ewa": EVE_EWA}))
    _write(subs, "fay", _notebook({"momentum_update": FAY_MOMENTUM, "ewa": FAY_EWA}))
    _write(subs, "gus", _notebook({"adam_update": FROM_PUBLIC}))
    _write(subs, "joe", _notebook({"random_mini_batches": FROM_LEAKED}))
    _write(subs, "hal", raw="")  # unreadable
    (subs / "ivy" / ASSIGNMENT).mkdir(parents=True)  # no notebook
    (subs / "bad name" / ASSIGNMENT).mkdir(parents=True)  # refused, as grading refuses it
    known.mkdir()
    (known / "public_hw5.py").write_text(PUBLIC)
    leaked = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in LEAKED_CELLS])
    nbformat.write(leaked, known / "leaked.ipynb")
    (known / "notes.txt").write_text("adam: see the lecture")
    (known / "broken.py").write_text("def adam_update(:\n")
    return subs, known


def _pairs(result):
    return {(m.function.check, m.student.name, m.other.name) for m in result.matches}


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    folder = tmp_path_factory.mktemp("similarity")
    subs, known = build_class(folder)
    course = courses.load(ROOT)
    result = similarity.check_similarity(course, ASSIGNMENT, subs, known=known, output=folder / "report",
                                         db_url=False)
    return result, folder


def test_the_copies_are_flagged_and_nothing_else(checked):
    result, _ = checked
    assert _pairs(result) == {
        ("adam_update", "dan", REFERENCE),
        ("momentum_update", "eve", "fay"),
        ("adam_update", "gus", "public_hw5.py (adam_update)"),
        ("random_mini_batches", "joe", "leaked.ipynb (random_mini_batches)"),
    }, [(m.function.check, m.student.name, m.other.name, round(m.score, 3)) for m in result.matches]
    kinds = {m.student.name: m.other.kind for m in result.matches}
    assert kinds == {"dan": "reference", "eve": "student", "gus": "known", "joe": "known"}
    assert set(result.flags) == {"dan", "eve", "fay", "gus", "joe"}
    assert result.flags["fay"].text.startswith("momentum_update: student eve ")
    assert all(m.score >= similarity.THRESHOLD for m in result.matches)


def test_honest_and_blank_answers_are_compared_and_never_match(checked):
    result, _ = checked
    functions = {fn.check: fn for fn in result.functions}
    assert [c for c, fn in functions.items() if not fn.skipped] == COMPARED
    assert sorted(c for c, fn in functions.items() if fn.skipped) == sorted(TOO_SHORT)
    assert "too short to tell apart" in functions["staircase_decay"].skipped
    for check in COMPARED:  # the honest answers were long enough to be compared
        assert {"ann", "ben"} <= {a.name for a in functions[check].answers}, check
        assert {"cat", "dee"} <= set(functions[check].blank), check  # the starter code is no answer
    flagged = {name for m in result.matches for name in (m.student.name, m.other.name)}
    assert not flagged & {"ann", "ben", "cat", "dee"}


def test_bad_input_is_listed_and_skipped(checked):
    result, _ = checked
    problems = "\n".join(result.problems)
    assert "hal: a5_optimization.ipynb not read: the notebook file is empty" in problems
    assert "ivy: no a5_optimization.ipynb" in problems
    assert "bad name: not read: unsafe folder name" in problems
    assert "known file notes.txt: not a Python file" in problems
    assert "known file broken.py: not Python (SyntaxError" in problems
    assert result.known == ["leaked.ipynb", "public_hw5.py"]
    assert "bad name" not in result.students and {"hal", "ivy"} <= set(result.students)


def test_the_report_ranks_the_pairs_and_shows_the_code(checked):
    result, folder = checked
    page = (folder / "report" / "report.html").read_text()
    assert "Evidence for a person to review" in page and "No score or status was changed" in page
    for name in (REFERENCE, "public_hw5.py (adam_update)", "leaked.ipynb (random_mini_batches)", "eve", "fay", "dan"):
        assert name in page
    assert page.count('<div class="pair">') == 4 and '<span class="match">' in page
    assert "too short to tell apart" in page and "notes.txt" in page and "http" not in page
    rows = list(csv.DictReader(io.StringIO((folder / "report" / "pairs.csv").read_text())))
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4"]
    assert [float(r["score"]) for r in rows] == sorted((float(r["score"]) for r in rows), reverse=True)
    assert {(r["function"], r["student"], r["other_kind"]) for r in rows} == {
        ("adam_update", "dan", "reference"), ("momentum_update", "eve", "student"), ("adam_update", "gus", "known"),
        ("random_mini_batches", "joe", "known")}


def test_the_share_is_copydetects_similarity(checked):
    result, _ = checked
    fn = next(fn for fn in result.functions if fn.check == "adam_update")
    for a in fn.answers:
        for b in fn.sources + fn.answers:
            if a is not b:
                _, (share_a, share_b), _ = compare_files(a.print, b.print)
                assert (a.share_in(b), b.share_in(a)) == pytest.approx((share_a, share_b)), (a.name, b.name)


def test_the_flags_go_to_the_status_detail_and_the_export(tmp_path, capsys):
    """Through the command line: a flag is appended to the detail, and the export names the best match."""
    subs, known = build_class(tmp_path)
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with open_gradebook(url) as gb:  # as if the class had been graded (no notebook is run here)
        gb.add_assignment(ASSIGNMENT)
        for student in ("ann", "ben", "dan", "eve", "fay"):
            gb.add_student(student)
            gb.db.execute(STATUS.insert().values(
                assignment=ASSIGNMENT, student=student, status="ok" if student != "dan" else "flagged",
                detail="graded a5 (1).ipynb (expected a5_optimization.ipynb)" if student == "fay" else "",
                score=7.0, max_score=15.0, graded_at="2026-01-01T00:00:00+00:00"))
        gb.db.commit()
    before = statuses(url, ASSIGNMENT)
    args = ["similarity", ASSIGNMENT, "--submissions", subs, "--known", known, "--root", ROOT,
            "--output", tmp_path / "out", "--gradebook", url]
    for _ in range(2):  # a second pass replaces the flags, it does not add to them
        code, out = run_cli(capsys, *args)
        assert code == 0, out
    assert "4 flagged pair(s) among 11 student(s)" in out and "5 student(s) flagged" in out
    assert "not graded yet: gus, joe" in out and "not compared (too short to tell apart): momentum_init" in out
    after = statuses(url, ASSIGNMENT)
    for key, row in after.items():  # no score or status changed
        assert (row["status"], row["score"]) == (before[key]["status"], before[key]["score"])
    detail = {student: row["detail"] for (_, student), row in after.items()}
    assert detail["ann"] == detail["ben"] == ""
    assert detail["dan"] == f"similarity: adam_update: reference {REFERENCE} 1.00"
    assert detail["fay"].startswith("graded a5 (1).ipynb (expected a5_optimization.ipynb); similarity: "
                                    "momentum_update: student eve ")
    assert detail["fay"].count("similarity:") == 1
    rows = {row["student"]: row for row in table(url, ASSIGNMENT)[1]}
    assert rows["ann"]["similarity"] is None and rows["ben"]["similarity"] is None
    assert rows["eve"]["similarity"].startswith("momentum_update: student fay 1.00"), rows["eve"]
    assert rows["dan"]["similarity"] == f"adam_update: reference {REFERENCE} 1.00"
    code, text = run_cli(capsys, "export", "--assignment", ASSIGNMENT, "--root", ROOT, "--gradebook", url)
    exported = {row["student"]: row for row in csv.DictReader(io.StringIO(text))}
    assert list(exported["ann"])[:7] == ["student", "assignment", "score", "max_score", "status", "detail",
                                         "similarity"]
    assert exported["fay"]["similarity"].startswith("momentum_update: student eve")
    assert exported["ann"]["similarity"] == ""


def test_grade_with_similarity_runs_the_pass_after_grading(tmp_path, capsys):
    course = copy_course(tmp_path)
    done = solutions(course)
    subs = tmp_path / "subs"
    submit(subs, "ann", course, done)
    submit(subs, "bob", course)
    code, out = run_cli(capsys, "grade", "f1_fixture", "--submissions", subs, "--root", course.root, "--similarity")
    assert code == 0, out
    assert "0 flagged pair(s) among 2 student(s)" in out
    assert "not compared (too short to tell apart): split_sizes, error_rate" in out
    report = course.grading / "similarity" / "f1_fixture" / "report.html"
    assert report.is_file() and (report.parent / "pairs.csv").is_file()
    assert {row["status"] for row in statuses(course.db_url, "f1_fixture").values()} == {"ok"}


def test_the_calibration_gives_the_numbers_in_use():
    """The module's K, THRESHOLD and MIN_LENGTH are what calibrate() measures on this course."""
    result = calibrate(courses.load(ROOT))
    assert (result.k, result.threshold, result.min_length) == (similarity.K, similarity.THRESHOLD,
                                                                similarity.MIN_LENGTH)
    m = result.chosen
    assert m.floor(result.min_length).score < result.threshold <= m.ceiling(result.min_length).score


def test_answer_code_leaves_out_the_signature_and_docstring():
    cell = 'import math\n\n@cache\ndef f(x, *, y=1):\n    """Doc."""\n    # mine\n    return x + y\n\nHELP = 1\n'
    assert similarity.answer_code(cell, "f") == "import math\n# mine\nreturn x + y\nHELP = 1"
    assert similarity.answer_code("def f(x): return x", "f") == "return x"
    assert similarity.answer_code("def f(x:\n    pass", "f") == "def f(x:\n    pass"  # kept whole
    nb = copy.deepcopy(_release())
    assert "NotImplementedError" in similarity.function_cell(nb, "adam_update", "a5-adam_update")


def test_usage_errors(tmp_path, capsys):
    from autograder.grading.cli import main

    for argv, message in [(["grade", ASSIGNMENT, "--known", str(tmp_path)], "--known is for the comparison"),
                          (["similarity", ASSIGNMENT, "--threshold", "2"], "Invalid value for '--threshold'"),
                          (["similarity", ASSIGNMENT, "--submissions", str(tmp_path / "none")], "does not exist"),
                          (["similarity", "a99_nothing", "--submissions", str(tmp_path)], "unknown assignment")]:
        assert main([*argv, "--root", str(ROOT)]) != 0, argv
        err = capsys.readouterr().err
        assert err.startswith("autograder: error: ") and message in err, err
