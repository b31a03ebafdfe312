"""The interface in each edition's language, section ids shared by both editions (the language
switch keeps the reader's section), and the glossary in each edition's order, linked to where
each term is taught."""

from __future__ import annotations

import functools
import re
from urllib.parse import unquote

import pytest
from bs4 import BeautifulSoup
from checkout import COURSE, ROOT
from pypinyin import lazy_pinyin
from site_browsing import DESKTOP, edition_keys, open_page, page_names

from coursekit.glossary import entries
from coursekit.sphinxext import SectionMismatchError, check_pairing, head_word

pytestmark = pytest.mark.site
AUTO_ID = re.compile(r"^id\d+$")


@functools.lru_cache(maxsize=32)
def soup(site, edition: str, name: str) -> BeautifulSoup:
    """One built page, parsed (once: callers only read it)."""
    return BeautifulSoup((site / edition / f"{name}.html").read_text(encoding="utf-8"),
                         "html.parser")


def section_ids(page: BeautifulSoup) -> list[str]:
    """The ids of the article's headed sections, in order."""
    article = page.select_one("article.bd-article")
    return [s["id"] for s in article.find_all("section") if s.get("id") and
            s.find(re.compile(r"^h[1-6]$"), recursive=False)]


# --- 3. Section ids ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", COURSE.toc_files())
def test_sections_have_the_same_ids_in_both_editions(site, name):
    en, zh = (section_ids(soup(site, key, name)) for key in ("en", "zh"))
    assert len(en) >= 1 and en == zh
    for key in ("en", "zh"):
        page = soup(site, key, name)
        ids = {el["id"] for el in page.find_all(id=True)}
        auto = sorted(i for i in ids if AUTO_ID.match(i))
        assert auto == [], f"{key}/{name} still has automatic ids {auto}"
        for a in page.select("article a[href^='#']"):
            target = unquote(a["href"][1:])
            assert not target or target in ids, f"{key}/{name}: {a['href']} goes nowhere"


def test_unpaired_sections_fail_the_build_with_one_line():
    en = [[0, ["modules"], "Modules"], [1, ["registering"], "Registering"]]
    zh = [[0, ["id1"], "模块"], [2, ["id2"], "注册"]]
    with pytest.raises(SectionMismatchError) as err:
        check_pairing("ch01_module_basics", "zh", zh, en, "en")
    message = str(err.value)
    assert "\n" not in message and "book/zh/ch01_module_basics.md" in message
    assert "same headings" in message
    check_pairing("ch01_module_basics", "zh", [[0, ["a"], "x"], [1, ["b"], "y"]], en, "en")


def scroll_to_section(page, offset: int) -> str:
    """Scroll so that a section deep in the page (offset from its middle one) is the one being
    read; return its id."""
    return page.evaluate("""(k) => {
      const all = [...document.querySelectorAll("article section[id]")]
        .filter(s => s.querySelector(":scope > h2, :scope > h3"));
      const s = all[Math.floor(all.length / 2) + k];
      s.querySelector("h2, h3").scrollIntoView({behavior: "instant"});
      window.scrollBy({top: 40, behavior: "instant"});
      return s.id;
    }""", offset)


def click_switch(page) -> None:
    """Click the language switch where the reader sees it (Playwright's own click would first
    scroll it into view, moving the reader)."""
    page.wait_for_timeout(300)  # images near the new position settle
    box = page.locator("a.course-lang-switch").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def landed_section(page, expected: str) -> None:
    """The switched-to page shows the expected section at the top of the window."""
    assert unquote(page.url.split("#", 1)[1]) == expected
    page.wait_for_function(
        "id => Math.abs(document.getElementById(id).getBoundingClientRect().top) < 200",
        arg=expected, timeout=10_000)


@pytest.mark.parametrize("name", ["ch03_custom_layers", "ch06_hooks"])
def test_language_switch_keeps_the_section_being_read(chromium, base_url, name):
    context = chromium.new_context(**DESKTOP)
    page = open_page(context, f"{base_url}/en/{name}.html")
    section = scroll_to_section(page, 1)
    click_switch(page)
    page.wait_for_url(re.compile(rf"/zh/{name}\.html#"))
    landed_section(page, section)
    back = scroll_to_section(page, -2)
    assert back != section
    click_switch(page)
    page.wait_for_url(re.compile(rf"/en/{name}\.html#"))
    landed_section(page, back)
    context.close()


