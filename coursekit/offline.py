"""The offline copy: the whole built site (both editions) in one zip that works from the file
system, offered on the language chooser."""

from __future__ import annotations

import html
import re
import zipfile
from pathlib import Path

ZIP_NAME = "nn-module-course-offline.zip"
FOLDER = "nn-module-course"  # what unzipping creates
# Not needed to read the site: build leftovers, source maps, theme translations used at build
# time, the icon-font script whose icons slim.py inlines.
SKIP = re.compile(r"(^|/)(\.buildinfo|\.doctrees|jupyter_execute|locales)(/|$)|\.map$"
                  r"|(^|/)fontawesome\.js|\.zip$")
LINK = re.compile(r'\n?<p class="course-offline">.*?</p>', re.S)
# Under file:// a browser refuses the fetches that load search-result snippets (CORS), so the
# offline copy lists results without them.
SUMMARY = re.compile(r"SHOW_SEARCH_SUMMARY: true")
DATE = (2026, 1, 1, 0, 0, 0)  # fixed timestamps: the same site gives the same zip


def wanted(rel: str, unused_assets: bool) -> bool:
    """Whether a site file belongs in the offline copy."""
    return not SKIP.search(rel) and not (unused_assets and rel.startswith("_assets/"))


def offline_bytes(rel: str, path: Path) -> bytes:
    """A file as the offline copy holds it: without the zip link, without search snippets."""
    if rel == "index.html":
        return LINK.sub("", path.read_text(encoding="utf-8")).encode("utf-8")
    if rel.endswith("_static/documentation_options.js"):
        text = path.read_text(encoding="utf-8")
        return SUMMARY.sub("SHOW_SEARCH_SUMMARY: false", text).encode("utf-8")
    return path.read_bytes()


def assets_unused(site: Path) -> bool:
    """True when no page loads anything from the shared _assets folder."""
    return not any("_assets/" in p.read_text(encoding="utf-8") for p in site.rglob("*.html"))


def write_zip(site: Path) -> Path:
    """Zip the site into site/ZIP_NAME (atomically); returns the zip's path."""
    target, tmp = site / ZIP_NAME, site / f"{ZIP_NAME}.part"
    unused = assets_unused(site)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for path in sorted(site.rglob("*")):
            rel = path.relative_to(site).as_posix()
            if path.is_file() and wanted(rel, unused) and path != tmp:
                info = zipfile.ZipInfo(f"{FOLDER}/{rel}", DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, offline_bytes(rel, path))
    tmp.replace(target)
    return target


def offer_zip(chooser: Path, zip_path: Path) -> None:
    """Put a download link for the zip, with its size, on the language chooser."""
    size = f"{zip_path.stat().st_size / 1e6:.0f} MB"
    link = (f'\n<p class="course-offline"><a href="{html.escape(zip_path.name)}" download>'
            f"Offline copy (zip, {size}): unzip it, then open {FOLDER}/index.html"
            f" · 离线版（zip，{size}）：解压后打开 {FOLDER}/index.html</a></p>")
    text = LINK.sub("", chooser.read_text(encoding="utf-8"))
    if "</main>" in text:
        text = text.replace("</main>", link + "\n</main>", 1)
    else:
        text = text.replace("</body>", link + "\n</body>", 1)
    chooser.write_text(text, encoding="utf-8")


def build_offline(site: Path) -> Path:
    """Write the zip, then offer it on the chooser (the zip's own chooser has no link)."""
    chooser = site / "index.html"
    chooser.write_text(LINK.sub("", chooser.read_text(encoding="utf-8")), encoding="utf-8")
    zip_path = write_zip(site)
    offer_zip(chooser, zip_path)
    return zip_path
