"""The nbval plugin's pure parts on cells built in code: cell kinds, the numeric tolerance, the
provenance pattern, reconciling outputs, and comparing another edition's stored outputs."""

from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from coursekit import nbcheck

PROVENANCE = "torch 2.13.0+cpu | device: cpu | CPU: AVX2 | threads: 2 | CJK font: Noto Sans CJK"


def cell(source="x", tags=(), outputs=()):
    """A code cell with tags and outputs."""
    return new_code_cell(source, metadata={"tags": list(tags)}, outputs=list(outputs))


def text(value: str, name: str = "stdout"):
    """A stream output."""
    return new_output("stream", name=name, text=value)


def result(plain: str, **data):
    """An execute_result with text/plain and other MIME data."""
    return new_output("execute_result", data={"text/plain": plain, **data}, execution_count=1)


@pytest.mark.parametrize(("tags", "kind"), [
    ((), "exact"), (("numeric",), "numeric"), (("chaotic",), "chaotic"),
    (("provenance",), "provenance"), (("nbval-ignore-output", "numeric"), "ignored"),
    (("nbval-skip",), "ignored"), (("raises-exception",), "exact")])
def test_cell_kind(tags, kind):
    assert nbcheck.cell_kind(cell(tags=tags)) == kind


def test_kind_problems_name_two_kinds_and_a_silent_chaotic_cell():
    assert nbcheck.kind_problems(cell(tags=("numeric", "chaotic"))) == [
        "has more than one kind tag: ['chaotic', 'numeric']",
        "is chaotic but asserts nothing about what it shows"]
    assert nbcheck.kind_problems(cell("y = 1\nassert y == 1", tags=("chaotic",))) == []
    assert nbcheck.kind_problems(cell("# assert nothing", tags=("chaotic",))) != []


@pytest.mark.parametrize(("token", "unit"), [("0.0123", 1e-4), ("12", 1.0), ("1.5e-03", 1e-4),
                                             ("-2.", 1.0), (".5", 0.1)])
def test_last_digit(token, unit):
    assert nbcheck.last_digit(token) == pytest.approx(unit)


@pytest.mark.parametrize(("ref", "test", "agree"), [
    ("0.1235", "0.1237", True),       # two units in the last digit
    ("0.1235", "0.1238", False),      # three units, and beyond 1e-4 relative
    ("1000.0", "1000.1", True),       # relative tolerance
    ("3", "4", False),                # integers are exact
    ("3", "3.0", True),               # a float printed with fewer digits
    ("3.0", "3.5", False),
    ("1e-8", "2e-8", True),           # absolute tolerance near zero
    ("-0.0000", "0.0000", True)])
def test_within(ref, test, agree):
    assert nbcheck.within(ref, test) is agree


def test_numbers_agree_needs_the_same_text_around_the_numbers():
    assert nbcheck.numbers_agree("loss 0.1235 at step 3", "loss 0.1236 at step 3")
    assert not nbcheck.numbers_agree("loss 0.1235 at step 3", "loss 0.1235 at step 4")
    assert not nbcheck.numbers_agree("loss 0.1235", "cost 0.1235")
    assert not nbcheck.numbers_agree("tensor([1., 2.])", "tensor([1., 2., 3.])")


def test_provenance_agrees_on_the_pattern_and_the_lines_before():
    assert nbcheck.provenance_agrees(f"seeded\n{PROVENANCE}\n",
                                     "seeded\n" + PROVENANCE.replace("AVX2", "AVX512"))
    assert not nbcheck.provenance_agrees(f"seeded\n{PROVENANCE}", f"other\n{PROVENANCE}")
    assert not nbcheck.provenance_agrees(PROVENANCE, PROVENANCE.replace("2.13.0", "2.12.0"))


def test_reconcile_puts_back_only_agreeing_texts():
    ref = [text("0.1235\n"), result("0.5")]
    test = [text("0.1236\n"), result("0.9")]
    got = nbcheck.reconcile(test, ref, nbcheck.numbers_agree)
    assert got[0]["text"] == "0.1235\n" and got[1]["data"]["text/plain"] == "0.9"
    assert test[0]["text"] == "0.1236\n", "the test outputs are not changed in place"


def test_label_pairs_are_the_literal_english_chinese_calls():
    pairs = nbcheck.label_pairs([
        'ax.set_title(label("loss", "损失"))\nname = label("loss curve", "损失曲线")',
        'f(1, 2)\ng("a", "b")\nlabel(f"{x} init", "初始化")', "%%check q1\nbroken("])
    assert pairs == [("loss curve", "损失曲线"), ("loss", "损失")]  # longest Chinese first
    assert nbcheck.to_first_edition("损失曲线 · 损失", pairs) == "loss curve · loss"


