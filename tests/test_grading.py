"""Graded assignments: exercises/ is generated from solutions/ and leaks nothing, both languages
share their code, and the grader scores a corpus of good, partial, broken and hostile
submissions exactly as expected, without losing anyone's result."""

from __future__ import annotations

import csv
import json
import os
import re

import corpus_questions
import nbformat
import pytest
from checkout import COURSE

from coursekit import grading
from coursekit.__main__ import main
from coursekit.grading import sandbox


def answered(assignment: str, language: str, skip: tuple = ()) -> nbformat.NotebookNode:
    """An answered student notebook of this checkout's assignment."""
    return grading.answered(assignment, language, skip, source=COURSE.solutions,
                            exercises=COURSE.exercises)

ASSIGNMENTS = grading.assignments(COURSE.solutions)
SANDBOXED = sandbox.abi() >= 1  # Landlock (Linux 5.13+); elsewhere kernels can read any file


def nbg(cell) -> dict:
    """A cell's nbgrader metadata."""
    return cell.get("metadata", {}).get("nbgrader", {})


def released(assignment: str, language: str) -> nbformat.NotebookNode:
    """The committed student notebook."""
    return nbformat.read(COURSE.exercises / assignment / f"{language}.ipynb", as_version=4)


def points(assignment: str) -> dict[str, float]:
    """Points of each test cell."""
    nb = grading.sources(assignment, COURSE.solutions)["en"]
    return {nbg(c)["grade_id"]: float(nbg(c)["points"]) for c in nb.cells if nbg(c).get("grade")}


def test_every_assignment_has_both_languages():
    assert ASSIGNMENTS, "solutions/ holds no assignment"
    for assignment in ASSIGNMENTS:
        assert set(grading.sources(assignment, COURSE.solutions)) == {"en", "zh"}, assignment


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_languages_share_code_and_tests(assignment):
    src = grading.sources(assignment, COURSE.solutions)
    code = {lang: [(c.source, nbg(c)) for c in nb.cells if c.cell_type == "code"]
            for lang, nb in src.items()}
    assert code["en"] == code["zh"], f"{assignment}: code or test cells differ between editions"


def test_exercises_are_generated_from_solutions():
    problems = grading.exercise_problems(grading.Settings.of(COURSE))
    assert problems == [], "run `python -m coursekit exercises`"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercises_hold_no_solution_and_no_hidden_test(assignment):
    src = grading.sources(assignment, COURSE.solutions)["en"]
    region = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)
    public = "\n".join(region.sub("", c.source) for c in src.cells)  # what students may see
    secret = [line.strip() for c in src.cells for m in region.finditer(c.source)
              for line in m[2].splitlines()
              if len(line.strip()) > 12 and line.strip() not in public]
    assert secret, "the source has solution and hidden-test regions"
    for language in ("en", "zh"):
        nb = released(assignment, language)
        text = notebook_text(nb)
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
        assert leaked(secret, text) == [], f"{assignment}/{language} leaks"
        planted = json.loads(json.dumps(nb))  # positive control: a planted hidden line is found
        planted["cells"][-1]["source"] += "\n" + secret[-1]
        assert secret[-1] in leaked(secret, notebook_text(nbformat.from_dict(planted)))
        stubs = sum("raise NotImplementedError()" in c.source
                    for c in released(assignment, language).cells if c.cell_type == "code")
        assert stubs == sum(1 for c in src.cells if nbg(c).get("solution"))


def notebook_text(nb) -> str:
    """Everything a student sees in a notebook: sources and text outputs, as parsed text."""
    parts = []
    for cell in nb.cells:
        parts.append(cell.source)
        for out in cell.get("outputs", []):
            parts += [str(out.get("text", "")), str(out.get("evalue", ""))]
            parts += [str(v) for v in out.get("data", {}).values()]
    return "\n".join(parts)


def leaked(secret: list[str], text: str) -> list[str]:
    """The secret lines that appear in text."""
    return [line for line in secret if line in text]


def test_leak_check_sees_through_escaping():
    """Chinese hidden-test messages are found whether stored raw or JSON-escaped (positive)."""
    secret = ["assert out.shape == (2, 3), '形状不对 · wrong shape'"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(secret[0])])
    on_disk = nbformat.writes(nb)
    assert json.dumps(secret[0])[1:-1] not in on_disk  # the old check would have missed it
    assert leaked(secret, notebook_text(nbformat.reads(on_disk, as_version=4))) == secret


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_notebooks_link_to_colab(assignment):
    for language in ("en", "zh"):
        text = released(assignment, language).cells[0].source
        assert f"({COURSE.exercise_colab_url(assignment, language)})" in text


# ---------------------------------------------------------------- the corpus

