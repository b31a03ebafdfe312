"""Page weight: every page within its budgets (Chromium's downloads, cold and as the next page),
and what each page loads: no icon-font JS, no MathJax, search and widgets only where needed."""

from __future__ import annotations

import os
import re
import shutil

import pytest
from checkout import COURSE

from coursekit import bench

pytestmark = pytest.mark.site


def pages(site):
    """Every built page of every edition."""
    names = [*COURSE.toc_files(), "search", "genindex"]
    return [site / ed.key / f"{n}.html" for ed in COURSE.editions() for n in names]


def test_every_page_is_within_its_weight_budgets(site):
    weights = bench.page_weights(COURSE, site)
    print("\n" + bench.weight_table(weights))
    assert len(weights) == len(COURSE.editions()) * len(COURSE.toc_files())
    assert any(w.widgets for w in weights.values()), "the widget pages were not recognised"
    assert all(w.warm_gz > 0 for name, w in weights.items()
               if not name.endswith("/index")), "the next-page weights were not measured"
    assert bench.budget_misses(weights) == []


def test_budget_check_catches_heavy_pages(tmp_path):
    site = tmp_path / "site"
    (site / "en").mkdir(parents=True)
    (site / "en" / "heavy.js").write_bytes(os.urandom(3_200_000))   # does not compress
    (site / "en" / "light.html").write_text("<html><body><h1>a</h1></body></html>")
    (site / "en" / "heavy.html").write_text(
        '<html><head><script src="heavy.js"></script></head><body><h1>b</h1></body></html>')
    weights = bench.page_weights(COURSE, site, ["en/light", "en/heavy"])
    assert weights["en/heavy"].raw >= 3_200_000 and weights["en/light"].raw < 1000
    misses = bench.budget_misses(weights)
    assert [m.split(":")[1].split()[0] for m in misses] == ["gzipped", "raw", "next"], misses
    assert all(m.startswith("en/heavy") for m in misses)


def test_raw_budget_counts_what_a_widget_loads_when_read(tmp_path):
    from coursekit.build import TEMPLATES

    site = tmp_path / "site"
    (site / "en" / "_static").mkdir(parents=True)
    shutil.copy2(TEMPLATES / "static" / "course-lazy-widgets.js", site / "en" / "_static")
    (site / "en" / "manager.js").write_bytes(os.urandom(3_100_000))   # a heavy widget manager
    spacer = '<div style="height:6000px"></div>'
    (site / "en" / "lazy.html").write_text(
        '<html><head><script defer src="_static/course-lazy-widgets.js" '
        'data-manager="manager.js"></script></head><body><h1>c</h1>' + spacer +
        '<div><script type="application/vnd.jupyter.widget-view+json">{}</script></div>' +
        spacer + "</body></html>")
    weights = bench.page_weights(COURSE, site, ["en/lazy"])
    lazy = weights["en/lazy"]
    assert lazy.raw < 10_000, "scrolling straight to the end passes the widget by"
    assert lazy.read_raw >= 3_100_000, "scrolled to, the widget loads its manager"
    assert [m.split(":")[1].split()[0] for m in bench.budget_misses(weights)] == ["raw"]


def test_pages_load_only_what_they_need(site):
    for page in pages(site):
        html = page.read_text(encoding="utf-8")
        assert "fontawesome.js" not in html, f"{page}: icon-font JavaScript"
        assert not re.search(r"<script[^>]+mathjax", html, re.I), f"{page}: MathJax script"
        search = page.name == "search.html"
        assert ("searchindex.js" in html) == search, f"{page}: the search index"
        widgets = "application/vnd.jupyter.widget-view+json" in html
        assert ("_static/course-widget-manager.js" in html) == widgets, f"{page}: widget manager"
        assert "html-manager/dist/embed.js" not in html, f"{page}: html-manager's embed.js"
        assert "embed-amd.js" not in html and "require.js" not in html, page
        assert 'rel="icon" href="data:image/svg+xml,' in html, f"{page}: no favicon"
        assert 'class="fa-' not in html or "course-svg-icon" in html, page
        if "math notranslate" in html:
            assert "\\(" not in html.split('class="math notranslate')[1][:200], \
                f"{page}: maths left for a browser-side renderer"
    assert 'rel="icon"' in (site / "index.html").read_text(encoding="utf-8")


def test_maths_are_rendered_at_build_time(site):
    html = (site / "en" / "ch02_builtin_layers.html").read_text(encoding="utf-8")
    assert html.count('<mjx-container class="MathJax" jax="SVG"') >= 5
    assert "MJX-SVG-global-cache" in html, "the glyphs the formulas refer to"
    assert "<mjx-assistive-mml" in html, "MathML for screen readers"


def test_a_missing_node_is_one_clear_line(monkeypatch):
    from coursekit import slim
    from coursekit.errors import MissingToolError

    monkeypatch.setattr(slim.shutil, "which", lambda name: None)
    with pytest.raises(MissingToolError) as caught:
        slim.check_node()
    message = str(caught.value)
    assert "\n" not in message and "Node.js" in message and "apt-get install nodejs" in message


def test_a_missing_esbuild_is_one_clear_line(tmp_path):
    from coursekit import slim
    from coursekit.errors import MissingToolError

    with pytest.raises(MissingToolError) as caught:
        slim.install_widget_bundle(tmp_path / "node_modules", tmp_path / "en")
    message = str(caught.value)
    assert "\n" not in message and "esbuild" in message and "make setup" in message
    assert not (tmp_path / "en" / slim.WIDGET_BUNDLE).exists()
