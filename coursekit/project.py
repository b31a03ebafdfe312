"""Where things are: repository paths, editions and the table of contents."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from coursekit.errors import CourseError, TocError, TwinError

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
SITE = BUILD / "html"
ASSETS = SITE / "_assets"


@dataclass(frozen=True)
class Edition:
    """One language edition of the book."""

    key: str
    language: str
    title: str
    switch_label: str
    captions: dict

    @property
    def source_dir(self) -> Path:
        """Folder of MyST text sources."""
        return ROOT / "book" / self.key

    @property
    def notebook_dir(self) -> Path:
        """Folder of executed notebooks; Sphinx builds the site from here."""
        return ROOT / "notebooks" / self.key


def load_yaml(path: Path) -> dict:
    """Read a YAML file, with a clear error when it is missing or malformed."""
    if not path.is_file():
        raise CourseError(f"{path.relative_to(ROOT)} is missing.")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise CourseError(f"{path.relative_to(ROOT)} is not valid YAML: {exc}") from None


def book_config() -> dict:
    """The shared Jupyter Book configuration (_config.yml)."""
    return load_yaml(ROOT / "_config.yml")


def editions() -> list[Edition]:
    """All editions, English first."""
    raw = book_config().get("course", {}).get("editions", {})
    if not raw:
        raise CourseError("_config.yml has no course.editions section.")
    return [
        Edition(key, e["language"], e["title"], e["switch_label"], e.get("captions", {}))
        for key, e in raw.items()
    ]


def toc() -> dict:
    """The shared table of contents (_toc.yml)."""
    return load_yaml(ROOT / "_toc.yml")


def toc_files() -> list[str]:
    """Every page named in the toc, root first, in reading order."""
    data = toc()
    files = [data["root"]]
    for part in data.get("parts", []):
        files += [ch["file"] for ch in part.get("chapters", [])]
    files += [ch["file"] for ch in data.get("chapters", [])]
    return files


def chapter_files() -> list[str]:
    """Toc pages that are chapters (named chNN_...)."""
    return [f for f in toc_files() if f.startswith("ch")]


def check_pages() -> None:
    """Every toc page exists in every edition, and every source is in the toc."""
    listed = set(toc_files())
    problems = []
    for ed in editions():
        on_disk = {p.stem for p in ed.source_dir.glob("*.md")}
        for name in sorted(listed - on_disk):
            twin = [o.key for o in editions() if (o.source_dir / f"{name}.md").is_file()]
            hint = f" (it exists in {', '.join(twin)}: translate it)" if twin else ""
            problems.append(f"book/{ed.key}/{name}.md is in _toc.yml but missing{hint}")
        for name in sorted(on_disk - listed):
            problems.append(f"book/{ed.key}/{name}.md is not in _toc.yml: add it or delete it")
    if problems:
        kind = TwinError if any("translate" in p for p in problems) else TocError
        raise kind("Pages and toc disagree:\n  - " + "\n  - ".join(problems))


def repository_url() -> str:
    """The repository URL that Colab links point to (repository.url in _config.yml)."""
    repo = book_config().get("repository", {})
    url = str(repo.get("url", "")).rstrip("/")
    if not url.startswith("https://github.com/"):
        raise CourseError("_config.yml repository.url must be a https://github.com/OWNER/REPO URL.")
    return url


def site_url() -> str:
    """The website's base URL that reader notebooks link to: course.site_url in _config.yml, by
    default the repository's GitHub Pages address; an empty string means plain text, no links."""
    course = book_config().get("course", {})
    if "site_url" in course:
        return str(course["site_url"] or "").rstrip("/")
    owner, _, repo = repository_url().removeprefix("https://github.com/").partition("/")
    return f"https://{owner}.github.io/{repo}"


def colab_url(edition: str, page: str) -> str:
    """The Open-in-Colab URL of one notebook."""
    repo = book_config().get("repository", {})
    slug = repository_url().removeprefix("https://github.com/")
    branch = repo.get("branch", "main")
    return (
        f"https://colab.research.google.com/github/{slug}/blob/{branch}"
        f"/notebooks/{edition}/{page}.ipynb"
    )


def exercise_colab_url(assignment: str, language: str) -> str:
    """The Open-in-Colab URL of a graded assignment's student notebook."""
    return colab_url(language, assignment).replace(
        f"/notebooks/{language}/{assignment}.ipynb", f"/exercises/{assignment}/{language}.ipynb")
