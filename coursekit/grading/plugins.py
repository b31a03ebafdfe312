"""nbgrader's configuration for this course and the preprocessors it adds: test cells run through
the kernel's guard, course files are restored after each run, stderr is not a failure."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

from traitlets import Unicode

from coursekit.grading.settings import KERNEL_NAME, Settings

GUARD_CALL = '__import__("sys").modules["course_guard"].run_test(globals(), {source!r})\n'
ANSI = re.compile(r"\x1b\[[0-9;]*m")
CHECK_MAGIC = re.compile(r"\A\s*%%check\b[^\n]*\n?")


def nbgrader_config(root: Path, settings: Settings):
    """nbgrader settings for a throwaway course folder at root."""
    from traitlets.config import Config

    c = Config()
    c.Application.log_level = "ERROR"  # nbgrader logs every step at INFO; the CSV says what matters
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    c.GuardTests.course_root = str(root)
    c.Execute.timeout = settings.cell_timeout
    c.Execute.interrupt_on_timeout = True
    if settings.kernel_dir:  # the batch's guarded (and sandboxed) kernels
        c.Execute.kernel_name = KERNEL_NAME
        c.Execute.kernel_manager_class = "coursekit.grading.kernels.CourseKernelManager"
        c.CourseKernelManager.spec_dir = settings.kernel_dir
    c.OverwriteCells.add_missing_cells = True
    c.LimitOutput.max_lines = 200
    c.LimitOutput.max_chars = 20_000
    c.Autograde.autograde_preprocessors = [
        "coursekit.grading.plugins.GuardTests",
        "nbgrader.preprocessors.Execute",
        "coursekit.grading.plugins.UnguardTests",
        "coursekit.grading.plugins.StderrIsNotAFailure",
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


def nbgrader_api(root: Path, settings: Settings):
    """An nbgrader API object working on the course folder at root."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    bin_dir = str(Path(sys.executable).parent)  # nbgrader runs the `alembic` command from here
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    config = nbgrader_config(root, settings)
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


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
                cell.source = GUARD_CALL.format(source=without_check_magic(cell.source))
        return nb, resources


def without_check_magic(source: str) -> str:
    """A test cell's code without its first line `%%check qN`: in a student's session that magic
    reports the outcome and lets Run All go on; graded, a failure must fail the cell."""
    return CHECK_MAGIC.sub("", source, count=1)


class UnguardTests(_preprocessor_base()):
    """After execution, put the test cells' sources back and drop the guard call's frame."""

    def preprocess(self, nb, resources):
        """Restore sources and course files; keep tracebacks free of the wrapped test code."""
        restore_files(resources.pop("course_files", {}))
        tests = resources.pop("course_tests", {})
        for index, source in tests.items():
            nb.cells[index].source = source
        for index, cell in enumerate(nb.cells):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = tidy_traceback(out, index in tests)
        return nb, resources


def tidy_traceback(error: dict, test: bool) -> list[str]:
    """What a student may see of an error: of a test cell only its last line (the frames would
    show the hidden tests' line numbers), of their own code the frames without install paths."""
    if test:
        return [f"{error.get('ename', 'Error')}: {error.get('evalue', '')}"]
    return [hide_paths(t) for t in error.get("traceback", [])
            if not re.search(r"course_guard|kernel_guard", ANSI.sub("", t))]


def hide_paths(text: str) -> str:
    """Replace the grader's install and course paths in a traceback line."""
    text = re.sub(r"(/|[A-Za-z]:\\)[^\s\"'<>]*?[/\\]site-packages[/\\]", "<site-packages>/",
                  text)
    text = re.sub(r"(/|[A-Za-z]:\\)[^\s\"'<>]*?course-grade-[^/\\\s]*[/\\]", "<course>/",
                  text)
    for prefix in dict.fromkeys((sys.base_prefix, sys.prefix, str(Path.home()))):
        text = text.replace(prefix, "<python>" if prefix != str(Path.home()) else "~")
    return text


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
