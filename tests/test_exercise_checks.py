"""Run All in a student notebook, as in Jupyter or Colab: every question's checks run and report
their outcome (the first failure does not stop the run), and grading is unchanged."""

from __future__ import annotations

import nbformat
import pytest
from checkout import COURSE
from nbclient import NotebookClient

from coursekit import grading
from coursekit.grading.plugins import without_check_magic


def answered(assignment: str, language: str, skip: tuple = ()) -> nbformat.NotebookNode:
    """An answered student notebook of this checkout's assignment."""
    return grading.answered(assignment, language, skip, source=COURSE.solutions,
                            exercises=COURSE.exercises)

ASSIGNMENTS = grading.assignments(COURSE.solutions)


def check_outputs(nb) -> dict[str, tuple[str, list]]:
    """{question: (its check cell's text output, error output types)} after running nb."""
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=False).execute()
    found = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            text = "".join(o.get("text", "") for o in cell.outputs)
            found[meta["grade_id"]] = (text.strip(), [o.output_type for o in cell.outputs
                                                      if o.output_type == "error"])
    return found


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_run_all_reports_every_question(assignment):
    """Only the first answer is filled in: it passes, and every later question says it is not
    answered yet, instead of the run stopping at the first failure."""
    questions = list(grading.test_points(assignment, COURSE.solutions))
    later = tuple(f"{q}_answer" for q in questions[1:])
    nb = answered(assignment, "en", skip=later)
    got = check_outputs(nb)  # allow_errors=False: an error anywhere fails the test
    first, *rest = got
    assert got[first][0].startswith(f"✓ {first}: the visible checks pass"), got[first]
    for q in rest:
        assert got[q] == (f"✗ {q}: not answered yet · 尚未作答", []), got[q]


def test_a_wrong_answer_says_why_with_the_values():
    nb = answered(ASSIGNMENTS[0], "zh")
    answer = next(c for c in nb.cells
                  if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "q2_answer")
    answer.source = "def count_parameters(model):\n    return (1, 2)\n"
    got = check_outputs(nb)
    text, errors = got["q2"]
    assert text.startswith("✗ q2: ") and errors == []
    assert "(1, 2)" in text, "the message shows what the answer returned"
    assert got["q3"][0].startswith("✓ q3"), "the next question still ran"


def test_graded_cells_run_without_the_reporting_magic():
    """Under the grader a check cell's code runs as is, so a failure fails the cell (the corpus in
    test_grading.py shows the scores are unchanged)."""
    source = "%%check q1\nassert False, 'no'\n"
    assert without_check_magic(source) == "assert False, 'no'\n"
    assert without_check_magic("x = 1\n") == "x = 1\n"
