"""Pairing of MyST sources with executed notebooks: sync checks, parity checks, execution."""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import platform
import re
import tempfile
from pathlib import Path

import jupytext
import nbformat

from coursekit import readers
from coursekit.errors import NotebookFailedError, SyncError, TwinError
from coursekit.project import Course, Edition

COLAB_LINK = re.compile(
    r"https://colab\.research\.google\.com/github/[^)\s\"']+?/notebooks/(\w+)/(\w+)\.ipynb"
)
EXERCISE_LINK = re.compile(
    r"https://colab\.research\.google\.com/github/[^)\s\"']+?/exercises/(\w+)/(\w+)\.ipynb"
)
LOCAL_PATH = re.compile(r"/[^\s\"'\x1b]*?/(?:site|dist)-packages/")
IGNORE_TAG = "nbval-ignore-output"
IGNORE_REASONS = {"nondeterministic-timing", "nondeterministic-progress", "nondeterministic-id"}
# Stored outputs are made on CPU, with AVX2 kernels (any x86-64 machine can run them, whatever
# its own vector unit) and two threads, so that re-executing on another machine changes as little
# as possible. The provenance line of every chapter states what was used.
REFERENCE_ENV = {"OMP_NUM_THREADS": "2", "CUDA_VISIBLE_DEVICES": ""}
X86_REFERENCE_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
                     "ONEDNN_MAX_CPU_ISA": "AVX2"}


def course_of(edition: Edition) -> Course:
    """The course an edition belongs to."""
    return Course(edition.root)


def source_path(edition: Edition, page: str) -> Path:
    """The MyST text source of a page."""
    return edition.source_dir / f"{page}.md"


def notebook_path(edition: Edition, page: str) -> Path:
    """The executed notebook paired with a page."""
    return edition.notebook_dir / f"{page}.ipynb"


def read_source(path: Path) -> nbformat.NotebookNode:
    """Parse a MyST source into a notebook (no outputs); a fresh copy each call."""
    st = path.stat()
    return copy.deepcopy(parsed_myst(str(path), st.st_mtime_ns, st.st_size))


@functools.lru_cache(maxsize=256)
def parsed_myst(path: str, mtime_ns: int, size: int) -> nbformat.NotebookNode:
    """A MyST source parsed, cached while the file is unchanged (`read_source` copies it)."""
    return jupytext.read(path, fmt="md:myst")


def reader_site(edition: Edition) -> readers.Site:
    """What links in an edition's reader notebooks point to: labels, titles, chapter numbers."""
    from coursekit import glossary

    course = course_of(edition)
    site = readers.Site(course.site_url(), edition.key,
                        glossary=glossary.entries(course.glossary_file),
                        chapters={p: i for i, p in enumerate(course.chapter_files(), start=1)})
    for page in course.toc_files():
        lines = source_path(edition, page).read_text(encoding="utf-8").splitlines()
        exercises = [lines[i + 1].split(":label:")[1].strip() for i, line in enumerate(lines[:-1])
                     if line.startswith("```{exercise}") and lines[i + 1].startswith(":label:")]
        for k, label in enumerate(exercises, start=1):
            name = readers.WORDS[edition.key]["exercise"]
            site.labels[label] = (page, label, f"{name} {site.chapters.get(page, 0)}.{k}")
        for i, line in enumerate(lines):
            heading = readers.HEADING.match(line)
            if heading and page not in site.titles and line.startswith("# "):
                site.titles[page] = heading["title"]
            label = readers.LABEL.match(line)
            if label:
                title = next((h["title"] for h in map(readers.HEADING.match, lines[i + 1:i + 3])
                              if h), label["label"])
                top = any(near.startswith("# ") for near in lines[i + 1:i + 3])
                site.labels[label["label"]] = (page, "" if top else readers.sphinx_id(
                    label["label"]), title)
    return site


def reader_source(edition: Edition, page: str, site: readers.Site | None = None):
    """A page's source as its reader notebook (text converted, setup and solutions folded)."""
    nb = read_source(source_path(edition, page))
    nb.cells = readers.reader_cells(nb.cells, site or reader_site(edition), page)
    return nb


def cell_key(cell) -> tuple:
    """What must agree between a source cell and its notebook cell."""
    tags = tuple(cell.get("metadata", {}).get("tags", []))
    return (cell["cell_type"], cell["source"].strip(), tags)


