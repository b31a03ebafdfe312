"""Chinese prose reads as Chinese: checks on the text of the Chinese edition (no kernel, pure text).

The prose is every markdown cell of book/zh/*.md and solutions/*/zh.md, and the zh and def_zh
fields of book/glossary.yml. In it:

- a chapter reference carries its own Chinese text: {ref}`第 8 章 <ch08>`, never a bare {ref}`ch08`
  (which renders the chapter's title glued into the sentence);
- no Chinese italics (`*中文*`, `_中文_`): CJK fonts have no italic, use bold;
- no "epoch" outside code spans (the term is 轮次; a gloss 轮次（epoch）at first use is fine);
- no 逻辑值 for logits (a Chinese reader takes it for a Boolean value).

Each check has a positive control: a bad sample it must catch.
"""
import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CHAPTER_LABEL = re.compile(r"^\(([\w-]+)\)=\n#\s", re.M)
CODE_CELL = re.compile(r"^```\{code-cell\}.*?^```[ \t]*$", re.M | re.S)
FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.S)
MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$", re.S)
BARE_REF = re.compile(r"\{ref\}`([^`<>]+)`")
STAR_ITALIC = re.compile(r"(?<![*\\])\*(?![*\s])([^*\n]+?)(?<![*\s\\])\*(?!\*)")
UNDERSCORE_ITALIC = re.compile(
    rf"(?<![A-Za-z0-9{CJK}_\\])_(?![_\s])([^_\n]+?)(?<![_\s\\])_(?![A-Za-z0-9{CJK}_])")
EPOCH = re.compile(r"epoch", re.I)
EPOCH_GLOSS = re.compile(r"(?:轮次|\{term\})\s*（epoch）")


def chapter_labels() -> set[str]:
    """Labels right above a page title (# ...) in the Chinese chapters: (ch01)= ... (ch08)=."""
    labels = set()
    for path in sorted((ROOT / "book" / "zh").glob("*.md")):
        labels.update(CHAPTER_LABEL.findall(path.read_text(encoding="utf-8")))
    return labels


def markdown_of(text: str) -> str:
    """A jupytext MyST page with its front matter and code cells blanked (line numbers kept)."""
    def blank(m):
        return "\n" * m.group(0).count("\n")
    return CODE_CELL.sub(blank, FRONT_MATTER.sub(blank, text, count=1))


def prose_sources() -> list[tuple[str, str]]:
    """(where, text) for every piece of Chinese prose the course shows."""
    sources = []
    pages = sorted((ROOT / "book" / "zh").glob("*.md"))
    pages += sorted((ROOT / "solutions").glob("*/zh.md"))
    for path in pages:
        sources.append((str(path.relative_to(ROOT)), markdown_of(path.read_text(encoding="utf-8"))))
    for entry in yaml.safe_load((ROOT / "book" / "glossary.yml").read_text(encoding="utf-8")):
        for field in ("zh", "def_zh"):
            sources.append((f"book/glossary.yml {entry['en']!r} {field}", str(entry[field])))
    return sources


def without_code(text: str) -> str:
    """The text with inline code spans (and so the contents of roles) and math removed."""
    return MATH.sub(" ", CODE_SPAN.sub(" ", text))


def bare_chapter_refs(text: str, labels: set[str]) -> list[str]:
    return [m.group(0) for m in BARE_REF.finditer(text) if m.group(1).strip() in labels]


def cjk_italics(text: str) -> list[str]:
    plain = without_code(text).replace("**", "\0\0")
    found = STAR_ITALIC.findall(plain) + UNDERSCORE_ITALIC.findall(plain)
    return [f for f in found if re.search(f"[{CJK}]", f)]


def stray_epochs(text: str) -> list[str]:
    plain = EPOCH_GLOSS.sub(" ", without_code(text))
    return [plain[max(0, m.start() - 20):m.end() + 20] for m in EPOCH.finditer(plain)]


def logic_values(text: str) -> list[str]:
    return [text[max(0, m.start() - 20):m.end() + 20] for m in re.finditer("逻辑值", text)]


