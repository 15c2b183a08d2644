"""The checks' judging classes that a sealed bundle ships (see :mod:`.recorded`).

Each class judges a student's output from its case and from :meth:`~.core.Check.facts`: the
live check computes those facts with the reference and the catalogued mistakes, which the
assignment's module passes in; a recorded check reads them from its record. No class here
imports ``introdl`` or an assignment's check module, and none holds an answer in code: an
expected output, and each known wrong one, is a fact.
"""

import copy

import numpy as np

from .core import (
    ATOL,
    RTOL,
    Case,
    Check,
    NotImplementedYet,
    ReferenceCheck,
    StudentError,
    compare,
    matches_numeric,
    numeric_grad,
    student_call,
)
from .helpers import describe, first_change, matching_hint
from .registry import HINT, REMARK

# --- a1: splits, diagnosis ------------------------------------------------------------------


class SplitSizesCheck(ReferenceCheck):
    """Sizes are numbers of examples: whole numbers, which the later cell slices with."""

    def judge_output(self, out, case):
        problem = super().judge_output(out, case)
        if problem is not None:
            return problem
        got, names = self.select(out)
        for name, size in zip(names, got, strict=True):
            if not isinstance(size, int | np.integer):
                return (f"{name} is {size!r}, a {type(size).__name__}: sizes count examples and must be "
                        "whole numbers (int), since train_dev_test_split slices with them. "
                        "round(x) gives an int, round(x, 0) and np.round(x) give floats")
        return None


class SplitCheck(ReferenceCheck):
    """Compares the six arrays of ``((X_train, Y_train), (X_dev, Y_dev), (X_test, Y_test))``."""

    def select(self, out):
        if not (isinstance(out, tuple | list) and len(out) == 3
                and all(isinstance(part, tuple | list) and len(part) == 2 for part in out)):
            raise StudentError("it should return ((X_train, Y_train), (X_dev, Y_dev), (X_test, Y_test)), "
                               f"got {describe(out)}")
        return tuple(a for part in out for a in part), self.outputs

    def __init__(self, name, *, split_sizes=None, **kw):
        super().__init__(name, **kw)
        self.split_sizes = split_sizes  # the reference split_sizes (live only: its sizes are a fact)

    def facts(self, case):
        X, _, ratios = case.args
        return {"sizes": tuple(int(n) for n in self.split_sizes(X.shape[1], ratios))}

    def judge_output(self, out, case):
        problem = super().judge_output(out, case)
        if problem is None or HINT in problem:
            return problem
        hint = self._what_the_parts_show(out, case, self.facts(case)["sizes"])
        return problem if hint is None else f"{problem}{HINT}{hint}"

    @staticmethod
    def _what_the_parts_show(out, case, expected):
        """A hint read from the student's parts themselves: their sizes, whether the labels followed
        their examples, and whether they are a valid shuffle that is only another draw. ``expected``: the
        reference's sizes."""
        X, Y, ratios = case.args
        m = X.shape[1]
        parts = [(np.asarray(Xp), np.asarray(Yp)) for Xp, Yp in out]
        if any(Xp.ndim != 2 or Xp.shape[0] != X.shape[0] or Yp.ndim != 2 or Yp.shape[1] != Xp.shape[1]
               for Xp, Yp in parts):
            return None
        sizes = tuple(Xp.shape[1] for Xp, _ in parts)
        if sizes != expected:
            return (f"your parts hold {sizes[0]}, {sizes[1]} and {sizes[2]} examples; for m = {m} and ratios "
                    f"{ratios} they should hold {expected[0]}, {expected[1]} and {expected[2]} "
                    "(split_sizes): if you call your own split_sizes, check that one first")
        column = {X[:, j].tobytes(): j for j in range(m)}  # the cases' columns are all distinct
        index = [column.get(np.ascontiguousarray(Xp[:, i], dtype=X.dtype).tobytes())
                 for Xp, _ in parts for i in range(Xp.shape[1])]
        if None in index or sorted(index) != list(range(m)):
            return None
        labels = np.hstack([Yp for _, Yp in parts])
        if not np.array_equal(labels, Y[:, index]):
            return ("the labels no longer belong to their examples: index X and Y with the same permutation "
                    "(X[:, idx] and Y[:, idx])")
        return ("your parts are a valid shuffle, but not the draw the notebook asks for: make exactly one "
                "random call, perm = rng.permutation(m), and cut perm in order (the test replays that draw, "
                "so rng.choice, np.random or a second call to rng give other numbers)")


class DiagnoseCheck(ReferenceCheck):
    """Compares the ``label`` of the diagnosis (a string or an object with ``.label``)."""

    def select(self, out):
        label = out if isinstance(out, str) else getattr(out, "label", out)
        return label, "the diagnosis"


# --- a6: hyperparameter search ---------------------------------------------------------------


def _replay(data):
    from .recorded import replay  # the record module builds on this one's classes

    return replay(data)


OWN_LOG_UNIFORM_WRONG = ("your sample_log_uniform does not pass its test yet, and sample_beta should call it: "
                         "fix sample_log_uniform first")


class BetaCheck(ReferenceCheck):
    """Also says when the student's own ``sample_log_uniform`` (which ``sample_beta`` should call)
    does not pass its test: then that one is the first thing to fix."""

    def __init__(self, name, *, helper=None, helper_record=None, **kw):
        super().__init__(name, **kw)
        # The check of sample_log_uniform: the live one, or rebuilt from its record in a sealed bundle.
        self.helper = helper if helper_record is None else _replay(helper_record)

    def options(self):
        from .recorded import record  # the record module builds on this one's classes

        cases = self.helper.cases(np.random.default_rng(0), False)
        return {**super().options(), "helper_record": record(self.helper, cases)}

    def judge(self, student_fn, case):
        problem = super().judge(student_fn, case)
        if problem is None:
            return None
        own = getattr(student_fn, "__globals__", {}).get(self.helper.name)
        if callable(own) and own is not self.helper.reference and not self._passes(own):
            # The catalogue's hint would blame sample_beta for what its helper does.
            return problem.partition(HINT)[0] + HINT + OWN_LOG_UNIFORM_WRONG
        return problem

    def _passes(self, fn):
        for case in self.helper.cases(np.random.default_rng(0), False):
            try:
                if self.helper.judge(fn, case) is not None:
                    return False
            except StudentError:
                return False
        return True


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


# --- a3: initialization ----------------------------------------------------------------------


def _spread_looks_right(params, layer_dims, scales):
    """Whether the weights have the stated spread (``scales[l - 1]`` for W{l}), judged loosely over all
    layers at once."""
    ratios = []
    for l in range(1, len(layer_dims)):
        W = params.get(f"W{l}")
        if np.shape(W) != (layer_dims[l], layer_dims[l - 1]):
            return False
        ratios.append(np.asarray(W, dtype=float).ravel() / scales[l - 1])
    z = np.concatenate(ratios)
    return z.size >= 6 and 0.5 < np.sqrt(np.mean(z**2)) < 2.0


