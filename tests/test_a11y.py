"""axe-core (an npm dev dependency, injected by the test, never shipped) on every page of both
editions: no serious or critical violation, with no rule switched off."""

from __future__ import annotations

import pytest
from site_browsing import (
    AXE,
    DESKTOP,
    PHONE,
    WIDGET_PAGES,
    axe_violations,
    edition_keys,
    open_page,
    page_names,
)

from coursekit.serve import browser

pytestmark = pytest.mark.site


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium for the module."""
    if not AXE.is_file():
        pytest.fail("node_modules/axe-core is missing: run `make setup` (npm ci installs it).")
    with browser() as b:
        yield b


def test_axe_reports_a_known_violation(chromium):
    context = chromium.new_context()
    page = context.new_page()
    page.set_content('<html lang="en"><head><title>t</title></head><body><main>'
                     '<button aria-label="Close">Open the menu</button>'
                     '<input type="text"><p style="color:#aaa;background:#fff">faint</p>'
                     "</main></body></html>")
    found = "\n".join(axe_violations(page))
    context.close()
    for rule in ("label-content-name-mismatch", "label", "color-contrast"):
        assert f"{rule} (" in found, f"axe did not report {rule}: {found}"


@pytest.mark.parametrize("edition", edition_keys())
@pytest.mark.parametrize("name", page_names())
def test_no_serious_accessibility_violation(chromium, base_url, edition, name):
    context = chromium.new_context(**DESKTOP)
    page = open_page(context, f"{base_url}/{edition}/{name}.html")
    found = axe_violations(page)
    context.close()
    assert found == []


@pytest.mark.parametrize("edition", edition_keys())
@pytest.mark.parametrize("name", ["index", *WIDGET_PAGES])
def test_no_serious_accessibility_violation_on_a_phone(chromium, base_url, edition, name):
    context = chromium.new_context(**PHONE)
    page = open_page(context, f"{base_url}/{edition}/{name}.html")
    page.locator(".primary-toggle:visible").tap()  # the chapter drawer, open
    page.wait_for_function("document.getElementById('pst-primary-sidebar-modal').open")
    found = axe_violations(page)
    context.close()
    assert found == []


def test_axe_is_not_shipped(site):
    shipped = [p for p in site.rglob("*") if "axe" in p.name.lower()]
    assert shipped == []
