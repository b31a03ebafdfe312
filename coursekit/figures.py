"""Figures: alt text for the site's images from the notebook outputs, and the readability
measures (text size on a phone, pixel density) that the tests apply."""

from __future__ import annotations

import base64
import hashlib
import io
import re
from pathlib import Path

import nbformat

CJK = re.compile(r"[\u3400-\u9fff]")
FILE_NAME = re.compile(r"(^|/)[0-9a-f]{16,}|\.(png|jpe?g|svg|gif)$|^_images/", re.I)
MIN_TEXT_PX = 9.0   # smallest text, in CSS px, where a figure is shown
MIN_DENSITY = 2.0   # image pixels per CSS pixel


def alt_texts(notebook: Path) -> dict[str, str]:
    """Alt text of each PNG output of a notebook, keyed by the SHA-256 of its bytes (the name
    myst-nb gives the image file)."""
    nb = nbformat.read(notebook, as_version=4)
    found = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            png, alt = out.get("data", {}).get("image/png"), \
                out.get("metadata", {}).get("image/png", {}).get("alt")
            if png and alt:
                found[hashlib.sha256(base64.b64decode(png)).hexdigest()] = alt
    return found


def alt_problem(alt: str | None, edition: str) -> str | None:
    """Why an image's alt text is not a description in the edition's language, or None."""
    if not alt or not alt.strip():
        return "no alt text"
    if FILE_NAME.search(alt.strip()):
        return f"alt text is a file name: {alt!r}"
    if edition == "zh" and not CJK.search(alt):
        return f"alt text of a Chinese page has no Chinese: {alt!r}"
    return None


def png_font_px(data: bytes) -> float | None:
    """The smallest text size a course PNG records (tEXt `font_px`, in image pixels)."""
    from PIL import Image

    value = Image.open(io.BytesIO(data)).info.get("font_px")
    return float(value) if value else None


def readability_problem(shown: float, natural: int, font_px: float | None) -> str | None:
    """Why a figure shown `shown` CSS px wide, `natural` pixels wide, is hard to read or blurry."""
    if font_px is None:
        return "the PNG does not record its text size (made without show_figure?)"
    text = font_px * shown / natural
    if text < MIN_TEXT_PX:
        return f"smallest text {text:.1f} CSS px < {MIN_TEXT_PX}"
    if natural < MIN_DENSITY * shown - 1:
        return f"{natural} px shown at {shown:.0f} CSS px: under {MIN_DENSITY:g}x"
    return None