FIRST = ASSIGNMENTS[0]  # chapter 1: the full corpus of bad, partial and hostile submissions
WRONG_FORWARD = ("class TwoLayerNet(nn.Module):\n"
                 "    def __init__(self, n_in, n_hidden, n_out):\n"
                 "        super().__init__()\n"
                 "        self.fc1 = nn.Linear(n_in, n_hidden)\n"
                 "        self.act = nn.ReLU()\n"
                 "        self.fc2 = nn.Linear(n_hidden, n_out)\n\n"
                 "    def forward(self, x):\n"
                 "        return 1.5 * self.fc2(self.act(self.fc1(x)))  # wrong values\n")
NOT_A_RELU = WRONG_FORWARD.replace("nn.ReLU()", "MyReLU()").replace("1.5 * ", "") + (
    "\n\nclass MyReLU(nn.Module):  # right values, but the question asks for nn.ReLU\n"
    "    def forward(self, x):\n"
    "        return torch.relu(x)\n")
ATTACKS = {  # name: (code added to question 1's answer, the review flag it must raise)
    "monkeypatch_torch": (WRONG_FORWARD + "\ntorch.allclose = lambda *args, **kwargs: True\n"
                          "torch.Tensor.__eq__ = lambda self, other: True\n",
                          "monkeypatches a library"),
    "shadowed_builtins": (NOT_A_RELU + "\n\ndef isinstance(obj, cls):\n    return True\n",
                          "redefines a builtin"),
    "fake_torch_module": (WRONG_FORWARD + "\nimport sys, types\n"
                          "fake = types.ModuleType('torch')\nfake.__dict__.update(torch.__dict__)\n"
                          "fake.allclose = lambda *args, **kwargs: True\n"
                          "sys.modules['torch'] = fake\n", "edits sys.modules"),
}
TAMPER_FILES = ("\nimport pathlib, shutil\n"
                "for parent in pathlib.Path.cwd().parents:\n"
                "    if (parent / 'gradebook.db').exists():\n"
                "        (parent / 'gradebook.db').write_bytes(b'not a database any more')\n"
                "        shutil.rmtree(parent / 'source', ignore_errors=True)\n"
                "        shutil.rmtree(parent / 'release', ignore_errors=True)\n"
                "        break\n")
# Looks for the instructor notebooks (hidden tests and reference answers) wherever the grader
# keeps them and runs their answers: 15/15 without a sandbox (see the positive control below).
READ_SOURCES = ("import json, pathlib\n"
                "found = [p for parent in pathlib.Path.cwd().parents\n"
                "         for p in parent.glob('source/*/en.ipynb')]\n"
                f"found += sorted(pathlib.Path({str(COURSE.solutions)!r}).glob('*/en.md'))\n"
                "for path in found:\n"
                "    try:\n"
                "        cells = json.loads(path.read_text())['cells']\n"
                "    except Exception:\n"
                "        continue\n"
                "    for cell in cells:\n"
                "        if cell['metadata'].get('nbgrader', {}).get('solution'):\n"
                "            exec(''.join(cell['source']), globals())\n"
                "    break\n")
KILL_PARENT = "\nimport os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
KILL_WORKER = "\nimport os, signal\nos.kill(int(os.environ['JPY_PARENT_PID']), signal.SIGKILL)\n"


def reads_sources() -> nbformat.NotebookNode:
    """The handed-out notebook with READ_SOURCES as every answer: nothing answered by hand."""
    nb = released(FIRST, "en")
    for cell in nb.cells:
        if nbg(cell).get("solution"):
            cell.source = READ_SOURCES
    return nb


def write(folder, name, nb_or_text) -> None:
    """Write a notebook (or raw text) into the submissions folder."""
    if isinstance(nb_or_text, str):
        (folder / name).write_text(nb_or_text, encoding="utf-8")
    else:
        nbformat.write(nb_or_text, folder / name)


def edited(assignment, grade_id, change, language="en"):
    """The answered notebook with one cell's source changed."""
    nb = answered(assignment, language)
    cell = next(c for c in nb.cells if nbg(c).get("grade_id") == grade_id)
    cell.source = change(cell.source)
    return nb


