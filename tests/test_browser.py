"""Headless Chromium against the site served on localhost: loads, language switch, search."""

from __future__ import annotations

from urllib.parse import quote, urlparse

import pytest
from checkout import COURSE

pytestmark = pytest.mark.site


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
    names = [*COURSE.toc_files(), "search", "genindex"]
    return [(ed.key, name) for ed in COURSE.editions() for name in names]


@pytest.mark.parametrize(("edition", "name"), all_pages())
def test_page_loads_cleanly_offline(chromium, base_url, edition, name):
    context = chromium.new_context()
    page = watched_page(context, base_url)
    page.goto(f"{base_url}/{edition}/{name}.html", wait_until="networkidle")
    assert page.locator("h1").count() >= 1
    if page.locator(".math").count():
        page.wait_for_selector("mjx-container", timeout=10_000)  # MathJax ran, served locally
    context.close()
    assert page.problems == []


@pytest.mark.parametrize("name", COURSE.toc_files())
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
    page.wait_for_load_state("networkidle")
    context.close()
    assert page.problems == []


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


# Explorer widgets on the static site, per edition: (page, widget name, initial setting, steps).
# A step is (action, target, the setting shown afterwards): "click" a toggle button or "select"
# a dropdown option. Labels and option names are in the edition's language.
EXPLORER_STEPS = {
    "en": {
        "ch02_builtin_layers": ("Dropout explorer", "p=0.5, mode=train", [
            ("click", "eval", "p=0.5, mode=eval"),
            ("click", "0.6", "p=0.6, mode=eval"),
            ("click", "train", "p=0.6, mode=train"),
            ("click", "0.7", "p=0.7, mode=train"),
        ]),
        "ch04_initialisation": ("Init explorer", "init=Kaiming normal, activation=ReLU, depth=20", [
            ("select", "normal σ=0.01", "init=normal σ=0.01, activation=ReLU, depth=20"),
            ("click", "tanh", "init=normal σ=0.01, activation=tanh, depth=20"),
            ("click", "10", "init=normal σ=0.01, activation=tanh, depth=10"),
            ("select", "orthogonal", "init=orthogonal, activation=tanh, depth=10"),
            ("click", "20", "init=orthogonal, activation=tanh, depth=20"),
        ]),
    },
    "zh": {
        "ch02_builtin_layers": ("Dropout 演示", "p=0.5, 模式=训练", [
            ("click", "评估", "p=0.5, 模式=评估"),
            ("click", "0.6", "p=0.6, 模式=评估"),
            ("click", "训练", "p=0.6, 模式=训练"),
            ("click", "0.7", "p=0.7, 模式=训练"),
        ]),
        "ch04_initialisation": ("初始化演示", "初始化=Kaiming normal, 激活=ReLU, 深度=20", [
            ("select", "normal σ=0.01", "初始化=normal σ=0.01, 激活=ReLU, 深度=20"),
            ("click", "tanh", "初始化=normal σ=0.01, 激活=tanh, 深度=20"),
            ("click", "10", "初始化=normal σ=0.01, 激活=tanh, 深度=10"),
            ("select", "orthogonal", "初始化=orthogonal, 激活=tanh, 深度=10"),
            ("click", "20", "初始化=orthogonal, 激活=tanh, 深度=20"),
        ]),
    },
}


def shown_frame(explorer) -> tuple[str, str]:
    """(alt text, src) of the one frame the explorer displays, after it has loaded."""
    frame = explorer.locator("img[alt]:visible")
    frame.wait_for()
    assert frame.count() == 1, "exactly one frame is visible"
    assert frame.evaluate("img => img.complete && img.naturalWidth > 0"), "the frame decoded"
    return frame.get_attribute("alt"), frame.get_attribute("src")


def operate(explorer, action: str, target: str) -> None:
    """Move one control of an explorer the way a reader would."""
    if action == "click":
        explorer.get_by_role("button", name=target, exact=True).click()
    else:
        explorer.locator("select").select_option(label=target)


@pytest.mark.parametrize("edition", [ed.key for ed in COURSE.editions()])
@pytest.mark.parametrize("name", list(EXPLORER_STEPS["en"]))
def test_explorer_switches_frames_without_a_kernel(chromium, base_url, edition, name):
    widget, first, steps = EXPLORER_STEPS[edition][name]
    context = chromium.new_context()
    page = watched_page(context, base_url)
    page.goto(f"{base_url}/{edition}/{name}.html", wait_until="networkidle")
    page.locator("script[type='application/vnd.jupyter.widget-view+json']").first.evaluate(
        "view => view.parentElement.scrollIntoView()")   # widgets load as they come near
    explorer = page.locator(".course-explorer").filter(has=page.locator(f"img[alt^='{widget}']"))
    alt, src = shown_frame(explorer)
    assert alt == f"{widget}: {first}"
    seen = {src}
    for action, target, setting in steps:
        operate(explorer, action, target)
        expect_alt = f"{widget}: {setting}"
        explorer.locator(f"img[alt='{expect_alt}']:visible").wait_for(timeout=5_000)
        alt, src = shown_frame(explorer)
        assert alt == expect_alt
        assert src not in seen, f"{setting} shows a frame already seen"
        seen.add(src)
    context.close()
    assert page.problems == []
