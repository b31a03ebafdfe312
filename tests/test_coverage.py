"""Syllabus coverage: every API a chapter must execute appears in its code cells."""

from __future__ import annotations

import re

import pytest

from coursekit.notebooks import read_source, source_path
from coursekit.project import chapter_files, editions

# From ../shared/SYLLABUS.md, per chapter. A regex per API, matched against the code cells.
SYLLABUS_APIS = {
    "ch01_module_basics": [
        r"nn\.Module\b", r"nn\.Linear\(", r"nn\.ReLU\(", r"torch\.relu\(", r"nn\.Sigmoid\(",
        r"nn\.Sequential\(", r"\.named_parameters\(", r"\.parameters\(", r"\.named_modules\(",
        r"\.named_children\(", r"\.children\(", r"\.modules\(", r"\.requires_grad_\(",
        r"\.train\(", r"\.eval\(", r"\.to\(device\)", r"torch\.device\(",
        r"torch\.cuda\.is_available\(", r"torch\.optim\.SGD\(", r"nn\.BCEWithLogitsLoss\(",
        r"nn\.MSELoss\(", r"\.zero_grad\(", r"\.backward\(", r"\.step\(", r"super\(\)\.__init__\(",
    ],
}


@pytest.mark.parametrize("page", chapter_files())
def test_chapter_executes_every_syllabus_api(page):
    assert page in SYLLABUS_APIS, f"add {page}'s syllabus API list to this test"
    code = "\n".join(c.source for c in read_source(source_path(editions()[0], page)).cells
                     if c.cell_type == "code")
    missing = [api for api in SYLLABUS_APIS[page] if not re.search(api, code)]
    assert missing == [], f"{page} never runs {missing}"
