"""nbval executes the first edition; every other edition's stored outputs must be what nbval
compares there, once its labels are mapped back (coursekit.nbcheck.edition_differences)."""

from __future__ import annotations

import re
import subprocess
import sys

import nbformat
import pytest
from checkout import COURSE

from coursekit import nbcheck
from coursekit.notebooks import notebook_path

FIRST, *OTHERS = COURSE.editions()
PAGES = [(ed, page) for ed in OTHERS for page in COURSE.toc_files()]


def stored(ed, page):
    """The committed notebook of a page."""
    return nbformat.read(notebook_path(ed, page), as_version=4)


@pytest.mark.parametrize(("ed", "page"), PAGES, ids=[f"{e.key}/{p}" for e, p in PAGES])
def test_stored_outputs_equal_the_executed_edition(ed, page):
    assert nbcheck.edition_differences(stored(FIRST, page), stored(ed, page)) == [], (
        f"{ed.key}/{page} stores other outputs than {FIRST.key}/{page}: run `make notebooks`")


def test_label_pairs_are_found_in_the_code():
    """The pairs mapped back are the label(en, zh) calls of the chapter's own code."""
    nb = stored(FIRST, "ch02_builtin_layers")
    pairs = nbcheck.label_pairs([c.source for c in nb.cells if c.cell_type == "code"])
    assert ("mode", "模式") in pairs and ("Dropout explorer", "Dropout 演示") in pairs


def test_nbval_collects_the_first_edition_unless_another_is_named():
    """`notebooks` gives the first edition's cells; a notebook named on the command line is
    collected whatever its edition."""
    other = notebook_path(OTHERS[0], COURSE.chapter_files()[0]).relative_to(COURSE.root)
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "notebooks",
                           str(other)],
                          cwd=COURSE.root, capture_output=True, text=True, timeout=120)
    files = set(re.findall(r"^(notebooks/\w+/\w+\.ipynb)::", done.stdout, re.M))
    want = {f"notebooks/{FIRST.key}/{p}.ipynb" for p in COURSE.chapter_files()} | {str(other)}
    assert files == want, done.stdout[-2000:] + done.stderr[-2000:]
