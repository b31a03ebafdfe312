"""Graded assignments with nbgrader: generate exercises/ from solutions/, grade a folder of
submissions into a CSV and per-student feedback, merge the CSVs of shards."""

from __future__ import annotations

import csv
import functools
import html
import json
import os
import re
import shutil
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat
from traitlets import Unicode

from coursekit.errors import CourseError
from coursekit.notebooks import environment, stable_ids
from coursekit.project import ROOT

SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
CELL_TIMEOUT = 30  # seconds per cell: an endless loop costs one question, not the batch
FIXED_COLUMNS = ["student", "file", "assignment", "language"]
TAIL_COLUMNS = ["total", "max_total", "status", "message", "review"]
GUARD_CALL = '__import__("sys").modules["course_guard"].run_test(globals(), {source!r})\n'
ANSI = re.compile(r"\x1b\[[0-9;]*m")
REMOTE_SCRIPT = re.compile(r"<script[^>]*\ssrc=\"https?://[^\"]*\"[^>]*>\s*</script>", re.I)
GUARD_BOOT = """\
def _course_guard_boot():
    import importlib.util
    spec = importlib.util.spec_from_file_location("kernel_guard", {path!r})
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.install()
_course_guard_boot()
del _course_guard_boot
"""
# Code that only a submission attacking the grader needs: flagged for the instructor to read.
SUSPICIOUS = {
    "changes builtins": r"__builtins__|\bimport builtins\b|\bbuiltins\.",
    "redefines __import__": r"\b__import__\b",
    "edits sys.modules": r"\bsys\.modules\b",
    "overrides equality": r"\bdef __eq__\b|\b__eq__\s*=(?!=)",
    "targets the grader": r"course_guard|kernel_guard|nbgrader|gradebook",
    "installs IPython hooks": r"get_ipython\(\)\s*\.\s*(events|ast_transformers|"
                              r"input_transformers|set_custom_exc|run_cell)",
    "traces or redirects": r"\bsys\.(settrace|setprofile|stdout\s*=|stderr\s*=)",
    "monkeypatches a library": r"(?m)^\s*(torch|nn|F|np|math|numpy)\.[\w.]+\s*=(?!=)"
                               r"|\bsetattr\(\s*(torch|nn|F|np|math|numpy)\b",
    "redefines a builtin": r"(?m)^\s*(def\s+(?P<f>{b})\s*\(|(?P<v>{b})\s*=(?!=))".format(
        b="isinstance|issubclass|len|abs|all|any|print|float|int|sum|max|min|type|round|range"
          "|callable|hasattr|getattr|setattr|iter|next|sorted|list|dict|set|tuple|str|bool"),
    "touches files or processes": r"\bos\.(remove|unlink|rmdir|rename|replace|system|chdir)\b"
                                  r"|\bshutil\.|\bsubprocess\b|\bsocket\b|\.\./",
}


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
    review: str = ""


# ---------------------------------------------------------------- instructor sources


