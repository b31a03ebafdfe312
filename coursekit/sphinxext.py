"""Sphinx extension: language switch to the twin page, section ids shared by both editions, and
the bilingual glossary directive (each edition in its own order, each entry linked to where its
term is first taught)."""

from __future__ import annotations

import functools
import json
import logging
import re
from pathlib import Path
from typing import ClassVar

from docutils import nodes
from docutils.statemachine import StringList
from sphinx import addnodes
from sphinx.domains.std import Glossary
from sphinx.transforms import SphinxTransform

from coursekit.errors import TwinError
from coursekit.glossary import entries, glossary_lines
from coursekit.project import PACKAGE

TEMPLATES = PACKAGE / "templates"
REMEMBER_JS = (
    "document.addEventListener('click', function (e) {"
    " var a = e.target.closest('a[data-course-lang]');"
    " if (a) { try { localStorage.setItem('course-lang', a.dataset.courseLang); } catch (x) {} }"
    "});"
)


class CourseGlossary(Glossary):
    """A Sphinx glossary generated from book/glossary.yml in the current edition's language."""

    has_content = False
    option_spec: ClassVar[dict] = {}

    def run(self):
        """Fill the content from the data file, then let Sphinx's glossary do the rest."""
        env = self.state.document.settings.env
        edition = env.config.course_edition
        env_dict(env, "course_glossary")[env.docname] = True  # rewritten every build
        lines = glossary_lines(edition, Path(env.config.course_glossary),
                               extra=lambda e: [f"{{course-taught}}`{e['en']}`"])
        self.content = StringList(lines, source="book/glossary.yml")
        self.options = {}  # already in the edition's order (pinyin for zh): see glossary.ordered
        return super().run()


AUTO_ID = re.compile(r"^id\d+$")  # what docutils makes of a title with no ASCII letters
TAUGHT_LABEL = {"en": "Taught in: ", "zh": "首次讲解："}


class SectionMismatchError(TwinError):
    """The two editions of a page do not have the same sections (count, order and levels)."""


def section_depth(node: nodes.section) -> int:
    """How many sections enclose this one (0 for the page title)."""
    depth, parent = 0, node.parent
    while parent is not None:
        depth += isinstance(parent, nodes.section)
        parent = parent.parent
    return depth


def headed_sections(document) -> list[nodes.section]:
    """The document's sections that have a heading, in order (not sphinx-exercise's bodies)."""
    return [s for s in document.findall(nodes.section)
            if s.children and isinstance(s[0], nodes.title)]


def section_outline(document) -> list[list]:
    """[depth, ids, title] of every headed section of a document, in order."""
    return [[section_depth(s), list(s["ids"]), s[0].astext()] for s in headed_sections(document)]