def test_language_switch_keeps_the_url_fragment(chromium, base_url):
    context = chromium.new_context(**DESKTOP)
    page = open_page(context, f"{base_url}/zh/ch02_builtin_layers.html#dropout")
    page.click("a.course-lang-switch")
    page.wait_for_url(re.compile(r"/en/ch02_builtin_layers\.html#dropout$"))
    landed_section(page, "dropout")
    context.close()


# --- 6. The Chinese interface -----------------------------------------------------------------

# Text and attributes a reader meets, outside code, math and program output (a cell's output is
# what the code printed; figure alt text belongs to the chapters and is checked with them).
SCAN_JS = """() => {
  // Search results quote the pages, code included: what they quote is checked on its page.
  const skip = "pre, code, kbd, samp, .highlight, mjx-container, script, style, .cell_output, "
    + "#search-results .context";
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest(skip) || !n.textContent.trim()) continue;
    if (!el.getClientRects().length || getComputedStyle(el).visibility === "hidden") continue;
    found.push(["text", n.textContent.trim()]);
  }
  for (const el of document.querySelectorAll("[aria-label], [title], [placeholder], [alt]")) {
    if (el.closest("pre, code, .highlight, .cell_output")) continue;
    for (const a of ["aria-label", "title", "placeholder", "alt", "data-bs-title"]) {
      const v = el.getAttribute(a);
      if (v && v.trim()) found.push([a, v.trim()]);
    }
  }
  return found;
}"""
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
# Interface words that stay Latin in a Chinese interface: key names, product and file names,
# the English edition's name on the language switch (and single letters: variables, the
# index's letter headings).
ALLOWED = {"Ctrl", "K", "Colab", "GitHub", "PDF", "pdf", "ipynb", "English", "Jupyter", "Book"}


def course_vocabulary() -> set[str]:
    """Latin words the course itself writes in Chinese prose: terms, API and product names."""
    words: set[str] = set()
    for path in (ROOT / "book" / "zh").glob("*.md"):
        fences: list[tuple[str, bool]] = []  # (marker, holds code); directives hold prose
        for line in path.read_text(encoding="utf-8").splitlines():
            mark = re.match(r"\s*(`{3,}|~{3,})\s*(\S*)", line)
            if mark:
                marker, info = mark[1], mark[2]
                top = fences[-1][0] if fences else ""
                if not info and top and marker[0] == top[0] and len(marker) >= len(top):
                    fences.pop()
                else:
                    fences.append((marker, not info.startswith("{") or "code" in info))
            elif not any(code for _, code in fences):
                words |= set(LATIN_WORD.findall(line))
    for entry in entries(COURSE.glossary_file):
        words |= set(LATIN_WORD.findall(f"{entry['en']} {entry['zh']} {entry['def_zh']}"))
    return words


def english_left(found: list, vocabulary: set[str]) -> list[str]:
    """The scanned strings holding a Latin word that is neither course text nor allowed."""
    return sorted({f"{kind}: {text[:80]}" for kind, text in found
                   if any(w not in vocabulary and w not in ALLOWED and len(w) > 1
                          for w in LATIN_WORD.findall(text))})


@pytest.fixture(scope="module")
def vocabulary():
    """The course's own Latin words in the Chinese edition."""
    return course_vocabulary()


def test_interface_scan_catches_english(chromium, base_url, vocabulary):
    context = chromium.new_context(**DESKTOP)
    page = open_page(context, f"{base_url}/en/ch01_module_basics.html")
    left = english_left(page.evaluate(SCAN_JS), vocabulary)
    assert any("Search" in s for s in left), "the English edition's interface is reported"
    page = open_page(context, f"{base_url}/zh/index.html")
    page.evaluate("""() => {
      const b = document.createElement("button");
      b.setAttribute("aria-label", "Open the menu");
      document.querySelector("article").append(b, "Press here to continue");
    }""")
    left = english_left(page.evaluate(SCAN_JS), vocabulary)
    assert "aria-label: Open the menu" in left and "text: Press here to continue" in left
    context.close()


def test_chinese_interface_has_no_english(chromium, base_url, vocabulary):
    context = chromium.new_context(**DESKTOP)
    problems = {}
    for name in [*page_names(), "search.html?q=模块"]:
        url = f"{base_url}/zh/{name}" + ("" if "?" in name else ".html")
        page = open_page(context, url)
        if "?q=" in name:
            page.wait_for_selector("#search-results li", timeout=15_000)
        page.locator(".theme-switch-button").first.hover()  # its tooltip is in the page too
        left = english_left(page.evaluate(SCAN_JS), vocabulary)
        if left:
            problems[name] = left
        page.close()
    context.close()
    assert problems == {}


