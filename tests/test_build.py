"""The site: both editions build with -W, every page has its twin, nothing points off-site."""

from __future__ import annotations

import json
import re

import pytest
from checkout import COURSE

pytestmark = pytest.mark.site
EXTERNAL_LOAD = re.compile(r"""<(?:script|link|img|iframe)[^>]+(?:src|href)="(https?:)?//""")


def pages(site, key):
    """All HTML pages of one edition built from the toc."""
    return [site / key / f"{name}.html" for name in COURSE.toc_files()]


def test_every_toc_page_is_built_in_every_edition(site):
    for ed in COURSE.editions():
        for page in pages(site, ed.key):
            assert page.is_file(), f"{page} was not built"


def test_every_page_links_to_its_twin(site):
    for ed in COURSE.editions():
        for other in (e for e in COURSE.editions() if e.key != ed.key):
            for page in pages(site, ed.key):
                html = page.read_text(encoding="utf-8")
                href = f'href="../{other.key}/{page.name}"'
                assert href in html, f"{page} lacks a link to its {other.key} twin"
                assert (site / other.key / page.name).is_file()


def test_interface_language_matches_edition(site):
    for ed in COURSE.editions():
        html = (site / ed.key / "index.html").read_text(encoding="utf-8")
        lang = ed.language.replace("_", "-")
        assert f'<html lang="{lang}"' in html, f"{ed.key} pages are not marked lang={lang}"
    zh = (site / "zh" / "ch01_module_basics.html").read_text(encoding="utf-8")
    assert "搜索" in zh, "the Chinese edition's theme text is not in Chinese"
    assert "点击显示" in zh, "the solution dropdowns' hint is not in Chinese"


def test_nothing_is_loaded_from_the_internet(site):
    for path in site.rglob("*.html"):
        match = EXTERNAL_LOAD.search(path.read_text(encoding="utf-8"))
        assert not match, f"{path} loads a remote resource: {match.group(0)}"


def test_served_assets_exist(site):
    html = (site / "en" / "ch01_module_basics.html").read_text(encoding="utf-8")
    for src in re.findall(r'<script[^>]+src="([^"?]+)', html):
        assert (site / "en" / src).resolve().is_file(), f"{src} is referenced but not built"


def test_chinese_search_index_knows_glossary_words(site):
    text = (site / "zh" / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(text[text.index("(") + 1 : text.rindex(")")])
    docs = index["docnames"]
    hits = index["terms"].get("前向传播")
    assert hits is not None, "前向传播 is not a search term in the Chinese edition"
    hits = hits if isinstance(hits, list) else [hits]
    assert "ch01_module_basics" in [docs[i] for i in hits]


def test_colab_link_on_every_chapter_page(site):
    for ed in COURSE.editions():
        for name in COURSE.toc_files():
            if name.startswith("ch"):
                html = (site / ed.key / f"{name}.html").read_text(encoding="utf-8")
                assert f"notebooks/{ed.key}/{name}.ipynb" in html
                assert "colab.research.google.com" in html


def test_root_page_offers_both_editions(site):
    html = (site / "index.html").read_text(encoding="utf-8")
    for ed in COURSE.editions():
        assert f'href="{ed.key}/index.html"' in html
    assert "localStorage" in html and "navigator.language" in html


def test_course_static_files_are_installed_after_sphinx(site, tmp_path):
    """Sphinx copies no static file when no page is out of date, so the build installs ours."""
    from coursekit.build import TEMPLATES, install_static

    edition_dir = tmp_path / "en"
    (edition_dir / "_static").mkdir(parents=True)
    (edition_dir / "_static" / "course.css").write_text("stale", encoding="utf-8")
    install_static(edition_dir)
    for file in (TEMPLATES / "static").iterdir():
        built = edition_dir / "_static" / file.name
        assert built.read_bytes() == file.read_bytes(), f"{built} missing or stale"
    for ed in COURSE.editions():
        assert (site / ed.key / "_static" / "course-widgets.js").is_file()
        assert not (site / ed.key / "@jupyter-widgets").exists(), "html-manager's icon fonts"


def test_widget_pages_store_their_widget_state(site):
    for ed in COURSE.editions():
        for name in ("ch02_builtin_layers", "ch04_initialisation"):
            html = (site / ed.key / f"{name}.html").read_text(encoding="utf-8")
            assert "application/vnd.jupyter.widget-state+json" in html, f"{ed.key}/{name}"
            assert "course-widgets.js" in html


def test_widget_manager_is_the_courses_small_bundle(site):
    from coursekit.slim import WIDGET_BUNDLE

    for ed in COURSE.editions():
        bundle = site / ed.key / WIDGET_BUNDLE
        code = bundle.read_text(encoding="utf-8")
        assert bundle.stat().st_size < 1_000_000, f"{bundle}: {bundle.stat().st_size} bytes"
        assert "ToggleButtonsModel" in code and "DropdownModel" in code, "the controls"
        assert "OutputModel" not in code and "application/vnd.jupyter.stdout" not in code, \
            "the Output widget and its renderers are not bundled"
        for name in ("ch02_builtin_layers", "ch04_initialisation"):
            html = (site / ed.key / f"{name}.html").read_text(encoding="utf-8")
            manager = re.search(r'data-manager="([^"]+)"', html).group(1)
            assert (site / ed.key / manager).resolve() == bundle.resolve(), f"{ed.key}/{name}"


def test_explorers_need_no_icon_font(site):
    """The bundle leaves out Font Awesome: a control with an icon would show a blank box."""
    states = sorted(site.glob("*/*.widgets.js"))
    explorers = {site / ed.key / f"{name}.widgets.js" for ed in COURSE.editions()
                 for name in ("ch02_builtin_layers", "ch04_initialisation")}
    assert explorers <= set(states), states
    for state in states:
        text = state.read_text(encoding="utf-8")
        assert state not in explorers or '"icons":[]' in text, f"{state}: the buttons' icons"
        assert not re.search(r'"icons?":\s*(\[\s*"|"[^"])', text), f"{state}: an icon is used"
