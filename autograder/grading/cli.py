"""The ``autograder`` command: release, validate, roster, grade, similarity, check and export.

This layer only parses arguments and prints; the work is done by the modules of
:mod:`autograder.grading`, which the tests call directly.
"""

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..sandbox.bubblewrap import bubblewrap_prefix
from ..sandbox.policy import DEFAULTS, Limits
from . import course as courses
from . import export as exporting
from .execute import InvalidNotebook, read_submission
from .grade import default_workers, grade_class
from .release import ReleaseError, out_of_sync, release
from .roster import RosterError, import_roster, read_roster
from .sealed import SealError, build_bundle
from .selfcheck import check_notebook, verdict
from .submission import STATUSES
from .validate import validate

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Release (open or sealed), validate, grade, compare, self-check and export the course's "
                       "notebooks; import a roster.")
console = Console(highlight=False, soft_wrap=False)
errors = Console(stderr=True, highlight=False, soft_wrap=True)

Root = Annotated[Path | None, typer.Option(help="Course folder (with nbgrader_config.py); default: found from here.")]
Workers = Annotated[int | None, typer.Option(min=1, help="Notebooks graded at once (default: cores + 1).")]
Timeout = Annotated[float, typer.Option(min=1, help="Wall-clock seconds for a whole notebook.")]
CellTimeout = Annotated[float | None, typer.Option(min=1, help="Seconds per cell (default: nbgrader_config's).")]
Memory = Annotated[int, typer.Option(min=64, help="Address space of each process of student code, in MB; a "
                                     "submission's processes together get this plus 512 MB (its memory cgroup).")]
Gradebook = Annotated[str | None, typer.Option(help="SQLAlchemy URL (default: nbgrader_config's).")]
Submissions = Annotated[Path | None, typer.Option(
    exists=True, file_okay=False,
    help="The submissions folder, laid out as DIR / student / assignment / notebook.ipynb "
         "(nbgrader's submitted layout). Default: the course's grading/submitted.")]
Known = Annotated[Path | None, typer.Option(
    exists=True, file_okay=False, help="A folder of known solutions (.py files, notebooks) to compare with too.")]


def _course(root):
    try:
        return courses.load(root)
    except ValueError as err:
        _fail(str(err))


def _fail(message, code=1):
    errors.print(f"autograder: [red]error:[/red] {escape(message)}")
    raise typer.Exit(code)


def _assignments(course, names):
    known = course.assignments()
    unknown = [n for n in names if n not in known]
    if unknown:
        _fail(f"unknown assignment(s) {', '.join(unknown)}; known: {', '.join(known) or 'none'}")
    return list(names) or known


def _relative(path, root):
    try:
        return Path(path).resolve().relative_to(root)
    except ValueError:
        return Path(path)


@app.command("release")
def release_cmd(assignments: Annotated[list[str] | None, typer.Argument(help="Default: all.")] = None,
                check: Annotated[bool, typer.Option("--check", help="Only verify that course/ is in sync.")] = False,
                sealed: Annotated[Path | None, typer.Option(
                    "--sealed", metavar="OUT", help="Write a student bundle for a graded class into the new folder "
                    "OUT: course/, datasets and wheels without the reference of any locked assignment.")] = None,
                unlock: Annotated[list[str] | None, typer.Option(
                    "--unlock", metavar="ASSIGNMENT", help="With --sealed: ship this assignment's reference "
                    "(after its deadline). Repeat for more.")] = None,
                root: Root = None):
    """Build course/ from solutions/ with nbgrader (outputs stripped, hidden tests removed), or a sealed bundle."""
    if unlock and sealed is None:
        _fail("--unlock is for a sealed bundle: add --sealed OUT", code=2)
    if sealed is not None and (assignments or check):
        _fail("--sealed bundles every assignment of course/: give no assignment and no --check", code=2)
    if sealed is not None and sealed.exists() and (not sealed.is_dir() or any(sealed.iterdir())):
        _fail(f"{sealed} exists and is not an empty folder: give a new one", code=2)
    course = _course(root)
    names = _assignments(course, assignments or [])
    if sealed is not None:
        _assignments(course, unlock or [])
        _release_sealed(course, sealed, unlock or [])
        return
    try:
        if check:
            stale = out_of_sync(course, names)
            for path in stale:
                console.print(f"[red]out of sync:[/red] {path}")
            if stale:
                console.print(f"run `autograder release` to rebuild ({len(stale)} file(s) differ)")
                raise typer.Exit(1)
            console.print(f"course/ is in sync with solutions/ ({len(names)} assignment(s))")
            return
        for path in release(course, names):
            console.print(f"released {_relative(path, course.root)}")
    except ReleaseError as err:
        _fail(str(err))


