"""The site on phones and tablets (Chromium with touch): drawers, no sideways scrolling, widgets."""

from __future__ import annotations

import re

import pytest
from site_browsing import (
    PHONE,
    TABLET,
    WIDGET_PAGES,
    edition_keys,
    open_page,
    overflow,
    page_names,
)

pytestmark = pytest.mark.site
DEVICES = {"phone": PHONE, "tablet": TABLET}


@pytest.mark.parametrize("edition", edition_keys())
@pytest.mark.parametrize("device", list(DEVICES))
def test_no_page_scrolls_sideways(chromium, base_url, device, edition):
    context = chromium.new_context(**DEVICES[device])
    problems = []
    for name in page_names():
        page = open_page(context, f"{base_url}/{edition}/{name}.html")
        found = overflow(page)
        if found["scrollWidth"] > found["width"] or found["sticking"]:
            problems.append(f"{name}: scrollWidth {found['scrollWidth']} > {found['width']}; "
                            f"sticking out: {found['sticking'][:4]}")
        page.close()
    context.close()
    assert problems == []


def test_overflow_check_catches_a_wide_element(chromium, base_url):
    context = chromium.new_context(**PHONE)
    page = open_page(context, f"{base_url}/en/index.html")
    assert overflow(page)["sticking"] == []
    page.evaluate("""() => { const d = document.createElement("div");
      d.className = "too-wide"; d.style.width = "600px"; d.textContent = "wide";
      document.querySelector("article").append(d); }""")
    found = overflow(page)
    context.close()
    assert found["scrollWidth"] > found["width"]
    assert any(s.startswith("div.too-wide") for s in found["sticking"])


def visible_toggle(page, kind: str):
    """The chapter-list (primary) or contents (secondary) button a reader can see."""
    button = page.locator(f".{kind}-toggle:visible")
    assert button.count() == 1, f"one visible {kind} toggle"
    return button


def drawer_box(page, kind: str) -> dict | None:
    """The open drawer's box on screen, or None when it is closed."""
    return page.evaluate(f"""() => {{
      const d = document.getElementById("pst-{kind}-sidebar-modal");
      if (!d || !d.open) return null;
      const r = d.getBoundingClientRect();
      return {{left: r.left, right: r.right, width: r.width, height: r.height,
               links: d.querySelectorAll("a[href]").length}};
    }}""")


@pytest.mark.parametrize("edition", edition_keys())
@pytest.mark.parametrize("device", list(DEVICES))
def test_chapter_drawer_opens_closes_and_navigates(chromium, base_url, device, edition):
    context = chromium.new_context(**DEVICES[device])
    page = open_page(context, f"{base_url}/{edition}/ch03_custom_layers.html")
    width = page.viewport_size["width"]
    assert drawer_box(page, "primary") is None
    visible_toggle(page, "primary").tap()
    page.wait_for_function("document.getElementById('pst-primary-sidebar-modal').open")
    box = drawer_box(page, "primary")
    assert box["width"] > 150 and box["height"] > 300, f"the drawer is on screen: {box}"
    assert box["left"] >= 0 and box["right"] <= width, f"the drawer fits the screen: {box}"
    assert box["links"] >= 9, "the drawer lists the chapters"
    page.keyboard.press("Escape")
    page.wait_for_function("!document.getElementById('pst-primary-sidebar-modal').open")
    visible_toggle(page, "primary").tap()
    link = page.locator("#pst-primary-sidebar-modal a[href='ch05_containers.html']")
    link.tap()
    page.wait_for_url(re.compile(r"/ch05_containers\.html$"))
    context.close()


