"""Calibrating copy detection on the course's own functions: ``K``, ``THRESHOLD``, ``MIN_LENGTH``.

A threshold is only as good as what honest work scores, and the course has honest work of its
own: every graded function's catalogued correct alternatives (``REGISTRY[name].alternatives``,
implementations written another way, which the catalogue test gives full marks). Each one is
compared, as a student's answer would be, with the reference (:func:`.similarity.reference_code`),
with the solution notebook's answer, and with the function's other alternatives: these are the
**honest** pairs. The **copies** are the solution's answer and the reference disguised as a copier
would (:func:`disguise`: names renamed, independent adjacent statements swapped, the rest of
the text as it was), compared with their original.

For a shortest answer length ``L`` and a ``k`` (the shortest match that counts), the honest
**floor** is the most similar honest pair among answers of ``L`` normalised characters or more,
and the copies' **ceiling** the least similar copy; their difference is the **gap**. ``MIN_LENGTH``
is the shortest candidate ``L`` at which some ``k`` leaves a gap of ``MIN_GAP`` or more (shorter
answers are one-line formulas that every correct student writes alike: not compared, listed
as such), ``K`` the ``k`` with the widest gap there, and ``THRESHOLD`` the middle of that gap,
to 0.05. ``WINDOW`` is 1, every k-gram a fingerprint: with a larger window, which k-grams are
kept depends on Python's per-process string hash seed, and so would a score near the threshold.

    python -m autograder.grading.similarity_calibration [--root COURSE]

prints the table behind the numbers of :mod:`.similarity` (recorded in README, "Copy detection").
"""

import ast
import builtins
import importlib
import inspect
import pkgutil
import random
import sys
import textwrap
import types
from dataclasses import dataclass, field

from .. import checks
from ..checks import REGISTRY
from . import similarity
from .similarity import document, function_body, graded_functions

CANDIDATE_K = (8, 10, 12, 15, 20, 25)
CANDIDATE_LENGTHS = (30, 40, 50, 60, 70, 80, 100)
MIN_GAP = 0.05
MODULE_NAMES = {"np", "numpy", "math", "introdl", "dl", "random", "itertools"}


# --- the catalogue's alternatives as code ------------------------------------------------------


def alternative_code(fn):
    """The code of a catalogued alternative as a student would write its body, or None.

    A function's body; a lambda's expression as ``return <expr>``; a function made by
    ``exec`` of a source string in a checks module (the optimizers' student-style pairs) is
    found in that string.
    """
    if fn.__name__ == "<lambda>":
        return _lambda_code(fn)
    try:
        return function_body(textwrap.dedent(inspect.getsource(fn)), fn.__name__)
    except (OSError, TypeError):
        return _exec_code(fn)


def _lambda_code(fn):
    try:
        lines, _ = inspect.findsource(fn)
    except OSError:
        return None
    source = "".join(lines)
    code = fn.__code__
    columns = {position[2] for position in code.co_positions() if position[0] == code.co_firstlineno}
    found = [node for node in ast.walk(ast.parse(source))
             if isinstance(node, ast.Lambda) and node.lineno == code.co_firstlineno]
    for node in found:
        if len(found) == 1 or node.body.col_offset in columns:
            return "return " + " ".join(ast.get_source_segment(source, node.body).split())
    return None


