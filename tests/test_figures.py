"""Figures on the site: readable on a 390 px phone, crisp on high-density screens, described by
alt text in the edition's language."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from checkout import COURSE

from coursekit.figures import alt_problem, png_font_px, readability_problem
from coursekit.serve import browser, serving

pytestmark = pytest.mark.site
PHONE = {"width": 390, "height": 844}
FIGURES = ".cell_output img, .course-explorer img[alt]"
# (src, shown width in CSS px, natural width in px, alt, CSS px cut off on the right by the
# viewport) of every visible figure of the page.
MEASURE = """sel => [...document.querySelectorAll(sel)]
  .filter(i => i.offsetParent !== null && i.complete && i.naturalWidth > 0)
  .map(i => [i.currentSrc || i.src, i.getBoundingClientRect().width, i.naturalWidth, i.alt,
             i.getBoundingClientRect().right - document.documentElement.clientWidth])"""


def image_bytes(src: str, site: Path) -> bytes:
    """The bytes of an image, from a data: URI or from the served site folder."""
    if src.startswith("data:"):
        return base64.b64decode(src.split(",", 1)[1])
    return (site / unquote(urlparse(src).path).lstrip("/")).read_bytes()


def show_widgets(page) -> None:
    """Scroll each widget output into view, so its explorer loads, and wait for its frames."""
    views = page.locator("script[type='application/vnd.jupyter.widget-view+json']")
    for i in range(views.count()):
        views.nth(i).evaluate("v => v.parentElement.scrollIntoView()")
    if views.count():
        page.wait_for_selector(".jupyter-widgets", timeout=30_000)
        if "course-explorer" in page.locator("#course-widget-state").text_content():
            page.locator(".course-explorer img[alt]:visible").first.wait_for(timeout=30_000)


def figures(page, url: str) -> list:
    """Open url and measure its visible figures (explorers loaded)."""
    page.goto(url, wait_until="networkidle")
    show_widgets(page)
    return page.evaluate(MEASURE, FIGURES)


def problems(measured: list, site: Path) -> list[str]:
    """What is wrong with each measured figure."""
    found = []
    for src, shown, natural, alt, cut in measured:
        why = readability_problem(shown, natural, png_font_px(image_bytes(src, site)))
        why = why or (f"{cut:.0f} CSS px beyond the screen's right edge" if cut > 1 else None)
        if why:
            found.append(f"{alt[:50]!r}: {why}")
    return found


@pytest.fixture(scope="module")
def served(site):
    """The built site over http, and one Chromium."""
    with serving(site) as base, browser() as b:
        yield base, b


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1280, "height": 900}],
                         ids=["phone-390", "desktop-1280"])
def test_figures_are_readable_and_sharp(site, served, viewport):
    base, b = served
    context = b.new_context(viewport=viewport)
    page = context.new_page()
    found, count = [], 0
    for ed in COURSE.editions():
        for name in COURSE.chapter_files():
            measured = figures(page, f"{base}/{ed.key}/{name}.html")
            count += len(measured)
            found += [f"{ed.key}/{name}: {p}" for p in problems(measured, site)]
    context.close()
    assert count >= 2 * 13, f"only {count} figures measured"
    assert found == []


def test_readability_check_catches_small_text_and_1x_images(tmp_path):
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("font_px", "20")
    Image.new("RGB", (800, 300), "white").save(tmp_path / "f.png", pnginfo=info)
    data = (tmp_path / "f.png").read_bytes()
    assert readability_problem(370, 800, png_font_px(data)) is None      # 9.25 px, 2.2x
    assert "CSS px" in readability_problem(340, 800, png_font_px(data))  # text 8.5 px
    assert "2x" in readability_problem(600, 800, 20.0 * 800 / 600)        # big text, blurry
    Image.new("RGB", (80, 30)).save(tmp_path / "g.png")
    assert "text size" in readability_problem(40, 80, png_font_px((tmp_path / "g.png")
                                                                    .read_bytes()))


IMG = re.compile(r'<img [^>]*?alt="([^"]*)"[^>]*src="([^"]+)"|<img [^>]*?src="([^"]+)"'
                 r'[^>]*?alt="([^"]*)"')


def page_alts(html: str) -> list[tuple[str, str]]:
    """(src, alt) of each output image and explorer frame of a built page or widget script."""
    html = html.replace('\\"', '"')
    pairs = [(m[2] or m[3], m[1] if m[2] else m[4]) for m in IMG.finditer(html)]
    return [(src, alt) for src, alt in pairs if "_images/" in src or src.startswith("data:")]


def test_figures_have_alt_text_in_the_editions_language(site):
    found, count = [], 0
    for ed in COURSE.editions():
        for name in COURSE.chapter_files():
            texts = [(site / ed.key / f"{name}.html").read_text(encoding="utf-8")]
            widgets = site / ed.key / f"{name}.widgets.js"
            if widgets.is_file():
                texts.append(widgets.read_text(encoding="utf-8"))
            for src, alt in (pair for text in texts for pair in page_alts(text)):
                count += 1
                why = alt_problem(alt, ed.key)
                if why:
                    found.append(f"{ed.key}/{name} {src[:60]}: {why}")
    assert count >= 2 * (11 + 20 + 72), f"only {count} figures found"
    assert found == []


def test_alt_check_catches_file_names_empty_and_english_on_chinese_pages():
    name = "_images/584d7fa424821d9cfee1bf9643c3cec7a4d6166a21a575901c3f4533e650f848.png"
    assert "file name" in alt_problem(name, "en")
    assert "file name" in alt_problem("584d7fa424821d9cfee1bf9643c3cec7", "en")
    assert alt_problem("", "en") == "no alt text"
    assert "Chinese" in alt_problem("Figure: loss, x: step", "zh")
    assert alt_problem("图：损失, 横轴：步数", "zh") is None
    assert alt_problem("Figure: loss, x: step", "en") is None
