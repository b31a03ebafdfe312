"""Shared fixtures: the built site (built once per session) and the nbval cell report."""

from __future__ import annotations

import nbformat
import pytest

from coursekit.notebooks import ignore_report
from coursekit.project import ROOT


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """Build both editions from scratch once (warnings are errors); return the site folder."""
    from coursekit.build import build_site

    out = tmp_path_factory.mktemp("site")
    build_site(out, fresh=True)
    return out


def pytest_terminal_summary(terminalreporter):
    """Say how many notebook cells nbval compares and how many it ignores, and why."""
    compared = ignored = 0
    for path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        c, i, _ = ignore_report(nbformat.read(path, as_version=4))
        compared, ignored = compared + c, ignored + i
    terminalreporter.write_line(
        f"nbval: {compared} code cells compared, {ignored} ignored "
        "(each ignored cell carries a nondeterministic-* reason tag)"
    )
