"""Shared fixtures (the built site, built once per session) and the kind of every test (a marker,
given by its file) with its time limit. The nbval cell report is coursekit.nbcheck's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from checkout import COURSE

from coursekit.serve import browser, serving


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """Build both editions from scratch once (warnings are errors); return the site folder."""
    from coursekit.build import build_site

    out = tmp_path_factory.mktemp("site")
    build_site(COURSE, out, fresh=True)
    return out


# The kind of each test file's tests; a test may name another kind with its own marker.
KIND_OF_FILE = {
    "test_lint.py": "lint",
    "test_build.py": "build",
    "test_browser.py": "browser",
    "test_jupyterlab.py": "browser",
    "test_figures.py": "browser",
    "test_weight.py": "browser",
    "test_offline.py": "browser",
    "test_phone.py": "browser",
    "test_a11y.py": "browser",
    "test_interface.py": "browser",
    "test_grading.py": "grading",
    "test_exercise_checks.py": "grading",
    "test_widgets.py": "kernel",
}
CONTENT_FILES = {"test_notebooks.py", "test_project.py", "test_coverage.py", "test_readers.py",
                 "test_zh_prose.py", "test_cnn.py", "test_fonts.py", "test_portability.py",
                 "test_editions.py", "test_cli_errors.py", "test_limits.py"}
KINDS = ("unit", "content", "lint", "nbval", "kernel", "build", "browser", "grading")
# Seconds per test, setup included (a module fixture that grades the corpus counts once).
TIMEOUTS = {"unit": 30, "content": 120, "lint": 120, "nbval": 300, "kernel": 600,
            "build": 900, "browser": 900, "grading": 1500}


def kind_of(item) -> str:
    """The kind of one test: its own marker, else its file's kind."""
    own = [k for k in KINDS if item.get_closest_marker(k)]
    if own:
        return own[0]
    name = Path(str(item.fspath)).name
    if name.startswith("test_unit_"):
        return "unit"
    if name in KIND_OF_FILE:
        return KIND_OF_FILE[name]
    if name in CONTENT_FILES:
        return "build" if "site" in getattr(item, "fixturenames", ()) else "content"
    raise pytest.UsageError(f"{name}: give it a kind in tests/conftest.py (KIND_OF_FILE, "
                            "CONTENT_FILES) or name it test_unit_*.py")


def pytest_collection_modifyitems(config, items):
    """Mark every test with its kind and give it that kind's time limit."""
    for item in items:
        if type(item).__name__ == "IPyNbCell":
            continue  # coursekit.nbcheck marks notebook cells
        kind = kind_of(item)
        item.add_marker(getattr(pytest.mark, kind))
        if not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(TIMEOUTS[kind] * timeout_scale()))


def timeout_scale() -> float:
    """A factor for every limit (COURSE_TIMEOUT_SCALE, default 1), for slow machines."""
    return float(os.environ.get("COURSE_TIMEOUT_SCALE", "1"))


@pytest.fixture(scope="module")
def base_url(site):
    """The built site, served over http on 127.0.0.1."""
    with serving(site) as url:
        yield url


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium for the module (shared by the browser test files)."""
    with browser() as b:
        yield b