@pytest.mark.parametrize(("wrong", "right"), [
    ("列印成 PDF", "打印为 PDF"), ("复制成功!", "复制成功！"), ("作者： ", "作者："),
])
def test_chinese_interface_wording(site, wrong, right):
    html = (site / "zh" / "ch02_builtin_layers.html").read_text(encoding="utf-8")
    script = (site / "zh" / "_static" / "copybutton.js").read_text(encoding="utf-8")
    assert wrong not in html + script
    assert right in html + script


def test_chinese_footer_and_solution_titles(site):
    page = soup(site, "zh", "ch01_module_basics")
    footer = " ".join(f.get_text(" ", strip=True) for f in page.select("footer"))
    assert "Copyright" not in footer and "版权所有" in footer
    assert re.search(r"最后更新于 \d{4} 年 \d{2} 月 \d{2} 日(?![.。])", footer), footer
    titles = [" ".join(p.get_text().split()).rstrip("#").strip()
              for p in page.select(".solution .admonition-title")]
    assert titles and all(re.fullmatch(r"练习 \d+\.\d+ 解答", t) for t in titles), titles


# --- 6. The glossary --------------------------------------------------------------------------

def glossary_entries(site, edition: str) -> list[tuple[list[str], set[str], BeautifulSoup]]:
    """Each glossary entry as (its term lines, their ids, its definition), in page order."""
    page = soup(site, edition, "glossary")
    out, terms, ids = [], [], set()
    for el in page.select("article dl.glossary > *"):
        if el.name == "dt":
            terms.append(el.get_text(strip=True).rstrip("#"))
            ids.add(el.get("id", ""))
        elif el.name == "dd":
            out.append((terms, ids, el))
            terms, ids = [], set()
    return out


def pinyin(term: str) -> str:
    """A term's pinyin without tones (Latin letters kept), for comparing orders."""
    return "".join(lazy_pinyin(term)).lower().replace(" ", "")


def test_glossary_is_ordered_for_each_language(site):
    data = {e["en"]: e["zh"] for e in entries(COURSE.glossary_file)}
    en = [terms[0] for terms, _, _ in glossary_entries(site, "en")]
    zh = [terms[0] for terms, _, _ in glossary_entries(site, "zh")]
    assert len(en) == len(zh) == len(data)
    assert en == sorted(en, key=str.casefold), "English glossary in alphabetical order"
    assert set(zh) == set(data.values()), "the Chinese glossary leads with the Chinese term"
    keys = [pinyin(t) for t in zh]
    assert keys == sorted(keys), "Chinese glossary in pinyin order"
    assert zh.index("参数") < zh.index("池化") < zh.index("卷积层") < zh.index("张量钩子")
    assert [data[t] for t in en] != zh, "not in the English order"


def test_one_term_line_where_both_languages_agree(site):
    for edition in edition_keys():
        lines = {t[0]: t for t, _, _ in glossary_entries(site, edition)}
        assert lines["logits"] == ["logits"]


@pytest.mark.parametrize("edition", edition_keys())
def test_every_glossary_entry_links_to_where_it_is_taught(site, edition):
    by_term = {e[edition].strip(): e for e in entries(COURSE.glossary_file)}
    problems = []
    for terms, ids, definition in glossary_entries(site, edition):
        entry = by_term[terms[0]]
        link = definition.select_one("a.course-taught")
        if link is None:
            problems.append(f"{terms[0]}: no link")
            continue
        page_name, _, anchor = link["href"].partition("#")
        target = soup(site, edition, page_name.removesuffix(".html")).find(id=anchor)
        if target is None or target.name != "section":
            problems.append(f"{terms[0]}: {link['href']} is not a section")
            continue
        linked = any(a["href"].partition("#")[2] in ids
                     for a in target.select("a[href*='glossary.html#']"))
        text = target.get_text(" ").lower()
        term = entry[edition].strip().lower()  # a term no chapter names: where its head word is
        said = term in text or head_word(term, edition) in text
        if not (linked or said):
            problems.append(f"{terms[0]}: {link['href']} neither links to nor names the term")
    assert problems == []