def corpus(folder) -> dict[str, dict]:
    """Write every submission of the corpus; returns the expected outcome of each file."""
    expect: dict[str, dict] = {}

    def put(name, nb_or_text, assignment=FIRST, **want):
        write(folder, name, nb_or_text)
        expect[name] = {"assignment": assignment, **want}

    for assignment in ASSIGNMENTS[1:]:  # every other assignment: full marks, zero, partial
        full = points(assignment)
        q1, later = next(iter(full)), tuple(f"{q}_answer" for q in list(full)[1:])
        for language in ("en", "zh"):
            put(f"{assignment}_solution_{language}.ipynb", answered(assignment, language),
                assignment, total=sum(full.values()), language=language)
            put(f"{assignment}_untouched_{language}.ipynb", released(assignment, language),
                assignment, total=0, language=language)
        put(f"{assignment}_first_only.ipynb", answered(assignment, "en", skip=later),
            assignment, total=full[q1])

    full, qs = points(FIRST), list(points(FIRST))
    first, last = qs[0], qs[-1]
    total = sum(full.values())
    put("solution_en.ipynb", answered(FIRST, "en"), total=total)
    put("solution_zh.ipynb", answered(FIRST, "zh"), total=total, language="zh")
    put("untouched.ipynb", released(FIRST, "en"), total=0)
    later = tuple(f"{q}_answer" for q in qs[1:])
    put("first_only.ipynb", answered(FIRST, "en", skip=later), total=full[first])
    put("empty.ipynb", "", status="not graded", message="empty file")
    put("truncated.ipynb", json.dumps(answered(FIRST, "en"))[:500],
        status="not graded", message="not valid JSON")
    put("notes.txt", "my answers are in the notebook", status="not graded",
        message="not a notebook")
    schema = json.loads(json.dumps(answered(FIRST, "en")))
    schema["cells"][0]["cell_type"] = "spreadsheet"
    put("schema.ipynb", json.dumps(schema), status="not graded", message="not a valid notebook")

    put("exception.ipynb", edited(FIRST, f"{last}_answer", lambda s: "raise RuntimeError('bug')\n"
                                  + s), total=total - full[last],
        message=f"{last} (the answer cell raised RuntimeError: bug)")
    put("endless_loop.ipynb", edited(FIRST, f"{last}_answer", lambda s: "while True:\n    pass\n"
                                     + s), total=total - full[last],
        message=f"{last} (the answer cell ran longer than the limit of 10 s per cell")
    spam = "\nfor _ in range(50_000):\n    print('spam ' * 20)\n"
    put("huge_output.ipynb", edited(FIRST, f"{first}_answer", lambda s: s + spam), total=total)
    # From here on every cell, the test cells included, writes a warning to stderr.
    noisy = ("\nimport sys\nget_ipython().events.register("
             "'post_run_cell', lambda *args: print('UserWarning: noisy', file=sys.stderr))\n")
    put("stderr_warnings.ipynb", edited(FIRST, f"{first}_answer", lambda s: s + noisy),
        total=total, review="installs IPython hooks")

    nb = answered(FIRST, "en")
    nb.cells = [c for c in nb.cells if nbg(c).get("grade_id") != last]
    put("deleted_test_cell.ipynb", nb, total=total)

    nb = answered(FIRST, "en")
    for c in nb.cells:
        if nbg(c).get("grade_id") == last:
            c.metadata["nbgrader"]["grade_id"] = "my_renamed_cell"
    put("renamed_test_cell.ipynb", nb, total=total)

    nb = answered(FIRST, "en")
    test = next(i for i, c in enumerate(nb.cells) if nbg(c).get("grade_id") == last)
    nb.cells.insert(test - 1, nb.cells.pop(test))  # test cell moved above its answer
    put("reordered.ipynb", nb, total=total, message=f"put {last}, {last}_answer back in the order")
    nb = answered(FIRST, "en")  # a stray M key: the answer became a Markdown cell
    at = next(i for i, c in enumerate(nb.cells) if nbg(c).get("grade_id") == f"{qs[1]}_answer")
    nb.cells[at] = nbformat.v4.new_markdown_cell(nb.cells[at].source,
                                                 metadata=nb.cells[at].metadata)
    put("retyped_answer.ipynb", nb, total=total, message=f"made {qs[1]}_answer a code cell again")
    nb = json.loads(nbformat.writes(answered(FIRST, "en")))  # saved by Colab
    nb["nbformat_minor"] = 0
    nb["metadata"].update(colab={"provenance": [], "name": "ch01.ipynb"}, accelerator="GPU")
    for k, cell in enumerate(nb["cells"]):
        cell.pop("id", None)
        cell["metadata"].update(id=f"c0L4b{k}", colab={"base_uri": "https://localhost:8080/"})
        cell["metadata"].get("nbgrader", {}).pop("locked", None)  # Colab keeps it; a fork may not
        if cell["cell_type"] == "code":
            cell["metadata"]["outputId"] = "e1f2"
    put("colab_saved.ipynb", json.dumps(nb), total=total,
        message="upgraded from nbformat 4.0; dropped editor metadata (colab, accelerator)")
    nb = json.loads(nbformat.writes(answered(FIRST, "zh")))  # saved by VS Code
    nb["metadata"].update(vscode={"interpreter": {"hash": "ab12"}},
                          kernelspec={"name": ".venv", "display_name": ".venv (Python 3.12.3)",
                                      "language": "python"})
    for cell in nb["cells"]:
        cell["metadata"]["vscode"] = {"languageId": "python"}
    put("vscode_saved.ipynb", json.dumps(nb), total=total, language="zh",
        message="dropped editor metadata (vscode)")
    put("nbformat_v3.ipynb", nbformat.writes(nbformat.convert(answered(FIRST, "en"), 3)),
        total=total, message="upgraded from nbformat 3.0")
    torch_error = "import torch\nfrom torch import nn\nnn.Linear(2, 3)(torch.zeros(4))\n"
    put("error_inside_torch.ipynb", edited(FIRST, f"{last}_answer", lambda s: torch_error + s),
        total=total - full[last], message=f"{last} (the answer cell raised RuntimeError")
    put("reads_instructor_sources.ipynb",
        reads_sources(), total=0 if SANDBOXED else total,
        review="reads files outside the submission")

    nb = released(FIRST, "en")
    for c in nb.cells:
        if nbg(c).get("grade"):
            c.source = "pass  # the student replaced the checks"
    put("overwrote_tests.ipynb", nb, total=0)

    nb = answered(FIRST, "zh")
    nb.metadata["course"]["language"] = "en"  # Chinese notebook, wrongly labelled
    put("mislabelled.ipynb", nb, total=total)  # graded as labelled: the tests are the same

    for name, (code, flag) in ATTACKS.items():  # wrong answers that only pass if tests are fooled
        lost = full[first]
        if name == "shadowed_builtins":  # the tests get the real isinstance; the student's own
            lost += full[qs[2]]          # q3 answer gets theirs, as in Jupyter, and breaks on it
        put(f"{name}.ipynb", edited(FIRST, f"{first}_answer", lambda s, c=code: c),
            total=total - lost, review=flag)
    put("tampered_course_files.ipynb", edited(FIRST, f"{last}_answer", lambda s: s + TAMPER_FILES),
        total=total, review="touches files or processes")
    put("kernel_dies.ipynb", edited(FIRST, f"{last}_answer", lambda s: "import os\nos._exit(3)\n"),
        status="not graded", message="the kernel died")
    # Graded early: the kernels of later files must survive the loss of the kernel factory.
    put("aa_kills_its_parent.ipynb", edited(FIRST, f"{first}_answer", lambda s: s + KILL_PARENT),
        total=total)
    # Kills the process that grades it, every time: costs its own grade, nobody else's, although
    # it sorts first in its shard (every file after it was in the pool it broke).
    put("ab_kills_its_worker.ipynb", edited(FIRST, f"{first}_answer", lambda s: s + KILL_WORKER),
        status="not graded", message="killed the grader's worker process")

    # What students' tools do to cells.
    qid = qs[1]
    nb = answered(FIRST, "en")  # Jupyter copy/paste of an answered cell: same metadata
    at = next(i for i, c in enumerate(nb.cells) if nbg(c).get("grade_id") == f"{qid}_answer")
    nb.cells.insert(at + 1, nbformat.from_dict(json.loads(json.dumps(nb.cells[at]))))
    nb.cells[at + 1]["id"] = "pasted-copy"
    put("pasted_answer.ipynb", nb, total=total, message=f"kept one of 2 copies of {qid}_answer")
    nb = answered(FIRST, "en")  # the handed-out stub pasted below the answer
    stub = next(c for c in released(FIRST, "en").cells if nbg(c).get("grade_id") == f"{qid}_answer")
    at = next(i for i, c in enumerate(nb.cells) if nbg(c).get("grade_id") == f"{qid}_answer")
    nb.cells.insert(at + 1, nbformat.from_dict(json.loads(json.dumps(stub))))
    nb.cells[at + 1]["id"] = "pasted-stub"
    put("pasted_stub_below.ipynb", nb, total=total)
    nb = answered(FIRST, "en")  # a test cell pasted twice
    at = next(i for i, c in enumerate(nb.cells) if nbg(c).get("grade_id") == qid)
    for k in (1, 2):
        nb.cells.insert(at + k, nbformat.from_dict(json.loads(json.dumps(nb.cells[at]))))
        nb.cells[at + k]["id"] = f"pasted-test-{k}"
    put("pasted_test_cell.ipynb", nb, total=total, message=f"kept one of 3 copies of {qid}")
    nb = answered(FIRST, "en", skip=(f"{last}_answer",))  # Colab deletes unanswered q
    nb.cells = [c for c in nb.cells if nbg(c).get("grade_id") != f"{last}_answer"]
    put("deleted_unanswered.ipynb", nb, total=total - full[last],
        message=f"restored {last}_answer from the assignment")
    put("学生甲.ipynb", answered(FIRST, "zh"), total=total, language="zh",
        student="学生甲")

    helper = ("def filter(params):\n    \"\"\"Trainable ones (named like a builtin).\"\"\"\n"
              "    return [p for p in params if p.requires_grad]\n\n\n"
              "def count_parameters(model):\n    params = list(model.parameters())\n"
              "    trainable = filter(params)\n"
              "    return sum(p.numel() for p in params), sum(p.numel() for p in trainable)\n")
    put("helper_named_filter.ipynb", edited(FIRST, f"{qid}_answer", lambda s: helper), total=total)

    # Wrong answers that only looser checks would accept.
    fake = ("class Counts(tuple):\n    def __eq__(self, other):\n        return True\n\n"
            "    __hash__ = tuple.__hash__\n\n\ndef count_parameters(model):\n"
            "    return Counts((1, 1))\n")
    put("tuple_that_equals_anything.ipynb", edited(FIRST, f"{qid}_answer", lambda s: fake),
        total=total - full[qid], review="overrides equality")
    ch07 = "ch07_serialisation_modes"
    q_load = next(nbg(c)["grade_id"] for c in grading.sources(ch07, COURSE.solutions)["en"].cells
                  if "recording_load" in c.source)
    nb = answered(ch07, "en")
    answer = next(c for c in nb.cells if 'map_location="cpu", weights_only=True)' in c.source
                  and nbg(c).get("solution"))
    answer.source = answer.source.replace('map_location="cpu", weights_only=True)',
                                          'map_location="cpu")')
    put("ch07_without_weights_only.ipynb", nb, ch07,
        total=sum(points(ch07).values()) - points(ch07)[q_load],
        message=f"{q_load} (AssertionError: pass weights_only=True")

    # The question audit: wrong answers the hidden tests now catch, valid alternatives they pass.
    for name, nb, assignment, want in corpus_questions.cases():
        full_marks = points(assignment)
        put(name, nb, assignment, total=sum(full_marks.values()) - sum(
            full_marks[q] for q in want["lost"]), message=want.get("message", ""),
            review=want.get("review", ""))
    return expect


