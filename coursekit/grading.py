"""Graded assignments with nbgrader: generate exercises/ from solutions/, grade a folder of
submissions into a CSV and per-student feedback, merge the CSVs of shards."""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat

from coursekit.errors import CourseError
from coursekit.project import ROOT

SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
CELL_TIMEOUT = 30  # seconds per cell: an endless loop costs one question, not the batch
FIXED_COLUMNS = ["student", "file", "assignment", "language"]
TAIL_COLUMNS = ["total", "max_total", "status", "message"]


class GradingError(CourseError):
    """The grading inputs or outputs are unusable (not a submission's fault)."""


class SubmissionError(Exception):
    """A submission cannot be graded; the message goes to the CSV and the feedback."""


@dataclass
class Result:
    """One row of the grades CSV."""

    student: str
    file: str
    assignment: str = ""
    language: str = ""
    points: dict[str, float] = field(default_factory=dict)
    total: float = 0.0
    max_total: float = 0.0
    status: str = "graded"
    message: str = ""


# ---------------------------------------------------------------- instructor sources


def assignments() -> list[str]:
    """Assignment names: the folders of solutions/."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir()) if SOLUTIONS.is_dir() else []


def sources(assignment: str) -> dict[str, nbformat.NotebookNode]:
    """The instructor notebooks of an assignment by language, with stable cell ids."""
    found = {}
    for path in sorted((SOLUTIONS / assignment).glob("*.md")):
        nb = jupytext.read(path, fmt="md:myst")
        for i, cell in enumerate(nb.cells):
            cell.id = f"cell-{i:03d}"
        nb.metadata.pop("jupytext", None)
        found[path.stem] = nb
    if not found:
        raise GradingError(f"solutions/{assignment}/ has no MyST source (.md)")
    return found


def nbgrader_config(root: Path):
    """nbgrader settings for a throwaway course folder at root."""
    from traitlets.config import Config

    c = Config()
    c.Application.log_level = "ERROR"  # nbgrader logs every step at INFO; the CSV says what matters
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    c.Execute.timeout = int(os.environ.get("COURSE_CELL_TIMEOUT", CELL_TIMEOUT))
    c.Execute.interrupt_on_timeout = True
    c.OverwriteCells.add_missing_cells = True
    c.LimitOutput.max_lines = 200
    c.LimitOutput.max_chars = 20_000
    c.Autograde.autograde_preprocessors = [
        "nbgrader.preprocessors.Execute",
        "coursekit.grading.StderrIsNotAFailure",
        "nbgrader.preprocessors.IgnorePattern",
        "nbconvert.preprocessors.ClearMetadataPreprocessor",
        "nbgrader.preprocessors.LimitOutput",
        "nbgrader.preprocessors.SaveAutoGrades",
        "nbgrader.preprocessors.AssignLatePenalties",
        "nbgrader.preprocessors.CheckCellMetadata",
    ]
    return c


def nbgrader_api(root: Path):
    """An nbgrader API object working on the course folder at root."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    bin_dir = str(Path(sys.executable).parent)  # nbgrader runs the `alembic` command from here
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    config = nbgrader_config(root)
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def prepare_course(root: Path, names: list[str]) -> Path:
    """Write the instructor notebooks into root/source and run generate_assignment on them."""
    api = nbgrader_api(root)
    for assignment in names:
        for language, nb in sources(assignment).items():
            path = root / "source" / assignment / f"{language}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, path)
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise GradingError(f"nbgrader could not generate {assignment}:\n{result.get('log')}")
    return root


def generated_exercises(root: Path) -> dict[Path, nbformat.NotebookNode]:
    """The student notebooks nbgrader releases, keyed by their path under exercises/."""
    prepare_course(root, assignments())
    return {EXERCISES / p.relative_to(root / "release"): nbformat.read(p, as_version=4)
            for p in sorted((root / "release").rglob("*.ipynb"))}


