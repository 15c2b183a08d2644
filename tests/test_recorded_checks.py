"""Recorded visible checks (the sealed release's, issue 17): judged from data recorded at release
time, they give every answer the same report as the open release's live check."""

import numpy as np
import pytest

import introdl
from autograder import REGISTRY
from autograder.checks import run_check, seed_for
from autograder.checks.recorded import SHIPPED, RecordError, dumps, loads, record, recordable, replay

RECORDABLE = sorted(name for name, spec in REGISTRY.items() if recordable(spec))
# What a sealed bundle supplies to a judge besides the record: no graded function's reference.
SUPPLIED = {"final_model": {"predict": introdl.predict_proba}}


def _replayed(name):
    spec = REGISTRY[name]
    cases = spec.cases(np.random.default_rng(seed_for(name, False)), False)
    return replay(loads(dumps(record(spec, cases))), **SUPPLIED.get(name, {}))


def _float32(fn):
    def answer(*args, **kwargs):
        out = fn(*args, **kwargs)
        return np.float32(out) if np.ndim(out) == 0 and isinstance(out, float) else out
    return answer


def _answers(name):
    spec = REGISTRY[name]
    yield from ((f"mistake {m.key}", m.fn) for m in spec.mistakes)
    if spec.alternatives:  # the contracts are enforced from the record too: float64, names of inputs
        yield "float32", _float32(spec.alternatives[0])

        def changes_its_input(*args, **kwargs):
            out = spec.alternatives[0](*args, **kwargs)
            for arg in args:
                if isinstance(arg, np.ndarray) and arg.size:
                    arg.flat[0] += 1.0
                if isinstance(arg, dict) and arg:
                    arg.pop(next(iter(arg)))
            return out

        yield "changes its input", changes_its_input
    yield from ((f"alternative {i}", fn) for i, fn in enumerate(spec.alternatives))

    def unfinished(*args, **kwargs):
        raise NotImplementedError

    yield "unfinished", unfinished
    yield "not a function", 42


def test_every_check_is_recordable():
    """Every check's class is one a sealed bundle ships, so each can be rebuilt from its record."""
    assert sorted(set(REGISTRY) - set(RECORDABLE)) == []


@pytest.mark.parametrize("name", RECORDABLE)
def test_a_recorded_check_reports_what_the_live_check_reports(name):
    replayed = _replayed(name)
    for what, fn in _answers(name):
        live = run_check(REGISTRY[name], fn)
        sealed = run_check(replayed, fn)
        assert (sealed.passed, sealed.total) == (live.passed, live.total), f"{name}, {what}"
        if run_check(REGISTRY[name], fn).report() != live.report():
            # An answer that draws unseeded numbers (dropout_backward's new mask) differs from run to run:
            # the same hints then, not the same numbers.
            assert _hints(sealed.report()) == _hints(live.report()), f"{name}, {what}"
        else:
            assert sealed.report() == live.report(), f"{name}, {what}"


def _hints(report):
    return sorted(line for line in report.splitlines() if line.strip().startswith(("Hint:", "Note:")))


@pytest.mark.parametrize("name", RECORDABLE)
def test_a_recorded_check_holds_no_code(name):
    """No function in the record but the case helpers of shipped modules: the reference and the
    mistakes are present only as outputs."""
    spec = REGISTRY[name]
    data = loads(dumps(record(spec, spec.cases(np.random.default_rng(seed_for(name, False)), False))))
    found = []

    def walk(x, path):
        if callable(x) and getattr(getattr(x, "func", x), "__module__", None) not in SHIPPED:
            found.append(path)
        elif isinstance(x, dict):
            for k, v in x.items():
                walk(v, f"{path}[{k!r}]")
        elif isinstance(x, list | tuple):
            for i, v in enumerate(x):
                walk(v, f"{path}[{i}]")

    walk(data, "record")
    assert not found


def test_the_copies_contract_holds_from_the_record():
    def views(theta, spec):
        out, start = {}, 0
        for key, shape in spec:
            size = int(np.prod(shape))
            out[key] = theta[start:start + size].reshape(shape)  # a view of theta, not a copy
            start += size
        return out

    live, sealed = run_check(REGISTRY["vector_to_dict"], views), run_check(_replayed("vector_to_dict"), views)
    assert live.passed == 0 and "shares memory with the input theta" in sealed.report()
    assert sealed.report() == live.report()


def test_a_record_with_a_function_in_it_is_refused():
    with pytest.raises(RecordError, match="data only"):
        dumps({"format": 1, "expected": np.sum})


def test_hidden_cases_are_never_recorded():
    spec = REGISTRY["ewa"]
    hidden = [case for case in spec.cases(np.random.default_rng(1), True)]
    for case in hidden:
        case.hidden = True
    with pytest.raises(RecordError, match="hidden"):
        record(spec, hidden)


def test_a_check_of_a_class_outside_the_shipped_modules_is_not_recorded():
    class Local(type(REGISTRY["ewa"])):
        pass

    spec = REGISTRY["ewa"]
    local = Local(spec.name, points=spec.points, reference=spec.reference, make_cases=spec.make_cases)
    with pytest.raises(RecordError, match="not in a shipped module"):
        record(local, [])


def test_a_record_names_its_class_and_only_a_shipped_one_is_rebuilt():
    spec = REGISTRY["error_rate"]
    data = record(spec, spec.cases(np.random.default_rng(seed_for("error_rate", False)), False))
    assert data["class"] == "autograder.checks.core:ReferenceCheck"
    with pytest.raises(RecordError, match="check class of"):
        replay({**data, "class": "autograder.checks.a1_splits:SplitCheck"})


def test_a_record_may_hold_a_function_of_another_module_by_reference_only_from_a_shipped_one():
    import pickle

    with pytest.raises(RecordError, match="data only"):
        loads(pickle.dumps({"cost": np.random.default_rng}, protocol=5))


# A valid dropout on another mask than the reference's (binomial draws), with its own cache layout.
OTHER_MASK = """
def dropout_forward(A, keep_prob, *, rng):
    D = rng.binomial(1, keep_prob, A.shape).astype(bool)
    return A * D / keep_prob, {{"D": D, "keep_prob": keep_prob}}

def dropout_backward(dA, cache):
    return dA * cache["D"] / cache["keep_prob"]{wrong}
"""


def test_a_backward_pass_on_the_students_own_mask_is_judged_alike_live_and_sealed():
    """The expected gradient then comes from the student's own forward (its derivative in A), not
    from the record: a right backward passes, a wrong one fails with the same words."""
    from student_code import student_namespace

    replayed = _replayed("dropout_backward")
    right = student_namespace(OTHER_MASK.format(wrong=""))["dropout_backward"]
    wrong = student_namespace(OTHER_MASK.format(wrong=" * cache['keep_prob']"))["dropout_backward"]
    assert run_check(replayed, right).passed == run_check(replayed, right).total == 3
    live, sealed = run_check(REGISTRY["dropout_backward"], wrong), run_check(replayed, wrong)
    assert sealed.passed == 1  # keep_prob=1: times keep_prob changes nothing
    assert "with the cache of your dropout_forward" in sealed.report()
    assert sealed.report() == live.report()