@pytest.fixture(scope="module")
def graded(tmp_path_factory, own_orphans):
    """Grade the corpus once, in two shards merged into one CSV, like a CI matrix would."""
    folder = tmp_path_factory.mktemp("submissions")
    expect = corpus(folder)
    out = tmp_path_factory.mktemp("grades")
    for i in (1, 2):  # --cell-timeout 10: the endless loop costs 10 s, not 30
        assert main(["grade", str(folder), "--out", str(out / f"shard{i}"), "--jobs", "2",
                     "--shard", f"{i}/2", "--cell-timeout", "10"]) == 0
    assert main(["grade-merge", str(out / "grades.csv"), str(out / "shard1" / "grades.csv"),
                 str(out / "shard2" / "grades.csv")]) == 0
    with (out / "grades.csv").open(encoding="utf-8") as f:
        listed = list(csv.DictReader(f))
    rows = {r["file"]: r for r in listed}
    return expect, rows, out, listed


def feedback(out, student: str) -> str:
    """The feedback page of a student, from whichever shard graded them."""
    page = next(out.glob(f"shard*/feedback/{student}.html"))
    return page.read_text(encoding="utf-8")


def test_every_file_has_exactly_one_row(graded):
    expect, _, _, listed = graded
    files = [r["file"] for r in listed]  # a list: a file graded twice shows twice
    assert sorted(files) == sorted(expect)
    assert len({r["student"] for r in listed}) == len(listed), "a student id is repeated"


