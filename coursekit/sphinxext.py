"""Sphinx extension: language switch to the twin page, and the bilingual glossary directive."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

from docutils.statemachine import StringList
from sphinx.domains.std import Glossary

from coursekit.glossary import glossary_lines
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
        config = self.state.document.settings.env.config
        lines = glossary_lines(config.course_edition, Path(config.course_glossary))
        self.content = StringList(lines, source="book/glossary.yml")
        self.options = {"sorted": True}  # alphabetical by English term in both editions
        return super().run()


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
    app.add_directive("course-glossary", CourseGlossary)
    app.connect("config-inited", configure)
    app.connect("html-page-context", add_twin_link)
    app.connect("doctree-read", add_figure_alt)
    app.add_js_file(None, body=REMEMBER_JS)
    app.add_css_file("course.css")
    app.add_js_file("course-widgets.js", priority=200)  # before the widget manager renders
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "0.1"}
