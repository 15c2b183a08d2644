"""Copy detection: each graded function's answers compared with its sources and with each other.

For every graded function of an assignment (each test cell's check, :func:`.verify.graded_checks`)
each student's answer is compared with 1. the reference (the ``introdl`` function the check
compares with, and the ``introdl`` helpers it calls), 2. the answer of the solution notebook,
3. every other student's answer, and 4. the files an instructor put in a ``known`` folder (public
solutions: ``.py`` files, and notebooks whose code cells are read).

The comparison is copydetect's, the MOSS method: the code is tokenised with pygments and
normalised (every identifier becomes ``V``, every string ``S``; comments, docstrings and layout
are dropped), and every ``K`` consecutive characters of what is left (a k-gram) are a
fingerprint. What is compared of an answer is its cell without the function's signature and
docstring (:func:`answer_code`), and without the k-grams of the release's cell (the starter
code, ``raise NotImplementedError()``), as boilerplate. A match is scored by the share of an
answer's normalised code that the other document holds too (copydetect's similarity); a pair
of students by the larger of their two shares. Matches at ``THRESHOLD`` or above are flagged:
evidence for a person to review, never a change of a score or a status.

``K``, ``WINDOW``, ``THRESHOLD`` and ``MIN_LENGTH`` are measured on the course's own functions
by :mod:`.similarity_calibration`.
"""

import ast
import inspect
import io
import textwrap
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from copydetect import CodeFingerprint
from copydetect.utils import get_token_coverage
from IPython.core.inputtransformer2 import TransformerManager

from ..checks import REGISTRY
from . import gradebook
from .cells import grade_id, is_answer, is_test_cell
from .execute import InvalidNotebook, read_submission
from .similarity_report import write_csv, write_html
from .submission import find_submissions, submitted_notebook
from .verify import graded_checks

# Measured by similarity_calibration.calibrate() (README, "Copy detection"); tests/test_similarity.py
# checks that the calibration still gives these numbers.
K = 12  # the shortest match that counts, in normalised characters (copydetect's noise threshold)
WINDOW = 1  # winnowing window: 1 keeps every k-gram, so any match of K characters is found, whatever the hash seed
THRESHOLD = 0.8  # the share of an answer found in another document from which a match is flagged
MIN_LENGTH = 60  # answers with less normalised code than this are too short to tell apart

STARTER = "# YOUR CODE HERE\nraise NotImplementedError()"  # nbgrader's stand-in for a solution: boilerplate
MAX_KNOWN_BYTES = 2 * 2**20  # a known file larger than this is skipped
MAX_PROBLEMS = 500  # lines of skipped input kept for the report


@dataclass(eq=False)
class Document:
    """One piece of code as compared: its text and its fingerprints.

    ``masks[h]`` has a bit set for each normalised character that the k-grams of hash ``h``
    cover; ``length`` is the number of normalised characters that any fingerprint covers
    (boilerplate left out), copydetect's ``token_coverage``.
    """

    name: str  # a student's id, or a source's label ("introdl.optimizers.adam_update", "leaked/adam.py")
    kind: str  # "student", "reference", "solution" or "known"
    code: str
    print: CodeFingerprint
    masks: dict
    length: int

    @property
    def normalised(self):
        return self.print.filtered_code

    def share_in(self, other):
        """The share of this document's normalised code that ``other`` holds too (copydetect's similarity)."""
        covered = 0
        for h in self.print.hashes & other.print.hashes:
            covered |= self.masks[h]
        return covered.bit_count() / self.length if self.length else 0.0