def graded_names(status: str = "graded") -> list[str]:
    """Names of the corpus files with a given expected status (built without grading)."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        return sorted(n for n, w in corpus(Path(tmp)).items()
                      if w.get("status", "graded") == status)


@pytest.mark.parametrize("name", graded_names())
def test_submission_gets_the_expected_score(graded, name):
    expect, rows, _, _ = graded
    row, want = rows[name], expect[name]
    assert row["status"] == "graded", row
    assert row["assignment"] == want["assignment"], row
    assert float(row["total"]) == want["total"], row
    assert float(row["max_total"]) == sum(points(want["assignment"]).values())
    assert row["language"] == want.get("language", "en")
    assert want.get("review", "") in row["review"], row
    if not want.get("review"):
        assert row["review"] == "", row
    assert want.get("message", "") in row["message"], row
    assert row["student"] == want.get("student", row["student"])


@pytest.mark.parametrize("name", graded_names("not graded"))
def test_unreadable_file_is_reported_not_fatal(graded, name):
    expect, rows, out, _ = graded
    row = rows[name]
    assert row["status"] == expect[name]["status"] and expect[name]["message"] in row["message"]
    assert float(row["total"]) == 0
    assert expect[name]["message"].split()[0] in feedback(out, row["student"])


def test_english_and_chinese_solutions_score_alike(graded):
    _, rows, _, _ = graded
    qs = list(points(FIRST))
    assert [rows["solution_en.ipynb"][q] for q in qs] == [rows["solution_zh.ipynb"][q] for q in qs]
    for assignment in ASSIGNMENTS[1:]:
        en, zh = (rows[f"{assignment}_solution_{lang}.ipynb"] for lang in ("en", "zh"))
        assert [en[q] for q in points(assignment)] == [zh[q] for q in points(assignment)]


def test_feedback_page_for_every_graded_student(graded):
    _, rows, out, _ = graded
    pages = {p.stem for p in out.rglob("feedback/*.html")}
    assert {r["student"] for r in rows.values()} <= pages
    for page in out.rglob("feedback/*.html"):  # read offline: nothing fetched from a CDN
        assert not re.search(r"""src=["']https?://""", page.read_text(encoding="utf-8")), page