def _release_sealed(course, out, unlock):
    started = time.perf_counter()
    try:
        with console.status(f"building the sealed bundle in {out}"):
            bundle = build_bundle(course, out, unlock=unlock)
    except SealError as err:
        _fail(str(err))
    seconds = time.perf_counter() - started
    console.print(f"sealed bundle: {escape(str(bundle.path))} ({bundle.size / 1e6:.2f} MB, {seconds:.0f} s)",
                  soft_wrap=True)
    console.print(f"locked: {', '.join(bundle.locked) or 'none'}", soft_wrap=True)
    console.print(f"unlocked (reference included): {', '.join(bundle.unlocked) or 'none'}", soft_wrap=True)


@app.command("validate")
def validate_cmd(assignments: Annotated[list[str] | None, typer.Argument(help="Default: all.")] = None,
                 workers: Workers = None, timeout: Timeout = 900, cell_timeout: CellTimeout = None,
                 memory: Memory = DEFAULTS.memory_mb, root: Root = None):
    """Every solution scores full marks; every blank release scores 0 with student messages only."""
    course = _course(root)
    names = _assignments(course, assignments or [])
    limits = Limits(memory_mb=memory, timeout=timeout, cell_timeout=cell_timeout or course.cell_timeout)
    with console.status(f"validating {len(names)} assignment(s)"):
        checks = validate(course, names, limits=limits, workers=workers or default_workers())
    for item in checks:
        mark = "[green]ok[/green]    " if not item.problems else "[red]FAILED[/red]"
        expected = "full marks" if item.kind == "solution" else "0, student messages only"
        manual = f"; graded by hand: {', '.join(item.manual)}" if item.manual else ""
        console.print(f"{mark} {item.assignment}/{item.notebook} {item.kind}: "
                      f"{item.score:g} of {item.max_score:g} points (expected {expected}{manual})", soft_wrap=True)
        for problem in item.problems:
            console.print(f"         {escape(problem)}", soft_wrap=True)
    if any(item.problems for item in checks):
        raise typer.Exit(1)


