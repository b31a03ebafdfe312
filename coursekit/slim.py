"""Page weight: strip what a built page does not need, after Sphinx.

- the theme's icon-font JavaScript: its icons become small inline SVGs (the buttons keep their
  labels);
- MathJax: maths is rendered to SVG at build time (MathJax's node package, one run per edition),
  so no page loads MathJax;
- the search scripts and index: only on the search page;
- the widget manager: only on pages with widgets, as the course's own bundle (built here with
  esbuild from npm packages: @jupyter-widgets/base and controls only, a third of html-manager's
  `embed.js`), loaded with the widgets' stored state (moved into a script beside the page) only
  when a widget comes near the screen;
- a favicon (a small SVG inlined as a data: URL), so a first visit has no 404 and no request.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

from coursekit.errors import BuildError, MissingToolError

TEX2SVG = Path(__file__).resolve().parent / "templates" / "tex2svg.js"
FAVICON_SVG = Path(__file__).resolve().parent / "templates" / "static" / "favicon.svg"
WIDGETS_SRC = Path(__file__).resolve().parent / "templates" / "widgets"
WIDGET_BUNDLE = "_static/course-widget-manager.js"
OLD_WIDGET_DIR = "@jupyter-widgets"   # html-manager's embed.js and icon fonts, of earlier builds
MATH = re.compile(
    r'<(span|div) class="math notranslate nohighlight">\s*(\\\(|\\\[)(.*?)(\\\)|\\\])\s*</\1>',
    re.S)
FA_ELEMENT = re.compile(r'<(i|span) class="([^"]*\bfa-[\w-]+[^"]*)"([^>]*)>\s*</\1>')
SCRIPT_TAG = r'<script[^>]*src="[^"]*{name}[^"]*"[^>]*>\s*</script>\n?'
PRELOAD_TAG = r'<link[^>]*href="[^"]*{name}[^"]*"[^>]*/?>\n?'
MATHJAX_CONFIG = re.compile(r"<script>window\.MathJax = .*?</script>\n?", re.S)
WIDGET_STATE = re.compile(
    r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>', re.S)
LAZY_LOADER = "course-lazy-widgets.js"
SEARCH_FILES = ("searchtools.js", "language_data.js", "searchindex.js")
# Icons the theme and the course use, drawn for a 16x16 box with the current text colour.
S = '<path fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" ' \
    'stroke-linejoin="round" d="'
DOT = '<circle cx="{}" cy="{}" r="{}" fill="currentColor"/>'
ICONS = {
    "fa-angle-left": S + 'M10 3 5 8l5 5"/>',
    "fa-angle-right": S + 'M6 3l5 5-5 5"/>',
    "fa-arrow-up": S + 'M8 13V3M4 7l4-4 4 4"/>',
    "fa-bars": S + 'M2 4h12M2 8h12M2 12h12"/>',
    "fa-list": S + 'M5 4h9M5 8h9M5 12h9"/>' + DOT.format(2, 4, 1) + DOT.format(2, 8, 1)
               + DOT.format(2, 12, 1),
    "fa-outdent": S + 'M2 3h12M7 6.5h7M7 9.5h7M2 13h12M5 6 2 8l3 2"/>',
    "fa-magnifying-glass": S + 'M10.5 10.5 14 14"/><circle cx="6.5" cy="6.5" r="4.5" '
                           'fill="none" stroke="currentColor" stroke-width="1.6"/>',
    "fa-language": S + 'M2 3.5h7M5.5 2v1.5M3.5 3.5c.5 3 2.5 5 5 6M7.5 3.5c-.5 3-2.5 5-5 6M8 14'
                   'l3-7 3 7M9.2 11.5h3.6"/>',
    "fa-github": S + 'M5 3v10M5 8c0-2 2-3 6-3M11 5V3"/>' + DOT.format(5, 13, 1.5)
                 + DOT.format(11, 3, 1.5) + DOT.format(5, 3, 1.5),
    "fa-download": S + 'M8 2v8M4.5 6.5 8 10l3.5-3.5M2.5 12v2h11v-2"/>',
    "fa-expand": S + 'M2 6V2h4M10 2h4v4M14 10v4h-4M6 14H2v-4"/>',
    "fa-file-pdf": S + 'M4 1.5h5l3.5 3.5v9.5H4zM9 1.5V5h3.5M6 9h4M6 11.5h4"/>',
    "fa-file": S + 'M4 1.5h5l3.5 3.5v9.5H4zM9 1.5V5h3.5"/>',
    "fa-rocket": S + 'M8 1.5c2.5 2 3 5 2 8.5H6C5 6.5 5.5 3.5 8 1.5zM6 10l-2 3 3-1M10 10l2 3-3-1'
                 'M8 12v2.5"/><circle cx="8" cy="6" r="1.2" fill="currentColor"/>',
    "fa-circle-half-stroke": '<circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" '
                             'stroke-width="1.6"/><path fill="currentColor" d="M8 2a6 6 0 0 1 '
                             '0 12z"/>',
    "fa-moon": S + 'M13 10A6 6 0 0 1 6 3a6 6 0 1 0 7 7z"/>',
    "fa-sun": '<circle cx="8" cy="8" r="3" fill="none" stroke="currentColor" stroke-width="1.6"/>'
              + S + 'M8 1v2M8 13v2M1 8h2M13 8h2M3 3l1.4 1.4M11.6 11.6 13 13M3 13l1.4-1.4M11.6 '
              '4.4 13 3"/>',
}


def favicon_link() -> str:
    """A <link> to the course's SVG favicon, inlined (no request, nothing to abort or miss)."""
    svg = quote(FAVICON_SVG.read_text(encoding="utf-8").strip().replace('"', "'"), safe=" =:/'")
    return f'<link rel="icon" href="data:image/svg+xml,{svg}" type="image/svg+xml" />\n'