@functools.lru_cache(maxsize=4)
def load_outlines(path: str, mtime_ns: int) -> dict:
    """The first edition's section outlines, as written at the end of its build."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def reference_outlines(config) -> dict:
    """Section outlines of the first (English) edition, which every other edition adopts."""
    path = Path(config.course_section_ids)
    if not path.is_file():
        raise SectionMismatchError(
            f"{path} is missing: build the {first_edition(config)} edition first "
            "(`python -m coursekit build` builds both, English first)."
        )
    return load_outlines(str(path), path.stat().st_mtime_ns)


def first_edition(config) -> str:
    """The edition whose section ids the others adopt (the first in _config.yml: en)."""
    keys = [e["key"] for e in config.course_editions]
    return keys[0] if keys else config.course_edition


def check_pairing(docname: str, edition: str, mine: list, theirs: list, first: str) -> None:
    """Raise SectionMismatchError unless two outlines pair up section by section."""
    for i in range(max(len(mine), len(theirs))):
        a = mine[i] if i < len(mine) else None
        b = theirs[i] if i < len(theirs) else None
        if a is None or b is None or a[0] != b[0]:
            what = (f"section {i + 1} ({a[2]!r}, level {a[0] + 1})" if a else
                    f"no section {i + 1}")
            want = f"{b[2]!r}, level {b[0] + 1}" if b else "nothing"
            raise SectionMismatchError(
                f"book/{edition}/{docname}.md has {what} where book/{first}/{docname}.md has "
                f"{want}: give both editions the same headings, in the same order and levels."
            )


def adopt_ids(document, outline: list) -> None:
    """Give each section of this document the ids of its twin section (same position)."""
    explicit = {document.nameids[n] for n, exp in document.nametypes.items() if exp}
    sections = headed_sections(document)
    renamed: dict[str, str] = {}
    for section, (_, ids, _title) in zip(sections, outline, strict=True):
        keep = [i for i in section["ids"] if i in explicit and i not in ids]
        for old in section["ids"]:
            document.ids.pop(old, None)
            if old not in ids and old not in keep:
                renamed[old] = ids[0]
        section["ids"] = [*ids, *keep]
    for section in sections:
        for new in section["ids"]:
            other = document.ids.get(new)
            if other is not None and other is not section:
                raise SectionMismatchError(
                    f"{document['source']}: id {new!r} of a section is also used by a "
                    f"{other.tagname}: rename that label."
                )
            document.ids[new] = section
    for name, old in list(document.nameids.items()):
        if old in renamed:
            document.nameids[name] = renamed[old]
    for node in document.findall(nodes.Element):
        if node.get("refid") in renamed:
            node["refid"] = renamed[node["refid"]]


def prune_auto_ids(document) -> None:
    """Drop a section's spare idN ids (a title that clashed with its label) nothing refers to."""
    referred = {n["refid"] for n in document.findall(nodes.Element) if n.get("refid")}
    for section in headed_sections(document):
        spare = [i for i in section["ids"][1:] if AUTO_ID.match(i) and i not in referred]
        for old in spare:
            section["ids"].remove(old)
            document.ids.pop(old, None)
            for name, target in list(document.nameids.items()):
                if target == old:
                    document.nameids[name] = section["ids"][0]


class SectionIds(SphinxTransform):
    """Section ids shared by both editions: the first edition's ids, adopted by its twins."""

    default_priority = 845  # after docutils made the ids; before labels and tocs are recorded

    def apply(self, **kwargs) -> None:
        """Record this page's sections (English) or adopt the English ids (other editions)."""
        env, config = self.env, self.config
        first = first_edition(config)
        prune_auto_ids(self.document)
        if config.course_edition == first:
            env_dict(env, "course_sections")[env.docname] = section_outline(self.document)
            return
        theirs = reference_outlines(config).get(env.docname)
        if theirs is None:
            raise SectionMismatchError(
                f"book/{first}/{env.docname}.md was not built: build the {first} edition first."
            )
        check_pairing(env.docname, config.course_edition, section_outline(self.document),
                      theirs, first)
        adopt_ids(self.document, theirs)
        env_dict(env, "course_adopted")[env.docname] = [ids for _, ids, _ in theirs]


def env_dict(env, name: str) -> dict:
    """A per-document dict kept in the Sphinx environment (created on first use)."""
    if not hasattr(env, name):
        setattr(env, name, {})
    return getattr(env, name)


ENV_DICTS = ("course_sections", "course_adopted", "course_terms", "course_glossary")


def purge_doc(app, env, docname) -> None:
    """Forget what was recorded for a document that is read again or removed."""
    for name in ENV_DICTS:
        env_dict(env, name).pop(docname, None)


def merge_info(app, env, docnames, other) -> None:
    """Merge what parallel readers recorded."""
    for name in ENV_DICTS:
        mine, theirs = env_dict(env, name), env_dict(other, name)
        mine.update({d: theirs[d] for d in docnames if d in theirs})


def write_outlines(app, env) -> list:
    """After reading, the first edition writes its section outlines for the other editions."""
    if app.config.course_edition == first_edition(app.config) and app.config.course_section_ids:
        path = Path(app.config.course_section_ids)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(env_dict(env, "course_sections"), ensure_ascii=False, sort_keys=True)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return []


def rewrite_glossary(app, env) -> list:
    """The glossary links to where terms are used in other pages: write it again every build."""
    return sorted(env_dict(env, "course_glossary"))


def outdated_twins(app, env, added, changed, removed) -> list:
    """Pages to read again because their English sections changed since their ids were set."""
    if app.config.course_edition == first_edition(app.config):
        return []
    path = Path(app.config.course_section_ids)
    if not path.is_file():
        return []
    theirs = load_outlines(str(path), path.stat().st_mtime_ns)
    adopted = env_dict(env, "course_adopted")
    return [d for d, ids in adopted.items()
            if d in theirs and [x[1] for x in theirs[d]] != ids and d not in changed]