@pytest.mark.parametrize("edition", edition_keys())
@pytest.mark.parametrize("device", list(DEVICES))
def test_contents_drawer_opens_and_its_links_jump(chromium, base_url, device, edition):
    context = chromium.new_context(**DEVICES[device])
    page = open_page(context, f"{base_url}/{edition}/ch06_hooks.html")
    visible_toggle(page, "secondary").tap()
    page.wait_for_function("document.getElementById('pst-secondary-sidebar-modal').open")
    box = drawer_box(page, "secondary")
    assert box["width"] > 150 and box["links"] >= 5, f"the contents are on screen: {box}"
    links = page.locator("#pst-secondary-sidebar-modal a.nav-link[href^='#']:visible")
    target = links.nth(links.count() // 2)  # deep in the page, not at its end
    anchor = target.get_attribute("href")[1:]
    target.tap()
    page.wait_for_function("!document.getElementById('pst-secondary-sidebar-modal').open")
    page.wait_for_function(
        f"Math.abs(document.getElementById('{anchor}').getBoundingClientRect().top) < 150")
    assert page.url.endswith(f"#{anchor}")
    context.close()


# Each explorer's controls, per edition: (label, kind, option names).
WIDGET_CONTROLS = {
    "en": {
        "ch02_builtin_layers": [("p", "group", ["0.0", "0.5", "0.9"]),
                                ("mode", "group", ["train", "eval"])],
        "ch04_initialisation": [("init", "combobox", ["PyTorch default", "orthogonal"]),
                                ("activation", "group", ["ReLU", "tanh", "linear"]),
                                ("depth", "group", ["5", "10", "20", "50"])],
    },
    "zh": {
        "ch02_builtin_layers": [("p", "group", ["0.0", "0.5", "0.9"]),
                                ("模式", "group", ["训练", "评估"])],
        "ch04_initialisation": [("初始化", "combobox", ["PyTorch default", "orthogonal"]),
                                ("激活", "group", ["ReLU", "tanh", "linear"]),
                                ("深度", "group", ["5", "10", "20", "50"])],
    },
}
LABEL_BESIDE_JS = """(w) => {
  const label = w.querySelector(".widget-label").getBoundingClientRect();
  const first = w.querySelector("button, select").getBoundingClientRect();
  const all = [...w.querySelectorAll("button, select")].map(e => e.getBoundingClientRect());
  return {labelRight: label.right, labelTop: label.top, labelBottom: label.bottom,
          controlLeft: first.left, controlTop: first.top, controlBottom: first.bottom,
          right: Math.max(...all.map(r => r.right), label.right)};
}"""


def check_beside(widget, width: int) -> list[str]:
    """Problems with one control's layout: label not on the first row, left of it; too wide."""
    g = widget.evaluate(LABEL_BESIDE_JS)
    problems = []
    if g["labelRight"] > g["controlLeft"] + 1:
        problems.append(f"label ends at {g['labelRight']:.0f}, right of its control")
    if g["labelBottom"] < g["controlTop"] or g["labelTop"] > g["controlBottom"]:
        problems.append(f"label at y {g['labelTop']:.0f}, control at y {g['controlTop']:.0f}")
    if g["right"] > width:
        problems.append(f"control reaches {g['right']:.0f} px of {width}")
    return problems


@pytest.mark.parametrize("edition", edition_keys())
@pytest.mark.parametrize("name", WIDGET_PAGES)
def test_widget_labels_sit_beside_named_controls_on_a_phone(chromium, base_url, edition, name):
    context = chromium.new_context(**PHONE)
    page = open_page(context, f"{base_url}/{edition}/{name}.html")
    explorer = page.locator(".course-explorer").first
    problems = []
    for label, role, options in WIDGET_CONTROLS[edition][name]:
        control = explorer.get_by_role(role, name=label, exact=True)
        assert control.count() == 1, f"a {role} named {label!r}"
        box = control.locator("xpath=ancestor::div[contains(@class,'widget-inline-hbox') "
                              "or contains(@class,'widget-toggle-buttons')][1]")
        problems += [f"{label}: {p}" for p in check_beside(box, page.viewport_size["width"])]
        if role == "group":
            for option in options:
                assert control.get_by_role("button", name=option, exact=True).count() == 1
            pressed = control.locator("button[aria-pressed='true']")
            assert pressed.count() == 1, f"{label}: one option is marked as chosen"
            chosen = pressed.inner_text().strip()
            other = control.get_by_role("button", pressed=False).first.element_handle()
            other_name = other.inner_text().strip()
            other.tap()
            page.wait_for_function("b => b.getAttribute('aria-pressed') === 'true'", arg=other)
            assert control.locator("button[aria-pressed='true']").inner_text().strip() \
                == other_name != chosen
            alt = explorer.locator("img[alt]:visible").get_attribute("alt")
            assert other_name in alt, f"the frame shown ({alt!r}) is the chosen {other_name!r}"
        else:
            names = [o.replace("\xa0", " ") for o in control.locator("option").all_inner_texts()]
            assert all(o in names for o in options), names
            shown = control.evaluate("s => s.options[s.selectedIndex].textContent")
            assert shown.replace("\xa0", " ").strip() in names
    context.close()
    assert problems == []