def assignments() -> list[str]:
    """Assignment names: the folders of solutions/."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir()) if SOLUTIONS.is_dir() else []


def sources(assignment: str) -> dict[str, nbformat.NotebookNode]:
    """The instructor notebooks of an assignment by language, with stable cell ids."""
    found = {}
    for path in sorted((SOLUTIONS / assignment).glob("*.md")):
        nb = stable_ids(jupytext.read(path, fmt="md:myst"))
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
    c.GuardTests.course_root = str(root)
    c.Execute.timeout = cell_timeout()
    c.Execute.interrupt_on_timeout = True
    if os.environ.get("COURSE_KERNEL"):  # a zygote's pre-warmed kernels (see zygote.py)
        c.Execute.kernel_name = os.environ["COURSE_KERNEL"]
    elif os.environ.get("COURSE_GUARD_BOOT"):  # a plain kernel installs the guard at start
        c.Execute.extra_arguments = [f"--IPKernelApp.exec_files={os.environ['COURSE_GUARD_BOOT']}",
                                     "--IPKernelApp.log_level=ERROR"]
    c.OverwriteCells.add_missing_cells = True
    c.LimitOutput.max_lines = 200
    c.LimitOutput.max_chars = 20_000
    c.Autograde.autograde_preprocessors = [
        "coursekit.grading.GuardTests",
        "nbgrader.preprocessors.Execute",
        "coursekit.grading.UnguardTests",
        "coursekit.grading.StderrIsNotAFailure",
        "nbgrader.preprocessors.IgnorePattern",
        "nbconvert.preprocessors.ClearMetadataPreprocessor",
        "nbgrader.preprocessors.LimitOutput",
        "nbgrader.preprocessors.SaveAutoGrades",
        "nbgrader.preprocessors.AssignLatePenalties",
        "nbgrader.preprocessors.CheckCellMetadata",
    ]
    c.GenerateFeedback.preprocessors = [  # students get their feedback: no hidden test in it
        "nbgrader.preprocessors.GetGrades",
        "nbgrader.preprocessors.ClearHiddenTests",
        "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    ]
    return c


def cell_timeout() -> int:
    """Seconds one cell may run (COURSE_CELL_TIMEOUT, default CELL_TIMEOUT)."""
    return int(os.environ.get("COURSE_CELL_TIMEOUT", CELL_TIMEOUT))


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
    """Regenerate exercises/ from solutions/ (Colab links first); returns the files written."""
    from coursekit.notebooks import fix_links_in

    for source in sorted(SOLUTIONS.glob("*/*.md")):
        fix_links_in(source)
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


def _preprocessor_base():
    """nbgrader's preprocessor base class, imported lazily."""
    from nbgrader.preprocessors import NbGraderPreprocessor

    return NbGraderPreprocessor


def is_test(cell) -> bool:
    """Whether a cell is an autograded test cell."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


class GuardTests(_preprocessor_base()):
    """Before execution, turn each test cell into a call to the kernel's guard (kernel_guard),
    and keep a copy of the course files (gradebook, sources) that the submission could touch."""

    course_root = Unicode("", help="The throwaway course folder being graded").tag(config=True)

    def preprocess(self, nb, resources):
        """Wrap the test cells; remember their sources and the course files for UnguardTests."""
        resources["course_files"] = course_files(Path(self.course_root))
        resources["course_tests"] = {}
        for index, cell in enumerate(nb.cells):
            if is_test(cell):
                resources["course_tests"][index] = cell.source
                cell.source = GUARD_CALL.format(source=cell.source)
        return nb, resources


class UnguardTests(_preprocessor_base()):
    """After execution, put the test cells' sources back and drop the guard call's frame."""

    def preprocess(self, nb, resources):
        """Restore sources and course files; keep tracebacks free of the wrapped test code."""
        restore_files(resources.pop("course_files", {}))
        for index, source in resources.pop("course_tests", {}).items():
            cell = nb.cells[index]
            cell.source = source
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [t for t in out.get("traceback", [])
                                        if not re.search(r"course_guard|kernel_guard",
                                                         ANSI.sub("", t))]
        return nb, resources


def course_files(root: Path) -> dict[Path, bytes]:
    """Contents of the course folder's files, except submissions and their products."""
    if not root.is_dir():
        return {}
    skip = {"submitted", "autograded", "feedback"}
    return {p: p.read_bytes() for top in root.iterdir() if top.name not in skip
            for p in ([top] if top.is_file() else top.rglob("*")) if p.is_file()}


def restore_files(saved: dict[Path, bytes]) -> None:
    """Put saved files back exactly, whatever happened to them (deleted, replaced, rewritten)."""
    for path, data in saved.items():
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


class StderrIsNotAFailure(_preprocessor_base()):
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
    """A safe student id from a submission's file name (letters of any script are kept)."""
    return re.sub(r"[^\w.-]+", "_", path.stem).strip("._") or "unnamed"


