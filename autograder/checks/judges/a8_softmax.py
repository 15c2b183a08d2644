"""The judging classes of a8 (softmax), which a sealed bundle ships (see :mod:`..recorded`)."""

from ..core import ReferenceCheck, StudentError, compare, matches_numeric, numeric_grad, student_call
from ..helpers import own_function
from ..registry import HINT

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
        own_softmax = own_function(student_fn, "softmax", self.softmax)
        if own_softmax is not None:
            try:
                wrong = compare(student_call(own_softmax, (Z.copy(),), {}, self), facts["softmax"], "") is not None
            except StudentError:
                wrong = True
            if wrong:
                return SOFTMAX_WRONG
        cost = own_function(student_fn, "softmax_cross_entropy", self.cost)
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
