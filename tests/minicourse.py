"""A small course checkout written in code (two editions, two pages, a glossary), for unit tests
that need a Course without the real repository."""

from __future__ import annotations

from pathlib import Path

CONFIG = """\
title: Mini
repository:
  url: https://github.com/me/mini
  branch: main
course:
  site_url: ""
  editions:
    en: {language: en, title: Mini course, switch_label: English}
    zh: {language: zh_CN, title: 小课程, switch_label: 中文, captions: {Basics: 基础}}
"""
TOC = """\
root: index
parts:
  - caption: Basics
    chapters:
      - file: ch01_first
"""
HEADER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""
CODE = '```{code-cell} ipython3\nprint(label("loss", "损失"))\n```\n'
PAGES = {
    ("en", "index"): "# Mini\n\nWelcome.\n",
    ("zh", "index"): "# 小课程\n\n欢迎。\n",
    ("en", "ch01_first"): ("# First\n\n[Open in Colab](https://colab.research.google.com/github/"
                           "me/mini/blob/main/notebooks/en/ch01_first.ipynb)\n\nProse.\n\n"
                           + CODE),
    ("zh", "ch01_first"): ("# 第一章\n\n[在 Colab 中打开](https://colab.research.google.com/"
                           "github/me/mini/blob/main/notebooks/zh/ch01_first.ipynb)\n\n正文。\n\n"
                           + CODE),
}
GLOSSARY = """\
- en: parameter
  zh: 参数
  def_en: A tensor the optimizer updates.
  def_zh: 优化器更新的张量。
- en: logits
  zh: logits
  def_en: Scores before softmax.
  def_zh: softmax 之前的分数。
"""


def write_course(root: Path) -> Path:
    """Write the small course into root; returns root."""
    (root / "_config.yml").write_text(CONFIG, encoding="utf-8")
    (root / "_toc.yml").write_text(TOC, encoding="utf-8")
    for (key, page), body in PAGES.items():
        path = root / "book" / key / f"{page}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(HEADER + body, encoding="utf-8")
    (root / "book" / "glossary.yml").write_text(GLOSSARY, encoding="utf-8")
    return root