def _scale_factors(params, expected, layer_dims):
    """``{l: factor}`` when each W{l} is the stated draw times one factor per layer, else None."""
    factors = {}
    for l in range(1, len(layer_dims)):
        W, W_ref = params.get(f"W{l}"), expected[f"W{l}"]
        if np.shape(W) != W_ref.shape or not np.any(W_ref):
            return None
        W = np.asarray(W, dtype=float)
        factor = float(np.sum(W * W_ref) / np.sum(W_ref * W_ref))
        if not np.allclose(W, factor * W_ref, rtol=1e-9, atol=0.0):
            return None
        factors[l] = factor
    return factors


class InitCheck(ReferenceCheck):
    """Exact comparison (the notebook states the draw); says whether the draw or only its scale differs.

    ``scale``: (method, n_prev, n) -> the stated scale of the weights (live only: the scales of a
    case's layers are a fact).
    """

    def __init__(self, name, *, scale=None, **kw):
        super().__init__(name, **kw)
        self.scale = scale

    def facts(self, case):
        dims, method = case.args[0], case.args[1] if len(case.args) > 1 else "he"
        if method == "zeros":
            return {"scales": None}
        return {"scales": [float(self.scale(method, dims[l - 1], dims[l])) for l in range(1, len(dims))]}

    def judge(self, student_fn, case):
        problem = super().judge(student_fn, case)
        if problem is None or HINT in problem:
            return problem
        method = case.args[1] if len(case.args) > 1 else "he"
        got = self.call(student_fn, case)
        dims = case.args[0]
        expected = self.select(self.run_reference(case))[0]
        factors = _scale_factors(got, expected, dims) if isinstance(got, dict) else None
        scales = self.facts(case)["scales"]
        if method != "zeros" and factors and any(not np.isclose(f, 1.0) for f in factors.values()):
            l = next(l for l, f in factors.items() if not np.isclose(f, 1.0))
            scale = scales[l - 1]
            return (f"{problem}{HINT}your weights are the stated draw, but with the wrong scale: W{l} "
                    f"(n_prev = {dims[l - 1]}, n_l = {dims[l]}) is the draw times {factors[l] * scale:.4g}, "
                    f"and method {method!r} multiplies it by {scale:.4g}. Check the formula of the scale "
                    "in the table (which n, and where the square root goes)")
        biases_zero = isinstance(got, dict) and all(
            np.shape(got.get(f"b{l}")) == (dims[l], 1) and not np.any(got[f"b{l}"]) for l in range(1, len(dims)))
        if method != "zeros" and biases_zero and _spread_looks_right(got, dims, scales):
            problem += (f"{HINT}the shapes and the spread of your weights look right, but the numbers are not the "
                        "stated draw: for l = 1, ..., L in this order, W = rng.standard_normal((n_l, n_prev)) * scale, "
                        "and no other call to rng (the test compares the exact numbers of that draw)")
        return problem


# --- a8: softmax -----------------------------------------------------------------------------


def _own(student_fn, name, reference=None):
    """The student's own function ``name`` (from the globals of ``student_fn``, as a notebook defines
    it), or None when there is none or it is ``reference`` itself (see ``helpers.own_function``)."""
    own = getattr(student_fn, "__globals__", {}).get(name)
    return own if callable(own) and own is not reference else None


CE_RIGHT = ("your softmax_cross_entropy is right on this case, so the error is in "
            "softmax_cross_entropy_backward")
FIX_COST_FIRST = ("dZ equals m times the numerical gradient of YOUR softmax_cross_entropy, but that cost is "
                  "wrong: fix softmax_cross_entropy first (see its test)")
SOFTMAX_WRONG = ("your softmax is wrong on this case (see its test); if softmax_cross_entropy_backward calls it, "
                 "fix softmax first")
BOTH_WRONG = ("your softmax_cross_entropy is wrong on this case too, and dZ does not match m times its "
              "numerical gradient either: fix softmax_cross_entropy first, then this test can say more")


class BackwardCheck(ReferenceCheck):
    """``dZ`` against the reference; on a mismatch, the student's own cost locates the error.

    ``softmax``, ``cost``: the reference softmax and softmax_cross_entropy (live only: their values
    on a case are facts).
    """

    def __init__(self, name, *, softmax=None, cost=None, **kw):
        super().__init__(name, **kw)
        self.softmax, self.cost = softmax, cost

    def facts(self, case):
        Z, Y = case.args
        return {"softmax": self.softmax(Z), "cost": self.cost(Z, Y)}

    def judge(self, student_fn, case):
        problem = super().judge(student_fn, case)
        if problem is None:
            return None
        problem, _, hint = problem.partition(HINT)
        note = self._locate(student_fn, case)
        # One hint line, so that the same finding on several cases is shown once.
        hint = f"{note}; {hint}" if note and hint else note or hint
        return problem + (HINT + hint if hint else "")

    def _locate(self, student_fn, case):
        """A note on where the error is, from the student's own softmax and cost; "" if none."""
        Z, Y = case.args
        facts = self.facts(case)
        own_softmax = _own(student_fn, "softmax", self.softmax)
        if own_softmax is not None:
            try:
                wrong = compare(student_call(own_softmax, (Z.copy(),), {}, self), facts["softmax"], "") is not None
            except StudentError:
                wrong = True
            if wrong:
                return SOFTMAX_WRONG
        cost = _own(student_fn, "softmax_cross_entropy", self.cost)
        if cost is None:
            return ""
        try:
            value = student_call(cost, (Z.copy(), Y.copy()), {}, self)
        except StudentError:
            return ""  # its own test says what is wrong with it
        if compare(value, facts["cost"], "the cost") is None:
            return CE_RIGHT
        got = self.call(student_fn, case)
        if matches_numeric(got, lambda: Z.shape[1] * numeric_grad(lambda z: float(cost(z, Y.copy())), Z), "dZ"):
            return FIX_COST_FIRST
        return BOTH_WRONG


# --- a5: mini-batches, optimizers ------------------------------------------------------------