def hidden_lines(assignment: str) -> list[str]:
    """Lines of the hidden tests that appear nowhere in what students are shown."""
    src = "\n".join(c.source for c in grading.sources(assignment, COURSE.solutions)["en"].cells)
    region = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
    public = region.sub("", src)
    return [line.strip() for m in region.finditer(src) for line in m[1].splitlines()
            if len(line.strip()) > 12 and line.strip() not in public]


LEAK_CHECKED = ["solution_en.ipynb", "first_only.ipynb", "monkeypatch_torch.ipynb",
                "ch03_custom_layers_untouched_zh.ipynb"]


def page_text(page: str) -> str:
    """What a browser shows of an HTML page: tags (Pygments' spans too) removed, unescaped."""
    import html as html_module

    page = re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S | re.I)
    return html_module.unescape(re.sub(r"<[^>]+>", "", page))


def test_feedback_leak_check_finds_a_planted_line():
    """Positive control: a hidden line that nbconvert splits into Pygments spans is found."""
    from nbconvert import HTMLExporter

    line = max(hidden_lines(FIRST), key=len)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(line)])
    page, _ = HTMLExporter().from_notebook_node(nb)
    assert line not in page, "the raw page splits the line into spans"
    assert leaked([line], page_text(page)) == [line]


@pytest.mark.parametrize("name", LEAK_CHECKED)
def test_feedback_shows_no_hidden_test(graded, name):
    expect, rows, out, _ = graded
    text = page_text(feedback(out, rows[name]["student"]))
    secret = hidden_lines(expect[name]["assignment"])
    assert secret
    assert leaked(secret, text) == []
    assert "course_guard" not in text and "kernel_guard" not in text


def test_feedback_names_student_assignment_and_questions(graded):
    _, rows, out, _ = graded
    page = feedback(out, rows["first_only.ipynb"]["student"])
    title = re.search(r"<title>(.*?)</title>", page, re.S)[1]
    assert title == f"first_only · {FIRST}"
    for q in points(FIRST):
        assert f'href="#{q}">Question {q} · 第 {q[1:]} 题</a>' in page
    assert ">Test cell<" not in page
    text = page_text(page)
    assert f"Assignment · 作业{FIRST}" in text and "Score · 得分2 / 15" in text
    assert "lost points on q2 (NotImplementedError: not answered)" in text
    assert "white-space:pre-wrap" in page, "long messages wrap"


def test_feedback_hides_install_paths_and_hidden_line_numbers(graded):
    import sys

    _, rows, out, _ = graded
    text = page_text(feedback(out, rows["error_inside_torch.ipynb"]["student"]))
    assert "mat1 and mat2 shapes cannot be multiplied" in text
    assert "<site-packages>/torch/nn/modules/" in text
    assert sys.prefix not in text
    assert "site-packages/torch" not in text.replace("<site-packages>/torch", "")
    text = page_text(feedback(out, rows["tuple_that_equals_anything.ipynb"]["student"]))
    assert "AssertionError" in text
    assert not re.search(r"Cell In\[\d+\], line \d+", text), "a test's frame shows hidden lines"


def test_correct_answers_trigger_no_restoration(graded):
    _, rows, out, _ = graded
    for name, row in rows.items():
        if "solution" in name:
            assert "[grader] restored" not in feedback(out, row["student"]), name


def test_attacks_are_reported_in_the_feedback(graded):
    _, rows, out, _ = graded
    text = feedback(out, rows["monkeypatch_torch.ipynb"]["student"])
    assert "[grader] restored" in text and "torch.allclose" in text
    assert "q1 (AssertionError: forward must return" in rows["monkeypatch_torch.ipynb"]["message"]