class taught_in(nodes.Inline, nodes.Element):
    """Placeholder for "where this term is taught", resolved once every page has been read."""


def taught_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """{course-taught}`term`: a link to the section where the term is first used."""
    return [taught_in(term=text.strip().lower())], []


def record_terms(app, doctree) -> None:
    """Remember, per page, the first section where each glossary term is referred to."""
    uses = env_dict(app.env, "course_terms")
    found: dict[str, list] = {}
    for ref in doctree.findall(addnodes.pending_xref):
        if ref.get("reftype") != "term":
            continue
        section = ref.parent  # the nearest section with a heading (not an exercise's body)
        while section is not None and not (
                isinstance(section, nodes.section) and section.children
                and isinstance(section[0], nodes.title)):
            section = section.parent
        term = ref.get("reftarget", "").strip().lower()
        if section is not None and section["ids"] and term not in found:
            found[term] = [section["ids"][0], section[0].astext()]
    edition = app.config.course_edition
    words = Path(app.config.course_glossary)
    uses[app.env.docname] = {"roles": found, "mentions": first_mentions(doctree, edition, words),
                             "heads": first_mentions(doctree, edition, words, head=True)}


def own_text(section: nodes.section) -> str:
    """A section's prose (not its subsections, code or literals), lower case."""
    skip = (nodes.section, nodes.literal_block, nodes.literal, nodes.raw)
    parts = []
    def walk(node):
        for child in node.children:
            if isinstance(child, nodes.Text):
                parts.append(str(child))
            elif not isinstance(child, skip) and "cell_output" not in child.get("classes", []):
                walk(child)
    walk(section)
    return " ".join(parts).lower()


def head_word(term: str, edition: str) -> str:
    """A term's head: "sequence data" gives "sequence", "序列数据" gives "序列"."""
    if edition == "zh":
        return term[:-2] if len(term) > 3 else term
    return term.rsplit(" ", 1)[0]


def first_mentions(doctree, edition: str, words: Path, head: bool = False) -> dict[str, list]:
    """Where each glossary term (or, with head, its head word) first appears in plain prose:
    for terms no {term} role marks."""
    sections = [(s, own_text(s)) for s in headed_sections(doctree)]
    found: dict[str, list] = {}
    for e in entries(words):
        word = (e["zh"] if edition == "zh" else e["en"]).strip().lower()
        word = head_word(word, edition) if head else word
        pattern = re.compile(re.escape(word) if edition == "zh" else rf"\b{re.escape(word)}s?\b")
        for section, text in sections:
            if pattern.search(text):
                found[e["en"].strip().lower()] = [section["ids"][0], section[0].astext()]
                break
    return found


def chapter_order(env) -> list[str]:
    """Documents in reading order: numbered chapters by their number, then the rest."""
    numbers = env.toc_secnumbers
    def key(doc):
        nums = numbers.get(doc, {})
        first = min(nums.values()) if nums else None
        return (first is None, first or (), doc)
    return sorted(env_dict(env, "course_terms"), key=key)


def first_use(env, term_keys: set[str], glossary: str) -> tuple[str, str, str] | None:
    """(document, section id, title) where a term is first used, in reading order, outside the
    glossary page itself."""
    uses = env_dict(env, "course_terms")
    for kind in ("roles", "mentions", "heads"):  # a {term} role marks where it is taught
        for doc in (d for d in chapter_order(env) if d != glossary):
            for key in sorted(term_keys):
                if key in uses[doc][kind]:
                    return doc, *uses[doc][kind][key]
    return None


def term_keys(term: str, words: Path) -> set[str]:
    """Every name a glossary term can be referred to by (English and Chinese, lower case)."""
    for e in entries(words):
        if e["en"].strip().lower() == term:
            return {e["en"].strip().lower(), e["zh"].strip().lower()}
    return {term}