def grade_id(cell) -> str | None:
    """A cell's nbgrader grade_id, if it has one."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def grade_ids(nb) -> set[str]:
    """The nbgrader grade_ids present in a notebook."""
    return {grade_id(c) for c in nb.cells} - {None}


def released(assignment: str, language: str) -> nbformat.NotebookNode:
    """The student notebook of an assignment, as handed out."""
    return nbformat.read(EXERCISES / assignment / f"{language}.ipynb", as_version=4)


def drop_duplicates(nb, release) -> list[str]:
    """Keep one cell per grade_id (a copy/paste in Jupyter duplicates its metadata).

    Of an answer cell the last copy that differs from the handed-out stub is kept (the
    student's work); of any other cell the first. Returns what was repaired.
    """
    stubs = {grade_id(c): source_text(c).strip() for c in release.cells if grade_id(c)}
    copies: dict[str, list[int]] = {}
    for i, cell in enumerate(nb.cells):
        if grade_id(cell):
            copies.setdefault(grade_id(cell), []).append(i)
    drop, notes = set(), []
    for gid, where in copies.items():
        if len(where) < 2:
            continue
        answered = [i for i in where if source_text(nb.cells[i]).strip() != stubs.get(gid)]
        is_answer = nb.cells[where[0]].metadata["nbgrader"].get("solution")
        keep = answered[-1] if is_answer and answered else where[0]
        drop |= set(where) - {keep}
        notes.append(f"kept one of {len(where)} copies of {gid}")
    nb.cells = [c for i, c in enumerate(nb.cells) if i not in drop]
    return notes


def restore_missing(nb, release) -> list[str]:
    """Put back graded cells a student deleted (Colab ignores `deletable: false`), as handed
    out, after the cell that precedes them there. Returns what was repaired."""
    present, notes = grade_ids(nb), []
    ids = {c.get("id") for c in nb.cells}
    for pos, cell in enumerate(release.cells):
        gid = grade_id(cell)
        if not gid or gid in present:
            continue
        anchor = next((grade_id(c) for c in reversed(release.cells[:pos])
                       if grade_id(c) in present), None)
        at = 0 if anchor is None else 1 + next(i for i, c in enumerate(nb.cells)
                                               if grade_id(c) == anchor)
        new = nbformat.from_dict(json.loads(json.dumps(cell)))
        if new.get("id") in ids:
            new["id"] = f"restored-{gid}"[:64]
        nb.cells.insert(at, new)
        present.add(gid)
        notes.append(f"restored {gid} from the assignment")
    return notes


def repair(nb, assignment: str, language: str) -> list[str]:
    """Undo what students' tools do to graded cells; a note is added on top of the notebook."""
    release = released(assignment, language)
    notes = drop_duplicates(nb, release) + restore_missing(nb, release)
    if notes:
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(
            "**Grader:** this notebook was repaired before grading: " + "; ".join(notes) + "."))
    return notes


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


@functools.lru_cache(maxsize=1)
def known_cells() -> dict[str, dict[str, set[str]]]:
    """grade_ids of every assignment's notebooks: {assignment: {language: ids}}."""
    return {a: {lang: grade_ids(nb) for lang, nb in sources(a).items()} for a in assignments()}


def review_flags(nb) -> list[str]:
    """What in a submission's own code looks aimed at the grader, for the instructor to read."""
    own = "\n".join(source_text(c) for c in nb.cells if c.get("cell_type") == "code"
                    and not c.get("metadata", {}).get("nbgrader", {}).get("locked"))
    return [label for label, pattern in SUSPICIOUS.items() if re.search(pattern, own)]