def problems(check, **kw) -> list[str]:
    found = []
    for where, text in prose_sources():
        for lineno, line in enumerate(text.split("\n"), 1):
            found += [f"{where}:{lineno}: {hit}" for hit in check(line, **kw)]
    return found


# The course itself.

def test_chapter_labels_are_found():
    assert {f"ch0{n}" for n in range(1, 9)} <= chapter_labels()


def test_chapter_references_carry_chinese_text():
    bad = problems(bare_chapter_refs, labels=chapter_labels())
    assert not bad, "write {ref}`第 N 章 <chNN>`, not a bare {ref}`chNN`:\n" + "\n".join(bad)


def test_no_chinese_italics():
    bad = problems(cjk_italics)
    assert not bad, "CJK fonts have no italic: use **bold**:\n" + "\n".join(bad)


def test_no_epoch_in_chinese_prose():
    bad = problems(stray_epochs)
    assert not bad, "epoch is 轮次 (or 轮) in Chinese prose:\n" + "\n".join(bad)


def test_no_logic_value_for_logits():
    bad = problems(logic_values)
    assert not bad, "logits is not 逻辑值 (a Boolean value): keep logits:\n" + "\n".join(bad)


# Positive controls: each check catches a bad sample, and lets the good form through.

LABELS = {"ch07", "ch08"}


@pytest.mark.parametrize("bad", [
    "我们用 {ref}`ch08` 的内置层。",
    "（见 {ref}` ch07 `）",
])
def test_bare_chapter_reference_is_caught(bad):
    assert bare_chapter_refs(bad, LABELS)


@pytest.mark.parametrize("good", [
    "我们用{ref}`第 8 章 <ch08>`的内置层。",
    "见 {ref}`第 4.7 节 <ch04-variance>`。",
    "见 {ref}`ch04-variance`。",  # not a chapter: the check is about chapters only
])
def test_chapter_reference_with_text_passes(good):
    assert not bare_chapter_refs(good, LABELS)


@pytest.mark.parametrize("bad", [
    "测试单元里有一些*可见检查*。",
    "它是 *stage*（阶段）的*标准*做法",
    "这是 _隐藏检查_ 的内容",
    "**粗体**之后还有*斜体*",
])
def test_chinese_italics_are_caught(bad):
    assert cjk_italics(bad)


@pytest.mark.parametrize("good", [
    "测试单元格里有一些**可见检查**。",
    "`a*b` 与 $x*y$ 以及 `*中文*`",
    "*English only* is fine, and so is `fan_in` or exercises/ch01_module_basics/zh.ipynb",
    "- 列表项*号\n",
])
def test_bold_and_code_pass_the_italics_check(good):
    assert not cjk_italics(good)


@pytest.mark.parametrize("bad", [
    "每个 epoch 结束时评估一次。",
    "训练 10 个 Epochs",
    "{term}`轮次 <epoch>`（epoch）之后，每个 epoch 都打乱",
])
def test_epoch_in_prose_is_caught(bad):
    assert stray_epochs(bad)


@pytest.mark.parametrize("good", [
    "每个{term}`轮次 <epoch>`（epoch）结束时评估一次，`train_one_epoch` 负责一轮。",
    "训练 10 轮，共 10 个轮次（epoch）。",
])
def test_epoch_in_code_or_as_gloss_passes(good):
    assert not stray_epochs(good)


def test_logic_value_is_caught():
    assert logic_values("模型输出的是逻辑值。")
    assert not logic_values("模型输出的是 logits（未归一化的对数概率）。")


def test_problems_name_the_place(monkeypatch):
    sample = [("book/zh/chXX.md", "第一行\n见 {ref}`ch08`，输出逻辑值。")]
    monkeypatch.setattr(sys.modules[__name__], "prose_sources", lambda: sample)
    assert problems(logic_values) == ["book/zh/chXX.md:2: 见 {ref}`ch08`，输出逻辑值。"]
    assert problems(bare_chapter_refs, labels=LABELS)[0].startswith("book/zh/chXX.md:2: ")