def test_f_string_labels_map_back_with_their_fields():
    sources = ['ax.set_title(label(f"{act}: Var(y) per layer", f"{act}：各层 Var(y)"))\n'
               'label(f"step {i} of {n}", f"第 {i} 步（共 {n} 步）")\n'
               'label(f"{a} init", f"{b} 初始化")\n'            # different fields: not mapped
               'label(f"{a:.2f} s", f"{a:.2f} 秒")',              # a format spec: not mapped
               'label("layer", "层")']
    pairs, templates = nbcheck.label_pairs(sources), nbcheck.label_templates(sources)
    assert len(templates) == 2
    zh = "图：relu：各层 Var(y), 横轴：层; tanh：各层 Var(y); 第 3 步（共 9 步）"
    assert nbcheck.to_first_edition(zh, pairs, templates) == (
        "图：relu: Var(y) per layer, 横轴：layer; tanh: Var(y) per layer; step 3 of 9")
    # positive control: without the templates, the literal "层" breaks the f-string label
    assert "各layer" in nbcheck.to_first_edition(zh, pairs)


def edition_pair(first_outputs, other_outputs, source='print(label("mode", "模式"))', tags=()):
    """Two one-cell notebooks with the same code and the given outputs."""
    return (new_notebook(cells=[cell(source, tags, first_outputs)]),
            new_notebook(cells=[cell(source, tags, other_outputs)]))


def test_labels_widget_ids_and_images_are_not_differences():
    widget = {"application/vnd.jupyter.widget-view+json": {"model_id": "a"}}
    first, other = edition_pair(
        [text("mode: train\n"), result("Box(mode)", **widget),
         new_output("display_data", data={"image/png": "AAAA", "text/plain": "<Figure>"})],
        [text("模式: train\n"), result("Box(模式)", **widget),
         new_output("display_data", data={"image/png": "BBBB", "text/plain": "<Figure>"})])
    other.cells[0].outputs[1]["data"]["application/vnd.jupyter.widget-view+json"] = {
        "model_id": "b"}
    assert nbcheck.edition_differences(first, other) == []


def test_a_changed_number_is_a_difference():
    first, other = edition_pair([text("模式 3\n".replace("模式", "mode"))], [text("模式 4\n")])
    assert nbcheck.edition_differences(first, other) == [
        "code cell 0 (exact) stream:stdout: 'mode 3' vs 'mode 4'"]


def test_numeric_cells_keep_their_tolerance():
    first, other = edition_pair([text("0.1235\n")], [text("0.1236\n")], tags=("numeric",))
    assert nbcheck.edition_differences(first, other) == []
    first, other = edition_pair([text("0.1235\n")], [text("0.1300\n")], tags=("numeric",))
    assert len(nbcheck.edition_differences(first, other)) == 1


def test_a_missing_output_or_image_is_a_difference():
    png = new_output("display_data", data={"image/png": "AAAA"})
    first, other = edition_pair([text("x\n"), png], [text("x\n")])
    assert "outputs" in nbcheck.edition_differences(first, other)[0]


def test_ignored_and_chaotic_cells_are_not_compared():
    for tags in (("chaotic",), ("nbval-ignore-output", "nondeterministic-timing")):
        first, other = edition_pair([text("12 epochs in 59.9 s\n")], [text("3.6 s\n"), text("!")],
                                    tags=tags)
        assert nbcheck.edition_differences(first, other) == []


def test_different_code_is_reported_as_such():
    first, _ = edition_pair([], [])
    _, other = edition_pair([], [], source="print(1)")
    assert "code cells differ" in nbcheck.edition_differences(first, other)[0]


def test_a_widget_repr_cut_short_agrees_with_the_full_text():
    widget = {"application/vnd.jupyter.widget-view+json": {"model_id": "a"}}
    first, other = edition_pair([result("mode explorer: move its co…", **widget)],
                                [result("模式 explorer: move its controls.", **widget)])
    assert nbcheck.edition_differences(first, other) == []
    first, other = edition_pair([result("mode explorer: move its co…", **widget)],
                                [result("模式 explorer: stop", **widget)])
    assert len(nbcheck.edition_differences(first, other)) == 1
    assert not nbcheck.same_or_cut("abc…", "abd")  # only for widgets; and a real prefix


def test_streams_are_merged_before_comparing():
    first, other = edition_pair([text("a\nb\n")], [text("a\n"), text("b\n")])
    assert nbcheck.edition_differences(first, other) == []
