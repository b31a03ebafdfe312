"""Reader notebooks: a chapter's MyST text turned into Markdown that Jupyter, JupyterLab, VS Code
and Colab render as intended.

The MyST sources in book/ stay the one text of each chapter; the website renders them with
Sphinx. The notebooks in notebooks/ (what nbval checks, what Colab links, downloads and clones
open) carry the same code cells and outputs, with their text converted here:
- an admonition becomes a quoted box with its title ("> **⚠️ Common misconception**");
- an exercise becomes a quoted box "Exercise 2.3", its solution a folded `<details>` block, and
  the code cells of a solution are folded too (`jupyter.source_hidden`, Colab's form view);
- `{term}`, `{ref}` and `{doc}` become links to the website's pages (or plain text when no site
  is configured); `(label)=` lines disappear; the glossary and the table of contents are written
  out; `$…$` maths is left as it is (Jupyter and Colab render it).
Any other directive or role raises ReaderError, so new MyST syntax cannot slip into a notebook.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from dataclasses import dataclass, field

from coursekit.errors import CourseError

FENCE = re.compile(r"^(?P<ticks>`{3,})\{(?P<name>[\w-]+)\}[ \t]*(?P<arg>.*?)\s*$")
OPTION = re.compile(r"^:(?P<key>[\w-]+):[ \t]*(?P<value>.*)$")
LABEL = re.compile(r"^\((?P<label>[\w.:-]+)\)=\s*$")
INLINE = re.compile(r"(?P<code>(?P<bt>`+).+?(?P=bt))"
                    r"|\{(?P<role>[a-z][\w-]*)\}(?P<rt>`+)(?P<body>.+?)(?P=rt)", re.S)
TARGET = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*$")
# What a test looks for: any of these left in a reader notebook is unconverted MyST.
LEFTOVER = re.compile(r"^`{3,}\{[\w-]+\}|^:{3,}|^\([\w.:-]+\)=\s*$|^:[\w-]+:\s", re.M)
WORDS = {
    "en": {"exercise": "Exercise", "solution": "Solution to Exercise {n}", "show": "click to show",
           "more": "Solution to Exercise {n}, continued", "code": "its code is in the folded "
           "cell(s) below", "term": "Term", "zh": "Chinese", "meaning": "Meaning"},
    "zh": {"exercise": "练习", "solution": "练习 {n} 解答", "show": "点击展开",
           "more": "练习 {n} 解答（续）", "code": "代码在下方折叠的单元格中", "term": "英文术语",
           "zh": "中文", "meaning": "含义"},
}
ICONS = {"misconception": "⚠️", "warning": "⚠️", "tip": "💡", "note": "ℹ️"}


class ReaderError(CourseError):
    """A text cell uses MyST that the reader notebooks cannot express."""


@dataclass
class Site:
    """Where links point: the website's base URL (empty: plain text) and the pages' labels."""

    url: str
    edition: str
    labels: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # label: page, id, title
    titles: dict[str, str] = field(default_factory=dict)  # page: title
    glossary: list[dict] = field(default_factory=list)
    chapters: dict[str, int] = field(default_factory=dict)  # page: chapter number

    def link(self, text: str, page: str, anchor: str = "") -> str:
        """A Markdown link to a page of this edition on the website, or the text alone."""
        if not self.url:
            return text
        return f"[{text}]({self.url.rstrip('/')}/{self.edition}/{page}.html" + \
            (f"#{anchor})" if anchor else ")")


@dataclass
class PageState:
    """What converting one page remembers from cell to cell."""

    page: str
    exercises: dict[str, str] = field(default_factory=dict)  # label: number, e.g. "2.3"
    solution: str | None = None  # the exercise number while inside a solution
    open: bool = False  # a <details> block is open in the cell being converted


def sphinx_id(text: str) -> str:
    """The id Sphinx gives a term or section with this text (docutils' make_id)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def split_target(body: str) -> tuple[str | None, str]:
    """('text', 'target') of a role body 'text <target>', or (None, body)."""
    match = TARGET.match(body.strip())
    return (match["text"], match["target"].strip()) if match else (None, body.strip())


def inline(text: str, site: Site) -> str:
    """Replace the roles of a line (code spans are left alone)."""
    def one(match) -> str:
        if match["code"]:
            return match["code"]
        role, (shown, target) = match["role"], split_target(match["body"])
        if role == "term":
            return site.link(shown or target, "glossary", "term-" + sphinx_id(target))
        if role == "ref":
            if target not in site.labels:
                raise ReaderError(f"{{ref}} to unknown label {target!r}")
            page, anchor, title = site.labels[target]
            return site.link(shown or title, page, anchor)
        if role == "doc":
            page = target.removesuffix(".md").lstrip("/")
            return site.link(shown or site.titles.get(page, page), page)
        raise ReaderError(f"the role {{{role}}} has no reader form: add it to coursekit/readers.py")

    return INLINE.sub(one, text)


def quote(lines: list[str]) -> list[str]:
    """Lines as a Markdown block quote."""
    return [f"> {line}" if line.strip() else ">" for line in lines]


def directive(name: str, arg: str, options: dict, body: list[str], site: Site,
              state: PageState) -> list[str]:
    """The Markdown of one directive."""
    words = WORDS[site.edition]
    if name == "admonition":
        kind = next((k for k in ICONS if k in options.get("class", "").split()), "note")
        return quote([f"**{ICONS[kind]} {inline(arg, site)}**", "", *blocks(body, site, state)])
    if name == "exercise":
        number = state.exercises.setdefault(options.get("label", f"#{len(state.exercises)}"),
                                            f"{site.chapters.get(state.page, 0)}."
                                            f"{len(state.exercises) + 1}")
        head = f"**✏️ {words['exercise']} {number}**" + (f" {inline(arg, site)}" if arg else "")
        return quote([head, "", *blocks(body, site, state)])
    if name == "solution-start":
        state.solution = state.exercises.get(arg, "?")
        return details(words["solution"], site, state)
    if name == "solution-end":
        state.solution = None
        return close_details(state)
    if name == "course-glossary":
        return glossary_table(site)
    if name == "tableofcontents":
        return [f"{n}. {site.link(site.titles.get(p, p), p)}"
                for p, n in sorted(site.chapters.items(), key=lambda kv: kv[1])]
    raise ReaderError(f"the directive {{{name}}} has no reader form: add it to "
                      "coursekit/readers.py")


def glossary_table(site: Site) -> list[str]:
    """The glossary as a Markdown table in the edition's language."""
    words = WORDS[site.edition]
    rows = [f"| {words['term']} | {words['zh']} | {words['meaning']} |", "|---|---|---|"]
    for entry in site.glossary:
        meaning = " ".join(str(entry[f"def_{site.edition}"]).split())
        rows.append(f"| {entry['en']} | {entry['zh']} | {inline(meaning, site)} |")
    return rows


def blocks(lines: list[str], site: Site, state: PageState) -> list[str]:
    """Convert the lines of a text cell (or a directive's body), directives included."""
    out: list[str] = []
    text: list[str] = []  # plain lines so far: roles may wrap onto the next line
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if LABEL.match(line):
            i += 1
            continue
        if not fence:
            text.append(line)
            i += 1
            continue
        out += inline("\n".join(text), site).split("\n") if text else []
        text = []
        close = next((j for j in range(i + 1, len(lines))
                      if lines[j].strip() == fence["ticks"]), None)
        if close is None:
            raise ReaderError(f"unclosed directive {{{fence['name']}}}")
        body, options = lines[i + 1:close], {}
        while body and (opt := OPTION.match(body[0])):
            options[opt["key"]] = opt["value"]
            body = body[1:]
        out += directive(fence["name"], fence["arg"], options, body, site, state)
        i = close + 1
    return out + (inline("\n".join(text), site).split("\n") if text else [])


def details(title: str, site: Site, state: PageState) -> list[str]:
    """Open a folded block titled with an exercise's number."""
    state.open = True
    shown = title.format(n=state.solution)
    return [f"<details><summary><b>{shown}</b> ({WORDS[site.edition]['show']})</summary>", ""]


def close_details(state: PageState) -> list[str]:
    """Close the folded block open in this cell, if any."""
    was, state.open = state.open, False
    return ["", "</details>"] if was else []


def markdown(source: str, site: Site, state: PageState) -> str:
    """One text cell for readers. A solution spanning code cells is folded piece by piece: each
    of its text cells in its own <details>, its code cells by their metadata."""
    lines = source.splitlines()
    out: list[str] = []
    starts_with_end = bool(lines) and "{solution-end}" in lines[0]
    if state.solution and not starts_with_end:
        out = details(WORDS[site.edition]["more"], site, state)
    out += blocks(lines, site, state)
    if state.open and state.solution:
        out += ["", f"*({WORDS[site.edition]['code']})*"]
    out += close_details(state)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


FOLDED = {"jupyter": {"source_hidden": True}, "cellView": "form"}


def reader_cells(cells: list, site: Site, page: str) -> list:
    """The cells of a page for readers: text converted, the setup and solution code folded."""
    state = PageState(page)
    first_code = True
    for cell in cells:
        if cell.cell_type == "markdown":
            cell.source = markdown(cell.source, site, state)
        elif cell.cell_type == "code":
            if first_code or state.solution:
                cell.metadata.update(copy.deepcopy(FOLDED))
                if state.solution:
                    cell.metadata["jupyter"]["outputs_hidden"] = True
            first_code = False
    return cells


def leftovers(text: str) -> list[str]:
    """Unconverted MyST in a reader notebook's text: directive fences, labels, option lines and
    roles (code spans ignored)."""
    found = [m.group(0).strip() for m in LEFTOVER.finditer(text)]
    found += [m.group(0) for m in INLINE.finditer(text) if m["role"]]
    return found
