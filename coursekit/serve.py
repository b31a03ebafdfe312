"""Serve the built site on localhost, and drive headless Chromium against it."""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

from coursekit.errors import MissingToolError, PortInUseError

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static file handler that does not log every request."""

    def log_message(self, format, *args):
        """Stay silent."""


def make_server(root: Path, port: int) -> http.server.ThreadingHTTPServer:
    """A static-file server for root on 127.0.0.1 (port 0 picks a free one)."""
    handler = functools.partial(QuietHandler, directory=str(root))
    return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)


@contextlib.contextmanager
def serving(root: Path, port: int = 0) -> Iterator[str]:
    """Serve root on 127.0.0.1 in a background thread; yields the base URL."""
    server = make_server(root, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def chromium_path() -> str:
    """Debian's chromium binary, or a clear error saying how to install it."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise MissingToolError(
            "Chromium not found: the browser tests drive Debian's chromium. "
            "Install it with `apt-get install chromium` (make test does this when run as root)."
        )
    return path


@contextlib.contextmanager
def browser() -> Iterator[object]:
    """A headless Chromium launched by Playwright (no browser download needed)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()


def serve_forever(root: Path, port: int = 8000) -> None:
    """Serve the site until interrupted."""
    if not (root / "index.html").is_file():
        raise MissingToolError(f"{root} has no index.html: run `make site` first.")
    try:
        server = make_server(root, port)
    except OSError as exc:
        raise PortInUseError(f"cannot serve on 127.0.0.1:{port} ({exc.strerror or exc}): stop "
                             "the program using it, or pick another port: "
                             "python -m coursekit serve --port 8001") from None
    with server:
        print(f"Serving the course at http://127.0.0.1:{port}/ (Ctrl+C to stop)")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