def document(name, kind, code, *, boilerplate=frozenset(), k=None):
    """A :class:`Document` of ``code``, without the fingerprints in ``boilerplate`` (a set of hashes)."""
    k = k or K
    fingerprint = CodeFingerprint(f"{kind}.py", k, WINDOW, fp=io.StringIO(code), language="python")
    dropped = fingerprint.hashes & boilerplate
    if dropped:
        fingerprint.hashes -= dropped
        for h in dropped:
            del fingerprint.hash_idx[h]
        fingerprint.token_coverage = get_token_coverage(fingerprint.hash_idx, k, len(fingerprint.filtered_code))
    run, masks = (1 << k) - 1, {}
    for h, positions in fingerprint.hash_idx.items():
        mask = 0
        for i in positions:  # a k-gram that repeats may overlap itself
            mask |= run << int(i)
        masks[h] = mask
    return Document(name, kind, code, fingerprint, masks, int(fingerprint.token_coverage))


def boilerplate_hashes(*codes, k=None):
    """Every k-gram hash of ``codes`` (the release's answer cell), plus nbgrader's starter code."""
    hashes = set()
    for code in (*codes, STARTER):
        hashes |= CodeFingerprint("release.py", k or K, 1, fp=io.StringIO(code), language="python").hashes
    return frozenset(hashes)


# --- the code of an answer -----------------------------------------------------------------------


DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _parse(source):
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def python(source):
    """``(code, syntax tree)`` of a cell: IPython's syntax (``%magic``, ``!command``) made Python first when
    the source alone does not parse (as the notebook's kernel would); the tree is None when neither parses."""
    tree = _parse(source)
    if tree is None:
        try:
            transformed = TransformerManager().transform_cell(source)
        except Exception:  # noqa: BLE001 - IPython's transformers on malformed input
            return source, None
        tree = _parse(transformed)
        if tree is not None:
            return transformed, tree
    return source, tree


def _definition(tree, function):
    return next((node for node in (tree.body if tree else []) if isinstance(node, DEFINITIONS)
                 and node.name == function), None)


def defines(source, function):
    """True when ``source`` parses and defines ``function`` at top level."""
    return _definition(_parse(source), function) is not None


def _body(source, node):
    """A function's body without its docstring, dedented."""
    body, start = node.body, node.body[0].lineno
    first = body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        body, start = body[1:], first.end_lineno + 1  # the comments under the docstring are kept
    if not body:
        return ""
    if body[0].lineno > node.lineno:
        return textwrap.dedent("\n".join(source.splitlines()[start - 1:node.end_lineno])).strip("\n")
    return "\n".join(ast.get_source_segment(source, statement) or "" for statement in body)  # def f(x): return x


def function_body(source, function):
    """The body of ``function`` as defined in ``source`` (no signature, no docstring), or None."""
    node = _definition(_parse(source), function)
    return None if node is None else _body(source, node)


def answer_code(source, function):
    """What is compared of an answer cell: ``source`` with ``function``'s signature and docstring left out.

    The function's body is dedented, the rest of the cell (helpers, imports) kept. A cell
    that does not parse is kept whole: the release's boilerplate still drops what the
    student left unchanged.
    """
    node = _definition(_parse(source), function)
    if node is None:
        return source
    lines = source.splitlines()
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    parts = ["\n".join(lines[:start - 1]), _body(source, node), "\n".join(lines[node.end_lineno:])]
    return "\n".join(part.strip("\n") for part in parts if part.strip())


class FunctionCells:
    """Where a notebook's functions are: each code cell (not a test cell) parsed once.

    ``cell(function, answer_id)`` is the source of the last cell that defines ``function`` at
    top level (the definition that counts), else of the answer cell ``answer_id``, else None.
    """

    def __init__(self, nb):
        self.defining, self.by_id = {}, {}
        for cell in nb.cells:
            if cell.get("cell_type") != "code" or is_test_cell(cell):
                continue
            source, tree = python(cell.source)
            if grade_id(cell):
                self.by_id[grade_id(cell)] = source
            for node in tree.body if tree else []:
                if isinstance(node, DEFINITIONS):
                    self.defining[node.name] = source

    def cell(self, function, answer_id=None):
        return self.defining.get(function, self.by_id.get(answer_id))


