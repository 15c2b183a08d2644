"""The judging classes of a7 (batch normalization), which a sealed bundle ships (see :mod:`..recorded`)."""

import numpy as np

from ..core import Check, NotImplementedYet, StudentError, compare, matches_numeric, numeric_grad, student_call
from ..helpers import describe, matching_hint, own_function
from ..registry import HINT, REMARK

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
        forward = own_function(student_fn, self.forward_name, self.forward)
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