def icon_svg(classes: str) -> str:
    """The inline SVG for an element's Font Awesome classes (a plain dot for an unknown one)."""
    name = next((c for c in classes.split() if c in ICONS), None)
    body = ICONS[name] if name else '<circle cx="8" cy="8" r="2" fill="currentColor"/>'
    return (f'<svg class="course-icon" viewBox="0 0 16 16" width="1em" height="1em" '
            f'aria-hidden="true" focusable="false">{body}</svg>')


def replace_icons(page: str) -> str:
    """Replace every empty Font Awesome element by the same element holding an inline SVG."""
    def sub(m: re.Match) -> str:
        tag, classes, rest = m.group(1), m.group(2), m.group(3)
        return f'<{tag} class="{classes} course-svg-icon"{rest}>{icon_svg(classes)}</{tag}>'

    return FA_ELEMENT.sub(sub, page)


def drop(page: str, name: str) -> str:
    """Remove the script tags and preload links that load a file whose URL contains name."""
    name = re.escape(name)
    page = re.sub(SCRIPT_TAG.format(name=name), "", page)
    return re.sub(PRELOAD_TAG.format(name=name), "", page)


def prefix_of(page_file: Path, edition_dir: Path) -> str:
    """The relative path from a page up to its edition's root, e.g. '' or '../'."""
    return "../" * (len(page_file.relative_to(edition_dir).parts) - 1)


def slim_page(page: str, prefix: str, search_page: bool) -> str:
    """One page without icon-font JS, MathJax, search (unless it is the search page) and with
    the widget manager only where there are widgets."""
    page = replace_icons(drop(page, "fontawesome.js"))
    page = MATHJAX_CONFIG.sub("", drop(page, "mathjax/"))
    if not search_page:
        for name in SEARCH_FILES:
            page = drop(page, name)
    page = drop(drop(page, "_assets/require.js"), "html-manager/embed-amd.js")
    page = drop(page, LAZY_LOADER)     # a page slimmed before gets the current manager's URL
    if "application/vnd.jupyter.widget-state+json" in page:
        tag = (f'<script defer src="{prefix}_static/{LAZY_LOADER}" '
               f'data-manager="{prefix}{WIDGET_BUNDLE}"></script>\n')
        page = page.replace("</head>", tag + "</head>", 1)
    if 'rel="icon"' not in page:
        page = page.replace("</head>", favicon_link() + "</head>", 1)
    return page


def move_widget_state(page: str, page_file: Path) -> str:
    """Move a page's stored widget state into a script beside it, loaded on demand."""
    match = WIDGET_STATE.search(page)
    if not match or not match.group(1).strip():
        return page
    state = json.dumps(json.loads(match.group(1)), ensure_ascii=False, separators=(",", ":"))
    script = page_file.with_name(f"{page_file.stem}.widgets.js")
    script.write_text(f"window.courseWidgetState = {state};\n", encoding="utf-8")
    holder = (f'<script type="application/vnd.jupyter.widget-state+json" id="course-widget-state"'
              f' data-src="{script.name}"></script>')
    return page[:match.start()] + holder + page[match.end():]


