"""Built pages' interface: Chinese wording in the zh edition, accessible names in both.

Why a rewrite of the built HTML rather than a message catalogue: the English and Taiwanese
strings come from five places (Sphinx, pydata-sphinx-theme and sphinx-book-theme templates,
myst-nb's cell toggles, sphinx-exercise's titles and sphinx-copybutton's JavaScript table).
Only some of them go through gettext, and the themes' own zh_CN catalogues take precedence
over a project's. One table here covers all of them, is applied the same way to every page of
an edition (idempotent, so incremental builds are safe), and a test scans the result.
"""

from __future__ import annotations

import re
from pathlib import Path

# (English or Taiwanese text as the theme writes it, the Simplified Chinese the zh edition shows).
# Longer strings first: "Show code cell source" before any shorter overlap.
ZH_TEXT: tuple[tuple[str, str], ...] = (
    ("Search this book...", "搜索本书……"),
    ("Show code cell source", "显示代码单元格源码"),
    ("Hide code cell source", "隐藏代码单元格源码"),
    ("Show code cell outputs", "显示代码单元格输出"),
    ("Hide code cell outputs", "隐藏代码单元格输出"),
    ("Show code cell output", "显示代码单元格输出"),
    ("Hide code cell output", "隐藏代码单元格输出"),
    ("Show code cell content", "显示代码单元格内容"),
    ("Hide code cell content", "隐藏代码单元格内容"),
    ("Toggle primary sidebar", "打开或关闭章节目录"),
    ("Toggle secondary sidebar", "打开或关闭本页目录"),
    ("Launch interactive content", "启动交互式内容"),
    ("Launch on Colab", "在 Colab 中打开"),
    ("Colab logo", "Colab 标志"),
    ("Color mode", "颜色模式"),
    ("System Settings", "跟随系统设置"),
    ("Link to this heading", "链接到此标题"),
    ("Link to this term", "链接到此术语"),
    ("Link to this code", "链接到此代码"),
    ("Link to this image", "链接到此图片"),
    ("Link to this table", "链接到此表格"),
    ("Link to this equation", "链接到此公式"),
    ("Link to this definition", "链接到此定义"),
    ("列印成 PDF", "打印为 PDF"),
)
# Attributes whose whole value is a theme string: translated only when the value matches exactly.
ZH_ATTRIBUTES = ("aria-label", "title", "placeholder", "alt", "data-bs-title")
ZH_NAV_LABELS = {"Main": "章节导航", "Page": "本页导航"}
ZH_PATTERNS: tuple[tuple[re.Pattern, str], ...] = (
    # sphinx-exercise: "解答<a> 练习 1.1</a>" reads "solution exercise 1.1"; Chinese puts it last.
    (re.compile(r'(<p class="admonition-title">)解答(<a [^>]*>)\s*(练习[^<]*)</a>'),
     r"\1\2\3</a> 解答"),
    (re.compile(r"©\s*Copyright\s+([^<]*?)\.(\s*<)"), r"© \1 版权所有\2"),
    (re.compile(r"(最后更新于[^<]*?)\s*\.(\s*<)"), r"\1\2"),
    (re.compile(r"作者：\s+"), "作者："),
)
ZH_SCRIPTS = {
    "copybutton.js": (("'复制成功!'", "'复制成功！'"),),
    "togglebutton.js": (('"Toggle hidden content"', '"显示或隐藏内容"'),),
}

# Accessible names (both editions); each fixes an axe-core label-content-name-mismatch.
A11Y_PATTERNS: tuple[tuple[re.Pattern, str], ...] = (
    # The search button shows "Search Ctrl+K" but its aria-label says only "Search": let the
    # name come from what it shows, and announce the shortcut properly.
    (re.compile(r'(<button class="btn search-button-field[^"]*"[^>]*?) aria-label="[^"]*"'),
     r'\1 aria-keyshortcuts="Control+K"'),
    # The colour-mode button's icons carry titles ("Light", "Dark", ...) that fontawesome turns
    # into <svg role="img"><title>, which count as the button's text; its tooltip names it.
    (re.compile(r'(<i [^>]*class="theme-switch [^"]*" data-mode="\w+")\s+title="[^"]*"'), r"\1"),
    # myst-nb's code toggle: its aria-label hides the visible "Show code cell source".
    (re.compile(r'<summary aria-label="Toggle hidden content">'), "<summary>"),
)


def translate_attributes(html: str, table: dict[str, str]) -> str:
    """Translate attribute values that are exactly one of the table's theme strings."""
    names = "|".join(ZH_ATTRIBUTES)
    pattern = re.compile(rf'\b({names})="([^"]*)"')
    return pattern.sub(lambda m: f'{m[1]}="{table.get(m[2], m[2])}"', html)


def chinese_interface(html: str) -> str:
    """The page with the theme's English and Taiwanese interface text in Simplified Chinese."""
    table = dict(ZH_TEXT)
    html = translate_attributes(html, table)
    for english, chinese in ZH_TEXT:
        html = html.replace(f">{english}<", f">{chinese}<")
    for english, chinese in ZH_NAV_LABELS.items():
        html = html.replace(f'<nav aria-label="{english}"', f'<nav aria-label="{chinese}"')
        html = html.replace(f'class="bd-links bd-docs-nav" aria-label="{english}"',
                            f'class="bd-links bd-docs-nav" aria-label="{chinese}"')
    for pattern, replacement in ZH_PATTERNS:
        html = pattern.sub(replacement, html)
    return html


def accessible_names(html: str) -> str:
    """The page with the theme's mismatched accessible names repaired."""
    for pattern, replacement in A11Y_PATTERNS:
        html = pattern.sub(replacement, html)
    return html


def rewrite_page(html: str, language: str) -> str:
    """One built page as the reader gets it in this edition's language."""
    html = accessible_names(html)
    return chinese_interface(html) if language.startswith("zh") else html


def rewrite_edition(edition_dir: Path, language: str) -> int:
    """Rewrite every built page (and the theme scripts) of one edition; return pages changed."""
    changed = 0
    for path in edition_dir.rglob("*.html"):
        if "_static" in path.relative_to(edition_dir).parts:
            continue
        old = path.read_text(encoding="utf-8")
        new = rewrite_page(old, language)
        if new != old:
            path.write_text(new, encoding="utf-8")
            changed += 1
    if language.startswith("zh"):
        rewrite_scripts(edition_dir / "_static")
    return changed


def rewrite_scripts(static_dir: Path) -> None:
    """Fix the Chinese strings that theme scripts carry in their own tables."""
    for name, pairs in ZH_SCRIPTS.items():
        path = static_dir / name
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            for old, new in pairs:
                text = text.replace(old, new)
            path.write_text(text, encoding="utf-8")