def write_exercises() -> list[Path]:
    """Regenerate exercises/ from solutions/; returns the files written."""
    with tempfile.TemporaryDirectory(prefix="course-nbgrader-") as tmp:
        released = generated_exercises(Path(tmp))
    for path, nb in released.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
    return list(released)


def exercise_problems() -> list[str]:
    """Ways exercises/ differs from what solutions/ generates (empty when up to date)."""
    with tempfile.TemporaryDirectory(prefix="course-nbgrader-") as tmp:
        released = generated_exercises(Path(tmp))
    problems = []
    for path, nb in released.items():
        rel = path.relative_to(ROOT)
        if not path.is_file():
            problems.append(f"{rel} is missing")
        elif nbformat.read(path, as_version=4) != nb:
            problems.append(f"{rel} differs from what solutions/ generates")
    extra = set(EXERCISES.rglob("*.ipynb")) - set(released) if EXERCISES.is_dir() else set()
    problems += [f"{p.relative_to(ROOT)} has no source in solutions/" for p in sorted(extra)]
    return problems


def answered(assignment: str, language: str, skip: tuple = ()) -> nbformat.NotebookNode:
    """The student notebook with the instructor's answers filled in (except grade_ids in skip)."""
    marker = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.M)
    solved = {c.metadata["nbgrader"]["grade_id"]: marker.sub("", c.source)
              for c in sources(assignment)[language].cells
              if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    nb = nbformat.read(EXERCISES / assignment / f"{language}.ipynb", as_version=4)
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in solved and gid not in skip:
            cell.source = solved[gid]
    return nb


# ---------------------------------------------------------------- nbgrader plug-in


def _stderr_preprocessor_base():
    """nbgrader's preprocessor base class, imported lazily."""
    from nbgrader.preprocessors import NbGraderPreprocessor

    return NbGraderPreprocessor


class StderrIsNotAFailure(_stderr_preprocessor_base()):
    """Move stderr text of test cells to stdout, so a warning does not score 0.

    nbgrader gives 0 to a test cell with any stderr output, and PyTorch prints its warnings
    there. A failed assert or any other exception still fails the cell: those are errors.
    """

    def preprocess_cell(self, cell, resources, index):
        """Relabel stderr streams of grade cells as stdout."""
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream" and out.get("name") == "stderr":
                    out["name"] = "stdout"
                    out["text"] = "[stderr] " + out["text"]
        return cell, resources


# ---------------------------------------------------------------- submissions


def student_id(path: Path) -> str:
    """A safe student id from a submission's file name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem).strip("._") or "unnamed"


def grade_ids(nb) -> set[str]:
    """The nbgrader grade_ids present in a notebook."""
    return {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells} - {None}


def identify(nb, known: dict[str, dict[str, set[str]]]) -> tuple[str, str]:
    """(assignment, language) of a submission: from its metadata, else from its cell ids."""
    meta = nb.get("metadata", {}).get("course", {})
    assignment, language = meta.get("assignment"), meta.get("language")
    if assignment in known and language in known[assignment]:
        return assignment, language
    ids = grade_ids(nb)
    overlap = {(a, lang): len(ids & cells) for a, langs in known.items()
               for lang, cells in langs.items()}
    best = max(overlap, key=overlap.get, default=None)
    if best is None or overlap[best] == 0:
        raise SubmissionError("not one of this course's assignments (no known graded cells)")
    return best


def read_submission(path: Path, known) -> tuple[nbformat.NotebookNode, str, str]:
    """Parse and validate one submitted file; raises SubmissionError with a readable reason."""
    if path.suffix != ".ipynb":
        raise SubmissionError(f"not a notebook ({path.suffix or 'no extension'}); not graded")
    raw = path.read_bytes()
    if not raw.strip():
        raise SubmissionError("empty file")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SubmissionError(f"not valid JSON: {err}") from None
    try:
        nb = nbformat.from_dict(data)
        nbformat.validate(nb)
    except Exception as err:  # nbformat raises several types for schema problems
        reason = getattr(err, "message", None) or str(err).strip() or type(err).__name__
        reason = reason.splitlines()[0]
        raise SubmissionError(f"not a valid notebook: {reason[:160]}") from None
    assignment, language = identify(nb, known)
    return nb, assignment, language


def forget_unknown_cells(nb, known: set[str]) -> list[str]:
    """Turn cells whose grade_id the assignment does not have into plain cells; return the ids.

    nbgrader stops on an unknown graded cell (a renamed one, say). Demoted, it runs as ordinary
    code, and the original cell, now missing, is put back from the source by nbgrader.
    """
    strangers = []
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid is not None and gid not in known:
            strangers.append(gid)
            del cell.metadata["nbgrader"]
    return strangers


def known_cells(root: Path) -> dict[str, dict[str, set[str]]]:
    """grade_ids of every released notebook: {assignment: {language: ids}}."""
    known: dict[str, dict[str, set[str]]] = {}
    for path in (root / "release").rglob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        known.setdefault(path.parent.name, {})[path.stem] = grade_ids(nb)
    return known


def test_points(assignment: str) -> dict[str, float]:
    """{grade_id: points} of an assignment's test cells, from the instructor source."""
    nb = next(iter(sources(assignment).values()))
    meta = [c.get("metadata", {}).get("nbgrader", {}) for c in nb.cells]
    return {m["grade_id"]: float(m["points"]) for m in meta if m.get("grade")}


def scores(root: Path, assignment: str, language: str, student: str) -> dict[str, tuple]:
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
            for gid, full in test_points(assignment).items()}


