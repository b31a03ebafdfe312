"""The notebook helpers on notebooks built in code: stream merging, traceback tidying, stable
ids, carrying outputs over a prose change, sync, parity and execution (with a fake client)."""

from __future__ import annotations

import nbformat
import pytest
from minicourse import write_course
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from coursekit import notebooks
from coursekit.errors import SyncError, TwinError
from coursekit.project import Course


def stream(text: str, name: str = "stdout"):
    """A stream output."""
    return new_output("stream", name=name, text=text)


@pytest.fixture
def course(tmp_path) -> Course:
    """The small course with its notebooks generated (outputs stored by hand)."""
    course = Course(write_course(tmp_path))
    for ed in course.editions():
        for page in course.toc_files():
            nb = notebooks.stable_ids(notebooks.reader_source(ed, page))
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs = [stream("loss\n")]
            path = notebooks.notebook_path(ed, page)
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, path)
    return course


def test_coalesce_merges_only_neighbours_of_the_same_stream():
    outs = [stream("a"), stream("b"), stream("!", "stderr"), stream("c"), stream("d"),
            new_output("execute_result", data={"text/plain": "1"}, execution_count=1),
            stream("e")]
    merged = notebooks.coalesce_streams(outs)
    assert [(o.output_type, o.get("name"), o.get("text")) for o in merged] == [
        ("stream", "stdout", "ab"), ("stream", "stderr", "!"), ("stream", "stdout", "cd"),
        ("execute_result", None, None), ("stream", "stdout", "e")]


def test_coalesce_of_nothing_is_nothing():
    assert notebooks.coalesce_streams([]) == []


def test_tidy_tracebacks_drops_install_paths_only_in_errors():
    err = new_output("error", ename="E", evalue="v", traceback=[
        "File /home/u/.venv/lib/python3.11/site-packages/torch/nn/x.py:3",
        "File /usr/lib/python3/dist-packages/numpy/y.py:1", "plain line"])
    keep = stream("/home/u/.venv/lib/python3.11/site-packages/torch/z.py")
    out = notebooks.tidy_tracebacks([err, keep])
    assert out[0].traceback == ["File site-packages/torch/nn/x.py:3",
                                "File site-packages/numpy/y.py:1", "plain line"]
    assert out[1].text == keep.text


def test_stable_ids_number_cells_by_position():
    nb = new_notebook(cells=[new_markdown_cell("a"), new_code_cell("b"), new_code_cell("c")])
    assert [c.id for c in notebooks.stable_ids(nb).cells] == ["cell-000", "cell-001", "cell-002"]
    nbformat.validate(nb)


def test_cell_key_ignores_surrounding_whitespace_but_not_tags():
    a = new_code_cell("x = 1\n", metadata={"tags": ["numeric"]})
    b = new_code_cell("x = 1", metadata={"tags": ["numeric"]})
    c = new_code_cell("x = 1")
    assert notebooks.cell_key(a) == notebooks.cell_key(b) != notebooks.cell_key(c)


def test_a_fresh_course_is_in_sync_and_at_parity(course):
    notebooks.check_sync(course)
    notebooks.check_parity(course)
    assert notebooks.out_of_sync(course.edition("en"), "ch01_first") is None


def test_prose_change_is_stale_then_carried_without_executing(course):
    en = course.edition("en")
    src = notebooks.source_path(en, "ch01_first")
    src.write_text(src.read_text(encoding="utf-8").replace("Prose.", "New prose."))
    assert "cell 0 differs" in notebooks.out_of_sync(en, "ch01_first")  # one Markdown cell
    stale = r"(?s)make notebooks.*notebooks/en/ch01_first\.ipynb cell 0"
    with pytest.raises(SyncError, match=stale):
        notebooks.check_sync(course)
    assert notebooks.carry_outputs(en, "ch01_first")
    assert notebooks.out_of_sync(en, "ch01_first") is None
    nb = nbformat.read(notebooks.notebook_path(en, "ch01_first"), as_version=4)
    assert [c.outputs for c in nb.cells if c.cell_type == "code"] == [[stream("loss\n")]]


def test_code_change_is_not_carried(course):
    en = course.edition("en")
    src = notebooks.source_path(en, "ch01_first")
    src.write_text(src.read_text(encoding="utf-8").replace('"loss"', '"cost"'))
    assert not notebooks.carry_outputs(en, "ch01_first")
    with pytest.raises(TwinError, match="ch01_first: code cell 0 differs between en and zh"):
        notebooks.check_parity(course)


def test_missing_notebook_is_named_and_not_carried(course):
    zh = course.edition("zh")
    notebooks.notebook_path(zh, "index").unlink()
    assert notebooks.out_of_sync(zh, "index") == "notebooks/zh/index.ipynb does not exist"
    assert not notebooks.carry_outputs(zh, "index")


