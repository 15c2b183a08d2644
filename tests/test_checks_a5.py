"""Assignment 5 checks: the behaviour the generic catalogue test does not cover.

An optimizer's update is judged over several steps with the state of the student's own
``*_init`` (found next to the update, as in a notebook), and it must not change its inputs in
place. These tests build small "student notebooks" as namespaces to check that.
"""

import nbformat
from student_code import student_namespace

from autograder import REGISTRY, check
from autograder.checks import run_check
from autograder.grading.verify import verify
from autograder.sandbox.policy import Limits

ADAM = """
def adam_init(params):
    return {"t": 0, "v": {"d" + k: np.zeros_like(W) for k, W in params.items()},
            "s": {"d" + k: np.zeros_like(W) for k, W in params.items()}}

def adam_update(params, grads, state, *, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    t = state["t"] + 1
    v = {g: beta1 * state["v"][g] + (1 - beta1) * grads[g] for g in grads}
    s = {g: beta2 * state["s"][g] + (1 - beta2) * grads[g] ** 2 for g in grads}
    new = {k: W - lr * (v["d" + k] / (1 - beta1**t)) / (np.sqrt(s["d" + k] / (1 - beta2**t)) + eps)
           for k, W in params.items()}
    return new, {"t": t, "v": v, "s": s}
"""


_student = student_namespace


def _report(name, ns, hidden=True):
    return run_check(REGISTRY[name], ns[name], hidden=hidden).report()


def test_a_right_pair_gets_full_marks():
    ns = _student(ADAM)
    assert check("adam_init", ns["adam_init"], hidden=True) == REGISTRY["adam_init"].points
    assert check("adam_update", ns["adam_update"], hidden=True) == REGISTRY["adam_update"].points


def test_the_update_starts_from_the_students_own_init_when_it_is_right():
    counted = ADAM.replace("def adam_init(params):\n", "def adam_init(params):\n    CALLS.append(1)\n")
    ns = _student("CALLS = []\n" + counted)
    assert check("adam_update", ns["adam_update"], hidden=True) == REGISTRY["adam_update"].points
    assert ns["CALLS"], "the student's adam_init was not used"


def test_a_wrong_init_is_replaced_by_the_reference_and_the_update_keeps_its_marks():
    ns = _student(ADAM.replace('"t": 0,', '"t": 1,'))
    assert "t starts at 0" in _report("adam_init", ns)
    assert check("adam_update", ns["adam_update"], hidden=True) == REGISTRY["adam_update"].points


def test_a_wrong_update_names_the_step_and_the_fallback_init():
    ns = _student(ADAM.replace('"t": 0,', '"t": 1,').replace("(1 - beta1**t)", "1"))
    report = _report("adam_update", ns, hidden=False)
    assert "after step 1 of 6" in report
    assert "does not pass its test, so the steps started from the reference's adam_init" in report
    assert "bias-corrected averages" not in report  # only v is uncorrected: no catalogued mistake fits


def test_changing_the_step_counter_in_place_is_caught():
    ns = _student(ADAM.replace('t = state["t"] + 1', 'state["t"] += 1\n    t = state["t"]'))
    report = _report("adam_update", ns, hidden=False)
    assert "changed its input state['t'] in place" in report


def test_writing_the_corrected_moments_back_fails_after_the_first_step():
    ns = _student(ADAM.replace('return new, {"t": t, "v": v, "s": s}',
                               'return new, {"t": t, "v": {g: v[g] / (1 - beta1**t) for g in v}, "s": s}'))
    report = _report("adam_update", ns, hidden=False)
    assert "after step 1 of 6: state['v']['dW1']" in report
    assert "UNcorrected v and s" in report


def test_mini_batches_with_the_stated_call_get_full_marks():
    ns = _student("""
def random_mini_batches(X, Y, batch_size=64, *, rng):
    m = X.shape[1]
    perm = rng.permutation(m)
    X, Y = X[:, perm], Y[:, perm]
    return [(X[:, k:k + batch_size], Y[:, k:k + batch_size]) for k in range(0, m, batch_size)]
""")
    fn = ns["random_mini_batches"]
    assert check("random_mini_batches", fn, hidden=True) == REGISTRY["random_mini_batches"].points


def test_an_ambiguous_case_gives_no_hint_and_a_later_one_names_the_mistake():
    # lr0 / (1 + rate)**epoch equals lr0 / (1 + rate * (epoch + 1)) at epoch 2 with rate 1 (case 2).
    report = run_check(REGISTRY["inverse_time_decay"], lambda e, lr0, r: lr0 / (1 + r) ** e).report()
    assert "not epoch + 1" not in report
    assert "case 3 [epoch=3, lr0=0.2, decay_rate=1]: the learning rate is 0.025, expected 0.05\n    Hint: this is " \
        "inverse-time decay" in report


SOURCE_NB = nbformat.v4.new_notebook(cells=[
    nbformat.v4.new_code_cell("check('adam_init', adam_init)",
                              metadata={"nbgrader": {"grade": True, "grade_id": "t_init", "points": 1}}),
    nbformat.v4.new_code_cell("check('adam_update', adam_update)",
                              metadata={"nbgrader": {"grade": True, "grade_id": "t_update", "points": 3}}),
])


def test_the_verification_pass_finds_the_init_in_the_student_process():
    right = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import numpy as np\n" + ADAM)])
    results = verify(right, SOURCE_NB, limits=Limits(call_timeout=10, memory_mb=1024))
    assert {gid: v.result.score for gid, v in results.items()} == {"t_init": 1.0, "t_update": 3.0}

    in_place = ADAM.replace("    return new, {", "    params.update(new)\n    return new, {")
    wrong = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import numpy as np\n" + in_place)])
    results = verify(wrong, SOURCE_NB, limits=Limits(call_timeout=10, memory_mb=1024))
    assert results["t_update"].result.score == 0
    assert "changed its input params" in results["t_update"].result.report()


def test_any_other_random_call_for_the_shuffle_is_told_that_the_draws_differ():
    # Not in the catalogue: a Fisher-Yates shuffle written by hand, from rng.integers.
    ns = student_namespace("""
def random_mini_batches(X, Y, batch_size=64, *, rng):
    m = X.shape[1]
    perm = list(range(m))
    for i in range(m - 1, 0, -1):
        j = int(rng.integers(0, i + 1))
        perm[i], perm[j] = perm[j], perm[i]
    return [(X[:, perm][:, k:k + batch_size], Y[:, perm][:, k:k + batch_size]) for k in range(0, m, batch_size)]
""")
    report = run_check(REGISTRY["random_mini_batches"], ns["random_mini_batches"]).report()
    assert "the random calls differ from the one the notebook tells you to make, so the shuffle differs" in report, \
        report


def test_a_shuffle_that_loses_labels_is_not_called_another_draw():
    ns = student_namespace("""
def random_mini_batches(X, Y, batch_size=64, *, rng):
    m = X.shape[1]
    perm = rng.permutation(m)
    Ys = Y[:, rng.permutation(m)]
    return [(X[:, perm][:, k:k + batch_size], Ys[:, k:k + batch_size]) for k in range(0, m, batch_size)]
""")
    report = run_check(REGISTRY["random_mini_batches"], ns["random_mini_batches"]).report()
    assert "the random calls differ" not in report
    assert "shuffled with two different permutations" in report, report