def source_text(cell) -> str:
    """A cell's source as one string (a notebook file may store it as a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


@functools.cache
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


def grade_safely(path: Path, template: Path) -> tuple[Result, str]:
    """grade_one, but a failure of the grader itself costs this file a row, not the batch."""
    try:
        return grade_one(path, template)
    except Exception as err:
        result = Result(student=student_id(path), file=path.name, status="not graded",
                        message=f"the grader failed on this file ({type(err).__name__}: {err}); "
                                "grade it again or by hand")
        return result, feedback_page(result)


def grade_one(path: Path, template: Path) -> tuple[Result, str]:
    """Grade one file in a private copy of the course folder; returns (row, feedback HTML)."""
    quiet_libraries()
    result = Result(student=student_id(path), file=path.name)
    try:
        nb, result.assignment, result.language = read_submission(path, known_cells())
    except SubmissionError as err:
        result.status, result.message = "not graded", str(err)
        return result, feedback_page(result)
    result.review = "; ".join(review_flags(nb))
    strangers = forget_unknown_cells(nb, known_cells()[result.assignment][result.language])
    repaired = repair(nb, result.assignment, result.language)
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
            result.message = last_line(outcome)
            return result, feedback_page(result)
        got = scores(root, result.assignment, result.language, result.student)
        result.points = {k: float(v[0] or 0) for k, v in sorted(got.items())}
        result.total = sum(result.points.values())
        result.max_total = sum(float(v[1]) for v in got.values())
        failed = [k for k, v in sorted(got.items(), key=lambda kv: question_order(kv[0]))
                  if (v[0] or 0) < v[1]]
        graded_nb = root / "autograded" / result.student / result.assignment / target.name
        why = failure_reasons(graded_nb)
        result.message = ("lost points on " + ", ".join(
            f"{q} ({why[q]})" if why.get(q) else q for q in failed)) if failed else \
            "all checks passed"
        if strangers:
            result.message += f"; cells not in the assignment were run as plain code: {strangers}"
        if repaired:
            result.message += "; repaired: " + "; ".join(repaired)
        api.generate_feedback(result.assignment, result.student)
        page = root / "feedback" / result.student / result.assignment / f"{result.language}.html"
        text = page.read_text(encoding="utf-8") if page.is_file() else feedback_page(result)
    return result, offline(text)


def offline(page: str) -> str:
    """The feedback page without the scripts nbconvert loads from a CDN (MathJax).

    Students read feedback anywhere, behind slow or blocked networks too; a CDN script in the
    page head would stall it. Formulas then show as TeX source.
    """
    return REMOTE_SCRIPT.sub("", page)


def failure_reasons(path: Path) -> dict[str, str]:
    """{grade_id: why} of the failed test cells: the error of the question's own answer cell
    (a timeout names the limit) if it had one, else the test's first error line."""
    if not path.is_file():
        return {}
    answer_errors, reasons = {}, {}
    for cell in nbformat.read(path, as_version=4).cells:
        gid = grade_id(cell)
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if not (gid and errors):
            continue
        if is_test(cell):
            reasons[gid] = error_line(errors[0])
        else:
            answer_errors[gid] = "the answer cell " + error_line(errors[0], answer=True)
    for gid in reasons:
        reasons[gid] = answer_errors.get(f"{gid}_answer", reasons[gid])
    return reasons


def error_line(error: dict, answer: bool = False) -> str:
    """'ErrorType: first line of the message', or what a timeout means."""
    if error.get("ename") == "KeyboardInterrupt":
        return (f"{'' if answer else 'test '}ran longer than the limit of {cell_timeout()} s per "
                "cell (COURSE_CELL_TIMEOUT) and was stopped")
    if error.get("ename") == "NotImplementedError":
        return f"{'raised ' if answer else ''}NotImplementedError: not answered"
    first = ANSI.sub("", str(error.get("evalue", ""))).strip().splitlines() or [""]
    text = f"{error.get('ename', 'Error')}: {first[0]}"[:160].rstrip(": ")
    return f"raised {text}" if answer else text


def quiet_libraries() -> None:
    """Silence SQLAlchemy's session warnings and the kernels' start-up chatter in workers."""
    import logging
    import warnings

    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", message=".*not in session.*")
    logging.getLogger("traitlets").setLevel(logging.ERROR)


