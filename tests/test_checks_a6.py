"""Assignment 6 checks: the behaviour the generic catalogue test does not cover.

The search checks hand the student's function samplers and a score function; in the
verification pass these travel to the student's process, so a right notebook must still get
full marks there. ``sample_beta`` says when the student's own ``sample_log_uniform`` is the
thing to fix.
"""

import nbformat
import numpy as np
from student_code import student_namespace

from autograder import REGISTRY, check
from autograder.checks import run_check
from autograder.grading.verify import verify
from autograder.sandbox.policy import Limits

RIGHT = """
import itertools

import numpy as np


def sample_log_uniform(low, high, *, rng, size=None):
    low_exp, high_exp = np.log10(low), np.log10(high)
    r = low_exp + (high_exp - low_exp) * rng.random(size)
    return 10**r


def sample_beta(low, high, *, rng, size=None):
    return 1 - sample_log_uniform(1 - high, 1 - low, rng=rng, size=size)


def random_search(score_fn, space, n_trials, *, rng):
    trials = []
    for _ in range(n_trials):
        hparams = {name: sampler(rng) for name, sampler in space.items()}
        trials.append({"hparams": hparams, "score": float(score_fn(**hparams))})
    return trials


def grid_search(score_fn, grid):
    names = list(grid)
    trials = []
    for combo in itertools.product(*grid.values()):
        hparams = dict(zip(names, combo))
        trials.append({"hparams": hparams, "score": float(score_fn(**hparams))})
    return trials


def zoom_bounds(trials, bounds, top_k):
    best = sorted(trials, key=lambda t: t["score"], reverse=True)[:top_k]
    return {name: (min(t["hparams"][name] for t in best), max(t["hparams"][name] for t in best), scale)
            for name, (_, _, scale) in bounds.items()}
"""

NAMES = ("sample_log_uniform", "sample_beta", "random_search", "grid_search", "zoom_bounds")
SOURCE_NB = nbformat.v4.new_notebook(cells=[
    nbformat.v4.new_code_cell(f"check('{name}', {name})",
                              metadata={"nbgrader": {"grade": True, "grade_id": f"t_{name}", "points": 2}})
    for name in NAMES])


_student = student_namespace


def test_a_right_notebook_gets_full_marks_in_the_notebook_and_in_the_verification_pass():
    ns = _student(RIGHT)
    for name in NAMES:
        assert check(name, ns[name], hidden=True) == REGISTRY[name].points
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(RIGHT)])
    verified = verify(nb, SOURCE_NB, limits=Limits(call_timeout=10, memory_mb=1024))
    results = {gid: v.result for gid, v in verified.items()}
    assert {gid: r.score for gid, r in results.items()} == {f"t_{name}": 2.0 for name in NAMES}, \
        "\n".join(r.report() for r in results.values())


def test_sample_beta_points_at_a_wrong_sample_log_uniform():
    ns = _student(RIGHT.replace("np.log10(low), np.log10(high)", "np.log(low), np.log(high)"))
    report = run_check(REGISTRY["sample_beta"], ns["sample_beta"]).report()
    assert "fix sample_log_uniform first" in report, report
    assert check("sample_beta", _student(RIGHT)["sample_beta"]) == REGISTRY["sample_beta"].points


def test_a_search_that_calls_the_samplers_without_the_generator_is_told_how():
    ns = _student(RIGHT.replace("sampler(rng) for name", "sampler() for name"))
    report = run_check(REGISTRY["random_search"], ns["random_search"]).report()
    assert "call it as sampler(rng)" in report, report


def test_zoom_bounds_gets_no_credit_for_the_package_search_helpers():
    source = RIGHT + "\nimport introdl\n\ndef zoom_first(trials, bounds, top_k):\n" \
        "    best = introdl.best_trial(trials)\n    return {n: (best['hparams'][n],) * 2 + (s,) " \
        "for n, (_, _, s) in bounds.items()}\n"
    report = run_check(REGISTRY["zoom_bounds"], _student(source)["zoom_first"]).report()
    assert "reference" in report and "best_trial" in report, report


def test_grid_search_in_another_order_gets_full_marks():
    ns = _student(RIGHT.replace("itertools.product(*grid.values())",
                                "reversed(list(itertools.product(*grid.values())))"))
    assert check("grid_search", ns["grid_search"], hidden=True) == REGISTRY["grid_search"].points


def test_sampling_keeps_the_size_contract():
    ns = _student(RIGHT)
    rng = np.random.default_rng(0)
    assert np.shape(ns["sample_log_uniform"](1e-4, 1, rng=rng)) == ()
    assert ns["sample_beta"](0.9, 0.999, rng=rng, size=(2, 3)).shape == (2, 3)
