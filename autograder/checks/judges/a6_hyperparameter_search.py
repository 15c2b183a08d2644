"""The judging classes of a6 (hyperparameter search), which a sealed bundle ships (see :mod:`..recorded`)."""

import numpy as np

from ..core import Check, ReferenceCheck, StudentError, compare
from ..helpers import describe, matching_hint, own_function
from ..registry import HINT
from .common import passes_visible_cases, replay_helper

OWN_LOG_UNIFORM_WRONG = ("your sample_log_uniform does not pass its test yet, and sample_beta should call it: "
                         "fix sample_log_uniform first")


class BetaCheck(ReferenceCheck):
    """Also says when the student's own ``sample_log_uniform`` (which ``sample_beta`` should call)
    does not pass its test: then that one is the first thing to fix."""

    def __init__(self, name, *, helper=None, helper_record=None, **kw):
        super().__init__(name, **kw)
        # The check of sample_log_uniform: the live one, or rebuilt from its record in a sealed bundle.
        self.helper = helper if helper_record is None else replay_helper(helper_record)

    def options(self):
        from ..recorded import record  # imported here: the record module builds on the judges' classes

        cases = self.helper.cases(np.random.default_rng(0), False)
        return {**super().options(), "helper_record": record(self.helper, cases)}

    def judge(self, student_fn, case):
        problem = super().judge(student_fn, case)
        if problem is None:
            return None
        own = own_function(student_fn, self.helper.name, self.helper.reference)
        if own is not None and not passes_visible_cases(self.helper, own):
            # The catalogue's hint would blame sample_beta for what its helper does.
            return problem.partition(HINT)[0] + HINT + OWN_LOG_UNIFORM_WRONG
        return problem


def _trials_of(out, names=None):
    """The trials of an output as a list of (hparams dict, score), or a StudentError.

    ``names``: the hyperparameters every trial must have (None: any)."""
    shape = "a list of {'hparams': dict, 'score': float}, one per trial"
    if not isinstance(out, list | tuple):
        raise StudentError(f"it should return {shape}; got {describe(out)}")
    trials = []
    for i, trial in enumerate(out, start=1):
        if not isinstance(trial, dict) or "hparams" not in trial or "score" not in trial:
            raise StudentError(f"it should return {shape}; trial {i} is {describe(trial)}"
                               + (f" with keys {sorted(map(str, trial))}" if isinstance(trial, dict) else ""))
        hparams = trial["hparams"]
        if not isinstance(hparams, dict):
            raise StudentError(f"trial {i}'s 'hparams' should be a dict of name -> value, got {describe(hparams)}")
        if names is not None and set(hparams) != set(names):
            raise StudentError(f"trial {i}'s hparams has the keys {sorted(map(str, hparams))}, expected one per "
                               f"hyperparameter: {sorted(names)}")
        try:
            score = float(trial["score"])
        except (TypeError, ValueError):
            raise StudentError(f"trial {i}'s score should be a number, got {describe(trial['score'])}") from None
        trials.append((dict(hparams), score))
    return trials


def _values_equal(a, b):
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    try:
        return compare(a, b, "") is None
    except (TypeError, ValueError):
        return False


def _show(hparams):
    return "{" + ", ".join(f"{k!r}: {v:.6g}" if isinstance(v, float) else f"{k!r}: {v!r}"
                           for k, v in hparams.items()) + "}"


