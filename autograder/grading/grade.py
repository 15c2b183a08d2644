"""Grade a class: every submission in its own worker, in parallel, with one writer.

``grade_class`` finds ``DIR/<student>/<assignment>/<notebook>.ipynb`` (nbgrader's submitted
layout), runs the workers on a thread pool (threads only wait for their subprocesses), which
then render each notebook's feedback page in a limited process of its own
(:func:`.feedback.render_pages`), and in the calling thread, as each submission finishes: moves
its executed notebooks to ``autograded/<student>/<assignment>/``, records it in the gradebook,
and puts its feedback pages in ``feedback/<student>/<assignment>/`` (MathJax, for all of them, in
``feedback/_mathjax/``). Nothing is written outside the course's grading
folders; a folder name that is not a safe student id is refused and reported, not used.
"""

import itertools
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from ..sandbox import policy
from ..sandbox.policy import Limits, secret_paths, worker_env
from . import feedback, gradebook, prefork, release
from .distributed import ClusterPool
from .runner import NotebookResult
from .submission import SubmissionResult, find_submissions, grade_submission, zero_scores
from .workdir import NotebookFolder


def grade_class(course, assignment, submissions, *, workers=None, limits=None, db_url=None,
                on_start=None, on_result=None, scheduler=None, render_limits=None):
    """Grade every student folder in ``submissions``; returns the SubmissionResults by student.

    ``on_start(n)`` is called with the number of submissions, ``on_result(result)`` after each
    one is recorded (for a progress bar). ``scheduler``, a Dask scheduler's address, runs the
    notebooks on that cluster instead of here (:mod:`.distributed`); they are recorded here all the same,
    and their feedback pages are rendered here. ``render_limits``: the feedback renderer's limits
    (default :data:`autograder.sandbox.policy.FEEDBACK`).
    """
    limits = limits or Limits(cell_timeout=course.cell_timeout)
    db_url = db_url or course.db_url
    render_limits = render_limits or policy.FEEDBACK
    course.source_notebooks(assignment)  # an unknown assignment fails before anything is written
    for folder in (course.grading, course.autograded, course.feedback):
        folder.mkdir(parents=True, exist_ok=True)
    feedback.share_mathjax(course.feedback)  # the pages' math, offline (one copy for all of them)
    # First, so that it imports the workers' and the renderer's modules while the gradebook is prepared;
    # before the threads: workers and feedback renderers fork from it (no interpreter start each).
    prefork.start(worker_env())
    gradebook.prepare(db_url)
    registration = ThreadPoolExecutor(1)  # runs while the first notebooks do; joined before the first record
    registered = registration.submit(_register, course, assignment, db_url)
    registration.shutdown(wait=False)
    found = find_submissions(submissions)
    if on_start:
        on_start(len(found))
    results, rlimits = [], limits.rlimits()
    hidden = secret_paths(course, submissions, db_url)
    work = Path(tempfile.mkdtemp(prefix=".work-", dir=course.grading))
    try:
        if scheduler:
            pool = ClusterPool(scheduler, course, assignment, limits=limits, work=work)
        else:
            pool = ThreadPoolExecutor(max_workers=max(1, workers or default_workers()))
        with pool:
            futures, refused = {}, []
            for student, folder, problem in found:
                if problem:
                    refused.append(_unscored(course, assignment, student, "invalid_student", problem, problem))
                elif scheduler:  # the folder is sent as bytes; the worker's result comes back under work
                    futures[pool.submit(student, folder)] = student
                else:
                    futures[pool.submit(_graded, course, assignment, student, folder, limits=limits, work=work,
                                        rlimits=rlimits, hidden=hidden, render_limits=render_limits)] = student
            try:
                # chain, not a tuple: each result is recorded as soon as it is in, while the rest still run
                completed = _completed(pool, futures, assignment, course, scheduler and (work, render_limits))
                for result in itertools.chain(refused, completed):
                    _finish(course, result, db_url, work, registered)
                    results.append(result)
                    if on_result:
                        on_result(result)
                registered.result()  # a class without submissions still registers its assignment
            except BaseException:
                if isinstance(pool, ThreadPoolExecutor):  # e.g. the registration failed: stop the rest
                    pool.shutdown(wait=False, cancel_futures=True)
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return sorted(results, key=lambda r: r.student)


