"""Notebooks: in sync with their sources, identical code across editions, self-contained."""

from __future__ import annotations

import re

import nbformat
import pytest
from checkout import COURSE

from coursekit import notebooks
from coursekit.nbcheck import PROVENANCE

PAGES = [(ed, page) for ed in COURSE.editions() for page in COURSE.toc_files()]
IDS = [f"{ed.key}/{page}" for ed, page in PAGES]
CHAPTERS = [(ed, page) for ed in COURSE.editions() for page in COURSE.chapter_files()]
CHAPTER_IDS = [f"{ed.key}/{page}" for ed, page in CHAPTERS]
# Colab ships these; a chapter may import nothing else.
COLAB_MODULES = {"torch", "numpy", "matplotlib", "ipywidgets", "sklearn", "tqdm", "random", "math",
                 "collections", "copy", "io", "os", "pathlib", "tempfile", "time", "warnings",
                 "itertools", "functools", "contextlib", "dataclasses", "typing", "IPython",
                 "PIL", "base64", "html"}


def stored(ed, page):
    """The committed notebook of a page."""
    return nbformat.read(notebooks.notebook_path(ed, page), as_version=4)


def code(nb):
    """Code cells of a notebook."""
    return [c for c in nb.cells if c.cell_type == "code"]


def test_notebooks_match_their_sources():
    notebooks.check_sync(COURSE)


def test_editions_have_identical_code():
    notebooks.check_parity(COURSE)


@pytest.mark.parametrize(("ed", "page"), CHAPTERS, ids=CHAPTER_IDS)
def test_colab_link_follows_config(ed, page):
    assert notebooks.colab_link_problems(ed, page) == []


@pytest.mark.parametrize(("ed", "page"), PAGES, ids=IDS)
def test_ignored_outputs_say_why(ed, page):
    _, _, problems = notebooks.ignore_report(stored(ed, page))
    assert problems == []


@pytest.mark.parametrize(("ed", "page"), PAGES, ids=IDS)
def test_errors_only_in_cells_tagged_raises_exception(ed, page):
    for cell in code(stored(ed, page)):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        tagged = "raises-exception" in cell.metadata.get("tags", [])
        assert bool(errors) == tagged, f"cell {cell.source[:60]!r}: error={bool(errors)}"


@pytest.mark.parametrize(("ed", "page"), PAGES, ids=IDS)
def test_tracebacks_show_no_local_install_path(ed, page):
    text = notebooks.notebook_path(ed, page).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if "-packages/" in line]  # the regex is slow
    assert not any(map(notebooks.LOCAL_PATH.search, lines)), (
        "run `make notebooks` (tracebacks are tidied)")
    assert str(COURSE.root) not in text


@pytest.mark.parametrize(("ed", "page"), PAGES, ids=IDS)
def test_no_warnings_or_stderr_in_stored_outputs(ed, page):
    for cell in code(stored(ed, page)):
        for out in cell.outputs:
            assert not (out.output_type == "stream" and out.name == "stderr"), out.text[:200]


def test_setup_cell_is_identical_in_every_chapter():
    first = {code(stored(ed, page))[0].source for ed, page in CHAPTERS}
    assert len(first) == 1, "the course setup cell differs between chapters"
    assert first.pop().startswith("#@title Course setup: run this cell first")


@pytest.mark.parametrize(("ed", "page"), CHAPTERS, ids=CHAPTER_IDS)
def test_chapter_states_provenance_and_runs_alone(ed, page):
    cells = code(stored(ed, page))
    provenance = "".join(o.get("text", "") for o in cells[0].outputs).strip()
    assert PROVENANCE.fullmatch(provenance), provenance
    reference = r"torch 2\.13\.0\+cpu \| device: cpu \| CPU: AVX2 \| threads: 2 "
    assert re.match(reference, provenance), (
        "stored outputs come from the reference set-up (`make notebooks` sets it)")
    for cell in cells:
        for module in re.findall(r"^\s*(?:from|import) (\w+)", cell.source, re.M):
            assert module in COLAB_MODULES, f"{page} imports {module}, which Colab lacks"
        opens_files = re.search(r"(?<![\w.])open\(", cell.source)   # builtin open, not Image.open
        assert not opens_files or "tempfile" in cell.source, "write only to temp dirs"


CJK = r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]"
HARD_WRAP = re.compile(CJK + r"\n[ ]*(?![-*|#>`:]|\d+\.)" + CJK)


@pytest.mark.parametrize("page", COURSE.toc_files())
def test_chinese_prose_is_not_hard_wrapped(page):
    """A line break between two Chinese characters shows as a stray space in the browser."""
    zh = next(ed for ed in COURSE.editions() if ed.key == "zh")
    nb = notebooks.read_source(notebooks.source_path(zh, page))
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "markdown"):
        match = HARD_WRAP.search(cell.source)
        assert not match, f"zh/{page} markdown cell {i} breaks a line mid-sentence: {match[0]!r}"
