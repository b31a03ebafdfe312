"""Grading a folder: one throwaway nbgrader course per file, worker processes that survive a
submission killing them, guarded and sandboxed kernels, and the outputs of the batch."""

from __future__ import annotations

import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from pathlib import Path

import nbformat

from coursekit.grading import kernels, report, submissions
from coursekit.grading.report import Result, feedback_page, question_order
from coursekit.grading.settings import Settings
from coursekit.grading.sources import GradingError, known_cells, prepare_course, test_points
from coursekit.grading.submissions import SubmissionError


def grade_folder(folder: Path, out: Path, settings: Settings, shard: str | None = None) -> list:
    """Grade every file of folder into out/grades.csv, out/feedback/<student>.html and the class
    report; returns the rows."""
    if not folder.is_dir():
        raise GradingError(f"{folder} is not a folder of submissions")
    if settings.assignment and settings.assignment not in known_cells(settings.source):
        names = ", ".join(known_cells(settings.source))
        raise GradingError(f"--assignment {settings.assignment!r} is not one of: {names}")
    files = report.select_shard(sorted(p for p in folder.iterdir() if p.is_file()), shard)
    with tempfile.TemporaryDirectory(prefix="course-batch-") as tmp:
        batch = Path(tmp)
        zygote = kernels.start_zygote(batch, settings)  # preloads torch while nbgrader prepares
        try:
            protect = kernels.protected_paths(settings, batch, folder, out)
            settings = settings.with_kernels("", protect)
            template = prepare_course(batch / "course", needed_assignments(files, settings),
                                      settings)
            ready = zygote is not None and zygote.ready()
            settings = kernels.write_kernel_spec(batch, settings, zygote.sock if ready else None)
            (batch / "files").mkdir()
            done = grade_in_pool(files, template, settings)
        finally:
            if zygote is not None:
                zygote.stop()
    results = [r for r, _ in done]
    report.unique_ids(results)
    for result, page in done:
        report.write_atomically(out / "feedback" / f"{result.student}.html", page)
    report.write_csv(out / "grades.csv", results)
    report.write_class_report(out / "grades.csv", out, settings.source)
    return results


def needed_assignments(files: list[Path], settings: Settings) -> list[str]:
    """The assignments that the readable files among files belong to."""
    found = set()
    for path in files:
        with suppress(SubmissionError):
            found.add(submissions.read_submission(path, known_cells(settings.source))[1])
    return sorted(found)