def _exec_code(fn):
    for info in pkgutil.iter_modules(checks.__path__):
        module = importlib.import_module(f"{checks.__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, str) and f"def {fn.__name__}(" in value:
                compiled = compile(value, "<catalogue>", "exec")
                for const in compiled.co_consts:
                    if isinstance(const, types.CodeType) and const.co_code == fn.__code__.co_code:
                        return function_body(value, fn.__name__)
    return None


# --- copies --------------------------------------------------------------------------------------


def disguise(code, seed=0):
    """``code`` (a function's body) as a copier might hand it in: every name it binds renamed (the
    parameters and globals it only reads keep theirs, as the signature does), then independent
    adjacent statements swapped; the rest of the text (layout, comments) as it was."""
    rng = random.Random(seed)
    tree = ast.parse(code)
    bound = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    names = sorted(bound | {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)})
    names = [n for n in names if n not in MODULE_NAMES and not hasattr(builtins, n)]
    new = {name: f"{rng.choice(['my', 'the', 'tmp', 'val', 'res'])}_{name[::-1].lower()}{i}"
           for i, name in enumerate(names)}
    edits = [(node.lineno, node.col_offset, node.end_col_offset, new[node.id]) for node in ast.walk(tree)
             if isinstance(node, ast.Name) and node.id in new]
    edits += [(node.lineno, node.col_offset, node.col_offset + len(node.arg), new[node.arg])
              for node in ast.walk(tree) if isinstance(node, ast.arg) and node.arg in new]
    lines = [line.encode() for line in code.split("\n")]
    for lineno, start, end, name in sorted(edits, reverse=True):
        lines[lineno - 1] = lines[lineno - 1][:start] + name.encode() + lines[lineno - 1][end:]
    return _reordered([line.decode() for line in lines])


def _reordered(lines):
    """``lines`` with every other pair of independent adjacent simple statements swapped (each on lines of its own)."""
    tree = ast.parse("\n".join(lines))
    swaps = []
    for node in ast.walk(tree):
        for block in ("body", "orelse", "finalbody"):
            statements = getattr(node, block, None)
            i = 0
            while isinstance(statements, list) and i + 1 < len(statements):
                a, b = statements[i], statements[i + 1]
                if _independent(a, b) and a.end_lineno < b.lineno and _whole_lines(lines, a, b):
                    swaps.append((a.lineno, a.end_lineno, b.lineno, b.end_lineno))
                    i += 2
                else:
                    i += 1
    for a_start, a_end, b_start, b_end in sorted(swaps, reverse=True):
        first, between, second = lines[a_start - 1:a_end], lines[a_end:b_start - 1], lines[b_start - 1:b_end]
        lines[a_start - 1:b_end] = second + between + first
    return "\n".join(lines)


def _whole_lines(lines, *statements):
    """True when each statement fills its lines (nothing but a comment shares them)."""
    for statement in statements:
        before = lines[statement.lineno - 1].encode()[:statement.col_offset]
        after = lines[statement.end_lineno - 1].encode()[statement.end_col_offset:].strip()
        if before.strip() or (after and not after.startswith(b"#")):
            return False
    return True


_SIMPLE = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr)


def _independent(a, b):
    if not (isinstance(a, _SIMPLE) and isinstance(b, _SIMPLE)):
        return False
    if isinstance(a, ast.Expr) and isinstance(a.value, ast.Constant):  # a docstring stays first
        return False
    reads_a, writes_a = _names(a)
    reads_b, writes_b = _names(b)
    return not (writes_a & (reads_b | writes_b) or writes_b & reads_a)