def resolve_taught(app, doctree, docname) -> None:
    """Replace each placeholder with a link to the section that teaches the term."""
    env = app.env
    label = TAUGHT_LABEL.get(app.config.course_edition, TAUGHT_LABEL["en"])
    for node in list(doctree.findall(taught_in)):
        found = first_use(env, term_keys(node["term"], Path(env.config.course_glossary)), docname)
        if found is None:
            node.parent.parent.remove(node.parent)  # no chapter uses it: say nothing
            continue
        doc, anchor, title = found
        number = env.toc_secnumbers.get(doc, {}).get(f"#{anchor}") or env.toc_secnumbers.get(
            doc, {}).get("")
        text = f"{'.'.join(map(str, number))} {title}" if number else title
        uri = app.builder.get_relative_uri(docname, doc) + f"#{anchor}"
        link = nodes.reference("", text, internal=True, refuri=uri, classes=["course-taught"])
        node.replace_self([nodes.Text(label), link])


def add_twin_link(app, pagename, templatename, context, doctree):
    """Give every page the URL of the same page in each other edition."""
    here = app.config.course_edition
    twins = [e for e in app.config.course_editions if e["key"] != here]
    prefix = "../" * (pagename.count("/") + 1)
    context["course_twins"] = [
        {
            "url": f"{prefix}{e['key']}/{pagename}.html",
            "label": e["switch_label"],
            "key": e["key"],
            "hreflang": e["language"].replace("_", "-"),
        }
        for e in twins
    ]
    alternates = "".join(
        f'<link rel="alternate" hreflang="{t["hreflang"]}" href="{t["url"]}" />\n'
        for t in context["course_twins"]
    )
    context["metatags"] = context.get("metatags", "") + alternates


def add_figure_alt(app, doctree):
    """Give each notebook figure the alt text stored with its output (not its file name)."""
    from docutils import nodes

    from coursekit.figures import alt_texts

    source = app.env.doc2path(app.env.docname)
    if not str(source).endswith(".ipynb"):
        return
    alts = alt_texts(source)
    for image in doctree.findall(nodes.image):
        alt = alts.get(image["uri"].rsplit("/", 1)[-1].split(".")[0])
        if alt and not image.get("alt"):
            image["alt"] = alt


def configure(app, config):
    """Add our header component and templates to the theme configuration."""
    config.templates_path = [*config.templates_path, str(TEMPLATES)]
    options = dict(config.html_theme_options or {})
    header = list(options.get("article_header_end", ["article-header-buttons.html"]))
    options["article_header_end"] = ["course-lang-switch.html", *header]
    config.html_theme_options = options
    config.html_static_path = [*config.html_static_path, str(TEMPLATES / "static")]
    config.html_context = {"default_mode": "auto", **(config.html_context or {})}
    drop_thebe(app)


def drop_thebe(app):
    """Stop sphinx-thebe's page scripts: they are added twice and point at unpkg (a CDN)."""
    unwanted = {"init_thebe_core", "update_thebe_context"}
    for listeners in app.events.listeners.values():
        listeners[:] = [
            x for x in listeners
            if not (x.handler.__module__ == "sphinx_thebe" and x.handler.__name__ in unwanted)
        ]


def quiet_jieba():
    """Silence jieba's dictionary-loading chatter (it sets its own logger to DEBUG on import)."""
    try:
        import jieba
    except ImportError:
        return
    jieba.setLogLevel(logging.WARNING)


def setup(app):
    """Register config values, the directive and the page hooks."""
    quiet_jieba()
    app.add_config_value("course_edition", "en", "env")
    app.add_config_value("course_editions", [], "html")
    app.add_config_value("course_glossary", "", "env")  # path of book/glossary.yml
    app.add_config_value("course_section_ids", "", "env")
    app.add_directive("course-glossary", CourseGlossary)
    app.add_role("course-taught", taught_role)
    app.add_node(taught_in)
    app.add_transform(SectionIds)
    app.connect("env-purge-doc", purge_doc)
    app.connect("env-merge-info", merge_info)
    app.connect("env-updated", write_outlines)
    app.connect("env-get-outdated", outdated_twins)
    app.connect("env-get-updated", rewrite_glossary)
    app.connect("doctree-read", record_terms)
    app.connect("doctree-resolved", resolve_taught)
    app.connect("config-inited", configure)
    app.connect("html-page-context", add_twin_link)
    app.connect("doctree-read", add_figure_alt)
    app.add_js_file(None, body=REMEMBER_JS)
    app.add_css_file("course.css")
    app.add_js_file("course-widgets.js", priority=200)  # before the widget manager renders
    app.add_js_file("course-nav.js")
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "0.2",
            "env_version": 5}  # bump when what the environment records changes