def last_line(outcome: dict) -> str:
    """What went wrong, in a line, from an nbgrader log or error."""
    text = f"{outcome.get('log') or ''}\n{outcome.get('error') or ''}"
    if "DeadKernelError" in text:
        return ("the kernel died while running the notebook (the code exited or crashed Python), "
                "so no test could be scored; restart and run all cells before submitting")
    if "CellTimeoutError" in text:
        return "a cell ran past the time limit and could not be interrupted"
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error"


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
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp:
        zygote = start_zygote(Path(tmp))  # preloads torch while nbgrader prepares the course
        try:
            template = prepare_course(Path(tmp) / "course", needed_assignments(files))
            with environment(kernel_environment(Path(tmp), zygote)):
                done = grade_in_pool(files, template, jobs or os.cpu_count() or 1)
        finally:
            if zygote is not None:
                zygote.stop()
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    results = [r for r, _ in done]
    unique_ids(results)
    for result, page in done:
        write_atomically(out / "feedback" / f"{result.student}.html", page)
    write_csv(out / "grades.csv", results)
    write_class_report(out / "grades.csv", out)
    return results


def write_class_report(grades: Path, folder: Path) -> list[Path]:
    """report.html (per-question statistics, histogram) and lms.csv from a grades CSV."""
    from coursekit.class_report import write_reports

    with grades.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return write_reports(rows, folder, test_points, write_atomically)


def grade_in_pool(files: list[Path], template: Path, workers: int) -> list[tuple[Result, str]]:
    """Grade files in worker processes; survive a submission that kills its worker.

    A dead worker breaks the whole pool, failing every unfinished file. Each of those is graded
    again in a worker process of its own (as many at once as there are workers), so a file that
    kills its worker loses only its own grade, wherever it sorts.
    """
    from concurrent.futures import ThreadPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    done: dict[Path, tuple[Result, str]] = {}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {path: pool.submit(grade_safely, path, template) for path in files}
        for path, future in futures.items():
            with suppress(BrokenProcessPool):
                done[path] = future.result()
    pending = [p for p in files if p not in done]
    with ThreadPoolExecutor(max_workers=workers) as threads:  # alone: a killer hurts only itself
        for path, outcome in zip(pending, threads.map(lambda p: grade_alone(p, template), pending),
                                 strict=True):
            done[path] = outcome
    return [done[p] for p in files]


def grade_alone(path: Path, template: Path) -> tuple[Result, str]:
    """Grade one file in a worker process of its own; a file that kills it gets a row."""
    from concurrent.futures.process import BrokenProcessPool

    with ProcessPoolExecutor(max_workers=1) as pool:
        try:
            return pool.submit(grade_safely, path, template).result()
        except BrokenProcessPool:
            result = Result(student=student_id(path), file=path.name, status="not graded",
                            message="grading this file killed the grader's worker process twice "
                                    "(once in the batch, once alone)")
            return result, feedback_page(result)


def needed_assignments(files: list[Path]) -> list[str]:
    """The assignments that the readable files among files belong to."""
    found = set()
    for path in files:
        with suppress(SubmissionError):
            found.add(read_submission(path, known_cells())[1])
    return sorted(found)


def start_zygote(folder: Path):
    """A zygote serving pre-warmed kernels, or None where unsupported or COURSE_ZYGOTE=0."""
    from coursekit import zygote

    if not zygote.supported() or os.environ.get("COURSE_ZYGOTE", "1") == "0":
        return None
    return zygote.Zygote(str(folder))


def kernel_environment(folder: Path, zygote) -> dict[str, str]:
    """Environment variables telling nbgrader_config which kernel to use, with the guard."""
    from coursekit import zygote as module

    boot = folder / "guard_boot.py"
    guard = Path(__file__).with_name("kernel_guard.py")
    boot.write_text(GUARD_BOOT.format(path=str(guard)), encoding="utf-8")
    path = zygote.ready(str(boot)) if zygote is not None else None
    if path:
        jupyter_path = os.pathsep.join(filter(None, [path, os.environ.get("JUPYTER_PATH")]))
        return {"COURSE_KERNEL": module.KERNEL_NAME, "JUPYTER_PATH": jupyter_path}
    return {"COURSE_GUARD_BOOT": str(boot)}


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
               "status": r.status, "message": r.message, "review": r.review}
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
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide the grades from the web server
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
    write_class_report(out, out.parent)
    return len(rows)