def out_of_sync(edition: Edition, page: str, site: readers.Site | None = None) -> str | None:
    """Why a page's notebook is stale, or None when it matches its source."""
    nb_file = notebook_path(edition, page)
    name = nb_file.relative_to(edition.root)
    if not nb_file.is_file():
        return f"{name} does not exist"
    src = [cell_key(c) for c in reader_source(edition, page, site).cells]
    got = [cell_key(c) for c in nbformat.read(nb_file, as_version=4).cells]
    if len(src) != len(got):
        return f"{name} has {len(got)} cells, its source has {len(src)}"
    for i, (a, b) in enumerate(zip(src, got, strict=True)):
        if a != b:
            return f"{name} cell {i} differs from its source"
    return None


def site_source(edition: Edition, page: str) -> nbformat.NotebookNode:
    """What Sphinx builds a page from: the MyST text of book/ with the stored outputs of the
    reader notebook (same cells in the same order: `check_sync` makes sure)."""
    nb = nbformat.read(notebook_path(edition, page), as_version=4)
    myst = read_source(source_path(edition, page))
    for cell, text in zip(nb.cells, myst.cells, strict=True):
        if cell.cell_type == "markdown":
            cell.source = text.source
        for key in readers.FOLDED:
            cell.metadata.pop(key, None)
    return nb


def write_site_sources(edition: Edition, folder: Path) -> Path:
    """Write an edition's site sources into folder (unchanged files are left alone, which keeps
    Sphinx's incremental build); returns folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for page in course_of(edition).toc_files():
        text = nbformat.writes(site_source(edition, page))
        path = folder / f"{page}.ipynb"
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return folder


def check_sync(course: Course) -> None:
    """Every notebook in notebooks/ matches its MyST source."""
    eds, pages = course.editions(), course.toc_files()
    sites = {ed.key: reader_site(ed) for ed in eds}
    stale = [why for ed in eds for p in pages if (why := out_of_sync(ed, p, sites[ed.key]))]
    if stale:
        raise SyncError(
            "Notebooks are out of date with book/ (run `make notebooks`):\n  - "
            + "\n  - ".join(stale)
        )


def code_cells(nb) -> list[tuple]:
    """The code cells of a notebook, as (source, tags)."""
    return [cell_key(c)[1:] for c in nb.cells if c["cell_type"] == "code"]


def check_parity(course: Course) -> None:
    """Every page has identical code cells in all editions."""
    eds = course.editions()
    problems = []
    for page in course.toc_files():
        first = code_cells(read_source(source_path(eds[0], page)))
        for other in eds[1:]:
            cells = code_cells(read_source(source_path(other, page)))
            if cells != first:
                problems.append(f"{page}: {describe_code_diff(first, cells, eds[0], other)}")
    if problems:
        raise TwinError("Editions differ in code:\n  - " + "\n  - ".join(problems))


def describe_code_diff(a: list, b: list, ea: Edition, eb: Edition) -> str:
    """Name the first code cell where two editions differ."""
    if len(a) != len(b):
        return f"{ea.key} has {len(a)} code cells, {eb.key} has {len(b)}"
    i = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
    return f"code cell {i} differs between {ea.key} and {eb.key}"


def ignore_report(nb) -> tuple[int, int, list[str]]:
    """(compared, ignored, problems) for the code cells of one notebook under nbval.

    Compared cells are exact, numeric or provenance cells; chaotic cells (checked by their own
    asserts) and cells ignored for timing or progress output are not compared.
    """
    from coursekit.nbcheck import CHAOTIC, IGNORED, cell_kind, kind_problems

    compared = ignored = 0
    problems = []
    for i, cell in enumerate(c for c in nb.cells if c["cell_type"] == "code"):
        tags = set(cell.get("metadata", {}).get("tags", []))
        kind = cell_kind(cell)
        problems += [f"code cell {i} {p}" for p in kind_problems(cell)]
        if kind == IGNORED and not tags & IGNORE_REASONS:
            problems.append(f"code cell {i} ignores its output without a reason tag")
        if kind in (IGNORED, CHAOTIC):
            ignored += 1
        else:
            compared += 1
    return compared, ignored, problems


@contextlib.contextmanager
def environment(values: dict[str, str]):
    """Set environment variables for the duration of a block."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def reference_env():
    """Environment variables of the reference machine, for the kernels started inside."""
    wanted = dict(REFERENCE_ENV)
    if platform.machine().lower() in ("x86_64", "amd64"):
        wanted.update(X86_REFERENCE_ENV)
    return environment(wanted)


