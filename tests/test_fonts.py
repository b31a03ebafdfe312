"""Figures with Chinese text use a real CJK font: no missing-glyph warnings (no tofu boxes)."""

from __future__ import annotations

import io
import warnings

import matplotlib
import pytest
from checkout import COURSE

from coursekit.notebooks import read_source, source_path

matplotlib.use("Agg")


def setup_cell_namespace(prefer: str | None = None) -> dict:
    """Run chapter 1's course setup cell (the one every chapter shares) and return its names;
    `prefer` puts a font first in the setup cell's list of CJK fonts."""
    nb = read_source(source_path(COURSE.editions()[0], "ch01_module_basics"))
    source = next(c.source for c in nb.cells if c.cell_type == "code")
    if prefer:
        assert "CJK_FONTS = (" in source, "the setup cell no longer lists CJK_FONTS"
        source = source.replace("CJK_FONTS = (", f"CJK_FONTS = ({prefer!r}, ", 1)
    namespace: dict = {}
    exec(source, namespace)
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


def test_a_setup_cell_font_without_chinese_glyphs_is_caught(monkeypatch):
    """The positive control of the test above: had the setup cell chosen a font without Chinese
    glyphs (here DejaVu Sans, put first in its list), the same check fails on the same label."""
    import matplotlib.pyplot as plt

    monkeypatch.setitem(plt.rcParams, "font.sans-serif", list(plt.rcParams["font.sans-serif"]))
    monkeypatch.setitem(plt.rcParams, "font.family", ["sans-serif"])
    ns = setup_cell_namespace(prefer="DejaVu Sans")
    assert ns["CJK_FONT"] == "DejaVu Sans"
    with pytest.raises(UserWarning, match="missing from font"):
        render(ns["label"]("forward pass", "前向传播"))


def test_without_cjk_font_labels_fall_back_to_english(monkeypatch, capsys):
    from matplotlib import font_manager

    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *a, **k: [])
    monkeypatch.setattr(font_manager.fontManager, "ttflist", [
        f for f in font_manager.fontManager.ttflist if "CJK" not in f.name])
    ns = setup_cell_namespace()
    assert ns["CJK_FONT"] is None
    assert "apt-get install fonts-noto-cjk" in capsys.readouterr().out
    assert ns["label"]("loss", "损失") == "loss"