def _same_values(a, b):
    """Equal structure and values within the checks' tolerance; NaN equals NaN (for mistakes)."""
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and all(
            _same_values(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) or isinstance(b, list | tuple):
        return (isinstance(a, list | tuple) and isinstance(b, list | tuple) and len(a) == len(b)
                and all(map(_same_values, a, b)))
    try:
        x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return x.shape == y.shape and bool(np.allclose(x, y, rtol=RTOL, atol=ATOL, equal_nan=True))


def _hint_text(mistakes, got, expected, run):
    """``HINT`` and the hint of the mistake that alone explains ``got``, or ""; outputs count as equal by
    :func:`_same_values` (NaN equal to NaN)."""
    hint = matching_hint(mistakes, got, expected, run=run, same=_same_values)
    return "" if hint is None else HINT + hint


OTHER_DRAW = ("every example is there once with its label, but in another order than the notebook's: the random "
              "calls differ from the one the notebook tells you to make, so the shuffle differs. Draw "
              "perm = rng.permutation(m) once (rng.choice, np.argsort(rng.random(m)) or np.random give other orders "
              "from the same seed), and the test can compare your batches with its own")


def _reshuffled(got, X, Y, batch_sizes):
    """Whether the batches hold the columns of X and Y in another order, each example once with its label.

    Parameters
    ----------
    got : tuple of ndarray
        ``(X_batch, Y_batch, X_batch, ...)`` as the student returned them.
    X, Y : ndarray (n_x, m), (n_y, m)
        The case's inputs; their columns are distinct.
    batch_sizes : list of int
        The right number of examples in each mini-batch.
    """
    try:
        Xs = np.concatenate([np.asarray(a, dtype=np.float64) for a in got[0::2]], axis=1)
        Ys = np.concatenate([np.asarray(a, dtype=np.float64) for a in got[1::2]], axis=1)
    except (TypeError, ValueError):
        return False
    if Xs.shape != X.shape or Ys.shape != Y.shape or [np.shape(a)[1] for a in got[0::2]] != batch_sizes:
        return False
    # Find each shuffled column (features and label together) among the original examples.
    examples, shuffled = np.vstack([X, Y]).T, np.vstack([Xs, Ys]).T
    found = [np.flatnonzero(np.all(examples == column, axis=1)) for column in shuffled]
    if any(len(f) != 1 for f in found):
        return False
    order = np.concatenate(found)
    m = X.shape[1]
    return np.array_equal(np.sort(order), np.arange(m)) and not np.array_equal(order, np.arange(m))


class MiniBatchCheck(ReferenceCheck):
    """Compares the list of ``(X_batch, Y_batch)`` pairs, batch by batch, with clear names."""

    def select(self, out):
        if not isinstance(out, list | tuple) or not all(isinstance(b, tuple | list) and len(b) == 2 for b in out):
            raise StudentError(f"it should return a list of (X_batch, Y_batch) pairs, got {describe(out)}")
        return tuple(a for batch in out for a in batch), tuple(
            f"{part} of mini-batch {i + 1}" for i in range(len(out)) for part in ("X_batch", "Y_batch"))

    def judge(self, student_fn, case):
        with np.errstate(all="ignore"):  # comparing inf with inf must not warn
            return self._judge(student_fn, case)

    def _judge(self, student_fn, case):
        out = self.call(student_fn, case)
        got, names = self.select(out)
        expected, _ = self.select(self.run_reference(case))
        show = not case.hidden
        if len(got) != len(expected):
            m = case.args[0].shape[1]
            size = case.args[2] if len(case.args) > 2 else 64
            problem = f"it returned {len(got) // 2} mini-batches, expected {len(expected) // 2}"
            if show:
                parts = [f"{m // size} of {size}"] if m // size else []
                parts += [f"one of {m % size}"] if m % size else []
                problem += f" (m={m}, batch_size={size}: {' and '.join(parts)})"
        else:
            problem = compare(got, expected, names, rtol=self.rtol, atol=self.atol, show_values=show)
        if problem is None:
            return None
        hint = _hint_text(self.mistakes, got, expected, lambda fn: self.select(self.run_reference(case, fn))[0])
        if not hint and _reshuffled(got, case.args[0], case.args[1], [np.shape(a)[1] for a in expected[0::2]]):
            hint = HINT + OTHER_DRAW  # any other random call than the notebook's, catalogued or not
        return problem + hint


IN_PLACE = ("an update must not change its inputs: build new dicts and arrays "
            "(new_params[key] = params[key] - lr * ..., not params[key] -= ...), and return a new state")


class OptimizerCheck(Check):
    """An optimizer's update over several steps, with the state of the student's own init.

    Parameters
    ----------
    init : callable or None
        The reference ``*_init`` (live only); the student's function of the same name is looked
        up in the globals of the student's update.
    init_name : str
        Its name (by default ``init.__name__``).
    make_cases : callable (rng, hidden) -> list of Case with args ``(params, grads_per_step)``

    The facts of a case (computed live, recorded for a sealed bundle): ``start``, the reference
    init's state; ``trajectory``, ``(params, state)`` after each step of the reference from it;
    ``wrong``, each catalogued mistake's steps from the same start (up to the step where it
    raised, if it did).
    """

    def __init__(self, name, *, init=None, init_name=None, **kw):
        super().__init__(name, **kw)
        self.init = init
        self.init_name = init_name or init.__name__

    def options(self):
        return {**super().options(), "init_name": self.init_name}

    def facts(self, case):
        (params, grad_steps), _ = case.inputs()
        wrong = {}
        for mistake in self.mistakes:
            wrong[mistake.key] = self._trajectory(mistake.fn, case)
        return {"start": self.init(copy.deepcopy(params)), "trajectory": self._trajectory(self.reference, case),
                "wrong": wrong}

    def _start(self, student_fn, params, expected):
        """(state to start from, note for the messages); ``expected``: the reference init's state."""
        init = getattr(student_fn, "__globals__", {}).get(self.init_name)
        if init is None or init is self.init:
            return expected, ""
        note = (f"{REMARK}your {self.init_name} does not pass its test, so the steps started from the "
                f"reference's {self.init_name}: fix that one first")  # said once per report
        if not callable(init):
            return expected, note
        try:
            state = student_call(init, (copy.deepcopy(params),), {}, self)
        except StudentError:
            return expected, note
        if compare(state, expected, "state") is not None:
            return expected, note
        return state, ""

    def _trajectory(self, fn, case):
        """(params, state) after each step of ``fn``, from the reference init; the steps up to the
        one where ``fn`` raised, if it did (live only)."""
        (params, grad_steps), kwargs = case.inputs()
        state, out = self.init(params), []
        with np.errstate(all="ignore"):
            for grads in grad_steps:
                try:
                    params, state = fn(params, grads, state, **kwargs)
                except Exception:  # noqa: BLE001 - a mistake that cannot run further is matched on fewer steps
                    break
                out.append(copy.deepcopy((params, state)))
        return out

    def _hint(self, facts, got_steps):
        steps = len(got_steps)
        wrong = {id(m.fn): facts["wrong"][m.key] for m in self.mistakes}

        def run(fn):
            if len(wrong[id(fn)]) < steps:
                raise LookupError("the mistake did not run this far")  # as a mistake that raises: no match
            return wrong[id(fn)][:steps]

        return _hint_text(self.mistakes, got_steps, facts["trajectory"][:steps], run)

    def judge(self, student_fn, case):
        with np.errstate(all="ignore"):  # comparing inf with inf must not warn
            return self._judge(student_fn, case)

    def _judge(self, student_fn, case):
        (params, grad_steps), kwargs = case.inputs()
        facts = self.facts(case)
        state, note = self._start(student_fn, params, facts["start"])
        got_steps, n = [], len(grad_steps)
        for step, grads in enumerate(grad_steps, start=1):
            inputs = {"params": params, "grads": grads, "state": state}
            before = copy.deepcopy(inputs)
            try:
                out = student_call(student_fn, (params, grads, state), dict(kwargs), self)
            except NotImplementedYet:
                raise
            except StudentError as err:
                raise StudentError(f"{err} (at step {step} of {n}){note}") from None
            changed = next(filter(None, (first_change(before[k], inputs[k], k, scalars=True) for k in inputs)), None)
            if changed:
                return f"at step {step} of {n} your function changed its input {changed} in place{HINT}{IN_PLACE}"
            if not isinstance(out, tuple | list) or len(out) != 2:
                raise StudentError(f"it should return 2 values (params, state), got {describe(out)}")
            params, state = out
            problem = self.wrong_dtype((params, state), ("params", "state"))
            if problem:
                return f"after step {step} of {n}: {problem}"
            ref_params, ref_state = facts["trajectory"][step - 1]
            got_steps.append(copy.deepcopy((params, state)))
            # The state first: the parameters are computed from it.
            problem = compare((state, params), (ref_state, ref_params), ("state", "params"),
                              show_values=not case.hidden)
            if problem:
                return f"after step {step} of {n}: {problem}{note}{self._hint(facts, got_steps)}"
        return None


# --- a4: gradient checking --------------------------------------------------------------------


class NumericalGradientCheck(ReferenceCheck):
    """Compares with the reference, then checks that ``theta`` was left as it was given (in this
    order, so that a theta left perturbed, which also shifts the gradient, gets its hint)."""

    def judge(self, student_fn, case):
        args, kwargs = case.inputs()
        before = copy.deepcopy((args, kwargs))
        got = student_call(student_fn, args, kwargs, self)
        problem = self.judge_output(got, case)
        if problem is None:
            changed = self.changed_input(before, (args, kwargs))
            return None if changed is None else f"the gradient is right, but {changed}"
        return problem


_FLOOR, _RTOL = 1e-6, 1e-4


def _same_difference(got, expected):
    """Equal within a relative 1e-4, or both round-off noise: below 1e-6 and not exactly 0 (a numerical
    gradient never matches backprop to the last bit, so an exact 0 means nothing was compared)."""
    got, expected = float(got), float(expected)
    if not np.isfinite(got):
        return False
    if abs(got - expected) <= _RTOL * abs(expected):
        return True
    return abs(got) < _FLOOR and abs(expected) < _FLOOR and (got == 0) == (expected == 0)


def _fmt(x):
    return f"{float(x):.3e}"


def _compare_reports(got, expected, *, show):
    """None when two (difference, per_parameter) pairs agree, else a message."""
    (g_diff, g_per), (e_diff, e_per) = got, expected
    if not isinstance(g_per, dict):
        return f"report.per_parameter should be a dict {{key: relative difference}}, got {describe(g_per)}"
    if set(g_per) != set(e_per):
        return f"report.per_parameter has keys {sorted(g_per)}, expected the parameters' names {sorted(e_per)}"
    for key in e_per:
        try:
            same = _same_difference(g_per[key], e_per[key])
        except (TypeError, ValueError):
            return f"report.per_parameter[{key!r}] should be a number, got {describe(g_per[key])}"
        if not same:
            return (f"report.per_parameter[{key!r}] is {_fmt(g_per[key])}, expected {_fmt(e_per[key])}" if show
                    else f"report.per_parameter[{key!r}] is wrong")
    try:
        same = _same_difference(g_diff, e_diff)
    except (TypeError, ValueError):
        return f"report.difference should be a number, got {describe(g_diff)}"
    if not same:
        return (f"report.difference is {_fmt(g_diff)}, expected {_fmt(e_diff)}" if show
                else "report.difference is wrong")
    return None


def _fields(report):
    """(difference, per_parameter) of a report object or dict."""
    if isinstance(report, dict):
        if "difference" in report and "per_parameter" in report:
            return report["difference"], report["per_parameter"]
    elif hasattr(report, "difference") and hasattr(report, "per_parameter"):
        return report.difference, report.per_parameter
    raise StudentError("it should return a report with the fields difference and per_parameter, for example "
                       f"dl.GradCheckReport(difference, per_parameter, worst_entry, eps); got {describe(report)}")


IN_PLACE_PARAMS = ("perturb a copy, never the caller's arrays (the caller goes on training with params): "
                   "theta, spec = dict_to_vector(params) is a new vector, and vector_to_dict(theta, spec) builds "
                   "new arrays. Restoring by arithmetic (+eps, then -2 eps, then +eps) does not give back the same "
                   "numbers, since every addition rounds to the nearest float")
IN_PLACE_GRADS = "leave grads as it was given: flatten copies of its arrays, do not change them"


def _uses(fn, name):
    """Whether ``fn`` calls the global ``name``, itself or through the other functions of its namespace
    that it calls (a notebook's helper such as ``parts``), lambdas and inner functions included."""
    namespace = getattr(fn, "__globals__", {})
    seen, todo = set(), [getattr(fn, "__code__", None)]
    while todo:
        code = todo.pop()
        if code is None or code in seen:
            continue
        seen.add(code)
        if name in code.co_names:
            return True
        todo += [const for const in code.co_consts if hasattr(const, "co_names")]
        todo += [getattr(namespace.get(n), "__code__", None) for n in code.co_names]
    return False


def _in_place(before, after):
    """A message when gradient_check changed ``params`` or ``grads`` in place, else None.

    Parameters
    ----------
    before, after : tuple (cost_fn, params, grads)
        The arguments before (a deep copy) and after the student's call.
    """
    for name, i, hint in (("params", 1, IN_PLACE_PARAMS), ("grads", 2, IN_PLACE_GRADS)):
        changed = first_change(before[i], after[i], name)
        if changed is None:
            continue
        key = changed[len(name):].strip("[]'\"")
        old, new = before[i].get(key), after[i].get(key)
        tiny = (isinstance(old, np.ndarray) and isinstance(new, np.ndarray) and old.shape == new.shape
                and np.allclose(new, old, rtol=1e-12, atol=0))
        how = " (in the last digits only)" if tiny else ""
        return f"your gradient_check changed {changed} in place{how}{HINT}{hint}"
    return None


def _passes_own_test(spec, fn):
    """Whether ``fn`` is right on cases like the visible ones of ``spec`` (a helper's check)."""
    for case in spec.cases(np.random.default_rng(0), False):
        try:
            if spec.judge(fn, case) is not None:
                return False
        except StudentError:
            return False
    return True


class GradientCheckCheck(Check):
    """Judges the report's ``difference`` and ``per_parameter`` against the reference's.

    The notebook tells the student to build ``gradient_check`` from their own ``dict_to_vector``,
    ``vector_to_dict``, ``numerical_gradient`` and ``relative_difference``. On a wrong report, the
    helpers that the student's function calls (found by name in its globals, as in a notebook) are
    tried on their own tests' cases, so that the message names a wrong helper, or says that the
    helpers are right and the error is in ``gradient_check`` itself.
    """

    def __init__(self, name, *, helpers=(), helper_records=None, **kw):
        super().__init__(name, **kw)
        # The helpers' checks: the live ones, or rebuilt from their records in a sealed bundle.
        self.helpers = tuple(helpers) if helper_records is None else tuple(map(_replay, helper_records))

    def options(self):
        from .recorded import record  # the record module builds on this one's classes

        return {**super().options(), "helper_records": [
            record(spec, spec.cases(np.random.default_rng(0), False)) for spec in self.helpers]}

    def select(self, out):
        """(difference, per_parameter) of a report (a recorded report is kept in this form)."""
        return _fields(out), None

    def judge(self, student_fn, case):
        args, kwargs = case.inputs()
        before = copy.deepcopy(args)
        got = _fields(student_call(student_fn, args, kwargs, self))
        changed = _in_place(before, args)
        if changed:
            return changed
        problem = self.wrong_dtype(got, ("report.difference", "report.per_parameter"))
        if problem:
            return problem
        expected = self.select(self.run_reference(case))[0]
        problem = _compare_reports(got, expected, show=not case.hidden)
        if problem is None:
            return None
        hint = matching_hint(self.mistakes, got, expected, run=lambda fn: self.select(self.run_reference(case, fn))[0],
                             same=lambda a, b: _compare_reports(a, b, show=False) is None)
        note = self._blame(student_fn)
        # One hint line, so that the same finding on several cases is shown once.
        hint = f"{note}; {hint}" if note and hint else note or hint
        return problem if not hint else f"{problem}{HINT}{hint}"

    def _blame(self, student_fn):
        """Which of the student's own helpers is wrong, or that they are right; "" when none is used."""
        used = [spec for spec in self.helpers if _uses(student_fn, spec.name)
                and _own(student_fn, spec.name, spec.reference) is not None]
        wrong = [spec.name for spec in used if not _passes_own_test(spec, _own(student_fn, spec.name, spec.reference))]
        if wrong:
            one = len(wrong) == 1
            return (f"your gradient_check calls your {' and '.join(wrong)}, which {'is' if one else 'are'} wrong "
                    f"(see {'its test' if one else 'their tests'}): fix {'it' if one else 'them'} first")
        if used:
            one = len(used) == 1
            return (f"your {', '.join(spec.name for spec in used)} {'passes its test' if one else 'pass their tests'}, "
                    "so the error is in gradient_check itself")
        return ""


# --- a2: dropout --------------------------------------------------------------------------------

NO_SCALE = "the kept values equal A: did you forget to divide by keep_prob (inverted dropout)?"
TIMES_KEEP = ("the kept values are A * keep_prob: inverted dropout DIVIDES by keep_prob, so that "
              "the expected value of each unit stays the same")
INVERTED = ("units are kept with probability 1 - keep_prob: keep_prob is the probability of KEEPING a "
            "unit, so the mask is rng.random(A.shape) < keep_prob")
GLOBAL_RNG = ("two calls with the same rng seed gave different masks: draw the mask from the rng "
              "argument (rng.random(A.shape)), not from np.random")
MASK_SHAPE = ("the same units are dropped in every example (or the same examples in every unit): "
              "draw the mask with A's full shape, rng.random(A.shape)")
BACK_NO_SCALE = ("dA_prev equals dA on the kept units: the backward pass divides by keep_prob too, "
                 "exactly like the forward pass")
BACK_TIMES_KEEP = "dA_prev is dA * keep_prob on the kept units: divide by keep_prob, as in the forward pass"
NEW_MASK = ("the backward pass uses another mask than the forward pass: take the mask D saved in "
            "the cache, do not draw a new one")
NO_MASK = "the gradient was not masked: multiply dA by the mask D from the cache (dropped units get 0)"
WRONG_UNITS = "the gradient flows through the DROPPED units: multiply by D, not by 1 - D"


def _close(a, b):
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-9, atol=1e-12))


