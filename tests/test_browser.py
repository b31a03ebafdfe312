"""Headless Chromium against the site served on localhost: loads, language switch, search."""

from __future__ import annotations

from urllib.parse import quote, urlparse

import pytest

from coursekit.project import editions, toc_files
from coursekit.serve import browser, serving

pytestmark = pytest.mark.site


@pytest.fixture(scope="module")
def base_url(site):
    """The built site, served over http on 127.0.0.1."""
    with serving(site) as url:
        yield url


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium for the module."""
    with browser() as b:
        yield b


def watched_page(context, base_url):
    """A page that records console errors, failed requests and any request leaving localhost."""
    page = context.new_page()
    page.problems = []
    host = urlparse(base_url).netloc

    def route(r):
        if urlparse(r.request.url).netloc != host and not r.request.url.startswith("data:"):
            page.problems.append(f"request left localhost: {r.request.url}")
            return r.abort()
        return r.continue_()

    page.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and page.problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: page.problems.append(f"failed: {r.url} {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and page.problems.append(f"{r.status}: {r.url}"))
    return page


def all_pages():
    """(edition, page name) for every toc page plus the generated search and index pages."""
    names = [*toc_files(), "search", "genindex"]
    return [(ed.key, name) for ed in editions() for name in names]


@pytest.mark.parametrize(("edition", "name"), all_pages())
def test_page_loads_cleanly_offline(chromium, base_url, edition, name):
    context = chromium.new_context()
    page = watched_page(context, base_url)
    page.goto(f"{base_url}/{edition}/{name}.html", wait_until="networkidle")
    assert page.locator("h1").count() >= 1
    if name.startswith("ch"):
        page.wait_for_selector("mjx-container", timeout=10_000)  # MathJax ran, served locally
    context.close()
    assert page.problems == []


@pytest.mark.parametrize("name", toc_files())
def test_language_switch_lands_on_twin(chromium, base_url, name):
    context = chromium.new_context()
    page = watched_page(context, base_url)
    page.goto(f"{base_url}/en/{name}.html")
    page.click("a.course-lang-switch")
    page.wait_for_url(f"{base_url}/zh/{name}.html")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    page.click("a.course-lang-switch")
    page.wait_for_url(f"{base_url}/en/{name}.html")
    context.close()
    assert page.problems == []


def test_chinese_search_finds_chapter_one(chromium, base_url):
    context = chromium.new_context()
    page = watched_page(context, base_url)
    page.goto(f"{base_url}/zh/search.html?q={quote('前向传播')}")
    link = page.locator("#search-results a[href*='ch01_module_basics']").first
    link.wait_for(timeout=15_000)
    context.close()
    assert page.problems == []


def test_root_uses_browser_language(chromium, base_url):
    context = chromium.new_context(locale="zh-CN")
    page = watched_page(context, base_url)
    page.goto(f"{base_url}/")
    page.wait_for_url(f"{base_url}/zh/index.html")
    context.close()


def test_root_remembers_the_readers_choice(chromium, base_url):
    context = chromium.new_context(locale="en-US")
    page = watched_page(context, base_url)
    page.goto(f"{base_url}/")
    assert page.url == f"{base_url}/", "with no stored choice an English browser sees the chooser"
    page.click("a[data-course-lang='zh']")
    page.wait_for_url(f"{base_url}/zh/index.html")
    page.goto(f"{base_url}/")
    page.wait_for_url(f"{base_url}/zh/index.html")
    page.click("a.course-lang-switch")  # switching language on a page updates the choice
    page.wait_for_url(f"{base_url}/en/index.html")
    page.goto(f"{base_url}/")
    page.wait_for_url(f"{base_url}/en/index.html")
    context.close()
    assert page.problems == []
