"""Graded assignments: exercises/ is generated from solutions/ and leaks nothing, both languages
share their code, and the grader scores a corpus of good, partial, broken and hostile
submissions exactly as expected, without losing anyone's result."""

from __future__ import annotations

import csv
import json
import os
import re

import nbformat
import pytest

from coursekit import grading
from coursekit.__main__ import main

ASSIGNMENTS = grading.assignments()


def nbg(cell) -> dict:
    """A cell's nbgrader metadata."""
    return cell.get("metadata", {}).get("nbgrader", {})


def released(assignment: str, language: str) -> nbformat.NotebookNode:
    """The committed student notebook."""
    return nbformat.read(grading.EXERCISES / assignment / f"{language}.ipynb", as_version=4)


def points(assignment: str) -> dict[str, float]:
    """Points of each test cell."""
    nb = grading.sources(assignment)["en"]
    return {nbg(c)["grade_id"]: float(nbg(c)["points"]) for c in nb.cells if nbg(c).get("grade")}


def test_every_assignment_has_both_languages():
    assert ASSIGNMENTS, "solutions/ holds no assignment"
    for assignment in ASSIGNMENTS:
        assert set(grading.sources(assignment)) == {"en", "zh"}, assignment


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_languages_share_code_and_tests(assignment):
    src = grading.sources(assignment)
    code = {lang: [(c.source, nbg(c)) for c in nb.cells if c.cell_type == "code"]
            for lang, nb in src.items()}
    assert code["en"] == code["zh"], f"{assignment}: code or test cells differ between editions"


def test_exercises_are_generated_from_solutions():
    assert grading.exercise_problems() == [], "run `python -m coursekit exercises`"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercises_hold_no_solution_and_no_hidden_test(assignment):
    src = grading.sources(assignment)["en"]
    region = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)
    public = "\n".join(region.sub("", c.source) for c in src.cells)  # what students may see
    secret = [line.strip() for c in src.cells for m in region.finditer(c.source)
              for line in m[2].splitlines()
              if len(line.strip()) > 12 and line.strip() not in public]
    assert secret, "the source has solution and hidden-test regions"
    for language in ("en", "zh"):
        text = (grading.EXERCISES / assignment / f"{language}.ipynb").read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
        leaked = [line for line in secret if json.dumps(line)[1:-1] in text]
        assert leaked == [], f"{assignment}/{language} leaks: {leaked[:3]}"
        stubs = sum("raise NotImplementedError()" in c.source
                    for c in released(assignment, language).cells if c.cell_type == "code")
        assert stubs == sum(1 for c in src.cells if nbg(c).get("solution"))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_notebooks_link_to_colab(assignment):
    for language in ("en", "zh"):
        text = released(assignment, language).cells[0].source
        url = f"/blob/main/exercises/{assignment}/{language}.ipynb"
        assert "colab.research.google.com/github/" in text and url in text


# ---------------------------------------------------------------- the corpus