def _rate_tolerance(keep_prob, n):
    """About four standard deviations of the kept fraction of ``n`` independent units."""
    return 4 * np.sqrt(keep_prob * (1 - keep_prob) / n) + 1e-3


def _dropout_summary(A, out):
    """What dropout's judge reads of an output ``(A_out, cache)`` on inputs ``A`` without zeros:
    ``out`` (A_out), ``scale`` (A_out / A on the kept units when that is one number, else None)
    and ``rate`` (the kept fraction)."""
    A_out = np.asarray(out[0], dtype=np.float64)
    kept = A_out != 0
    ratio = A_out[kept] / A[kept]
    scale = float(ratio[0]) if ratio.size and np.allclose(ratio, ratio[0], rtol=1e-9) else None
    return {"out": A_out, "scale": scale, "rate": float(kept.mean())}


def _mask_problem(mask, keep_prob, facts, hints):
    """Problems of a keep mask (n, m) that only its statistics can show, or None."""
    n = mask.size
    if n < 1000:
        return None  # too few units to measure a rate
    rate, tol = mask.mean(), _rate_tolerance(keep_prob, n)
    rows, cols = mask.shape
    if rows > 1 and cols > 1 and (np.all(mask == mask[:, :1]) or np.all(mask == mask[:1, :])):
        return f"the mask is the same in every column or in every row{HINT}{hints.get('mask_per_unit', '')}"
    if abs(rate - keep_prob) <= tol:
        return None
    problem = f"it kept {rate:.1%} of the units, expected about keep_prob = {keep_prob:.0%}"
    # A catalogued mistake that keeps another fraction of the units, and about as many as this one.
    for key, wrong in facts["wrong"].items():
        if abs(wrong["rate"] - keep_prob) > tol and abs(rate - wrong["rate"]) <= tol and key in hints:
            return f"{problem}{HINT}{hints[key]}"
    return problem