def _names(statement):
    """(names read, names written) by a simple statement; a method call counts as a write of its object."""
    reads = {n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    targets = getattr(statement, "targets", None) or [getattr(statement, "target", None)]
    writes = {_root(t) for t in targets if t is not None}
    writes |= {_root(n.func.value) for n in ast.walk(statement) if isinstance(n, ast.Call)
               and isinstance(n.func, ast.Attribute)}
    return reads, {w for w in writes if w} | {n.id for t in targets if t is not None for n in ast.walk(t)
                                               if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _root(node):
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Starred):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


# --- the measure ---------------------------------------------------------------------------------


@dataclass
class Pair:
    check: str
    first: str
    second: str
    score: float
    length: int  # the shorter compared answer's normalised characters (a reference is no answer)


@dataclass
class Measure:
    """Every honest pair and every copy at one ``k``."""

    k: int
    honest: list = field(default_factory=list)
    copies: list = field(default_factory=list)
    answer_lengths: dict = field(default_factory=dict)  # check: the solution's answer, normalised characters

    def counted(self, pairs, min_length):
        """The pairs of the functions and answers that are compared at ``min_length``."""
        return [p for p in pairs if self.answer_lengths[p.check] >= min_length and p.length >= min_length]

    def floor(self, min_length):
        """The most similar honest pair."""
        return max(self.counted(self.honest, min_length), key=lambda p: p.score)

    def ceiling(self, min_length):
        """The least similar copy."""
        return min(self.counted(self.copies, min_length), key=lambda p: p.score)

    def gap(self, min_length):
        return self.ceiling(min_length).score - self.floor(min_length).score


def measure(course, k):
    """The honest pairs and the copies of every graded function of the course that has a solution, at ``k``."""
    result = Measure(k)
    for assignment in course.assignments():
        for fn in graded_functions(course, assignment, k=k):
            if fn.solution is None:
                continue
            _measure_function(result, fn, k)
    return result


def _measure_function(result, fn, k):
    solution, spec = fn.solution, REGISTRY[fn.check]
    reference = next((s for s in fn.sources if s.kind == "reference"), None)
    result.answer_lengths[fn.check] = solution.length
    alternatives = []
    for i, alternative in enumerate(spec.alternatives, start=1):
        code = alternative_code(alternative)
        if code:
            alternatives.append(document(f"alternative {i}", "student", code, boilerplate=fn.boilerplate, k=k))
    for i, alt in enumerate(alternatives):
        if reference is not None:  # a student against the reference: the student's share
            result.honest.append(Pair(fn.check, alt.name, "reference", alt.share_in(reference), alt.length))
        for other in (solution, *alternatives[i + 1:]):  # two students: the larger share
            score = max(alt.share_in(other), other.share_in(alt))
            result.honest.append(Pair(fn.check, alt.name, other.kind if other is solution else other.name, score,
                                      min(alt.length, other.length)))
    copied = document("solution disguised", "student", disguise(solution.code), boilerplate=fn.boilerplate, k=k)
    result.copies.append(Pair(fn.check, copied.name, "solution",
                              max(copied.share_in(solution), solution.share_in(copied)),
                              min(copied.length, solution.length)))
    if reference is not None:
        pasted = document("reference disguised", "student", disguise(reference.code), boilerplate=fn.boilerplate,
                          k=k)
        result.copies.append(Pair(fn.check, pasted.name, "reference", pasted.share_in(reference), pasted.length))


@dataclass
class Calibration:
    k: int
    min_length: int
    threshold: float
    measures: dict  # k: Measure

    @property
    def chosen(self):
        return self.measures[self.k]

    @property
    def too_short(self):
        """The checks whose solution's answer is shorter than ``min_length``: not compared."""
        return sorted(c for c, n in self.chosen.answer_lengths.items() if n < self.min_length)


def calibrate(course, ks=CANDIDATE_K, lengths=CANDIDATE_LENGTHS):
    """The shortest answer length at which some k separates every copy from every honest pair by
    ``MIN_GAP``, the k with the widest gap there, and the threshold in the middle of the gap."""
    measures = {k: measure(course, k) for k in ks}
    for min_length in lengths:
        k = _widest(measures, min_length)
        if measures[k].gap(min_length) >= MIN_GAP:
            break
    else:
        raise ValueError(f"no k of {ks} separates honest pairs from copies at any length of {lengths}")
    m = measures[k]
    middle = (m.floor(min_length).score + m.ceiling(min_length).score) / 2
    return Calibration(k, min_length, round(middle * 20) / 20, measures)


def _widest(measures, min_length):
    """The k whose gap is the widest at ``min_length`` (the smaller k on a tie)."""
    return max(measures, key=lambda k: (round(measures[k].gap(min_length), 6), -k))


def report(calibration):
    """The calibration as text: the lengths tried, the candidates at the chosen one, the chosen numbers."""
    c = calibration
    lines = []
    for length in CANDIDATE_LENGTHS[:CANDIDATE_LENGTHS.index(c.min_length) + 1]:
        k = _widest(c.measures, length)
        short = "" if length == c.min_length else f", under {MIN_GAP}"
        lines.append(f"answers of {length} normalised characters or more: the widest gap is "
                     f"{c.measures[k].gap(length):+.3f} (k = {k}){short}")
    lines.append(f"at {c.min_length}:")
    lines.append(f"{'k':<4}{'honest floor: the most similar honest pair':<64}copies' ceiling: the least similar copy")
    for k, m in c.measures.items():
        floor, ceiling = m.floor(c.min_length), m.ceiling(c.min_length)
        honest = f"{floor.score:.3f} {floor.check}: {floor.first} ~ {floor.second}"
        lines.append(f"{k:<4}{honest:<64}{ceiling.score:.3f} {ceiling.check}: {ceiling.first}")
    m = c.chosen
    lines += [f"chosen: k = {c.k} (the widest gap, {m.gap(c.min_length):.3f}), window = {similarity.WINDOW}, "
              f"min length = {c.min_length}, threshold = {c.threshold:.2f} (the middle of the gap, to 0.05)",
              f"counted at k = {c.k}: {len(m.counted(m.honest, c.min_length))} of {len(m.honest)} honest pairs, "
              f"{len(m.counted(m.copies, c.min_length))} of {len(m.copies)} copies",
              f"too short to tell apart ({len(c.too_short)} of {len(m.answer_lengths)} functions): "
              f"{', '.join(c.too_short)}"]
    return "\n".join(lines)


def main(argv=None):
    from .course import load

    args = list(sys.argv[1:] if argv is None else argv)
    root = args[args.index("--root") + 1] if "--root" in args else None
    print(report(calibrate(load(root))))


if __name__ == "__main__":
    main()