def function_cell(nb, function, answer_id=None):
    """The source of the notebook's cell that holds ``function`` (see :class:`FunctionCells`)."""
    return FunctionCells(nb).cell(function, answer_id)


def reference_code(fn):
    """The reference's body and, after it, the bodies of the ``introdl`` helpers it calls by name
    (argument checks, ``introdl._checks``, left out: nothing a student writes); None without a source."""
    try:
        parts = [function_body(textwrap.dedent(inspect.getsource(fn)), fn.__name__)]
    except (OSError, TypeError):
        return None
    names = set(fn.__code__.co_names)
    for const in fn.__code__.co_consts:  # comprehensions and nested functions
        names |= set(getattr(const, "co_names", ()))
    for name in sorted(names):
        helper = fn.__globals__.get(name)
        module = getattr(helper, "__module__", None) or ""
        if inspect.isfunction(helper) and helper is not fn and module.startswith("introdl") \
                and module != "introdl._checks":
            parts.append(function_body(textwrap.dedent(inspect.getsource(helper)), helper.__name__))
    return "\n\n".join(part for part in parts if part)


# --- the graded functions and their sources ----------------------------------------------------


@dataclass(eq=False)
class Function:
    """One graded function of the assignment, its sources, and what the class answered."""

    check: str  # the check's name (REGISTRY), also the function's in the notebooks
    name: str  # the function's name in the notebook
    notebook: str  # the source notebook's file name
    answer_id: str | None  # the release's answer cell
    boilerplate: frozenset
    solution: Document | None = None
    sources: list = field(default_factory=list)  # Documents: reference, solution, known
    answers: list = field(default_factory=list)  # Documents of the students' answers long enough to compare
    blank: list = field(default_factory=list)  # students with no code of their own
    short: list = field(default_factory=list)  # students whose answer is shorter than MIN_LENGTH
    skipped: str = ""  # why the function is not compared at all


def graded_functions(course, assignment, *, k=None):
    """The graded functions of the assignment's source notebooks, each with its reference and solution
    (``k``: the k-gram length, default ``K``)."""
    import nbformat

    functions = []
    for source_path in course.source_notebooks(assignment):
        source_nb = nbformat.read(source_path, as_version=4)
        release_path = course.release_notebook(assignment, source_path.name)
        release_nb = nbformat.read(release_path, as_version=4) if release_path else None
        solutions = FunctionCells(source_nb)
        for _, check, name, _ in graded_checks(source_nb):
            answer = next((c for c in (release_nb.cells if release_nb else []) if is_answer(c)
                           and defines(c.source, name)), None)
            fn = Function(check, name, source_path.name, grade_id(answer) if answer is not None else None,
                          boilerplate_hashes(answer.source if answer is not None else "", k=k))
            reference = REGISTRY[check].reference
            code = reference_code(reference)
            if code:
                fn.sources.append(document(f"{reference.__module__}.{reference.__qualname__}", "reference", code,
                                           boilerplate=fn.boilerplate, k=k))
            solution = solutions.cell(name, fn.answer_id)
            if solution is not None:
                fn.solution = document(source_path.name, "solution", answer_code(solution, name),
                                       boilerplate=fn.boilerplate, k=k)
                fn.sources.append(fn.solution)
            functions.append(fn)
    return functions


@dataclass
class KnownFile:
    """A file of the known folder: its code, and the bodies of the functions it defines."""

    label: str
    code: str
    functions: dict


def read_known(folder):
    """``(KnownFile list, problems)``: the ``.py`` files and notebooks under ``folder``.

    A file that is not Python (another suffix, not UTF-8, a syntax error, a notebook that
    cannot be read or has no code that parses) is skipped, with the reason in ``problems``.
    Hidden folders (``.ipynb_checkpoints``, ``.git``) are not read.
    """
    folder = Path(folder)
    found, problems = [], []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        try:
            sources = _known_sources(path)
        except ValueError as err:
            problems.append(f"known file {relative}: {err}")
            continue
        functions = {node.name: _body(source, node) for source, tree in sources for node in tree.body
                     if isinstance(node, DEFINITIONS)}
        found.append(KnownFile(str(relative), "\n\n\n".join(source for source, _ in sources), functions))
    return found, problems