def test_messages_name_why_points_were_lost(graded):
    _, rows, _, _ = graded
    assert rows["solution_en.ipynb"]["message"] == "all checks passed"
    assert rows["first_only.ipynb"]["message"].startswith(
        "lost points on q2 (NotImplementedError: not answered)")
    assert "q5 (" in rows["exception.ipynb"]["message"]


def test_merge_refuses_a_student_in_two_shards(graded, tmp_path):
    _, _, out, _ = graded
    part = out / "shard1" / "grades.csv"
    assert main(["grade-merge", str(tmp_path / "all.csv"), str(part), str(part)]) == 2
    assert not (tmp_path / "all.csv").exists()


def test_bad_shard_and_missing_folder_give_clear_errors(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder of submissions" in capsys.readouterr().err
    assert main(["grade", str(tmp_path), "--shard", "3/2"]) == 2
    assert "--shard must look like" in capsys.readouterr().err


def test_guard_defeats_attacks_that_fool_plain_asserts():
    import torch

    from coursekit.grading import kernel_guard

    guard = kernel_guard.Guard()
    test = "import torch\nassert torch.allclose(torch.zeros(2), torch.ones(2)), 'wrong values'\n"
    real = torch.allclose
    try:
        torch.allclose = lambda *args, **kwargs: True
        exec(test, {})  # unguarded, the patched function fools the check
        with pytest.raises(AssertionError, match="wrong values"):
            guard.run_test({}, test)
        assert torch.allclose is real
    finally:
        torch.allclose = real
    user_ns = {"isinstance": lambda obj, cls: True}
    shadowed = "assert isinstance(1, str), 'not a str'\n"
    exec(shadowed, dict(user_ns))
    with pytest.raises(AssertionError, match="not a str"):
        guard.run_test(user_ns, shadowed)
    assert "isinstance" in user_ns, "the student's own names come back after the test"
    # A student helper named like a builtin keeps working inside the student's own functions.
    student = {}
    exec("def filter(xs):\n    return [x for x in xs if x > 0]\n\n"
         "def positives(xs):\n    return len(filter(xs))\n", student)
    guard.run_test(student, "assert positives([-1, 2, 3]) == 2\n"
                            "assert list(filter(None, [0, 1])) == [1]  # the test's is real\n"
                            "made_by_test = 1\n")
    assert student["made_by_test"] == 1, "names a test defines stay for later tests"


def test_plain_kernels_are_guarded_and_sandboxed_too(tmp_path):
    """Where no zygote runs (--no-zygote, or not Linux) each kernel installs the guard and
    enters the sandbox itself."""
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder, "solution.ipynb", answered(FIRST, "en"))
    code, _flag = ATTACKS["monkeypatch_torch"]
    write(folder, "attack.ipynb", edited(FIRST, "q1_answer", lambda s: code))
    write(folder, "reads_sources.ipynb", reads_sources())
    settings = grading.Settings.of(COURSE, zygote=False, jobs=2)
    results = {r.file: r for r in grading.grade_folder(folder, tmp_path / "out", settings)}
    full = sum(points(FIRST).values())
    assert results["solution.ipynb"].total == full
    assert results["attack.ipynb"].total == full - points(FIRST)["q1"]
    assert results["reads_sources.ipynb"].total == (0 if SANDBOXED else full)


def test_without_the_sandbox_the_attack_reads_the_sources(tmp_path):
    """Positive control: unsandboxed, the source-reading submission scores full marks, so the
    corpus's 0 for it shows the sandbox at work, not a broken attack."""
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder, "reads_sources.ipynb", reads_sources())
    assert main(["grade", str(folder), "--out", str(tmp_path / "out"), "--no-sandbox",
                 "--jobs", "1"]) == 0
    with (tmp_path / "out" / "grades.csv").open(encoding="utf-8") as f:
        row = next(csv.DictReader(f))
    assert float(row["total"]) == sum(points(FIRST).values()), row
    assert "reads files outside the submission" in row["review"]
    assert "runs foreign code" in row["review"]


def test_assignment_flag_flags_another_assignment(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder, "wrong_folder.ipynb", answered(FIRST, "en"))
    assert main(["grade", str(folder), "--out", str(tmp_path / "out"),
                 "--assignment", ASSIGNMENTS[4]]) == 0
    with (tmp_path / "out" / "grades.csv").open(encoding="utf-8") as f:
        row = next(csv.DictReader(f))
    assert row["status"] == "not graded"
    assert f"this is the notebook of {FIRST}, but this folder holds {ASSIGNMENTS[4]}" in \
        row["message"]
    assert main(["grade", str(folder), "--assignment", "ch99"]) == 2
    assert "--assignment 'ch99' is not one of: ch01_module_basics" in capsys.readouterr().err


