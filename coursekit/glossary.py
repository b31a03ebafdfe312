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


def glossary_lines(edition: str, path: Path = GLOSSARY) -> list[str]:
    """Lines of a Sphinx glossary: the English and Chinese term, then the edition's definition."""
    lines = []
    for entry in entries(path):
        definition = entry["def_zh" if edition == "zh" else "def_en"].strip()
        same = entry["zh"].strip().lower() == entry["en"].strip().lower()  # e.g. logits
        lines += [entry["en"]] if same else [entry["en"], entry["zh"]]
        lines += ["   " + line for line in definition.splitlines()]
        lines.append("")
    return lines


def jieba_dictionary(path: Path = GLOSSARY) -> str:
    """A jieba user dictionary holding every Chinese term, so search treats each as one word."""
    return "".join(f"{e['zh'].replace(' ', '')} 100000 n\n" for e in entries(path))