def _forward_problem(A, keep_prob, out, facts, hints):
    """Check one output of a dropout forward pass by behaviour; None when it is right.

    ``facts``: the reference's and each catalogued mistake's output on the case, as
    :func:`_dropout_summary` reads them; ``hints``: mistake key -> hint.
    """
    if not isinstance(out, tuple | list) or len(out) != 2:
        raise StudentError(f"it should return 2 values (A_out, cache), got {describe(out)}")
    try:
        A_out = np.asarray(out[0], dtype=np.float64)
    except (TypeError, ValueError):
        return f"A_out should be a numeric array, got {type(out[0]).__name__}"
    if A_out.shape != A.shape:
        return f"A_out has shape {A_out.shape}, expected {A.shape} (the shape of A)"
    if not np.all(np.isfinite(A_out)):
        return "A_out contains NaN or infinity"
    kept = A_out != 0
    expected = facts["expected"]
    if keep_prob == 1:
        if _close(A_out, expected["out"]):
            return None
        problem = ("with keep_prob=1 every unit was dropped" if not kept.any() else
                   "with keep_prob=1 dropout must be the identity (A_out equal to A)")
        hint = next((hints[key] for key, wrong in facts["wrong"].items() if key in hints
                     and not _close(wrong["out"], expected["out"]) and _close(A_out, wrong["out"])), None)
        return problem if hint is None else f"{problem}{HINT}{hint}"
    if not kept.any():
        return "every unit was dropped (A_out is all zeros)"
    ratio = A_out[kept] / A[kept]
    if not np.allclose(ratio, expected["scale"], rtol=1e-9):
        problem = "the kept values should be A / keep_prob (and the dropped ones 0)"
        for key, wrong in facts["wrong"].items():
            if wrong["scale"] is not None and key in hints and np.allclose(ratio, wrong["scale"], rtol=1e-9):
                return f"{problem}{HINT}{hints[key]}"
        return problem
    return _mask_problem(kept, keep_prob, facts, hints)