def maths_of(page: str) -> list[dict]:
    """The TeX of every maths element of a page, in order, with its display mode."""
    return [{"tex": html.unescape(m.group(3)), "display": m.group(2) == "\\["}
            for m in MATH.finditer(page)]


def check_node() -> str:
    """The path of Node.js, which the build needs to render maths; one clear line if absent."""
    node = shutil.which("node")
    if node is None:
        raise MissingToolError("Node.js is not installed (the build renders maths with it): "
                               "apt-get install nodejs npm, then `make setup`.")
    return node


def render_tex(pages: list[list[dict]], node_modules: Path) -> tuple[str, list[dict]]:
    """(stylesheet, per page {svgs, cache}): the pages' maths rendered by MathJax under Node.js
    in one run; `cache` holds the glyph shapes the page's formulas refer to."""
    node = check_node()
    env = dict(os.environ, NODE_PATH=str(node_modules))
    done = subprocess.run([node, str(TEX2SVG)], input=json.dumps(pages), capture_output=True,
                          text=True, env=env, check=False)
    if done.returncode:
        raise BuildError(f"MathJax could not render the maths ({done.stderr.strip()[:300]}): "
                         "run `make setup` to reinstall node_modules.")
    out = json.loads(done.stdout)
    return out["css"], out["pages"]


def with_maths(page: str, css: str, rendered: dict) -> str:
    """The page with its maths elements replaced by rendered SVG, plus the styles and glyphs."""
    svgs = iter(rendered["svgs"])

    def sub(m: re.Match) -> str:
        tag = m.group(1)
        tex = html.escape(html.unescape(m.group(3)).strip(), quote=True)
        return (f'<{tag} class="math notranslate nohighlight" data-tex="{tex}">'
                f"{next(svgs)}</{tag}>")

    page = MATH.sub(sub, page)
    page = page.replace("</head>", f'<style id="course-maths">{css}</style>\n</head>', 1)
    return page.replace("</body>", rendered["cache"] + "\n</body>", 1)


def slim_edition(edition_dir: Path, node_modules: Path) -> list[Path]:
    """Slim every built page of one edition in place; returns the pages changed."""
    install_widget_bundle(node_modules, edition_dir)
    pages = sorted(edition_dir.glob("*.html"))
    texts = {p: p.read_text(encoding="utf-8") for p in pages}
    with_tex = [p for p in pages if maths_of(texts[p])]
    if with_tex:
        css, rendered = render_tex([maths_of(texts[p]) for p in with_tex], node_modules)
        for p, result in zip(with_tex, rendered, strict=True):
            texts[p] = with_maths(texts[p], css, result)
    changed = []
    for p in pages:
        new = slim_page(move_widget_state(texts[p], p), prefix_of(p, edition_dir),
                        p.name == "search.html")
        if new != p.read_text(encoding="utf-8"):
            p.write_text(new, encoding="utf-8")
            changed.append(p)
    return changed


def check_esbuild(node_modules: Path) -> Path:
    """The esbuild package, which bundles the widget manager; one clear line if absent."""
    package = node_modules / "esbuild" / "package.json"
    if not package.is_file():
        raise MissingToolError(f"esbuild is not installed in {node_modules} (it bundles the "
                               "widget manager): run `make setup` (npm ci).")
    return package.parent


def install_widget_bundle(node_modules: Path, edition_dir: Path) -> Path:
    """Bundle the course's widget manager (templates/widgets/entry.js) into the edition."""
    node = check_node()
    check_esbuild(node_modules)
    shutil.rmtree(edition_dir / OLD_WIDGET_DIR, ignore_errors=True)
    target = edition_dir / WIDGET_BUNDLE
    target.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([node, str(WIDGETS_SRC / "build.js"), str(node_modules.resolve()),
                           str(target)], capture_output=True, text=True, check=False)
    if done.returncode or not target.is_file():
        raise BuildError(f"esbuild could not bundle the widget manager "
                         f"({' '.join(done.stderr.split())[:300]}): run `make setup`.")
    return target


def add_favicon(page_file: Path) -> None:
    """Give a page outside the editions (the chooser) the favicon link."""
    text = page_file.read_text(encoding="utf-8")
    if 'rel="icon"' not in text:
        page_file.write_text(text.replace("</head>", favicon_link() + "</head>", 1),
                             encoding="utf-8")
