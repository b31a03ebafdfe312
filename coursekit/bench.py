"""Benchmark: nbval seconds per notebook, build and rebuild times, page weights, total test time."""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.server
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from coursekit.project import ROOT, chapter_files, editions, toc_files

# Page-weight budgets (issue 14): bytes a page makes the browser fetch.
PAGE_GZ = 1_000_000         # gzipped, cold cache
WIDGET_PAGE_GZ = 1_500_000  # gzipped, cold cache, a page with widgets
PAGE_RAW = 3_000_000        # uncompressed, cold cache
WARM_NEXT_GZ = 150_000      # gzipped, the next page in reading order with the cache of the last


def timed(func, *args, **kwargs) -> float:
    """Seconds taken by one call."""
    start = time.perf_counter()
    func(*args, **kwargs)
    return time.perf_counter() - start


def pytest_seconds(*args: str) -> float:
    """Seconds for a pytest run in a subprocess; raises if it fails."""
    cmd = [sys.executable, "-m", "pytest", "-q", *args]
    return timed(subprocess.run, cmd, cwd=ROOT, check=True, capture_output=True)


def nbval_times() -> dict[str, float]:
    """Seconds per chapter notebook under nbval (kernel start included)."""
    paths = [ROOT / "notebooks" / ed.key / f"{name}.ipynb"
             for ed in editions() for name in chapter_files()]
    return {str(p.relative_to(ROOT)): pytest_seconds(str(p)) for p in paths}


def build_times(out: Path) -> tuple[float, float]:
    """(clean build of both editions, rebuild after touching one chapter) in seconds."""
    build = [sys.executable, "-m", "coursekit", "build", "--out", str(out)]
    # Each build in its own process, as `make site` runs it: two Sphinx builds in one process
    # share module state, and the second one rewrites every page.
    full = timed(subprocess.run, [*build, "--fresh"], check=True, capture_output=True, cwd=ROOT)
    page = ROOT / "notebooks" / editions()[0].key / f"{chapter_files()[0]}.ipynb"
    os.utime(page)
    return full, timed(subprocess.run, build, check=True, capture_output=True, cwd=ROOT)


def gzipped_size(path: Path) -> int:
    """Bytes on the wire when a web server gzips the file (level 6, as nginx and most hosts)."""
    return len(gzip.compress(path.read_bytes(), compresslevel=6, mtime=0))


@dataclass
class Weight:
    """What one page makes the browser download: cold cache, and as the next page read."""

    raw: int
    gz: int
    warm_raw: int = 0
    warm_gz: int = 0
    widgets: bool = False


def files_weight(files: set[Path]) -> tuple[int, int]:
    """(raw, gzipped) bytes of a set of files."""
    return sum(f.stat().st_size for f in files), sum(gzipped_size(f) for f in files)


class LoggingHandler(http.server.SimpleHTTPRequestHandler):
    """A static file handler that records the files it sent in full (not 304 Not Modified)."""

    sent: list[str]

    def log_request(self, code="-", size="-"):
        """Record each path answered 200."""
        if str(code) == "200":
            self.sent.append(unquote(urlparse(self.path).path))

    def log_message(self, format, *args):
        """Stay silent."""


