"""The bilingual glossary: one data file (book/glossary.yml) for both editions."""

from __future__ import annotations

from pathlib import Path

import yaml

from coursekit.errors import CourseError
from coursekit.project import LANGUAGES

# One term and one definition per language: en, zh, def_en, def_zh (see project.LANGUAGES).
FIELDS = (*LANGUAGES, *(f"def_{key}" for key in LANGUAGES))
CHINESE = "zh"  # the edition whose terms go into jieba's dictionary for search


class GlossaryError(CourseError):
    """book/glossary.yml is malformed or an entry lacks one language."""


def read_entries(path: Path) -> list:
    """The raw entries of the glossary file; malformed YAML names its line."""
    if not path.is_file():
        raise GlossaryError(f"{path} is missing: restore it (git checkout -- {path.name}).")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise GlossaryError(f"{path.name} is not valid YAML{at}: "
                            f"{getattr(exc, 'problem', None) or exc}; fix that line.") from None
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise GlossaryError(f"{path.name} must be a list of entries, each with "
                            f"{', '.join(FIELDS)}.")
    return data


def entries(path: Path) -> list[dict]:
    """All glossary entries, validated: every entry has both terms and both definitions."""
    data = read_entries(path)
    seen: set[str] = set()
    first = LANGUAGES[0]
    for i, entry in enumerate(data):
        missing = [f for f in FIELDS if not str(entry.get(f, "")).strip()]
        if missing:
            raise GlossaryError(f"{path.name} entry {i} ({entry.get(first)!r}) lacks {missing}")
        if entry[first].lower() in seen:
            raise GlossaryError(f"{path.name} lists {entry[first]!r} twice")
        seen.add(entry[first].lower())
    return data


def pinyin_key(term: str) -> tuple:
    """Sort key of a Chinese term: its pinyin syllables, then tones, then the term itself."""
    from pypinyin import Style, lazy_pinyin

    plain = [s.lower() for s in lazy_pinyin(term, style=Style.NORMAL, errors="default")]
    tones = lazy_pinyin(term, style=Style.TONE3, errors="default")
    return ("".join(plain).replace(" ", ""), tones, term)


def ordered(items: list[dict], edition: str) -> list[dict]:
    """Entries in the edition's dictionary order: pinyin for zh, alphabetical for en."""
    if edition == "zh":
        return sorted(items, key=lambda e: pinyin_key(e["zh"].strip()))
    return sorted(items, key=lambda e: (e["en"].strip().casefold(), e["en"]))


def glossary_lines(edition: str, path: Path, extra=None) -> list[str]:
    """Lines of a Sphinx glossary in the edition's order: its own term first, the other language's
    second (one line where both are the same, e.g. logits), then the definition and, if given,
    the lines extra(entry) returns."""
    lines = []
    for entry in ordered(entries(path), edition):
        definition = entry[f"def_{edition}"].strip()
        terms: list[str] = []
        for key in (edition, *(k for k in LANGUAGES if k != edition)):  # its own term first
            if entry[key].strip().lower() not in (t.strip().lower() for t in terms):
                terms.append(entry[key])  # once where both are the same, e.g. logits
        lines += terms
        lines += ["   " + line for line in definition.splitlines()]
        for line in extra(entry) if extra else []:
            lines += ["", "   " + line]
        lines.append("")
    return lines


def jieba_dictionary(path: Path) -> str:
    """A jieba user dictionary holding every Chinese term, so search treats each as one word."""
    return "".join(f"{e[CHINESE].replace(' ', '')} 100000 n\n" for e in entries(path))
