"""Build both editions of the book with Sphinx (warnings are errors), plus the language chooser."""

from __future__ import annotations

import copy
import html
import io
import shutil
import sys
from contextlib import redirect_stderr
from pathlib import Path

import yaml

from coursekit import assets, glossary, interface, notebooks, offline, slim
from coursekit.errors import BuildError, CourseError, MissingToolError, TocError
from coursekit.project import LANGUAGES, PACKAGE, Course, Edition

TEMPLATES = PACKAGE / "templates"


def edition_toc(edition: Edition) -> dict:
    """The shared toc with part captions translated for this edition."""
    data = copy.deepcopy(Course(edition.root).toc())
    for part in data.get("parts", []):
        caption = part.get("caption")
        if caption and edition.key != LANGUAGES[0]:  # captions are written in the first
            if caption not in edition.captions:
                raise TocError(
                    f"Part caption {caption!r} has no {edition.key} translation: add it under "
                    f"course.editions.{edition.key}.captions in _config.yml"
                )
            part["caption"] = edition.captions[caption]
    return data


def edition_config(edition: Edition, workdir: Path) -> dict:
    """The Jupyter Book config for one edition, derived from _config.yml."""
    the_course = Course(edition.root)
    cfg = copy.deepcopy(the_course.config())
    course = cfg.pop("course")
    cfg["title"] = edition.title
    edition_raw = course["editions"][edition.key]
    cfg["author"] = edition_raw.get("author", cfg.get("author"))
    cfg.setdefault("repository", {})["path_to_book"] = f"notebooks/{edition.key}"
    sphinx = cfg.setdefault("sphinx", {}).setdefault("config", {})
    sphinx["language"] = edition.language
    sphinx["course_edition"] = edition.key
    sphinx["course_glossary"] = str(the_course.glossary_file)
    sphinx["course_section_ids"] = str(workdir.parent / "section-ids.json")  # en writes, zh reads
    sphinx.update(edition_raw.get("sphinx_config", {}))
    sphinx["course_editions"] = [
        {"key": k, "language": e["language"], "switch_label": e["switch_label"]}
        for k, e in course["editions"].items()
    ]
    if edition.language.startswith("zh"):
        dict_file = workdir / "jieba_dict.txt"
        dict_file.write_text(glossary.jieba_dictionary(the_course.glossary_file),
                             encoding="utf-8")
        sphinx["html_search_language"] = "zh"
        sphinx["html_search_options"] = {"dict": str(dict_file)}
    return cfg


def prepare(edition: Edition) -> tuple[Path, Path]:
    """Write the edition's config and toc under _build/editions; return their paths."""
    workdir = Course(edition.root).build / "editions" / edition.key
    workdir.mkdir(parents=True, exist_ok=True)
    config_path, toc_path = workdir / "_config.yml", workdir / "_toc.yml"
    write_if_changed(config_path, yaml.safe_dump(edition_config(edition, workdir),
                                                 allow_unicode=True, sort_keys=False))
    write_if_changed(toc_path, yaml.safe_dump(edition_toc(edition), allow_unicode=True,
                                              sort_keys=False))
    return config_path, toc_path


def write_if_changed(path: Path, text: str) -> None:
    """Write text unless the file already holds it (keeps Sphinx's incremental build)."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def build_edition(edition: Edition, out: Path, fresh: bool = False) -> None:
    """Run Sphinx on one edition's notebooks; raise BuildError on any warning."""
    from jupyter_book.sphinx import build_sphinx

    build = Course(edition.root).build
    config_path, toc_path = prepare(edition)
    log = io.StringIO()
    with redirect_stderr(Tee(log)):
        sources = notebooks.write_site_sources(edition, build / "site-sources" / edition.key)
        result = build_sphinx(
            sources, out / edition.key, noconfig=True, path_config=str(config_path),
            confoverrides={"external_toc_path": str(toc_path), "latex_individualpages": False},
            doctreedir=build / "doctrees" / edition.key, warningiserror=True, keep_going=True,
            freshenv=fresh, quiet=True,
        )
    error = getattr(result, "orig_exc", result)  # Sphinx wraps what an event handler raises
    if isinstance(error, CourseError):  # raised by our extension: its one-line message
        raise error
    if result != 0:
        raise BuildError(
            f"Sphinx failed on the {edition.key} edition:\n{summarise(log.getvalue())}"
        )
    install_static(out / edition.key)
    install_reader_notebooks(edition, out / edition.key)
    interface.rewrite_edition(out / edition.key, edition.language)
    slim.slim_edition(out / edition.key, Course(edition.root).node_modules)


def install_reader_notebooks(edition: Edition, edition_dir: Path) -> None:
    """Make the page's download button give the reader notebook (no MyST), not the site source."""
    for page in Course(edition.root).toc_files():
        target = edition_dir / "_sources" / f"{page}.ipynb"
        if target.parent.is_dir():
            shutil.copy2(notebooks.notebook_path(edition, page), target)


def install_static(edition_dir: Path) -> None:
    """Copy the course's own static files into a built edition.

    Done here, after Sphinx: Sphinx 7.4 neither overwrites a changed static file nor copies any
    when no page is out of date. (The widget manager, which slim builds, needs no icon fonts.)
    """
    for file in (TEMPLATES / "static").iterdir():
        shutil.copy2(file, edition_dir / "_static" / file.name)


class Tee(io.TextIOBase):
    """A stream that writes to a buffer and to the real stderr."""

    def __init__(self, buffer: io.StringIO):
        self.buffer, self.real = buffer, sys.stderr

    def write(self, text: str) -> int:
        """Write to both streams."""
        self.buffer.write(text)
        return self.real.write(text)


def summarise(log: str) -> str:
    """The warning and error lines of a Sphinx log."""
    lines = [ln for ln in log.splitlines() if "WARNING" in ln or "ERROR" in ln]
    return "\n".join(lines[:40]) or log[-3000:]


def write_chooser(course: Course, out: Path) -> Path:
    """The site root: pick a language, remembered in localStorage or taken from the browser."""
    links = "\n".join(
        f'    <li><a href="{e.key}/index.html" data-course-lang="{e.key}" '
        f'hreflang="{e.language.replace("_", "-")}">{html.escape(e.title)}'
        f" — {html.escape(e.switch_label)}</a></li>"
        for e in course.editions()
    )
    page = (TEMPLATES / "chooser.html").read_text(encoding="utf-8").replace("{{ links }}", links)
    target = out / "index.html"
    target.write_text(page, encoding="utf-8")
    return target


def preflight(course: Course) -> None:
    """Check tools and sources before a long build; each failure names the fix."""
    if shutil.which("node") is None and not course.assets.is_dir():
        raise MissingToolError(
            "Node.js is not installed: apt-get install nodejs npm, then `make setup`."
        )
    slim.check_node()
    slim.check_esbuild(course.node_modules)
    course.check_pages()
    notebooks.check_sync(course)


def build_site(course: Course, out: Path | None = None, fresh: bool = False) -> Path:
    """Build every edition and the chooser into out (default: the course's site); return the
    root page."""
    out = out or course.site
    preflight(course)
    assets.copy_assets(course, out / "_assets")
    for edition in course.editions():
        build_edition(edition, out, fresh)
    chooser = write_chooser(course, out)
    slim.add_favicon(chooser)
    offline.build_offline(out)
    return chooser
