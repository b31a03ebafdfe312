"""Copy the widget JavaScript and MathJax from node_modules into the site (no CDN at read time)."""

from __future__ import annotations

import shutil
from pathlib import Path

from coursekit.errors import MissingToolError
from coursekit.project import Course

# (source under node_modules, destination under _build/html/_assets, glob patterns to copy)
COPIES = [
    ("requirejs", ".", ["require.js"]),
    ("@jupyter-widgets/html-manager/dist", "html-manager", ["embed-amd.js", "*.woff*", "*.ttf",
                                                         "*.eot", "*.svg", "*.LICENSE.txt"]),
    ("mathjax/es5", "mathjax", ["tex-chtml.js", "input/tex/extensions/**/*",
                                "output/chtml/fonts/woff-v2/*", "ui/*", "a11y/*", "adaptors/*"]),
]
REQUIRED = ["require.js", "html-manager/embed-amd.js", "mathjax/tex-chtml.js"]


def copy_assets(course: Course, dest: Path | None = None) -> list[Path]:
    """Copy the served JS/font files into dest (default: the site's _assets); returns the files
    copied."""
    dest = dest or course.assets
    if not course.node_modules.is_dir():
        raise MissingToolError(
            "node_modules/ is missing: the site serves its widget JS and MathJax itself. "
            "Install Node.js and npm (apt-get install nodejs npm), then run `make setup`."
        )
    copied = []
    for src, sub, patterns in COPIES:
        base = course.node_modules / src
        for pattern in patterns:
            for file in base.glob(pattern):
                if file.is_file():
                    target = dest / sub / file.relative_to(base)
                    copied.append(copy_if_newer(file, target))
    check_assets(dest)
    return copied


def copy_if_newer(src: Path, target: Path) -> Path:
    """Copy one file unless an identical-looking copy is already there."""
    st = src.stat()
    if not target.exists() or target.stat().st_size != st.st_size:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    return target


def check_assets(dest: Path) -> None:
    """Fail with a clear message when a served asset is absent."""
    missing = [name for name in REQUIRED if not (dest / name).is_file()]
    if missing:
        raise MissingToolError(
            f"Site assets missing from {dest}: {', '.join(missing)}. "
            "Run `make setup` (needs Node.js and npm: apt-get install nodejs npm)."
        )
