"""Chapter 8 reaches its stated test accuracy, in the stored notebooks and on every fresh run."""

from __future__ import annotations

import re

import nbformat
import pytest
from checkout import COURSE

from coursekit.notebooks import notebook_path

PAGE = "ch08_cnn"
TARGET = re.compile(r"^TARGET = (0\.\d+)\b", re.M)
RESULT = re.compile(r"^test accuracy: (\d\.\d+)$", re.M)
ASSERTION = re.compile(r"^assert test_acc >= TARGET\b", re.M)
EDITIONS = COURSE.editions()


def evaluation_cell(ed):
    """The one stored code cell of an edition that defines TARGET."""
    nb = nbformat.read(notebook_path(ed, PAGE), as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and TARGET.search(c.source)]
    assert len(cells) == 1, f"{ed.key}: expected one code cell defining TARGET, found {len(cells)}"
    return cells[0]


def target(ed):
    """The TARGET value written in an edition's evaluation cell."""
    return float(TARGET.search(evaluation_cell(ed).source).group(1))


@pytest.mark.parametrize("ed", EDITIONS, ids=[ed.key for ed in EDITIONS])
def test_stored_test_accuracy_meets_target(ed):
    """The stored run printed one 'test accuracy: X' line with X at or above TARGET."""
    cell = evaluation_cell(ed)
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    found = RESULT.findall(text)
    assert len(found) == 1, f"{ed.key}: no single 'test accuracy: X' line in the outputs"
    assert float(found[0]) >= target(ed) >= 0.97, f"{ed.key}: {found[0]} vs {target(ed)}"


def test_editions_state_the_same_target():
    """Every edition promises the same accuracy."""
    assert len({target(ed) for ed in EDITIONS}) == 1


@pytest.mark.parametrize("ed", EDITIONS, ids=[ed.key for ed in EDITIONS])
def test_fresh_runs_assert_the_target(ed):
    """The evaluation cell asserts the target, so a fresh nbval run fails below it."""
    cell = evaluation_cell(ed)
    assert ASSERTION.search(cell.source), f"{ed.key}: evaluation cell lacks the assertion"
    assert "raises-exception" not in cell.metadata.get("tags", []), "the assertion must not fail"