class DropoutForwardCheck(Check):
    """Inverted dropout judged by behaviour: values, keep rate, mask shape, reproducibility.

    The facts of a case: the reference's output and each catalogued mistake's on the case's
    seed, as :func:`_dropout_summary` reads them (its values, the scale of the kept ones, the
    kept fraction); a wrong scale or rate gets the hint of the mistake that has it.
    """

    def facts(self, case):
        A = case.args[0]
        wrong = {}
        for mistake in self.mistakes:
            try:
                wrong[mistake.key] = _dropout_summary(A, self.run_reference(case, mistake.fn))
            except Exception:  # noqa: BLE001 - a mistake that cannot run on a case is not matched there
                continue
        return {"expected": _dropout_summary(A, self.run_reference(case)), "wrong": wrong}

    def judge(self, student_fn, case):
        A, keep_prob = case.args
        out = self.call(student_fn, case)
        problem = _forward_problem(A, keep_prob, out, self.facts(case), {m.key: m.hint for m in self.mistakes})
        if problem is None and keep_prob < 1:
            again = self.call(student_fn, case)  # a fresh generator with the same seed
            if not np.array_equal(np.asarray(out[0]) != 0, np.asarray(again[0]) != 0):
                problem = f"the mask is not reproducible{HINT}{GLOBAL_RNG}"
        return problem


class DropoutBackwardCheck(Check):
    """The gradient through dropout, with the mask of the forward pass.

    The cache comes from the student's own ``dropout_forward`` (found in the globals of the
    student's function) when that one behaves correctly on the case, else from the reference,
    so a wrong forward pass does not make a right backward pass fail. The facts of a case: the
    reference forward's cache, the reference's gradient with it, each catalogued mistake's
    gradient with it, and the forward check's facts (to judge the student's forward). With a
    forward whose mask is another than the reference's (another valid draw), the expected
    gradient is dA times the derivative of that forward in A, taken numerically (dropout is
    linear in A for a fixed seed, so the central difference is exact up to rounding).
    """

    def __init__(self, name, *, forward_check=None, forward_name="dropout_forward", **kw):
        super().__init__(name, **kw)
        self.forward_check = forward_check  # the live dropout_forward check (its facts are recorded)
        self.forward_name = forward_name

    def options(self):
        return {**super().options(), "forward_name": self.forward_name}

    def facts(self, case):
        dA, A, keep_prob = case.args
        forward_case = Case((A, keep_prob), seed=case.seed)
        _, cache = self.forward_check.run_reference(forward_case)
        wrong = {}
        for mistake in self.mistakes:
            try:
                wrong[mistake.key] = np.asarray(self.run_reference(Case((dA, cache)), mistake.fn), dtype=np.float64)
            except Exception:  # noqa: BLE001 - a mistake that cannot run on a case is not matched there
                continue
        return {"cache": cache, "expected": self.run_reference(Case((dA, cache))), "wrong": wrong,
                "forward": self.forward_check.facts(forward_case)}

    def _cache(self, student_fn, A, keep_prob, seed, facts):
        """(cache, keep mask, a note for messages saying where the cache came from, own forward or None)."""
        forward = _own(student_fn, self.forward_name, getattr(self.forward_check, "reference", None))
        if forward is None:
            note = ""
        else:
            # said once per report, not on every case
            note = (f"{REMARK}these cases used a cache from the reference {self.forward_name}, "
                    "since yours does not pass its test yet")
            try:
                out = student_call(forward, (A.copy(), keep_prob), {"rng": np.random.default_rng(seed)}, self)
                if _forward_problem(A, keep_prob, out, facts["forward"], {}) is None:
                    return out[1], np.asarray(out[0]) != 0, f" (with the cache of your {self.forward_name})", forward
            except StudentError:
                pass
        cache = facts["cache"]
        return cache, np.asarray(cache[0], dtype=bool), note, None

    def _own_gradient(self, forward, dA, A, keep_prob, seed, eps=1e-3):
        """dA times the derivative in A of the student's forward pass (central difference), or None."""
        try:
            plus, minus = (np.asarray(student_call(forward, (A + sign * eps, keep_prob),
                                                   {"rng": np.random.default_rng(seed)}, self)[0], dtype=np.float64)
                           for sign in (1.0, -1.0))
        except (StudentError, TypeError, ValueError, IndexError):
            return None
        return dA * (plus - minus) / (2 * eps)

    def judge(self, student_fn, case):
        dA, A, keep_prob = case.args
        facts = self.facts(case)
        cache, mask, source, forward = self._cache(student_fn, A, keep_prob, case.seed, facts)
        got = self.call(student_fn, Case((dA, cache)))
        expected = facts["expected"]
        if forward is not None and not np.array_equal(mask, np.asarray(facts["cache"][0], dtype=bool)):
            own = self._own_gradient(forward, dA, A, keep_prob, case.seed)
            if own is None:  # the student's forward cannot be differentiated here: use the reference's cache
                cache, mask, source = facts["cache"], np.asarray(facts["cache"][0], dtype=bool), ""
                got = self.call(student_fn, Case((dA, cache)))
            else:
                expected = own
        problem = compare(got, expected, "dA_prev", show_values=not case.hidden)
        if problem is None:
            return None
        problem += source
        hints = {m.key: m.hint for m in self.mistakes}
        hint = _backward_hint(np.asarray(got, dtype=np.float64), mask, keep_prob, facts["wrong"], hints)
        return problem if hint is None else f"{problem}{HINT}{hint}"