@app.command("grade")
def grade_cmd(assignment: Annotated[str, typer.Argument(help="The assignment, e.g. a1_splits.")],
              submissions: Submissions = None,
              workers: Workers = None, timeout: Timeout = DEFAULTS.timeout, cell_timeout: CellTimeout = None,
              memory: Memory = DEFAULTS.memory_mb,
              sandbox: Annotated[bool, typer.Option(
                  "--sandbox/--no-sandbox", help="Run student code in bubblewrap (hidden solutions, gradebook "
                  "and submissions; no network) where it is installed.")] = True,
              gradebook: Gradebook = None,
              scheduler: Annotated[str | None, typer.Option(
                  help="Address of a Dask scheduler, e.g. tcp://10.0.0.5:8786: the notebooks run on its workers "
                       "(--workers is then ignored); the gradebook is still written here.")] = None,
              similarity: Annotated[bool, typer.Option(
                  "--similarity", help="Then compare the answers for copies (as `autograder similarity`).")] = False,
              known: Known = None,
              root: Root = None):
    """Grade every student's submission in parallel, limited worker processes; record and print the grades."""
    if known and not similarity:
        _fail("--known is for the comparison: add --similarity", code=2)
    course = _course(root)
    _assignments(course, [assignment])
    submissions = _submissions(course, submissions)
    limits = Limits(memory_mb=memory, timeout=timeout, cell_timeout=cell_timeout or course.cell_timeout,
                    sandbox=sandbox)
    if sandbox and bubblewrap_prefix() is None:
        console.print("[yellow]warning:[/] the sandbox is unavailable (it needs bubblewrap, and setpriv when "
                      "grading as root), so student code runs without it: it could read solutions/ and the "
                      "gradebook. Install them (Debian/Ubuntu: apt-get install bubblewrap util-linux) "
                      "or pass --no-sandbox to silence this.", soft_wrap=True)
    db_url = _gradebook_url(course, gradebook)
    where = f" on {escape(scheduler)}" if scheduler else ""
    with Progress(TextColumn(f"grading {assignment}{where}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console, transient=True) as bar:
        task = bar.add_task("", total=None)
        try:
            results = grade_class(
                course, assignment, submissions, workers=workers, limits=limits, db_url=db_url, scheduler=scheduler,
                on_start=lambda n: bar.update(task, total=n),
                on_result=lambda r: bar.update(task, advance=1, description=f"{r.student}: {r.status}"))
        except (ReleaseError, RuntimeError, ValueError) as err:
            _fail(str(err))
    if not results:
        _fail(f"no student folders in {submissions}")
    table = Table(title=f"{assignment}: {len(results)} submission(s)")
    for name, justify in (("student", "left"), ("score", "right"), ("max", "right"), ("status", "left"),
                          ("detail", "left")):
        table.add_column(name, justify=justify, overflow="fold")
    for r in results:
        style = "" if r.status == "ok" else "red" if r.status == "error" else "yellow"
        table.add_row(escape(r.student), f"{r.score:.4g}", f"{r.max_score:g}", r.status, escape(r.detail[:160]),
                      style=style)
    console.print(table)
    for status in sorted({r.status for r in results} - {"ok"}, key=list(STATUSES).index):
        console.print(f"  {status}: {STATUSES[status]}", soft_wrap=True)
    console.print(f"feedback: {_relative(course.feedback, Path.cwd())}/<student>/{assignment}/*.html", soft_wrap=True)
    console.print(f"autograded: {_relative(course.autograded, Path.cwd())}/<student>/{assignment}/", soft_wrap=True)
    console.print(f"gradebook: {escape(db_url)}", soft_wrap=True)
    if similarity:
        _similarity(course, assignment, submissions, known=known, threshold=None, output=None, db_url=db_url)
    if any(r.status == "error" for r in results):
        raise typer.Exit(1)


@app.command("similarity")
def similarity_cmd(assignment: Annotated[str, typer.Argument(help="The assignment, e.g. a5_optimization.")],
                   submissions: Submissions = None, known: Known = None,
                   threshold: Annotated[float | None, typer.Option(
                       min=0.05, max=1.0, help="Flag a match from this share of an answer (default: the "
                       "calibrated one, see the report).")] = None,
                   output: Annotated[Path | None, typer.Option(
                       file_okay=False, help="Folder for report.html and pairs.csv "
                       "(default: grading/similarity/ASSIGNMENT).")] = None,
                   gradebook: Gradebook = None,
                   root: Root = None):
    """Compare each graded function's answers with the reference, the solution, each other and known files."""
    course = _course(root)
    _assignments(course, [assignment])
    submissions = _submissions(course, submissions)
    db_url = _gradebook_url(course, gradebook)
    _similarity(course, assignment, submissions, known=known, threshold=threshold, output=output, db_url=db_url)


def _gradebook_url(course, gradebook):
    return courses.resolve_db_url(gradebook, course.root) if gradebook else course.db_url


def _submissions(course, submissions):
    submissions = submissions or course.submitted
    if not submissions.is_dir():
        _fail(f"no submissions folder {submissions}: pass --submissions DIR, or collect into it "
              "(DIR / student / assignment / notebook.ipynb)", code=2)
    return submissions


def _similarity(course, assignment, submissions, **options):
    """Run the copy-detection pass and print its summary (the report has the code side by side)."""
    from .similarity import check_similarity  # imports copydetect (and matplotlib): only when asked

    with console.status(f"comparing the answers of {assignment}"):
        result = check_similarity(course, assignment, submissions, **options)
    flags = result.flags
    console.print(f"copy detection, {assignment}: {len(result.matches)} flagged pair(s) among "
                  f"{len(result.students)} student(s) (threshold {result.threshold:.2f})", soft_wrap=True)
    if result.matches:
        table = Table()
        for name, justify in (("score", "right"), ("function", "left"), ("student", "left"), ("matches", "left")):
            table.add_column(name, justify=justify, overflow="fold")
        for match in result.matches[:20]:
            table.add_row(f"{match.score:.2f}", escape(match.function.check), escape(match.student.name),
                          escape(f"{match.other.kind} {match.other.name}"))
        console.print(table)
    if len(result.matches) > 20:
        console.print(f"  ... and {len(result.matches) - 20} more pair(s)")
    skipped = [fn.check for fn in result.functions if fn.skipped]
    if skipped:
        console.print(f"not compared (too short to tell apart): {', '.join(skipped)}", soft_wrap=True)
    for problem in result.problems[:10]:
        console.print(f"[yellow]skipped:[/yellow] {escape(problem)}", soft_wrap=True)
    if len(result.problems) > 10:
        console.print(f"  ... and {len(result.problems) - 10} more (see the report)")
    console.print(f"{len(flags)} student(s) flagged: evidence for a person to review; no score or status changed. "
                  f"Flags recorded in the gradebook's status detail: {len(result.recorded)}"
                  + (f"; not graded yet: {', '.join(result.not_graded)}" if result.not_graded else ""), soft_wrap=True)
    console.print(f"report: {_relative(result.report, Path.cwd())}", soft_wrap=True)
    console.print(f"pairs: {_relative(result.pairs, Path.cwd())}", soft_wrap=True)


@app.command("check")
def check_cmd(notebook: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Your notebook.")],
              timeout: Timeout = DEFAULTS.timeout, cell_timeout: CellTimeout = None,
              memory: Memory = DEFAULTS.memory_mb,
              root: Root = None):
    """Run your notebook as the grader does and report each question: points, pass or fail, hints."""
    course = courses.load(root) if root else None
    limits = Limits(memory_mb=memory, timeout=timeout,
                    cell_timeout=cell_timeout or (course.cell_timeout if course else courses.DEFAULT_CELL_TIMEOUT))
    try:
        read_submission(notebook)
    except InvalidNotebook as err:
        _fail(f"{notebook} cannot be checked: {err}")
    with console.status(f"running {notebook.name}"):
        result = check_notebook(notebook, course=course, limits=limits)
    table = Table(title=f"{notebook.name}: {result.score:.4g} of {result.max_score:g} points")
    for name, justify in (("question", "left"), ("points", "right"), ("result", "left")):
        table.add_column(name, justify=justify)
    marks = {"passed": "[green]✓ passed[/green]", "partial": "[yellow]~ partial[/yellow]",
             "failed": "[red]✗ failed[/red]", "manual": "graded by hand"}
    for grade_id, cell in result.cells.items():
        points = "-" if cell.points is None else f"{cell.points:.3g}"
        table.add_row(escape(grade_id), f"{points} / {cell.max:g}", marks[verdict(cell)])
    console.print(table)
    if result.status != "ok":
        console.print(f"[yellow]status {result.status}:[/yellow] {escape(result.detail)}")
    for grade_id, cell in result.cells.items():
        if verdict(cell) in ("partial", "failed") and cell.message:
            console.print(f"\n[bold]{escape(grade_id)}[/bold]")
            console.print(cell.message, markup=False, soft_wrap=True)


@app.command("export")
def export_cmd(assignment: Annotated[str | None, typer.Option(help="Only this assignment.")] = None,
               fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
               output: Annotated[Path | None, typer.Option(help="File to write (default: print).")] = None,
               gradebook: Gradebook = None,
               root: Root = None):
    """One row per student and assignment: student, assignment, score, max_score, status, one column per question."""
    if fmt not in ("csv", "json"):
        _fail("--format must be csv or json", code=2)
    course = _course(root)
    db_url = _gradebook_url(course, gradebook)
    text = exporting.export(db_url, assignment=assignment, fmt=fmt, course=course)
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}")
    else:
        typer.echo(text, nl=False)


roster_app = typer.Typer(no_args_is_help=True,
                         help="Students' names and e-mails in the gradebook (formgrader shows them).")
app.add_typer(roster_app, name="roster")


@roster_app.command("import")
def roster_import_cmd(roster: Annotated[Path, typer.Argument(
                          exists=True, dir_okay=False, help="CSV with an id column and any of first_name, "
                          "last_name, email, lms_user_id (as `nbgrader db student import`).")],
                      gradebook: Gradebook = None,
                      root: Root = None):
    """Add the roster's students to the gradebook, or update their names; grading keeps them."""
    course = _course(root)
    db_url = _gradebook_url(course, gradebook)
    try:
        students = read_roster(roster)
    except RosterError as err:
        _fail(str(err))
    added, updated, unlisted = import_roster(db_url, students)
    console.print(f"imported {len(students)} student(s): {len(added)} new, {len(updated)} updated", soft_wrap=True)
    if unlisted:
        console.print(f"in the gradebook but not on the roster: {escape(', '.join(unlisted))}", soft_wrap=True)
    console.print(f"gradebook: {escape(db_url)}", soft_wrap=True)


def main(argv=None):
    """Entry point of the console script; returns the exit status.

    A usage error (a missing argument, an unknown option or command, a path that does not
    exist) is one line on stderr, with click's suggestion of the closest name, and exit code 2;
    no arguments at all print the help.
    """
    try:
        # Without standalone mode, click returns the code of an Exit instead of raising it.
        code = app(args=argv, prog_name="autograder", standalone_mode=False)
        return code if isinstance(code, int) else 0
    except typer.Exit as done:
        return done.exit_code
    except typer.Abort:
        return 130
    except typer.TyperException as err:  # click's exceptions (typer carries its own copy of click)
        if type(err).__name__ == "NoArgsIsHelpError":
            typer.echo(err.format_message())
            return 0
        if hasattr(err, "exit_code") and hasattr(err, "format_message"):
            typer.echo(f"autograder: error: {' '.join(err.format_message().split())}", err=True)
            return err.exit_code
        raise
