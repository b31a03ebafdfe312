"""Figures with Chinese text use a real CJK font: no missing-glyph warnings (no tofu boxes)."""

from __future__ import annotations

import io
import warnings

import matplotlib
import pytest
from checkout import COURSE

from coursekit.notebooks import read_source, source_path

matplotlib.use("Agg")
TEXT = "前向传播 · forward pass"


def setup_cell_namespace() -> dict:
    """Run chapter 1's course setup cell (the one every chapter shares) and return its names."""
    nb = read_source(source_path(COURSE.editions()[0], "ch01_module_basics"))
    namespace: dict = {}
    exec(next(c.source for c in nb.cells if c.cell_type == "code"), namespace)
    return namespace


def render(text: str) -> None:
    """Draw text into a PNG in memory, turning any warning into an error."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.set_title(text)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)


def test_setup_cell_finds_a_cjk_font_and_chinese_renders(capsys):
    ns = setup_cell_namespace()
    assert ns["CJK_FONT"], "no CJK font found: install fonts-noto-cjk (make setup does)"
    assert ns["label"]("loss", "损失") == "loss · 损失"
    render(ns["label"]("forward pass", "前向传播"))


def test_missing_glyphs_are_caught(monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.setitem(plt.rcParams, "font.sans-serif", ["DejaVu Sans"])
    monkeypatch.setitem(plt.rcParams, "font.family", ["sans-serif"])
    with pytest.raises(UserWarning, match="missing from font"):
        render(TEXT)


def test_without_cjk_font_labels_fall_back_to_english(monkeypatch, capsys):
    from matplotlib import font_manager

    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *a, **k: [])
    monkeypatch.setattr(font_manager.fontManager, "ttflist", [
        f for f in font_manager.fontManager.ttflist if "CJK" not in f.name])
    ns = setup_cell_namespace()
    assert ns["CJK_FONT"] is None
    assert "apt-get install fonts-noto-cjk" in capsys.readouterr().out
    assert ns["label"]("loss", "损失") == "loss"