class TrialsCheck(Check):
    """Judges a list of trials ``{"hparams": dict, "score": float}``.

    ``ordered``: compared trial by trial with the reference's (random search, with the draws
    the notebook states); otherwise as a set of combinations (grid search, any order).
    """

    def __init__(self, name, *, ordered, **kw):
        super().__init__(name, **kw)
        self.ordered = ordered

    def options(self):
        return {**super().options(), "ordered": self.ordered}

    def select(self, out):
        """The trials of an output (a recorded output is kept in this form)."""
        return _trials_of(out), None

    def judge(self, student_fn, case):
        names = list(case.args[1])
        got = _trials_of(self.call(student_fn, case), names)
        expected = self.select(self.run_reference(case))[0]
        problem = self._problem(got, expected, case)
        if problem is None:
            return None
        return problem + self._hint(got, expected, case, names)

    def _problem(self, got, expected, case):
        show = not case.hidden
        score_fn = case.args[0]
        if len(got) != len(expected):
            if self.ordered:
                return f"it returned {len(got)} trials, expected n_trials={len(expected)}"
            sizes = " x ".join(str(len(v)) for v in case.args[1].values())
            return f"it returned {len(got)} trials; a grid of {sizes} values has {len(expected)} combinations"
        if self.ordered:
            for i, ((hp, score), (hp_ref, score_ref)) in enumerate(zip(got, expected, strict=True), start=1):
                for key in hp_ref:
                    if not _values_equal(hp[key], hp_ref[key]):
                        return (f"trial {i}'s hparams[{key!r}] is " + (f"{hp[key]!r}, expected {hp_ref[key]!r}"
                                                                        if show else "not the expected draw"))
                if compare(score, score_ref, "") is not None:
                    return self._score_problem(i, hp, score, score_fn, show)
            return None
        remaining = list(expected)
        for i, (hp, score) in enumerate(got, start=1):
            match = next((j for j, (hp_ref, _) in enumerate(remaining)
                          if all(_values_equal(hp[k], hp_ref[k]) for k in hp_ref)), None)
            if match is None:
                seen = any(all(_values_equal(hp[k], ref[k]) for k in ref) for ref, _ in expected)
                what = "was already tried" if seen else "is not a combination of the grid"
                return f"trial {i}'s hparams {_show(hp)} {what}" if show else f"trial {i}'s hparams {what}"
            if compare(score, remaining[match][1], "") is not None:
                return self._score_problem(i, hp, score, score_fn, show)
            remaining.pop(match)
        return None

    @staticmethod
    def _score_problem(i, hp, score, score_fn, show):
        try:
            own = score_fn(**hp)
        except Exception:  # noqa: BLE001 - odd values: just say the score is wrong
            own = None
        if own is not None and compare(score, own, "") is None:
            return f"trial {i}'s score is not the expected one"
        where = f" (got {score:.6g}, score_fn(**hparams) gives {own:.6g})" if show and own is not None else ""
        return (f"trial {i}'s score is not score_fn of its own hyperparameters{where}: store "
                "{'hparams': hparams, 'score': score_fn(**hparams)} for each trial")

    def _hint(self, got, expected, case, names):
        normal = (lambda trials: trials) if self.ordered else _sorted_trials
        hint = matching_hint(self.mistakes, got, expected,
                             run=lambda fn: self.select(self.run_reference(case, fn))[0],
                             same=lambda a, b: _same_trials(normal(a), normal(b)))
        if hint is not None:
            return HINT + hint
        if self.ordered and len(got) > 1 and all(_same_trials([(hp, 0.0)], [(got[0][0], 0.0)]) for hp, _ in got):
            return HINT + SAME_EVERY_TRIAL
        return ""


SAME_EVERY_TRIAL = ("every trial has the same hyperparameters: draw new values for every trial, inside the "
                    "loop, from the rng you were given (sampler(rng)), and store a new dict for each trial")


def _sorted_trials(trials):
    return sorted(trials, key=lambda t: (tuple(str(t[0][k]) for k in sorted(t[0])), t[1]))


def _same_trials(a, b):
    return len(a) == len(b) and all(
        hp_a.keys() == hp_b.keys() and all(_values_equal(hp_a[k], hp_b[k]) for k in hp_a)
        and compare(s_a, s_b, "") is None for (hp_a, s_a), (hp_b, s_b) in zip(a, b, strict=True))
