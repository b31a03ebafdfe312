"""The bilingual glossary: one data file (book/glossary.yml) for both editions."""

from __future__ import annotations

from pathlib import Path

import yaml

from coursekit.errors import CourseError
from coursekit.project import ROOT

GLOSSARY = ROOT / "book" / "glossary.yml"
FIELDS = ("en", "zh", "def_en", "def_zh")


class GlossaryError(CourseError):
    """book/glossary.yml is malformed or an entry lacks one language."""


def entries(path: Path = GLOSSARY) -> list[dict]:
    """All glossary entries, validated: every entry has both terms and both definitions."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    seen: set[str] = set()
    for i, entry in enumerate(data):
        missing = [f for f in FIELDS if not str(entry.get(f, "")).strip()]
        if missing:
            raise GlossaryError(f"{path.name} entry {i} ({entry.get('en')!r}) lacks {missing}")
        if entry["en"].lower() in seen:
            raise GlossaryError(f"{path.name} lists {entry['en']!r} twice")
        seen.add(entry["en"].lower())
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


def glossary_lines(edition: str, path: Path = GLOSSARY, extra=None) -> list[str]:
    """Lines of a Sphinx glossary in the edition's order: its own term first, the other language's
    second (one line where both are the same, e.g. logits), then the definition and, if given,
    the lines extra(entry) returns."""
    lines = []
    for entry in ordered(entries(path), edition):
        definition = entry["def_zh" if edition == "zh" else "def_en"].strip()
        same = entry["zh"].strip().lower() == entry["en"].strip().lower()  # e.g. logits
        terms = [entry["zh"], entry["en"]] if edition == "zh" else [entry["en"], entry["zh"]]
        lines += terms[:1] if same else terms
        lines += ["   " + line for line in definition.splitlines()]
        for line in extra(entry) if extra else []:
            lines += ["", "   " + line]
        lines.append("")
    return lines


def jieba_dictionary(path: Path = GLOSSARY) -> str:
    """A jieba user dictionary holding every Chinese term, so search treats each as one word."""
    return "".join(f"{e['zh'].replace(' ', '')} 100000 n\n" for e in entries(path))
