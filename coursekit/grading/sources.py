"""The instructor side: assignments and their sources, the released student notebooks, and the
throwaway nbgrader course folder a batch grades in."""

from __future__ import annotations

import copy
import functools
import re
import tempfile
from pathlib import Path

import jupytext
import nbformat

from coursekit.errors import CourseError
from coursekit.notebooks import stable_ids
from coursekit.project import Course


class GradingError(CourseError):
    """The grading inputs or outputs are unusable (not a submission's fault)."""


def assignments(source: Path) -> list[str]:
    """Assignment names: the folders of the instructor sources."""
    return sorted(p.name for p in source.iterdir() if p.is_dir()) if source.is_dir() else []


def sources(assignment: str, source: Path) -> dict[str, nbformat.NotebookNode]:
    """The instructor notebooks of an assignment by language, with stable cell ids."""
    found = {}
    for path in sorted((source / assignment).glob("*.md")):
        st = path.stat()
        found[path.stem] = copy.deepcopy(parsed_source(str(path), st.st_mtime_ns, st.st_size))
    if not found:
        raise GradingError(f"{source / assignment} has no MyST source (.md): check --source")
    return found


@functools.lru_cache(maxsize=256)
def parsed_source(path: str, mtime_ns: int, size: int) -> nbformat.NotebookNode:
    """One instructor source parsed, cached while the file is unchanged (callers get copies)."""
    nb = stable_ids(jupytext.read(path, fmt="md:myst"))
    nb.metadata.pop("jupytext", None)
    return nb


def grade_id(cell) -> str | None:
    """A cell's nbgrader grade_id, if it has one."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def grade_ids(nb) -> set[str]:
    """The nbgrader grade_ids present in a notebook."""
    return {grade_id(c) for c in nb.cells} - {None}


@functools.cache
def known_cells(source: Path) -> dict[str, dict[str, set[str]]]:
    """grade_ids of every assignment's notebooks: {assignment: {language: ids}}."""
    return {a: {lang: grade_ids(nb) for lang, nb in sources(a, source).items()}
            for a in assignments(source)}


@functools.cache
def test_points(assignment: str, source: Path) -> dict[str, float]:
    """{grade_id: points} of an assignment's test cells, from the instructor source."""
    nb = next(iter(sources(assignment, source).values()))
    meta = [c.get("metadata", {}).get("nbgrader", {}) for c in nb.cells]
    return {m["grade_id"]: float(m["points"]) for m in meta if m.get("grade")}


def prepare_course(root: Path, names: list[str], settings) -> Path:
    """Write the instructor notebooks into root/source and run generate_assignment on them."""
    from coursekit.grading.plugins import nbgrader_api

    api = nbgrader_api(root, settings)
    for assignment in names:
        for language, nb in sources(assignment, settings.source).items():
            path = root / "source" / assignment / f"{language}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, path)
        result = api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise GradingError(f"nbgrader could not generate {assignment}:\n{result.get('log')}")
    return root


def generated_exercises(root: Path, settings) -> dict[Path, nbformat.NotebookNode]:
    """The student notebooks nbgrader releases, keyed by their path under exercises/."""
    prepare_course(root, assignments(settings.source), settings)
    return {settings.exercises / p.relative_to(root / "release"): nbformat.read(p, as_version=4)
            for p in sorted((root / "release").rglob("*.ipynb"))}


def write_exercises(course: Course, settings=None) -> list[Path]:
    """Regenerate exercises/ from solutions/ (Colab links first); returns the files written."""
    from coursekit.grading.settings import Settings
    from coursekit.notebooks import fix_links_in

    settings = settings or Settings.of(course)
    for source in sorted(settings.source.glob("*/*.md")):
        fix_links_in(course, source)
    with tempfile.TemporaryDirectory(prefix="course-nbgrader-") as tmp:
        released = generated_exercises(Path(tmp), settings)
    for path, nb in released.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
    return list(released)


def exercise_problems(settings) -> list[str]:
    """Ways exercises/ differs from what solutions/ generates (empty when up to date)."""
    with tempfile.TemporaryDirectory(prefix="course-nbgrader-") as tmp:
        released = generated_exercises(Path(tmp), settings)
    problems = []
    for path, nb in released.items():
        rel = path.relative_to(settings.exercises.parent)
        if not path.is_file():
            problems.append(f"{rel} is missing")
        elif nbformat.read(path, as_version=4) != nb:
            problems.append(f"{rel} differs from what solutions/ generates")
    folder = settings.exercises
    extra = set(folder.rglob("*.ipynb")) - set(released) if folder.is_dir() else set()
    problems += [f"{p.relative_to(folder.parent)} has no source in solutions/"
                 for p in sorted(extra)]
    return problems


def answered(assignment: str, language: str, skip: tuple = (),
             *, source: Path, exercises: Path) -> nbformat.NotebookNode:
    """The student notebook with the instructor's answers filled in (except grade_ids in skip)."""
    marker = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.M)
    solved = {grade_id(c): marker.sub("", c.source)
              for c in sources(assignment, source)[language].cells
              if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    nb = nbformat.read(exercises / assignment / f"{language}.ipynb", as_version=4)
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in solved and gid not in skip:
            cell.source = solved[gid]
    return nb
