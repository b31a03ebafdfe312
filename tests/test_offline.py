"""The offline copy: one zip of the whole site, offered on the chooser, that works from file://
in Chromium (styles, navigation, search with no console errors)."""

from __future__ import annotations

import zipfile
from urllib.parse import quote

import pytest
from checkout import COURSE

from coursekit.offline import FOLDER, ZIP_NAME
from coursekit.serve import browser

pytestmark = pytest.mark.site


@pytest.fixture(scope="module")
def unzipped(site, tmp_path_factory):
    """The offline zip, unzipped into a temporary folder; the folder it creates."""
    target = tmp_path_factory.mktemp("offline")
    with zipfile.ZipFile(site / ZIP_NAME) as zf:
        zf.extractall(target)
    return target / FOLDER


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium for the module."""
    with browser() as b:
        yield b


def watched(context):
    """A page that records console errors, page errors and failed requests."""
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("requestfailed", lambda r: page.problems.append(f"failed: {r.url}"))
    return page


def test_chooser_offers_the_zip(site):
    html = (site / "index.html").read_text(encoding="utf-8")
    assert f'href="{ZIP_NAME}" download' in html
    assert "MB" in html and "离线" in html
    with zipfile.ZipFile(site / ZIP_NAME) as zf:
        names = set(zf.namelist())
    for ed in COURSE.editions():
        assert f"{FOLDER}/{ed.key}/ch01_module_basics.html" in names
        assert f"{FOLDER}/{ed.key}/searchindex.js" in names
    assert f"{FOLDER}/index.html" in names and not any(n.endswith(".map") for n in names)


def test_offline_pages_have_styles_and_working_links(unzipped, chromium):
    context = chromium.new_context(locale="en-US")
    page = watched(context)
    page.goto((unzipped / "index.html").as_uri())
    assert ZIP_NAME not in page.content(), "the offline copy links to no zip of itself"
    page.click("a[data-course-lang='en']")
    page.wait_for_url("**/en/index.html")
    sidebar = page.locator(".bd-sidebar-primary")
    assert sidebar.evaluate("e => getComputedStyle(e).display") != "inline", "no theme CSS"
    page.locator("a.right-next").first.click()
    page.wait_for_url("**/en/ch01_module_basics.html")
    assert page.locator("h1").count() >= 1
    page.click("a.course-lang-switch")
    page.wait_for_url("**/zh/ch01_module_basics.html")
    context.close()
    assert page.problems == [], page.problems


@pytest.mark.parametrize(("edition", "query", "expected"), [
    ("en", "forward", "ch01_module_basics"), ("zh", "前向传播", "ch01_module_basics")])
def test_offline_search_finds_pages_without_errors(unzipped, chromium, edition, query, expected):
    context = chromium.new_context()
    page = watched(context)
    page.goto((unzipped / edition / "search.html").as_uri() + f"?q={quote(query)}")
    page.locator(f"#search-results a[href*='{expected}']").first.wait_for(timeout=15_000)
    page.wait_for_timeout(500)   # let any snippet request run and fail, if one is made
    context.close()
    assert page.problems == [], page.problems


def test_search_snippets_fail_from_file_urls_without_the_offline_settings(site, chromium):
    """Positive control: the site as served online loads search snippets, which file:// blocks."""
    context = chromium.new_context()
    page = watched(context)
    page.goto((site / "en" / "search.html").as_uri() + "?q=forward")
    page.locator("#search-results a[href*='ch01_module_basics']").first.wait_for(timeout=15_000)
    page.wait_for_timeout(1000)
    context.close()
    assert page.problems, "expected the snippet requests to fail under file://"