def fix_colab_links(edition: Edition, page: str) -> bool:
    """Point the page's Open-in-Colab links at repository.url; True if the file changed."""
    course = course_of(edition)
    return fix_links_in(course, source_path(edition, page), course.colab_url(edition.key, page))


def fix_links_in(course: Course, path: Path, own: str | None = None) -> bool:
    """Point a file's Colab links (its own, if given, and any assignment's) at repository.url."""
    text = path.read_text(encoding="utf-8")
    new = COLAB_LINK.sub(lambda m: own, text) if own else text
    new = EXERCISE_LINK.sub(lambda m: course.exercise_colab_url(m[1], m[2]), new)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


def colab_link_problems(edition: Edition, page: str) -> list[str]:
    """Colab links of a page that are missing or point elsewhere than repository.url."""
    course = course_of(edition)
    text = source_path(edition, page).read_text(encoding="utf-8")
    want = course.colab_url(edition.key, page)
    found = [m.group(0) for m in COLAB_LINK.finditer(text)]
    if not found:
        return [f"book/{edition.key}/{page}.md has no Open-in-Colab link"]
    wrong = [(u, want) for u in found if u != want]
    wrong += [(m[0], course.exercise_colab_url(m[1], m[2])) for m in EXERCISE_LINK.finditer(text)
              if m[0] != course.exercise_colab_url(m[1], m[2])]
    return [f"book/{edition.key}/{page}.md links {u}, expected {w}" for u, w in wrong]


def coalesce_streams(outputs: list) -> list:
    """Merge consecutive stdout (or stderr) chunks, so stored outputs do not depend on timing."""
    merged: list = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if (out.get("output_type") == "stream" and prev is not None
                and prev.get("output_type") == "stream" and prev.get("name") == out.get("name")):
            prev["text"] += out["text"]
        else:
            merged.append(out)
    return merged


def tidy_tracebacks(outputs: list) -> list:
    """Drop this machine's install path from tracebacks: readers see `site-packages/torch/...`."""
    for out in outputs:
        if out.get("output_type") == "error":
            out["traceback"] = [LOCAL_PATH.sub("site-packages/", t) for t in out["traceback"]]
    return outputs


def stable_ids(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Number the cells' ids by position, so regenerating a notebook does not churn its diff."""
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:03d}"
    return nb


def carry_outputs(edition: Edition, page: str) -> bool:
    """Rebuild a notebook whose source changed only in prose, keeping its outputs; True if done.

    Re-executing a chapter for a reworded paragraph would be slow, and outputs that depend on
    the machine (thread counts, timings) would churn; code cells must match exactly to reuse.
    """
    nb_file = notebook_path(edition, page)
    if not nb_file.is_file():
        return False
    old = nbformat.read(nb_file, as_version=4)
    new = stable_ids(reader_source(edition, page))
    old_code = [c for c in old.cells if c.cell_type == "code"]
    new_code = [c for c in new.cells if c.cell_type == "code"]
    if [cell_key(c) for c in old_code] != [cell_key(c) for c in new_code]:
        return False
    for cell, done in zip(new_code, old_code, strict=True):
        cell.outputs, cell.execution_count = done.outputs, done.execution_count
    new.metadata = old.metadata
    nbformat.write(new, nb_file)
    return True


def execute(edition: Edition, page: str, timeout: int = 600) -> Path:
    """Execute a page's source in an empty temporary folder and store the notebook."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = stable_ids(reader_source(edition, page))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    if any(c.cell_type == "code" for c in nb.cells):
        with tempfile.TemporaryDirectory(prefix="course-exec-") as tmp:
            client = NotebookClient(
                nb, timeout=timeout, kernel_name="python3",
                resources={"metadata": {"path": tmp}},
                record_timing=False, store_widget_state=True,
            )
            with reference_env(), environment({"COURSE_EDITION": edition.key}):
                try:
                    client.execute()
                except CellExecutionError as exc:
                    raise NotebookFailedError(
                        f"{edition.key}/{page} failed: {exc.ename}: {exc.evalue} (a cell not "
                        f"tagged raises-exception): fix it in book/{edition.key}/{page}.md, "
                        "then run `make notebooks` again") from None
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = tidy_tracebacks(coalesce_streams(cell.outputs))
    out = notebook_path(edition, page)
    out.parent.mkdir(parents=True, exist_ok=True)
    nb.metadata.pop("jupytext", None)
    nbformat.write(nb, out)
    return out