# Below this chance, a freshly drawn mask that keeps every unit is no explanation of an unmasked gradient.
UNLIKELY = 1e-6


def _backward_hint(g, mask, keep_prob, wrong, hints):
    """The hint for a wrong dropout gradient ``g`` when one mistake alone explains it, else None.

    Parameters
    ----------
    g : ndarray (n, m)
        The student's dA_prev.
    mask : ndarray of bool (n, m)
        The forward pass's keep mask.
    keep_prob : float
    wrong : dict
        Catalogued mistake key -> its gradient on the case (with the reference's cache).
    hints : dict
        Mistake key -> hint.
    """
    for key, out in wrong.items():
        if key not in ("no_mask", "new_mask") and key in hints and _close(g, out):
            return hints[key]
    unmasked = wrong.get("no_mask")  # dA / keep_prob: what a gradient without any mask gives
    if unmasked is None or g.shape != unmasked.shape:
        return None
    if _close(g, unmasked):
        # Unmasked: a new mask drawn in the backward pass would look the same if it kept every unit.
        return hints.get("no_mask") if keep_prob ** g.size < UNLIKELY else None
    nonzero = g != 0
    if not nonzero.all() and not np.array_equal(nonzero, mask) and np.allclose(g[nonzero], unmasked[nonzero],
                                                                            rtol=1e-9):
        return hints.get("new_mask")
    return None


# --- a7: batch normalization -------------------------------------------------------------------


REF_CACHE = ("your batchnorm_forward is missing or does not pass its test, so these cases used the "
             "reference's forward pass and cache (z_norm, gamma, inv_std, mode)")
OWN_CACHE = "with the cache of your batchnorm_forward"


class BatchnormBackwardCheck(Check):
    """``dZ, dgamma, dbeta`` with the cache of the student's own forward pass.

    Order of judgement on one case: the student's forward (when it is there and not the
    reference) makes the cache; the backward's output is compared with the reference
    gradients. On a mismatch, a wrong forward pass is named first (with the numerical
    gradients of that forward to tell whether the backward at least matches it); a right
    forward pass means the backward is at fault, and the catalogue names the likely mistake.

    The facts of a case: the reference forward's ``out``, ``running`` and ``cache``, the
    reference's gradients with that cache and each catalogued mistake's.
    """

    outputs = ("dZ", "dgamma", "dbeta")

    def __init__(self, name, *, forward=None, forward_name="batchnorm_forward", **kw):
        super().__init__(name, **kw)
        self.forward = forward  # the reference forward pass (live only)
        self.forward_name = forward_name

    def options(self):
        return {**super().options(), "forward_name": self.forward_name}

    def facts(self, case):
        dout = case.args[0]
        args, kwargs = self._forward_args(case)
        out, cache, running = self.forward(*args, **kwargs)
        wrong = {}
        for mistake in self.mistakes:
            try:
                with np.errstate(all="ignore"):
                    wrong[mistake.key] = mistake.fn(dout.copy(), cache)
            except Exception:  # noqa: BLE001 - a mistake that cannot run on a case is not matched there
                continue
        return {"forward": (out, running), "cache": cache, "expected": self.reference(dout.copy(), cache),
                "wrong": wrong}

    @staticmethod
    def _forward_args(case):
        _, Z, gamma, beta, running = case.args
        return (Z.copy(), gamma.copy(), beta.copy(), None if running is None else
                {k: v.copy() for k, v in running.items()}), dict(case.kwargs)

    def _student_forward(self, student_fn, case, facts):
        """(forward function, its cache, forward is right) or None when it is absent or fails."""
        forward = _own(student_fn, self.forward_name, self.forward)
        if forward is None:
            return None
        args, kwargs = self._forward_args(case)
        try:
            out = student_call(forward, args, kwargs, self)
        except StudentError:
            return None
        if not isinstance(out, tuple | list) or len(out) != 3:
            return None
        right = compare((out[0], out[2]), facts["forward"], ("out", "running")) is None
        return forward, out[1], right

    def _grads(self, student_fn, dout, cache):
        out = student_call(student_fn, (dout.copy(), cache), {}, self)
        if not isinstance(out, tuple | list) or len(out) != 3:
            raise StudentError(f"it should return 3 values (dZ, dgamma, dbeta), got {describe(out)}")
        return tuple(out)

    def _numeric(self, forward, case, dout):
        """(m dJ/dZ, dJ/dgamma, dJ/dbeta) of J = sum(dout * out) / m for the student's forward
        (run within :func:`~.core.matches_numeric`, which silences its warnings)."""
        args, kwargs = self._forward_args(case)
        Z, gamma, beta, running = args
        m = Z.shape[1]

        def J(Zx, gx, bx):
            out = forward(Zx, gx, bx, None if running is None else {k: v.copy() for k, v in running.items()},
                          **kwargs)
            return float(np.sum(dout * np.asarray(out[0], dtype=np.float64)))

        return (numeric_grad(lambda x: J(x, gamma, beta), Z),
                numeric_grad(lambda x: J(Z, x, beta), gamma) / m,
                numeric_grad(lambda x: J(Z, gamma, x), beta) / m)

    def judge(self, student_fn, case):
        dout = case.args[0]
        facts = self.facts(case)
        ref_cache, expected = facts["cache"], facts["expected"]
        show = not case.hidden
        own = self._student_forward(student_fn, case, facts)

        if own is not None and own[2]:
            try:
                got = self._grads(student_fn, dout, own[1])
            except StudentError as err:
                raise StudentError(f"{err} ({OWN_CACHE})") from None
            problem = compare(got, expected, self.outputs, show_values=show)
            if problem is None:
                return None
            return self._backward_problem(got, expected, problem, f" ({OWN_CACHE}, which is right)", facts)

        # The forward pass is missing or wrong: a backward written for the reference's cache
        # layout can still be judged on its own.
        ref_error, got = None, None
        try:
            got = self._grads(student_fn, dout, ref_cache)
        except StudentError as err:
            ref_error = err
        if got is not None and compare(got, expected, self.outputs) is None:
            return None
        if own is not None:
            forward, cache, _ = own
            try:
                got_own = self._grads(student_fn, dout, cache)
            except StudentError:
                got_own = None
            if got_own is not None:
                problem = compare(got_own, expected, self.outputs, show_values=show)
                if problem is None:
                    return None  # the forward's output is wrong but its cache is fine
                if matches_numeric(got_own, lambda: self._numeric(forward, case, dout), self.outputs):
                    return (f"{problem} ({OWN_CACHE}). Your batchnorm_backward matches the numerical "
                            "gradients of your batchnorm_forward, but that forward pass is wrong: fix "
                            "batchnorm_forward first (see its test)")
                return (f"{problem} ({OWN_CACHE}, which does not pass its test; your backward does not "
                        "match the numerical gradients of that forward either, so both need fixing: start with "
                        "batchnorm_forward, then this test can say more)")
        if ref_error is not None:
            if isinstance(ref_error, NotImplementedYet):  # nothing to say about the cache then
                raise ref_error
            raise StudentError(f"{ref_error}{REMARK}{REF_CACHE}")
        problem = compare(got, expected, self.outputs, show_values=show)
        return self._backward_problem(got, expected, problem, "", facts) + REMARK + REF_CACHE

    def _backward_problem(self, got, expected, problem, source, facts):
        """The mismatch message for a backward pass run on a right cache, with a hint when one fits
        (the catalogued mistakes' gradients with the reference cache are facts)."""
        problem += source + "; the error is in batchnorm_backward"
        wrong = {id(m.fn): m.key for m in self.mistakes}

        def run(fn):
            return facts["wrong"][wrong[id(fn)]]  # a mistake that raised is missing: no match

        hint = matching_hint(self.mistakes, got, expected, run=run,
                             same=lambda a, b: compare(a, b, self.outputs) is None)
        return problem if hint is None else f"{problem}{HINT}{hint}"