def grade_one(path: Path, template: Path) -> tuple[Result, str]:
    """Grade one file in a private copy of the course folder; returns (row, feedback HTML)."""
    quiet_libraries()
    result = Result(student=student_id(path), file=path.name)
    try:
        nb, result.assignment, result.language = read_submission(path, known_cells(template))
    except SubmissionError as err:
        result.status, result.message = "not graded", str(err)
        return result, feedback_page(result)
    strangers = forget_unknown_cells(nb, known_cells(template)[result.assignment][result.language])
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp:
        root = Path(tmp) / "course"
        shutil.copytree(template, root)
        target = root / "submitted" / result.student / result.assignment
        target = target / f"{result.language}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(nb, target)
        api = nbgrader_api(root)
        outcome = api.autograde(result.assignment, result.student, force=True, create=True)
        if not outcome["success"]:
            result.status = "not graded"
            result.message = "nbgrader could not run this notebook: " + last_line(outcome)
            return result, feedback_page(result)
        got = scores(root, result.assignment, result.language, result.student)
        result.points = {k: float(v[0] or 0) for k, v in sorted(got.items())}
        result.total = sum(result.points.values())
        result.max_total = sum(float(v[1]) for v in got.values())
        failed = [k for k, v in sorted(got.items()) if (v[0] or 0) < v[1]]
        result.message = f"lost points on {', '.join(failed)}" if failed else "all checks passed"
        if strangers:
            result.message += f"; cells not in the assignment were run as plain code: {strangers}"
        api.generate_feedback(result.assignment, result.student)
        page = root / "feedback" / result.student / result.assignment / f"{result.language}.html"
        text = page.read_text(encoding="utf-8") if page.is_file() else feedback_page(result)
    return result, text


def quiet_libraries() -> None:
    """Silence SQLAlchemy's session warnings and the kernels' start-up chatter in workers."""
    import logging
    import warnings

    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", message=".*not in session.*")
    logging.getLogger("traitlets").setLevel(logging.ERROR)


def last_line(outcome: dict) -> str:
    """The last meaningful line of an nbgrader log or error."""
    text = (outcome.get("error") or outcome.get("log") or "").strip().splitlines()
    return text[-1] if text else "unknown error"


