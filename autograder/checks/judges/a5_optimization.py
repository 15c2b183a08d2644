"""The judging classes of a5 (mini-batches, optimizers), which a sealed bundle ships (see :mod:`..recorded`)."""

import copy

import numpy as np

from ..core import ATOL, RTOL, Check, NotImplementedYet, ReferenceCheck, StudentError, compare, student_call
from ..helpers import describe, first_change, matching_hint
from ..registry import HINT, REMARK


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