# --- a9: the project's final model ------------------------------------------------------------

NOT_REPRODUCIBLE = ("two calls with the same rng gave different models: draw every random number (initialization, "
                    "mini-batches, dropout) from the rng argument, e.g. pass rng=rng to "
                    "dl.initialize_parameters and dl.train; never np.random or a new default_rng()")
HIGH_BIAS = ("the model does not even fit its training data well (high bias): train longer, use a larger "
             "learning rate or a bigger network, or regularize less")
HIGH_VARIANCE = ("the model fits its training data but not the dev set (high variance): regularize more "
                 "(L2, dropout), stop early on the dev cost")
LEAK = ("the model does better on the dev set than on its own training set: did it train on the dev set? "
        "Train on X_train, Y_train only; X_dev, Y_dev are for early stopping and choices")
NO_RUNNING = ("the parameters use batch norm (gamma, beta) but no running statistics came with them: return "
              "the TrainResult of dl.train, whose bn_running holds them, or (params, bn_running)")


def _model(out):
    """(params, bn_running) from what final_model returned."""
    if hasattr(out, "params"):
        return out.params, getattr(out, "bn_running", None) or {}
    if isinstance(out, tuple | list) and len(out) == 2 and isinstance(out[0], dict):
        return out[0], out[1] or {}
    if isinstance(out, dict) and any(key.startswith("W") for key in out):
        return out, {}
    raise StudentError(f"it should return the TrainResult of dl.train (or (params, bn_running)), got {describe(out)}")


def _better_on_dev(dev_acc, train_acc, *, dev_size, train_size):
    """Whether a model does better on the dev set than on its training set by more than chance.

    A model that never saw the dev set scores there about what it scores on training data or less;
    by chance alone the dev accuracy may be higher by a few standard errors of the two measured
    accuracies (an underfit model at 25% on both differs by several points on 270 dev examples).
    A larger gap (at least 2 points) says the model has seen the dev set.
    """
    p = min(max(train_acc, 0.0), 1.0)
    noise = 3 * np.sqrt(p * (1 - p) * (1 / dev_size + 1 / train_size))
    return dev_acc - train_acc > max(0.02, noise)


class FinalModelCheck(Check):
    """Trains the student's final model and judges it on the dev set by behaviour only
    (reproducible, accurate enough, not trained on the dev set; see ``a9_project``).

    Parameters
    ----------
    predict : callable (X, params, *, bn_running) -> probabilities (C, m)
        ``introdl.predict_proba``: the forward pass of a trained network, which this judge does
        not hold. A sealed bundle supplies it to :func:`~.recorded.replay` (it is no graded
        function of the project).
    visible_threshold, hidden_threshold : float
        The dev accuracy the visible and the hidden cases ask for.
    """

    def __init__(self, name, *, predict=None, visible_threshold, hidden_threshold, **kw):
        super().__init__(name, **kw)
        self.predict = predict
        self.visible_threshold, self.hidden_threshold = visible_threshold, hidden_threshold

    def options(self):
        return {**super().options(), "visible_threshold": self.visible_threshold,
                "hidden_threshold": self.hidden_threshold}

    def _probs(self, model, X):
        params, bn_running = model
        L = sum(1 for key in params if key.startswith("W") and key[1:].isdigit())
        missing = [l for l in range(1, L) if f"gamma{l}" in params and l not in bn_running]
        if missing:
            raise StudentError(f"layer {missing[0]} has gamma{missing[0]} but no running statistics{HINT}{NO_RUNNING}")
        try:
            with np.errstate(all="ignore"):
                return self.predict(X, params, bn_running=bn_running)
        except Exception as err:  # noqa: BLE001 - parameters that do not fit the data
            raise StudentError(f"its parameters cannot classify the dev set ({type(err).__name__}: {err})") from None

    def judge(self, student_fn, case):
        X_train, Y_train, X_dev, Y_dev = case.args
        model = _model(self.call(student_fn, case))
        probs = self._probs(model, X_dev)
        if not case.hidden:
            again = self._probs(_model(self.call(student_fn, case)), X_dev)  # a fresh rng, same seed
            if probs.shape != again.shape or not np.allclose(probs, again, rtol=1e-7, atol=1e-10):
                return f"the model is not reproducible{HINT}{NOT_REPRODUCIBLE}"
        dev_acc = float(np.mean(probs.argmax(axis=0) == Y_dev.argmax(axis=0)))
        train_acc = float(np.mean(self._probs(model, X_train).argmax(axis=0) == Y_train.argmax(axis=0)))
        if _better_on_dev(dev_acc, train_acc, dev_size=X_dev.shape[1], train_size=X_train.shape[1]):
            return f"dev accuracy {dev_acc:.2%} but training accuracy only {train_acc:.2%}{HINT}{LEAK}"
        threshold = self.hidden_threshold if case.hidden else self.visible_threshold
        if dev_acc >= threshold:
            return None
        hint = HIGH_BIAS if train_acc < 0.99 else HIGH_VARIANCE
        return (f"dev accuracy {dev_acc:.2%} (training accuracy {train_acc:.2%}), below the {threshold:.1%} "
                f"this project asks for{HINT}{hint}")
