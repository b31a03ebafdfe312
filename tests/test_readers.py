"""Reader notebooks: what Colab links, downloads and clones open renders in Jupyter and Colab
(no MyST left, boxes with titles, folded solutions and setup cell, links to the website), and
carries exactly the code and outputs the site shows and nbval checks."""

from __future__ import annotations

import re

import nbformat
import pytest
from checkout import COURSE, ROOT

from coursekit import notebooks, readers

EDITIONS = [ed.key for ed in COURSE.editions()]
SAMPLE = """\
(sec-x)=
## A section

See {term}`parameters <parameter>` and {ref}`the section <sec-x>`; `{term}` in code stays.

```{admonition} Common misconception
:class: warning misconception
A belief, with a {term}`module`.
```

```{exercise}
:label: ch09-ex-a

Do it.
```

```{solution-start} ch09-ex-a
:class: dropdown
```

Because.
"""


def site(url: str = "https://example.org/course") -> readers.Site:
    """A small site for the samples."""
    return readers.Site(url, "en", labels={"sec-x": ("ch09_x", "sec-x", "A section")},
                        chapters={"ch09_x": 9})


def opened_by_links() -> list:
    """Every notebook a Colab link (or a clone) opens: chapters and assignments."""
    return sorted((ROOT / "notebooks").glob("*/*.ipynb")) + sorted(
        (ROOT / "exercises").glob("*/*.ipynb"))


def text_of(path) -> str:
    """The Markdown cells of a notebook."""
    nb = nbformat.read(path, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("path", opened_by_links(), ids=lambda p: "/".join(p.parts[-2:]))
def test_no_myst_left_in_notebooks_that_links_open(path):
    assert readers.leftovers(text_of(path)) == []


def test_leftover_check_finds_every_kind_of_myst():
    """Positive control: the raw sample is caught on each construct."""
    found = readers.leftovers(SAMPLE)
    assert "(sec-x)=" in found and "```{admonition}" in found and ":class:" in found
    assert any(f.startswith("{term}") for f in found) and any(f.startswith("{ref}") for f in found)
    assert not any(f == "`{term}`" for f in found), "a code span is not a role"


def test_conversion_of_each_construct():
    state = readers.PageState("ch09_x")
    text = readers.markdown(SAMPLE, site(), state)
    assert readers.leftovers(text) == []
    assert "(sec-x)=" not in text
    assert "[parameters](https://example.org/course/en/glossary.html#term-parameter)" in text
    assert "[the section](https://example.org/course/en/ch09_x.html#sec-x)" in text
    assert "`{term}` in code stays" in text
    assert "> **⚠️ Common misconception**" in text and "> A belief, with a [module](" in text
    assert "> **✏️ Exercise 9.1**" in text
    assert re.search(r"<details><summary><b>Solution to Exercise 9\.1</b>.*?Because\..*?</details>",
                     text, re.S)
    plain = readers.markdown(SAMPLE, site(url=""), readers.PageState("ch09_x"))
    assert "see parameters and the section" in plain.lower() and "](" not in plain


def test_unknown_myst_is_an_error_not_a_leftover():
    with pytest.raises(readers.ReaderError, match=r"\{figure\} has no reader form"):
        readers.markdown("```{figure} x.png\n```", site(), readers.PageState("p"))
    with pytest.raises(readers.ReaderError, match=r"\{numref\} has no reader form"):
        readers.markdown("see {numref}`fig-1`", site(), readers.PageState("p"))


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("page", COURSE.chapter_files())
def test_chapter_reads_as_intended(edition, page):
    ed = next(e for e in COURSE.editions() if e.key == edition)
    nb = nbformat.read(notebooks.notebook_path(ed, page), as_version=4)
    source = notebooks.source_path(ed, page).read_text(encoding="utf-8")
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    box = "Common misconception" if edition == "en" else "常见误区"
    assert text.count(f"> **⚠️ {box}**") == source.count(f"```{{admonition}} {box}")
    assert text.count("<details>") >= source.count("```{solution-start}") > 0
    assert text.count("<details>") == text.count("</details>")
    code = [c for c in nb.cells if c.cell_type == "code"]
    setup = code[0]
    assert setup.source.startswith("#@title ") and setup.metadata["cellView"] == "form"
    assert setup.metadata["jupyter"]["source_hidden"] is True
    folded = [c for c in code[1:] if c.metadata.get("jupyter", {}).get("source_hidden")]
    assert folded and all(c.metadata["jupyter"].get("outputs_hidden") for c in folded)


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("page", COURSE.toc_files())
def test_site_shows_the_code_and_outputs_nbval_checks(edition, page):
    """The site's source of a page is the reader notebook with the MyST text put back."""
    ed = next(e for e in COURSE.editions() if e.key == edition)
    reader = nbformat.read(notebooks.notebook_path(ed, page), as_version=4)
    shown = notebooks.site_source(ed, page)
    assert len(shown.cells) == len(reader.cells)
    for a, b in zip(reader.cells, shown.cells, strict=True):
        if a.cell_type == "code":
            assert (a.source, a.get("outputs")) == (b.source, b.get("outputs"))
    myst = notebooks.read_source(notebooks.source_path(ed, page))
    assert [c.source for c in shown.cells if c.cell_type == "markdown"] == \
        [c.source for c in myst.cells if c.cell_type == "markdown"]