def corpus(folder, assignment: str) -> dict[str, dict]:
    """Write a corpus of submissions; returns the expected outcome of each file."""
    full, qs = points(assignment), list(points(assignment))
    first, last = qs[0], qs[-1]
    expect: dict[str, dict] = {}

    def put(name, nb_or_text, **want):
        path = folder / name
        if isinstance(nb_or_text, str):
            path.write_text(nb_or_text, encoding="utf-8")
        else:
            nbformat.write(nb_or_text, path)
        expect[name] = want

    total = sum(full.values())
    put("solution_en.ipynb", grading.answered(assignment, "en"), total=total)
    put("solution_zh.ipynb", grading.answered(assignment, "zh"), total=total, language="zh")
    put("untouched.ipynb", released(assignment, "en"), total=0)
    later = tuple(f"{q}_answer" for q in qs[1:])
    put("first_only.ipynb", grading.answered(assignment, "en", skip=later), total=full[first])
    put("empty.ipynb", "", status="not graded", message="empty file")
    put("truncated.ipynb", json.dumps(grading.answered(assignment, "en"))[:500],
        status="not graded", message="not valid JSON")
    put("notes.txt", "my answers are in the notebook", status="not graded",
        message="not a notebook")
    schema = json.loads(json.dumps(grading.answered(assignment, "en")))
    schema["cells"][0]["cell_type"] = "spreadsheet"
    put("schema.ipynb", json.dumps(schema), status="not graded", message="not a valid notebook")

    def edited(grade_id, change):
        nb = grading.answered(assignment, "en")
        cell = next(c for c in nb.cells if nbg(c).get("grade_id") == grade_id)
        cell.source = change(cell.source)
        return nb

    put("exception.ipynb", edited(f"{last}_answer", lambda s: "raise RuntimeError('bug')\n" + s),
        total=total - full[last])
    put("endless_loop.ipynb", edited(f"{last}_answer", lambda s: "while True:\n    pass\n" + s),
        total=total - full[last])
    spam = "\nfor _ in range(50_000):\n    print('spam ' * 20)\n"
    put("huge_output.ipynb", edited(f"{first}_answer", lambda s: s + spam), total=total)
    # From here on every cell, the test cells included, writes a warning to stderr.
    noisy = ("\nimport sys\nget_ipython().events.register("
             "'post_run_cell', lambda *args: print('UserWarning: noisy', file=sys.stderr))\n")
    put("stderr_warnings.ipynb", edited(f"{first}_answer", lambda s: s + noisy), total=total)

    nb = grading.answered(assignment, "en")
    nb.cells = [c for c in nb.cells if nbg(c).get("grade_id") != last]
    put("deleted_test_cell.ipynb", nb, total=total)

    nb = grading.answered(assignment, "en")
    for c in nb.cells:
        if nbg(c).get("grade_id") == last:
            c.metadata["nbgrader"]["grade_id"] = "my_renamed_cell"
    put("renamed_test_cell.ipynb", nb, total=total)

    nb = grading.answered(assignment, "en")
    test = next(i for i, c in enumerate(nb.cells) if nbg(c).get("grade_id") == last)
    nb.cells.insert(test - 1, nb.cells.pop(test))  # test cell moved above its answer
    put("reordered.ipynb", nb, total=total - full[last])

    nb = released(assignment, "en")
    for c in nb.cells:
        if nbg(c).get("grade"):
            c.source = "pass  # the student replaced the checks"
    put("overwrote_tests.ipynb", nb, total=0)

    nb = grading.answered(assignment, "zh")
    nb.metadata["course"]["language"] = "en"  # Chinese notebook, wrongly labelled
    put("mislabelled.ipynb", nb, total=total)
    return expect


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the corpus once, in two shards merged into one CSV, like a CI matrix would."""
    assignment = ASSIGNMENTS[0]
    os.environ["COURSE_CELL_TIMEOUT"] = "10"  # the endless loop costs 10 s, not 30
    folder = tmp_path_factory.mktemp("submissions")
    expect = corpus(folder, assignment)
    out = tmp_path_factory.mktemp("grades")
    for i in (1, 2):
        assert main(["grade", str(folder), "--out", str(out / f"shard{i}"), "--jobs", "2",
                     "--shard", f"{i}/2"]) == 0
    assert main(["grade-merge", str(out / "grades.csv"), str(out / "shard1" / "grades.csv"),
                 str(out / "shard2" / "grades.csv")]) == 0
    with (out / "grades.csv").open(encoding="utf-8") as f:
        rows = {r["file"]: r for r in csv.DictReader(f)}
    return expect, rows, out


def test_every_file_has_exactly_one_row(graded):
    expect, rows, _ = graded
    assert sorted(rows) == sorted(expect)


@pytest.mark.parametrize("name", ["solution_en.ipynb", "solution_zh.ipynb", "untouched.ipynb",
                                  "first_only.ipynb", "exception.ipynb", "endless_loop.ipynb",
                                  "huge_output.ipynb", "stderr_warnings.ipynb",
                                  "deleted_test_cell.ipynb", "renamed_test_cell.ipynb",
                                  "reordered.ipynb", "overwrote_tests.ipynb", "mislabelled.ipynb"])
def test_submission_gets_the_expected_score(graded, name):
    expect, rows, _ = graded
    row, want = rows[name], expect[name]
    assert row["status"] == "graded", row
    assert float(row["total"]) == want["total"], row
    assert float(row["max_total"]) == sum(points(ASSIGNMENTS[0]).values())
    assert row["language"] == want.get("language", "en")


@pytest.mark.parametrize("name", ["empty.ipynb", "truncated.ipynb", "notes.txt", "schema.ipynb"])
def test_unreadable_file_is_reported_not_fatal(graded, name):
    expect, rows, out = graded
    row = rows[name]
    assert row["status"] == expect[name]["status"] and expect[name]["message"] in row["message"]
    assert float(row["total"]) == 0
    page = (out / next(p for p in ("shard1", "shard2") if (out / p / "feedback" /
                                                            f"{row['student']}.html").is_file())
            / "feedback" / f"{row['student']}.html")
    assert expect[name]["message"].split()[0] in page.read_text(encoding="utf-8")


def test_english_and_chinese_solutions_score_alike(graded):
    _, rows, _ = graded
    qs = list(points(ASSIGNMENTS[0]))
    assert [rows["solution_en.ipynb"][q] for q in qs] == [rows["solution_zh.ipynb"][q] for q in qs]


def test_feedback_page_for_every_graded_student(graded):
    _, rows, out = graded
    pages = {p.stem for p in out.rglob("feedback/*.html")}
    assert {r["student"] for r in rows.values()} <= pages


def test_merge_refuses_a_student_in_two_shards(graded, tmp_path):
    _, _, out = graded
    part = out / "shard1" / "grades.csv"
    assert main(["grade-merge", str(tmp_path / "all.csv"), str(part), str(part)]) == 2
    assert not (tmp_path / "all.csv").exists()


def test_bad_shard_and_missing_folder_give_clear_errors(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder of submissions" in capsys.readouterr().err
    assert main(["grade", str(tmp_path), "--shard", "3/2"]) == 2
    assert "--shard must look like" in capsys.readouterr().err
