"""Where things are: one explicit `Course` (a checkout's paths, editions, configuration and table
of contents), built once by the CLI from the checkout (or `--root`) and passed to what needs it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from coursekit.errors import ConfigError, TocError, TwinError, UnknownEditionError, UnknownPageError

# Design constant: the course has two editions, English then Chinese. The setup cell's
# label(en, zh), the glossary's fields (en, zh, def_en, def_zh), the Chinese search set-up and the
# twin texts rely on it; `Course.editions` checks _config.yml against it, in this one place.
LANGUAGES = ("en", "zh")
PACKAGE = Path(__file__).resolve().parent  # coursekit's own files (templates), not the checkout


@dataclass(frozen=True)
class Edition:
    """One language edition of the book."""

    key: str
    language: str
    title: str
    switch_label: str
    captions: dict = field(compare=False, hash=False)
    root: Path = field(default=Path("."), repr=False)

    @property
    def source_dir(self) -> Path:
        """Folder of MyST text sources."""
        return self.root / "book" / self.key

    @property
    def notebook_dir(self) -> Path:
        """Folder of executed notebooks; Sphinx builds the site from here."""
        return self.root / "notebooks" / self.key


def load_yaml(path: Path, root: Path | None = None) -> dict:
    """Read a YAML file, with a clear error when it is missing or malformed."""
    name = path.relative_to(root) if root and path.is_relative_to(root) else path
    if not path.is_file():
        raise ConfigError(f"{name} is missing: restore it (git checkout -- {name}).")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(f"{name} is not valid YAML{at}: {problem}; fix that line.") from None


def find_root(start: Path) -> Path:
    """The checkout holding start: the nearest folder upwards with _config.yml and _toc.yml."""
    start = start.resolve()
    for folder in [start, *start.parents]:
        if (folder / "_config.yml").is_file() and (folder / "_toc.yml").is_file():
            return folder
    raise ConfigError(f"{start} is not inside a course checkout (no _config.yml and _toc.yml "
                      "above it): run from the checkout or pass --root.")


@dataclass(frozen=True)
class Course:
    """A checkout of the course: its folders, configuration, editions and table of contents."""

    root: Path

    @classmethod
    def at(cls, root: Path | str) -> Course:
        """The course whose checkout holds root (a folder in it, or the checkout itself)."""
        return cls(find_root(Path(root)))

    @property
    def build(self) -> Path:
        """Everything generated: site, caches, site sources."""
        return self.root / "_build"

    @property
    def site(self) -> Path:
        """The built website."""
        return self.build / "html"

    @property
    def assets(self) -> Path:
        """The site's own copies of widget JS and MathJax."""
        return self.site / "_assets"

    @property
    def node_modules(self) -> Path:
        """The npm packages the site serves."""
        return self.root / "node_modules"

    @property
    def glossary_file(self) -> Path:
        """The bilingual glossary."""
        return self.root / "book" / "glossary.yml"

    @property
    def solutions(self) -> Path:
        """Instructor sources of the graded assignments."""
        return self.root / "solutions"

    @property
    def exercises(self) -> Path:
        """The released student notebooks."""
        return self.root / "exercises"

    def relative(self, path: Path) -> str:
        """A path as the user knows it: relative to the checkout when inside it."""
        return str(path.relative_to(self.root)) if path.is_relative_to(self.root) else str(path)

    def config(self) -> dict:
        """The shared Jupyter Book configuration (_config.yml)."""
        return load_yaml(self.root / "_config.yml", self.root)

    def course_settings(self) -> dict:
        """The `course:` section of _config.yml."""
        course = self.config().get("course")
        if not isinstance(course, dict):
            raise ConfigError("_config.yml has no course section: add course.editions "
                              "(see the README, Writing and changing a chapter).")
        return course

    def editions(self) -> list[Edition]:
        """All editions, English first (checked against LANGUAGES)."""
        raw = self.course_settings().get("editions") or {}
        if list(raw) != list(LANGUAGES):
            raise ConfigError(f"_config.yml course.editions lists {list(raw)}; the course has "
                              f"the editions {', '.join(LANGUAGES)} in that order.")
        return [edition_of(key, raw[key], self.root) for key in raw]

    def edition(self, key: str) -> Edition:
        """One edition by its key; an unknown key names the known ones."""
        eds = self.editions()
        for ed in eds:
            if ed.key == key:
                return ed
        raise UnknownEditionError(f"unknown edition {key!r}: use one of "
                                  f"{', '.join(e.key for e in eds)}.")

    def toc(self) -> dict:
        """The shared table of contents (_toc.yml)."""
        return load_yaml(self.root / "_toc.yml", self.root)

    def toc_files(self) -> list[str]:
        """Every page named in the toc, root first, in reading order."""
        data = self.toc()
        if "root" not in data:
            raise ConfigError("_toc.yml has no `root:` entry: add `root: index`.")
        files = [data["root"]]
        for i, part in enumerate(data.get("parts", [])):
            files += [entry_file(ch, f"parts[{i}]") for ch in part.get("chapters", [])]
        files += [entry_file(ch, "chapters") for ch in data.get("chapters", [])]
        return files

    def chapter_files(self) -> list[str]:
        """Toc pages that are chapters (named chNN_...)."""
        return [f for f in self.toc_files() if f.startswith("ch")]

    def page(self, name: str) -> str:
        """A page named on the command line, checked against the toc."""
        pages = self.toc_files()
        if name.endswith((".md", ".ipynb")):
            name = Path(name).stem
        if name not in pages:
            raise UnknownPageError(f"unknown page {name!r}: the toc (_toc.yml) lists "
                                   f"{', '.join(pages)}.")
        return name

    def check_pages(self) -> None:
        """Every toc page exists in every edition, and every source is in the toc."""
        listed = set(self.toc_files())
        problems = []
        eds = self.editions()
        for ed in eds:
            on_disk = {p.stem for p in ed.source_dir.glob("*.md")}
            for name in sorted(listed - on_disk):
                twin = [o.key for o in eds if (o.source_dir / f"{name}.md").is_file()]
                hint = f" (it exists in {', '.join(twin)}: translate it)" if twin else ""
                problems.append(f"book/{ed.key}/{name}.md is in _toc.yml but missing{hint}")
            for name in sorted(on_disk - listed):
                problems.append(f"book/{ed.key}/{name}.md is not in _toc.yml: add it or delete it")
        if problems:
            kind = TwinError if any("translate" in p for p in problems) else TocError
            raise kind("Pages and toc disagree:\n  - " + "\n  - ".join(problems))

    def repository_url(self) -> str:
        """The repository URL that Colab links point to (repository.url in _config.yml)."""
        repo = self.config().get("repository", {})
        url = str(repo.get("url", "")).rstrip("/")
        if not url.startswith("https://github.com/"):
            raise ConfigError("_config.yml repository.url must be a "
                              "https://github.com/OWNER/REPO URL.")
        return url

    def site_url(self) -> str:
        """The website's base URL that reader notebooks link to: course.site_url in _config.yml,
        by default the repository's GitHub Pages address; "" means plain text, no links."""
        course = self.config().get("course", {})
        if "site_url" in course:
            return str(course["site_url"] or "").rstrip("/")
        owner, _, repo = self.repository_url().removeprefix("https://github.com/").partition("/")
        return f"https://{owner}.github.io/{repo}"

    def colab_url(self, edition: str, page: str) -> str:
        """The Open-in-Colab URL of one notebook."""
        repo = self.config().get("repository", {})
        slug = self.repository_url().removeprefix("https://github.com/")
        branch = repo.get("branch", "main")
        return (f"https://colab.research.google.com/github/{slug}/blob/{branch}"
                f"/notebooks/{edition}/{page}.ipynb")

    def exercise_colab_url(self, assignment: str, language: str) -> str:
        """The Open-in-Colab URL of a graded assignment's student notebook."""
        return self.colab_url(language, assignment).replace(
            f"/notebooks/{language}/{assignment}.ipynb",
            f"/exercises/{assignment}/{language}.ipynb")


EDITION_KEYS = ("language", "title", "switch_label")


def edition_of(key: str, raw: dict, root: Path) -> Edition:
    """One edition from its _config.yml entry; a missing setting is named."""
    missing = [k for k in EDITION_KEYS if not isinstance(raw, dict) or k not in raw]
    if missing:
        raise ConfigError(f"_config.yml course.editions.{key} lacks {', '.join(missing)}: "
                          "add them (see the other edition).")
    return Edition(key, raw["language"], raw["title"], raw["switch_label"],
                   raw.get("captions") or {}, root)


def entry_file(entry, where: str) -> str:
    """The file of one toc entry; an entry without one is named."""
    if not isinstance(entry, dict) or "file" not in entry:
        raise ConfigError(f"_toc.yml {where} has an entry without `file:` ({entry!r}): "
                          "give every chapter a file.")
    return entry["file"]