def test_extra_cell_is_counted(course):
    en = course.edition("en")
    path = notebooks.notebook_path(en, "index")
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(new_markdown_cell("more"))
    nbformat.write(nb, path)
    assert notebooks.out_of_sync(en, "index") == (
        f"notebooks/en/index.ipynb has {len(nb.cells)} cells, its source has {len(nb.cells) - 1}")


def test_colab_links_are_checked_and_fixed(course):
    en = course.edition("en")
    assert notebooks.colab_link_problems(en, "ch01_first") == []
    assert notebooks.colab_link_problems(en, "index") == [
        "book/en/index.md has no Open-in-Colab link"]
    cfg = course.root / "_config.yml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("me/mini", "you/fork"))
    assert "expected https://colab.research.google.com/github/you/fork/" in (
        notebooks.colab_link_problems(en, "ch01_first")[0])
    assert notebooks.fix_colab_links(en, "ch01_first")
    assert not notebooks.fix_colab_links(en, "ch01_first")  # nothing left to change


def test_execute_stores_tidied_outputs_with_stable_ids(course, monkeypatch):
    """execute() with a stand-in for nbclient: what the kernel printed is merged and tidied,
    the edition and the reference settings are in the environment while it runs."""
    import nbclient
    seen = {}

    class FakeClient:
        def __init__(self, nb, **kwargs):
            self.nb, seen["kwargs"] = nb, kwargs

        def execute(self):
            import os
            seen["env"] = {k: os.environ.get(k) for k in ("COURSE_EDITION", "OMP_NUM_THREADS")}
            for cell in self.nb.cells:
                if cell.cell_type == "code":
                    cell.outputs = [stream("损"), stream("失\n"), new_output(
                        "error", ename="E", evalue="v",
                        traceback=["/x/lib/site-packages/torch/a.py"])]

    monkeypatch.setattr(nbclient, "NotebookClient", FakeClient)
    zh = course.edition("zh")
    path = notebooks.execute(zh, "ch01_first")
    assert seen["env"] == {"COURSE_EDITION": "zh", "OMP_NUM_THREADS": "2"}
    assert seen["kwargs"]["store_widget_state"] and not seen["kwargs"]["record_timing"]
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].outputs[0].text == "损失\n"
    assert code[0].outputs[1].traceback == ["site-packages/torch/a.py"]
    assert all(c.id == f"cell-{i:03d}" for i, c in enumerate(nb.cells))
    assert "jupytext" not in nb.metadata and nb.metadata.kernelspec.name == "python3"


def test_execute_of_a_page_without_code_starts_no_kernel(course, monkeypatch):
    import nbclient

    monkeypatch.setattr(nbclient, "NotebookClient", None)  # would fail if used
    path = notebooks.execute(course.edition("en"), "index")
    assert nbformat.read(path, as_version=4).cells[0].cell_type == "markdown"


def test_environment_restores_what_was_there(monkeypatch):
    monkeypatch.setenv("COURSE_X", "before")
    monkeypatch.delenv("COURSE_Y", raising=False)
    import os
    with notebooks.environment({"COURSE_X": "during", "COURSE_Y": "new"}):
        assert (os.environ["COURSE_X"], os.environ["COURSE_Y"]) == ("during", "new")
    assert os.environ["COURSE_X"] == "before" and "COURSE_Y" not in os.environ


def test_ignore_report_counts_and_names_cells_without_a_reason():
    nb = new_notebook(cells=[
        new_code_cell("a"), new_code_cell("b", metadata={"tags": ["nbval-ignore-output"]}),
        new_code_cell("c", metadata={"tags": ["nbval-ignore-output", "nondeterministic-timing"]}),
        new_code_cell("d", metadata={"tags": ["chaotic"]})])
    compared, ignored, problems = notebooks.ignore_report(nb)
    assert (compared, ignored) == (1, 3)
    assert problems == ["code cell 1 ignores its output without a reason tag",
                        "code cell 3 is chaotic but asserts nothing about what it shows"]


def test_a_failing_cell_is_one_line_naming_the_source(course, monkeypatch):
    import nbclient
    from nbclient.exceptions import CellExecutionError

    from coursekit.errors import NotebookFailedError

    class FailingClient:
        def __init__(self, nb, **kwargs):
            pass

        def execute(self):
            raise CellExecutionError("traceback", "ZeroDivisionError", "division by zero")

    monkeypatch.setattr(nbclient, "NotebookClient", FailingClient)
    with pytest.raises(NotebookFailedError, match=r"zh/ch01_first failed: ZeroDivisionError: "
                                                  r"division by zero .*book/zh/ch01_first\.md"):
        notebooks.execute(course.edition("zh"), "ch01_first")