def feedback_page(result: Result) -> str:
    """A small HTML page for a submission nbgrader did not grade."""
    return (f"<!doctype html><meta charset='utf-8'><title>{html.escape(result.student)}</title>"
            f"<h1>{html.escape(result.file)}</h1><p>Not graded: {html.escape(result.message)}</p>"
            "<p>Points: 0. Fix the file and submit it again.</p>")


# ---------------------------------------------------------------- batches


def select_shard(files: list[Path], shard: str | None) -> list[Path]:
    """The files of shard 'i/n' (1-based), by position in name order."""
    if not shard:
        return files
    match = re.fullmatch(r"(\d+)/(\d+)", shard)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise GradingError(f"--shard must look like 2/5 (shard i of n, 1 <= i <= n), not {shard!r}")
    i, n = int(match[1]), int(match[2])
    return [f for k, f in enumerate(files) if k % n == i - 1]


def grade_folder(folder: Path, out: Path, jobs: int = 0, shard: str | None = None) -> list[Result]:
    """Grade every file of folder into out/grades.csv and out/feedback/<student>.html."""
    if not folder.is_dir():
        raise GradingError(f"{folder} is not a folder of submissions")
    files = select_shard(sorted(p for p in folder.iterdir() if p.is_file()), shard)
    with tempfile.TemporaryDirectory(prefix="course-template-") as tmp:
        template = prepare_course(Path(tmp) / "course", assignments())
        workers = jobs or os.cpu_count() or 1
        with ProcessPoolExecutor(max_workers=workers) as pool:
            done = list(pool.map(grade_one, files, [template] * len(files)))
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    results = [r for r, _ in done]
    unique_ids(results)
    for result, page in done:
        write_atomically(out / "feedback" / f"{result.student}.html", page)
    write_csv(out / "grades.csv", results)
    return results


def unique_ids(results: list[Result]) -> None:
    """Make student ids unique (two files with the same stem keep both rows)."""
    seen: dict[str, int] = {}
    for r in results:
        seen[r.student] = seen.get(r.student, 0) + 1
        if seen[r.student] > 1:
            r.student = f"{r.student}~{seen[r.student]}"


def columns(results: list[Result]) -> list[str]:
    """CSV header: fixed columns, every question id in order, then the totals."""
    questions = sorted({q for r in results for q in r.points}, key=question_order)
    return [*FIXED_COLUMNS, *questions, *TAIL_COLUMNS]


def question_order(name: str) -> tuple:
    """Sort q2 before q10."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def write_csv(path: Path, results: list[Result]) -> None:
    """Write the grades CSV atomically (a reader never sees half a file)."""
    header = columns(results)
    rows = []
    for r in results:
        row = {"student": r.student, "file": r.file, "assignment": r.assignment,
               "language": r.language, "total": f"{r.total:g}", "max_total": f"{r.max_total:g}",
               "status": r.status, "message": r.message}
        row.update({q: f"{p:g}" for q, p in r.points.items()})
        rows.append(row)
    write_atomically(path, to_csv(header, rows))


def to_csv(header: list[str], rows: list[dict]) -> str:
    """CSV text with the given header."""
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def write_atomically(path: Path, text: str) -> None:
    """Write text to a temp file beside path, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, path)


def merge_csvs(parts: list[Path], out: Path) -> int:
    """Merge shard CSVs into one; returns the number of rows."""
    rows: list[dict] = []
    for part in parts:
        if not part.is_file():
            raise GradingError(f"{part} does not exist")
        with part.open(encoding="utf-8", newline="") as f:
            rows += list(csv.DictReader(f))
    students = [r["student"] for r in rows]
    dupes = sorted({s for s in students if students.count(s) > 1})
    if dupes:
        raise GradingError(f"students graded in more than one shard: {', '.join(dupes)}")
    questions = sorted({k for r in rows for k in r} - set(FIXED_COLUMNS) - set(TAIL_COLUMNS),
                       key=question_order)
    rows.sort(key=lambda r: r["student"])
    write_atomically(out, to_csv([*FIXED_COLUMNS, *questions, *TAIL_COLUMNS], rows))
    return len(rows)