def grade_in_pool(files: list[Path], template: Path, settings: Settings) -> list[tuple]:
    """Grade files in worker processes; survive a submission that kills its worker.

    A dead worker breaks the whole pool, failing every unfinished file. Each of those is graded
    again in a worker process of its own (as many at once as there are workers), so a file that
    kills its worker loses only its own grade, wherever it sorts.
    """
    workers = settings.jobs or os.cpu_count() or 1
    done: dict[Path, tuple[Result, str]] = {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {path: pool.submit(grade_safely, path, template, settings) for path in files}
        for path, future in futures.items():
            with suppress(BrokenProcessPool):
                done[path] = future.result()
    pending = [p for p in files if p not in done]
    with ThreadPoolExecutor(max_workers=workers) as threads:  # alone: a killer hurts only itself
        outcomes = threads.map(lambda p: grade_alone(p, template, settings), pending)
        done.update(zip(pending, outcomes, strict=True))
    return [done[p] for p in files]


def grade_alone(path: Path, template: Path, settings: Settings) -> tuple[Result, str]:
    """Grade one file in a worker process of its own; a file that kills it gets a row."""
    with ProcessPoolExecutor(max_workers=1) as pool:
        try:
            return pool.submit(grade_safely, path, template, settings).result()
        except BrokenProcessPool:
            result = Result(student=submissions.student_id(path), file=path.name,
                            status="not graded",
                            message="grading this file killed the grader's worker process twice "
                                    "(once in the batch, once alone)")
            return result, feedback_page(result)


def grade_safely(path: Path, template: Path, settings: Settings) -> tuple[Result, str]:
    """grade_one, but a failure of the grader itself costs this file a row, not the batch."""
    try:
        return grade_one(path, template, settings)
    except Exception as err:
        result = Result(student=submissions.student_id(path), file=path.name,
                        status="not graded",
                        message=f"the grader failed on this file ({type(err).__name__}: {err}); "
                                "grade it again or by hand")
        return result, feedback_page(result)


def grade_one(path: Path, template: Path, settings: Settings) -> tuple[Result, str]:
    """Grade one file in a private copy of the course folder; returns (row, feedback HTML)."""
    from coursekit.grading.plugins import nbgrader_api

    quiet_libraries()
    result = Result(student=submissions.student_id(path), file=path.name)
    known = known_cells(settings.source)
    try:
        nb, result.assignment, result.language, notes = submissions.read_submission(
            path, known, settings.assignment)
    except SubmissionError as err:
        result.status, result.message = "not graded", str(err)
        return result, feedback_page(result)
    strangers = submissions.forget_unknown_cells(nb, known[result.assignment][result.language])
    release = template / "release" / result.assignment / f"{result.language}.ipynb"
    notes += submissions.repair(nb, nbformat.read(release, as_version=4))
    result.review = "; ".join(submissions.review_flags(nb))  # locked cells are the handed-out ones
    with tempfile.TemporaryDirectory(prefix="course-grade-", dir=template.parent / "files") as tmp:
        root = Path(tmp) / "course"
        shutil.copytree(template, root)
        target = root / "submitted" / result.student / result.assignment
        target = target / f"{result.language}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(nb, target)
        api = nbgrader_api(root, settings)
        outcome = api.autograde(result.assignment, result.student, force=True, create=True)
        if not outcome["success"]:
            result.status, result.message = "not graded", report.last_line(outcome)
            return result, feedback_page(result)
        score(result, root, settings, target.name)
        if strangers:
            result.message += f"; cells not in the assignment were run as plain code: {strangers}"
        if notes:
            result.message += "; repaired: " + "; ".join(notes)
        api.generate_feedback(result.assignment, result.student)
        page = root / "feedback" / result.student / result.assignment / f"{result.language}.html"
        text = page.read_text(encoding="utf-8") if page.is_file() else None
    return result, feedback_page(result, text)


def score(result: Result, root: Path, settings: Settings, notebook: str) -> None:
    """Fill in points, totals and the message (which questions lost points, and why)."""
    got = scores(root, result.assignment, result.language, result.student, settings.source)
    result.points = {k: float(v[0] or 0) for k, v in sorted(got.items(),
                                                            key=lambda kv: question_order(kv[0]))}
    result.total = sum(result.points.values())
    result.max_total = sum(float(v[1]) for v in got.values())
    failed = [k for k in result.points if result.points[k] < got[k][1]]
    graded_nb = root / "autograded" / result.student / result.assignment / notebook
    why = report.failure_reasons(graded_nb, settings.cell_timeout)
    result.message = ("lost points on " + ", ".join(
        f"{q} ({why[q]})" if why.get(q) else q for q in failed)) if failed else \
        "all checks passed"


def scores(root: Path, assignment: str, language: str, student: str, source: Path) -> dict:
    """{grade_id: (score, max_score)} of the test cells.

    Scores are nbgrader's automatic scores, written after the notebook ran; the maxima come from
    the instructor source. Neither can be changed by code in the submission (which could edit the
    throwaway gradebook while it runs, e.g. to set a manual score).
    """
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        sub = gb.find_submission_notebook(language, assignment, student)
        auto = {g.name: g.auto_score for g in sub.grades}
    return {gid: (min(auto.get(gid) or 0.0, full), full)
            for gid, full in test_points(assignment, source).items()}


def quiet_libraries() -> None:
    """Silence SQLAlchemy's session warnings and the kernels' start-up chatter in workers."""
    import logging
    import warnings

    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", message=".*not in session.*")
    logging.getLogger("traitlets").setLevel(logging.ERROR)
