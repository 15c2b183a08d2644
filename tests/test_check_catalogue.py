"""The mistake catalogue: every known wrong variant is rejected with its hint, and correct
alternative implementations get full marks."""

import functools

import pytest

from autograder import REGISTRY, CheckFailed, check
from autograder.checks import run_check

CHECKS = sorted(REGISTRY)
MISTAKES = [(name, m) for name in CHECKS for m in REGISTRY[name].mistakes]


ALTERNATIVES = [pytest.param(name, fn, id=f"{name}-alt{i}")
                for name in CHECKS for i, fn in enumerate(REGISTRY[name].alternatives)]


def test_catalogue_is_large_enough():
    thin = [name for name in CHECKS if len(REGISTRY[name].mistakes) < 3]
    assert not thin, f"checks with fewer than 3 catalogued mistakes: {thin}"
    lonely = [name for name in CHECKS if not REGISTRY[name].alternatives]
    assert not lonely, f"checks without a correct alternative implementation: {lonely}"


@functools.cache
def graded(name, key):
    """The result of the catalogued mistake ``key`` on every case of check ``name`` (visible and hidden)."""
    mistake = next(m for m in REGISTRY[name].mistakes if m.key == key)
    return run_check(REGISTRY[name], mistake.fn, hidden=True)


@pytest.mark.parametrize(("name", "mistake"), MISTAKES, ids=[f"{n}-{m.key}" for n, m in MISTAKES])
def test_mistake_is_rejected_with_its_hint(name, mistake):
    result = graded(name, mistake.key)
    assert result.passed < result.total, f"{name}: the mistake {mistake.key!r} got full marks"
    assert mistake.hint in result.report(), (
        f"{name}: the mistake {mistake.key!r} was rejected without its hint; report was:\n{result.report()}"
    )


@pytest.mark.parametrize(("name", "mistake"), MISTAKES, ids=[f"{n}-{m.key}" for n, m in MISTAKES])
def test_no_mistake_receives_another_mistakes_hint(name, mistake):
    """A hint is given only where its mistake alone explains the output: another mistake's hint
    would send the student after an error they did not make."""
    report = graded(name, mistake.key).report()
    borrowed = {other.key: other.hint for other in REGISTRY[name].mistakes
                if other.hint != mistake.hint and other.hint in report}
    assert not borrowed, f"{name}: the mistake {mistake.key!r} got the hints of {sorted(borrowed)}:\n{report}"


@pytest.mark.parametrize(("name", "mistake"), MISTAKES, ids=[f"{n}-{m.key}" for n, m in MISTAKES])
def test_every_mistake_gets_its_hint_on_a_visible_case(name, mistake):
    """The notebook's own test already names the cause (a hint only on a hidden case reaches the
    student after grading, if at all)."""
    report = run_check(REGISTRY[name], mistake.fn, hidden=False).report()
    assert mistake.hint in report, f"{name}: the visible cases give {mistake.key!r} no hint:\n{report}"


def test_hints_of_a_check_are_not_contained_in_each_other():
    """Otherwise the test above could not tell one hint from another in a report."""
    nested = [(name, a.key, b.key) for name in CHECKS for a in REGISTRY[name].mistakes
              for b in REGISTRY[name].mistakes if a.hint != b.hint and a.hint in b.hint]
    assert not nested, f"hints contained in other hints of the same check: {nested}"


@pytest.mark.parametrize(("name", "mistake"), MISTAKES, ids=[f"{n}-{m.key}" for n, m in MISTAKES])
def test_every_mistake_shows_on_a_visible_case(name, mistake):
    """Points must not vanish only at grading: the notebook's own test already rejects each mistake."""
    result = run_check(REGISTRY[name], mistake.fn, hidden=False)
    assert result.passed < result.total, (
        f"{name}: the mistake {mistake.key!r} passes every visible case; only the hidden cases would catch it")


@pytest.mark.parametrize(("name", "fn"), ALTERNATIVES)
def test_correct_alternative_gets_full_marks(name, fn, capsys):
    points = check(name, fn, hidden=True)
    assert points == REGISTRY[name].points, capsys.readouterr().out
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("name", CHECKS)
def test_calling_the_reference_gets_no_credit(name):
    with pytest.raises(CheckFailed, match="reference"):
        check(name, REGISTRY[name].reference)


@pytest.mark.parametrize("name", CHECKS)
def test_unfinished_function_fails_with_a_plain_message(name, capsys):
    def unfinished(*args, **kwargs):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not implemented yet"):
        check(name, unfinished)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(("got", "expected", "shown"), [
    (-0.4629999, -0.462999, "is -0.463000, expected -0.462999"),  # not -0.463 against -0.462999
    (0.5, 0.25, "is 0.5, expected 0.25"),
    (2.0000001, 2.0, "is 2.0000001, expected 2.0000000"),
    (1e-8, 1.2e-8, "is 1e-08, expected 1.2e-08"),
])
def test_a_wrong_number_is_shown_with_digits_enough_to_see_the_difference(got, expected, shown):
    from autograder.checks.core import compare

    assert compare(got, expected, "the cost", show_values=True, rtol=1e-12, atol=0) == f"the cost {shown}"


def test_a_wrong_scalar_is_described_as_a_value_not_entries():
    from autograder.checks.core import compare

    assert compare(0.1, 0.2, "the learning rate") == "the learning rate is wrong"


def test_a_hint_is_given_only_where_one_explanation_fits():
    from autograder.checks import Mistake
    from autograder.checks.helpers import matching_hint

    def hint(got, *mistakes):
        return matching_hint(list(mistakes), got, 0.0, run=lambda fn: fn(), same=lambda a, b: a == b)

    doubled, plus_one, also_doubled = (Mistake("doubled", "doubled", lambda: 2.0),
                                       Mistake("plus_one", "plus one", lambda: 1.0 + 1.0),
                                       Mistake("also", "doubled", lambda: 2.0))
    assert hint(2.0, doubled) == "doubled"
    assert hint(2.0, doubled, plus_one) is None  # two causes fit: naming either could mislead
    assert hint(2.0, doubled, also_doubled) == "doubled"  # two forms of one mistake
    assert hint(3.0, doubled) is None
    assert hint(0.0, Mistake("right", "right here", lambda: 0.0)) is None  # right on this case: says nothing