def process_tree() -> dict[int, tuple[int, str]]:
    """{pid: (parent pid, command)} of the live (not zombie) processes."""
    from pathlib import Path

    tree = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, rest = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()
        if rest[0] != "Z":
            tree[int(stat.parent.name)] = (int(rest[1]), name)
    return tree


def new_below(root: int, before: set[int]) -> list[str]:
    """Processes started since `before` whose line of parents up to root is all new: our own
    children and orphans we adopted, not other programs' processes or an older child's."""
    tree, found = process_tree(), []
    for pid in set(tree) - before:
        chain, up = pid, tree[pid][0]
        while up != root and up in tree and up not in before:
            chain, up = up, tree[up][0]
        if up == root and chain not in before:
            found.append(f"{pid} {tree[pid][1]}")
    return sorted(found)


@pytest.fixture(scope="module")
def own_orphans():
    """Make this process adopt its orphaned descendants (a subreaper), so a kernel whose parent
    died is still found among our own processes; returns (our pid, the processes before)."""
    import ctypes

    assert ctypes.CDLL(None).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    return os.getpid(), set(process_tree())


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process table from /proc")
def test_process_check_finds_a_detached_grandchild(own_orphans, graded):
    """Positive control: a kernel-like process that left its session and lost its parent."""
    import subprocess
    import time

    root, _ = own_orphans
    before = set(process_tree())
    starter = subprocess.run([sys_executable(), "-c", "import os, subprocess; subprocess.Popen("
                              "['sleep', '30'], start_new_session=True); os._exit(0)"], check=True)
    assert starter.returncode == 0
    time.sleep(0.3)
    new = new_below(root, before)
    assert [p.split()[1] for p in new] == ["sleep"]
    os.kill(int(new[0].split()[0]), 9)


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process table from /proc")
def test_no_kernel_outlives_the_batch(own_orphans, graded):
    """Kernels of killed workers and the kernel factory itself are all gone after grading."""
    import time

    root, before = own_orphans
    deadline = time.monotonic() + 5
    while new_below(root, before) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert new_below(root, before) == []


def sys_executable() -> str:
    """This Python."""
    import sys

    return sys.executable


def test_grader_failure_makes_grade_exit_non_zero(tmp_path, monkeypatch, capsys):
    """A bug in the grader (not in a submission) is not a silent row: `grade` exits 1."""
    def broken(path, template, settings):
        raise RuntimeError("grader bug")

    from coursekit.grading import batch

    monkeypatch.setattr(batch, "grade_one", broken)
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder, "student.ipynb", answered(FIRST, "en"))
    assert main(["grade", str(folder), "--out", str(tmp_path / "out"), "--jobs", "1",
                 "--no-zygote"]) == 1
    assert "the grader itself failed on 1 of 1 files" in capsys.readouterr().err
    with (tmp_path / "out" / "grades.csv").open(encoding="utf-8") as f:
        assert "grader bug" in next(csv.DictReader(f))["message"]


def test_lost_reasons_survive_parentheses():
    from coursekit.grading.class_report import lost_reasons

    msg = ("lost points on q2 (NotImplementedError: not answered), q5 (the answer cell ran longer "
           "than the limit of 5 s per cell (grade --cell-timeout) and was stopped), q4; "
           "repaired: restored q3_answer from the assignment")
    assert lost_reasons(msg) == {
        "q2": "NotImplementedError: not answered",
        "q5": "the answer cell ran longer than the limit of 5 s per cell (grade --cell-timeout) "
              "and was stopped",
        "q4": ""}
    assert lost_reasons("all checks passed") == {}


def test_class_report_states_the_statistics(graded):
    import html as html_module

    _, rows, out, _ = graded
    page = (out / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']https?://""", page), "the report must work offline"
    assert page.count("data:image/png;base64,") == len(ASSIGNMENTS)  # one histogram each
    mine = [r for r in rows.values() if r["assignment"] == FIRST and r["status"] == "graded"]
    for q, full in points(FIRST).items():
        scores = [float(r[q]) for r in mine]
        mean = sum(scores) / len(scores)
        share = sum(s == full for s in scores) / len(scores)
        cells = (f"<tr><td>{q}</td><td>{full:g}</td><td>{mean:.2f}</td><td>{share:.0%}</td>")
        assert cells in page, (q, cells)
    assert "× NotImplementedError: not answered" in html_module.unescape(page)
    with (out / "lms.csv").open(encoding="utf-8") as f:
        lms = list(csv.DictReader(f))
    assert len(lms) == len(rows)
    assert all(r["score"] == "0" for r in lms if r["status"] != "graded")
    by_id = {r["student_id"]: r for r in lms}
    assert by_id["solution_en"]["score"] == by_id["solution_en"]["max_score"] == "15"
