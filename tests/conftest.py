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
    """Say how many notebook cells of each kind nbval checks, and how."""
    from coursekit import nbcheck

    nbs = [nbformat.read(p, as_version=4) for p in sorted((ROOT / "notebooks").rglob("*.ipynb"))]
    compared = sum(ignore_report(nb)[0] for nb in nbs)
    k = nbcheck.kind_counts(nbs)
    printing = nbcheck.kind_counts(nbs, with_output=True)
    share = printing["exact"] / max(sum(printing[x] for x in ("exact", "numeric", "provenance")), 1)
    terminalreporter.write_line(
        f"nbval: {compared} code cells compared: {k['exact']} exact "
        f"({share:.1%} of the compared cells that print), {k[nbcheck.NUMERIC]} numeric "
        f"({nbcheck.TOLERANCE}), {k[nbcheck.PROVENANCE_TAG]} provenance lines (pattern); "
        f"not compared: {k[nbcheck.CHAOTIC]} chaotic (checked by their asserts), "
        f"{k[nbcheck.IGNORED]} timing/progress (nondeterministic-* tag)"
    )