def _known_sources(path):
    """``[(code, syntax tree)]`` of a known file: the file, or a notebook's code cells that parse; else ValueError."""
    if path.suffix not in (".py", ".ipynb"):
        raise ValueError("not a Python file (.py) or a notebook (.ipynb)")
    if path.stat().st_size > MAX_KNOWN_BYTES:
        raise ValueError(f"larger than {MAX_KNOWN_BYTES // 2**20} MB")
    if path.suffix == ".ipynb":
        try:
            nb = read_submission(path)
        except InvalidNotebook as err:
            raise ValueError(str(err)) from None
        cells = [python(c.source) for c in nb.cells if c.get("cell_type") == "code" and c.source.strip()]
        cells = [(source, tree) for source, tree in cells if tree is not None]
        if not cells:
            raise ValueError("the notebook has no Python code that parses")
        return cells
    try:
        code = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    try:
        return [(code, ast.parse(code))]
    except (SyntaxError, ValueError, RecursionError) as err:
        raise ValueError(f"not Python ({type(err).__name__}: {str(err)[:120]})") from None


# --- the comparisons ---------------------------------------------------------------------------


@dataclass(eq=False)
class Match:
    """A flagged match: a student's answer and another document, for one graded function.

    ``score`` is the share of the student's answer found in a source, or for two students the
    larger of their two shares; ``shares`` are (the student's in the other, the other's in the student's).
    """

    function: Function
    student: Document
    other: Document
    score: float
    shares: tuple

    def partner(self, student):
        """The other side of the match, seen from ``student``."""
        return self.other if self.student.name == student else self.student

    def described(self, student):
        """``"<function>: <kind> <name>"`` of the other side, seen from ``student``."""
        other = self.partner(student)
        return f"{self.function.check}: {other.kind} {other.name}"


def compare(fn, threshold):
    """The flagged matches of one function: each answer against each source, each pair of answers."""
    matches = []
    for answer in fn.answers:
        for source in fn.sources:
            if source.length:
                share = answer.share_in(source)
                if share >= threshold:
                    matches.append(Match(fn, answer, source, share, (share, source.share_in(answer))))
    groups = {}  # answers with the same normalised code match wholly: compared once
    for answer in fn.answers:
        groups.setdefault(answer.normalised, []).append(answer)
    groups = list(groups.values())
    for i, group in enumerate(groups):
        for j, a in enumerate(group):
            matches += [Match(fn, a, b, 1.0, (1.0, 1.0)) for b in group[j + 1:]]
        for other in groups[i + 1:]:
            first, second = group[0].share_in(other[0]), other[0].share_in(group[0])
            if max(first, second) >= threshold:
                matches += [Match(fn, a, b, max(first, second), (first, second)) for a in group for b in other]
    return matches


@dataclass
class Flag:
    """What one student's matches say: the best one and how many there are."""

    student: str
    best: Match
    count: int

    @property
    def text(self):
        more = f" (+{self.count - 1} more)" if self.count > 1 else ""
        return f"{self.best.described(self.student)} {self.best.score:.2f}{more}"


@dataclass
class Similarity:
    """The result of a copy-detection pass over one assignment."""

    assignment: str
    threshold: float
    functions: list
    matches: list  # flagged, best first
    students: list  # the students whose notebooks were read
    problems: list  # input skipped, one line each
    known: list = field(default_factory=list)  # the known files read (labels)
    settings: dict = field(default_factory=lambda: {"k": K, "window": WINDOW, "min_length": MIN_LENGTH})
    when: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    report: Path | None = None
    pairs: Path | None = None
    recorded: list = field(default_factory=list)  # students whose flag is in the gradebook
    not_graded: list = field(default_factory=list)  # flagged students the gradebook has no result for

    @property
    def flags(self):
        """``{student: Flag}`` for every student with a match."""
        found = {}
        for match in self.matches:  # best first
            for side in (match.student, match.other):
                if side.kind == "student":
                    flag = found.get(side.name)
                    if flag is None:
                        found[side.name] = Flag(side.name, match, 1)
                    else:
                        flag.count += 1
        return found