def _unscored(course, assignment, student, status, detail, reason):
    """A result with every test cell at 0: a folder refused (``invalid_student``) or a grader failure (``error``)."""
    result = SubmissionResult(student, assignment, status, detail, folder=student)
    result.notebooks = [NotebookResult(s.name, status, cells=zero_scores(s, reason))
                        for s in course.source_notebooks(assignment)]
    return result


def _graded(course, assignment, student, folder, *, work, render_limits, **limits):
    """One submission graded, then its feedback pages rendered (in a pool thread: it only waits for processes)."""
    result = grade_submission(course, assignment, student, folder, work=work, **limits)
    feedback.render_pages(result, work, render_limits)
    return result


def _completed(pool, futures, assignment, course, render_here):
    """The SubmissionResults as they finish; a grader failure becomes an ``error`` result.

    ``render_here``: ``(work, render_limits)`` when the pool is a Dask cluster, whose results
    come back without their feedback pages (rendered here, in turn); else None.
    """
    for future in (pool.as_completed if render_here else as_completed)(futures):
        try:
            result = future.result()
        except Exception as err:  # noqa: BLE001 - a grader bug must still leave a record
            yield _unscored(course, assignment, futures[future], "error", f"{type(err).__name__}: {err}",
                            "not graded")
            continue
        if render_here:
            feedback.render_pages(result, *render_here)
        yield result


def default_workers():
    """One worker more than the cores: a worker waiting for its kernel or its files leaves a core idle."""
    return (os.cpu_count() or 1) + 1


def _register(course, assignment, db_url):
    """Register the assignment's cells in the gradebook, as a release does (before anything is recorded).

    Skipped when this gradebook already holds this version of the source notebooks (after a
    release, or an earlier grading run).
    """
    if gradebook.is_registered(db_url, assignment, release.fingerprint(course, assignment)):
        return
    with tempfile.TemporaryDirectory(prefix="autograder-gradebook-") as tmp:
        release.generate(course, assignment, release_dir=Path(tmp) / "release", db_url=db_url)


def _finish(course, result, db_url, work, registered):
    """Move the executed notebooks into place, record the result, put the feedback pages in place (one writer).

    ``registered``: the future of :func:`_register`; a failed registration stops the run here.
    """
    registered.result()
    if result.graded_in_gradebook:
        autograded = course.autograded / result.student / result.assignment
        shutil.rmtree(autograded, ignore_errors=True)
        autograded.mkdir(parents=True)
        logs = course.grading / "logs" / result.assignment / result.student
        shutil.rmtree(logs, ignore_errors=True)
        for nb in result.notebooks:
            log = NotebookFolder.under(work, result.student, nb.notebook).log
            if log.is_file() and log.stat().st_size:
                logs.mkdir(parents=True, exist_ok=True)
                shutil.move(log, logs / f"{Path(nb.notebook).stem}.log")
            if nb.page_log is not None and nb.page_log.is_file():  # why its feedback page failed
                logs.mkdir(parents=True, exist_ok=True)
                shutil.move(nb.page_log, logs / f"{Path(nb.notebook).stem}.feedback.log")
            if nb.executed is not None and nb.executed.is_file():
                target = autograded / nb.notebook
                shutil.move(nb.executed, target)
                nb.executed = target
    gradebook.record(db_url, result)
    if result.graded_in_gradebook:
        _place_feedback(course, result)


def _place_feedback(course, result):
    """Each notebook's rendered page, or a status page (not graded, or its page could not be rendered)."""
    folder = course.feedback / result.student / result.assignment
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for nb in result.notebooks:
        page = folder / f"{Path(nb.notebook).stem}.html"
        if nb.page is not None:
            shutil.move(nb.page, page)
        else:
            feedback.write_status_page(page, notebook=nb.notebook, status=nb.status, detail=nb.detail,
                                       score=nb.score, max_score=nb.max_score,
                                       note=feedback.NOT_RENDERED if nb.executed is not None else None)
        nb.page = page
        result.feedback.append(page)