@contextlib.contextmanager
def logging_server(site: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve site on 127.0.0.1; yields (base URL, the list of paths sent in full)."""
    sent: list[str] = []
    handler = type("Handler", (LoggingHandler,), {"sent": sent})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", sent
    finally:
        server.shutdown()
        server.server_close()


def visit(context, url: str, sent: list[str], site: Path) -> set[Path]:
    """Open url, scroll to the end (lazy content loads), return the files sent in full."""
    sent.clear()
    page = context.new_page()
    page.goto(url, wait_until="networkidle")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_load_state("networkidle")
    page.close()
    files = {site / p.lstrip("/") for p in sent}
    return {f for f in files if f.is_file()}


def page_weights(site: Path, pages: list[str] | None = None) -> dict[str, Weight]:
    """Per page (edition/name, in reading order): bytes fetched with a cold cache, and as the
    next page: visited right after the page before it, in the same browser context."""
    from coursekit.serve import browser

    pages = pages or [f"{ed.key}/{name}" for ed in editions() for name in toc_files()]
    weights: dict[str, Weight] = {}
    with logging_server(site) as (base, sent), browser() as b:
        for name in pages:
            context = b.new_context()
            files = visit(context, f"{base}/{name}.html", sent, site)
            context.close()
            html_text = (site / f"{name}.html").read_text(encoding="utf-8")
            weights[name] = Weight(*files_weight(files),
                                   widgets="application/vnd.jupyter.widget-state+json" in html_text)
        context, before = b.new_context(), None
        for name in pages:
            if before is None or before.split("/")[0] != name.split("/")[0]:
                context.close()
                context = b.new_context()            # each edition read from its first page
            warm = visit(context, f"{base}/{name}.html", sent, site)
            if before is not None and before.split("/")[0] == name.split("/")[0]:
                weights[name].warm_raw, weights[name].warm_gz = files_weight(warm)
            before = name
        context.close()
    return weights


def budget_misses(weights: dict[str, Weight]) -> list[str]:
    """Each page weight over its budget, as a line saying which and by how much."""
    misses = []
    for name, w in weights.items():
        gz_budget = WIDGET_PAGE_GZ if w.widgets else PAGE_GZ
        checks = [("gzipped", w.gz, gz_budget), ("raw", w.raw, PAGE_RAW),
                  ("next page, warm cache", w.warm_gz, WARM_NEXT_GZ)]
        misses += [f"{name}: {what} {got / 1e6:.2f} MB > {limit / 1e6:.2f} MB"
                   for what, got, limit in checks if got > limit]
    return misses


def weight_table(weights: dict[str, Weight]) -> str:
    """The page weights as printed by `make bench`, with the budgets and each miss flagged."""
    lines = [f"budgets: gzipped <= {PAGE_GZ / 1e6:.1f} MB per page ({WIDGET_PAGE_GZ / 1e6:.1f} MB "
             f"with widgets), raw <= {PAGE_RAW / 1e6:.1f} MB, next page (warm cache, gzipped) "
             f"<= {WARM_NEXT_GZ / 1e3:.0f} kB",
             "   gzipped      raw |  next: gzipped      raw | page"]
    for name, w in weights.items():
        lines.append(f"  {w.gz / 1e6:5.2f} MB {w.raw / 1e6:5.2f} MB |  {w.warm_gz / 1e3:7.1f} kB "
                     f"{w.warm_raw / 1e3:6.0f} kB | {name}{'  (widgets)' if w.widgets else ''}")
    misses = budget_misses(weights)
    lines += [f"  OVER BUDGET: {m}" for m in misses] or ["  every page is within its budgets"]
    return "\n".join(lines)


def run_weights(site: Path) -> int:
    """Print the page weights of a built site and its offline zip; 1 if a page is over budget."""
    weights = page_weights(site)
    print(weight_table(weights))
    zip_path = site / "nn-module-course-offline.zip"
    if zip_path.is_file():
        print(f"offline copy: {zip_path.stat().st_size / 1e6:.1f} MB ({zip_path.name})")
    return int(bool(budget_misses(weights)))


def grading_throughput(count: int = 40) -> tuple[float, float, float]:
    """(submissions per minute, s per submission, start-up s) for a class of `count` notebooks.

    The class mixes every assignment, both languages and partial answers (some questions left
    as stubs). The batch time includes the start-up (course preparation, kernel factory).
    """
    import nbformat

    from coursekit import grading

    names = grading.assignments()
    with tempfile.TemporaryDirectory(prefix="course-bench-grade-") as tmp:
        folder = Path(tmp) / "submissions"
        folder.mkdir()
        for i in range(count):
            skip = ("q2_answer", "q4_answer")[: i % 3]
            nb = grading.answered(names[i % len(names)], ("en", "zh")[i // 2 % 2], skip=skip)
            nbformat.write(nb, folder / f"student{i:03d}.ipynb")
        one = Path(tmp) / "one"
        one.mkdir()
        nbformat.write(grading.answered(names[0], "en"), one / "student.ipynb")
        alone = timed(grading.grade_folder, one, Path(tmp) / "out-one", grading.Settings())
        secs = timed(grading.grade_folder, folder, Path(tmp) / "out", grading.Settings())
    per_file = (secs - alone) / (count - 1)
    return 60 * count / secs, per_file, alone - per_file


def run_bench(full: bool = True) -> None:
    """Measure and print every figure."""
    print("== nbval, seconds per notebook ==")
    for name, secs in nbval_times().items():
        print(f"  {secs:6.1f} s  {name}")
    with tempfile.TemporaryDirectory(prefix="course-bench-") as tmp:
        clean, rebuild = build_times(Path(tmp))
        print(f"== site build ==\n  {clean:6.1f} s  clean build, both editions")
        print(f"  {rebuild:6.1f} s  rebuild after touching one page")
        print("== page weight (everything the browser fetches; gzipped on the wire and raw) ==")
        print(weight_table(page_weights(Path(tmp))))
        zip_path = Path(tmp) / "nn-module-course-offline.zip"
        if zip_path.is_file():
            print(f"== offline copy ==\n  {zip_path.stat().st_size / 1e6:6.1f} MB  {zip_path.name}")
    per_minute, per_file, start = grading_throughput()
    print(f"== grading ({os.cpu_count()} cores; 40 submissions, all 8 assignments, EN and ZH) ==")
    print(f"  {per_minute:6.1f} submissions per minute, start-up included")
    print(f"  {per_file:6.1f} s per extra submission, {start:.1f} s start-up per batch")
    if full:
        total = pytest_seconds()
        print(f"== whole test suite ==\n  {total:6.1f} s  pytest (make test after set-up)")
