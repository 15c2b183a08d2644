"""The judging classes of a2 (dropout), which a sealed bundle ships (see :mod:`..recorded`)."""

import numpy as np

from ..core import Case, Check, StudentError, compare, student_call
from ..helpers import describe, own_function
from ..registry import HINT, REMARK

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
        forward = own_function(student_fn, self.forward_name, getattr(self.forward_check, "reference", None))
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