def find_similar(course, assignment, submissions, *, known=None, threshold=None):
    """Read the class and compare every graded function's answers; returns a :class:`Similarity`."""
    threshold = THRESHOLD if threshold is None else threshold
    notebooks = course.source_notebooks(assignment)
    functions = graded_functions(course, assignment)
    problems, students = [], []
    known_files = []
    if known is not None:
        known_files, skipped = read_known(known)
        problems += skipped
    for fn in functions:
        reference = fn.solution or next((s for s in fn.sources if s.kind == "reference"), None)
        if reference is not None and reference.length < MIN_LENGTH:
            fn.skipped = (f"too short to tell apart: the {reference.kind}'s answer has {reference.length} "
                          f"characters of normalised code, under {MIN_LENGTH}")
            continue
        for item in known_files:
            code = item.functions.get(fn.name)
            label = f"{item.label} ({fn.name})" if code is not None else item.label
            fn.sources.append(document(label, "known", item.code if code is None else code,
                                       boilerplate=fn.boilerplate))
    for student, folder, problem in find_submissions(submissions):
        if problem:
            problems.append(f"{student}: not read: {problem}")
            continue
        students.append(student)
        for source in notebooks:
            path, _ = submitted_notebook(folder / assignment, source.name, len(notebooks) == 1)
            if not path.exists() and not path.is_symlink():
                problems.append(f"{student}: no {source.name}")
                continue
            try:
                nb = read_submission(path)
            except InvalidNotebook as err:
                problems.append(f"{student}: {source.name} not read: {err}")
                continue
            cells = FunctionCells(nb)
            for fn in functions:
                if fn.notebook == source.name and not fn.skipped:
                    _add_answer(fn, student, cells.cell(fn.name, fn.answer_id))
    matches = [match for fn in functions if not fn.skipped for match in compare(fn, threshold)]
    matches.sort(key=lambda m: (-m.score, m.function.check, m.student.name, m.other.name))
    if len(problems) > MAX_PROBLEMS:
        problems = [*problems[:MAX_PROBLEMS], f"... and {len(problems) - MAX_PROBLEMS} more"]
    return Similarity(assignment, threshold, functions, matches, students, problems,
                      known=[item.label for item in known_files])


def _add_answer(fn, student, cell):
    answer = None if cell is None else document(student, "student", answer_code(cell, fn.name),
                                                boilerplate=fn.boilerplate)
    if answer is None or not answer.length:
        fn.blank.append(student)
    elif answer.length < MIN_LENGTH:
        fn.short.append(student)
    else:
        fn.answers.append(answer)


def check_similarity(course, assignment, submissions, *, known=None, threshold=None, output=None, db_url=None):
    """The whole pass: compare, write the report and the CSV of pairs, and note each flag in the gradebook.

    ``output`` is the report's folder (default ``grading/similarity/<assignment>/``). Flags go
    to the status detail of the students the gradebook has a result for (``db_url``, default
    the course's), never into a score or a status; ``db_url=False`` leaves the gradebook alone.
    """
    result = find_similar(course, assignment, submissions, known=known, threshold=threshold)
    folder = Path(output) if output else course.grading / "similarity" / assignment
    folder.mkdir(parents=True, exist_ok=True)
    result.report, result.pairs = folder / "report.html", folder / "pairs.csv"
    if db_url is not False:
        notes = {student: (flag.text, flag.best.score) for student, flag in result.flags.items()}
        result.recorded, result.not_graded = gradebook.record_similarity(
            db_url or course.db_url, assignment, result.students, notes)
    write_html(result, result.report)
    write_csv(result, result.pairs)
    return result
