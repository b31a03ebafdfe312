"""Benchmark: nbval seconds per notebook, build and rebuild times, page weights, grading, and the
test times (`make check`, `make test`) with the floor they are measured against."""

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

from coursekit.errors import NotebookFailedError
from coursekit.project import Course

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


def pytest_seconds(root: Path, *args: str) -> float:
    """Seconds for a pytest run in a subprocess; a failure names the failing tests."""
    cmd = [sys.executable, "-m", "pytest", "-q", *args]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        failed = [ln.split(" - ")[0] for ln in done.stdout.splitlines()
                  if ln.startswith(("FAILED", "ERROR"))]
        what = " ".join(args) or "(every test)"
        names = ", ".join(failed[:3]) or "no test named"
        raise NotebookFailedError(f"pytest {what} failed ({names}): run `.venv/bin/python -m "
                                  f"pytest {' '.join(args)}` to see why, fix it, then bench again.")
    return time.perf_counter() - start


def floor_seconds(root: Path) -> float:
    """The floor: nbval on a one-cell notebook that only imports torch, pytest start included."""
    import nbformat

    with tempfile.TemporaryDirectory(prefix="course-floor-") as tmp:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import torch")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nbformat.write(nb, Path(tmp) / "floor.ipynb")
        return pytest_seconds(Path(tmp), "-c", os.devnull, "--rootdir", tmp, "--nbval",
                              "--nbval-current-env", "floor.ipynb")


def test_times(course: Course, full: bool = True) -> dict[str, float]:
    """Seconds for the floor (before and after), `make check` and, if full, `make test`."""
    from coursekit.__main__ import CHECK_KINDS

    times = {"floor": floor_seconds(course.root)}
    times["check"] = pytest_seconds(course.root, "-m", CHECK_KINDS)
    if full:
        times["test"] = timed(make_test, course.root)
    times["floor"] = min(times["floor"], floor_seconds(course.root))
    return times


def print_test_times(times: dict[str, float]) -> None:
    """The test times in seconds and in floors."""
    floor = times["floor"]
    print(f"== tests (floor: nbval of a one-cell `import torch` notebook, {floor:.1f} s) ==")
    for key, what in (("check", "make check (after set-up)"), ("test", "make test (after set-up)")):
        if key in times:
            print(f"  {times[key]:6.1f} s  {times[key] / floor:6.1f} floors  {what}")


def make_test(root: Path) -> None:
    """`make test` after set-up: `coursekit test` (its stages side by side); a failure names how
    to see why."""
    done = subprocess.run([sys.executable, "-m", "coursekit", "test"], cwd=root,
                          capture_output=True, text=True)
    if done.returncode != 0:
        failed = [ln.split(" - ")[0] for ln in done.stdout.splitlines()
                  if ln.startswith(("FAILED", "ERROR"))]
        raise NotebookFailedError(f"make test failed ({', '.join(failed[:3]) or 'see its output'})"
                                  ": run `make test` to see why, fix it, then bench again.")


def nbval_times(course: Course) -> dict[str, float]:
    """Seconds per chapter notebook under nbval (kernel start included)."""
    paths = [course.edition(ed.key).notebook_dir / f"{name}.ipynb"
             for ed in course.editions() for name in course.chapter_files()]
    return {course.relative(p): pytest_seconds(course.root, str(p)) for p in paths}


def build_times(course: Course, out: Path) -> tuple[float, float]:
    """(clean build of both editions, rebuild after touching one chapter) in seconds."""
    build = [sys.executable, "-m", "coursekit", "build", "--out", str(out)]
    # Each build in its own process, as `make site` runs it: two Sphinx builds in one process
    # share module state, and the second one rewrites every page.
    full = timed(built, [*build, "--fresh"], course.root)
    page = course.editions()[0].notebook_dir / f"{course.chapter_files()[0]}.ipynb"
    os.utime(page)
    return full, timed(built, build, course.root)


def built(cmd: list[str], root: Path) -> None:
    """Run one build command; a failure is one line naming how to see why."""
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=root)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise NotebookFailedError(f"the site build failed ({last}): run `make site` to see why.")


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
    read_raw: int = 0   # cold cache, read through: scrolled to every widget too
    read_gz: int = 0


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


class QuietServer(http.server.ThreadingHTTPServer):
    """A threading HTTP server that does not print a dropped connection's traceback."""

    def handle_error(self, request, client_address):
        """Stay silent when the browser drops a connection (a page closed mid-download)."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def logging_server(site: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve site on 127.0.0.1; yields (base URL, the list of paths sent in full)."""
    sent: list[str] = []
    handler = type("Handler", (LoggingHandler,), {"sent": sent})
    server = QuietServer(("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", sent
    finally:
        server.shutdown()
        server.server_close()


VIEW_TAGS = "script[type='application/vnd.jupyter.widget-view+json']"


def sent_files(sent: list[str], site: Path) -> set[Path]:
    """The site's files among the paths sent in full."""
    files = {site / p.lstrip("/") for p in sent}
    return {f for f in files if f.is_file()}


class QuietNetwork:
    """Waits until a page has had no request in flight for a while (Playwright's networkidle is
    reached once per page load, so it cannot wait for what a scroll starts)."""

    def __init__(self, page, quiet_ms: int = 600, limit_ms: int = 20_000):
        self.page, self.quiet_ms, self.limit_ms = page, quiet_ms, limit_ms
        self.in_flight, self.last = 0, time.monotonic()
        page.on("request", self.started)
        page.on("requestfinished", self.ended)
        page.on("requestfailed", self.ended)

    def started(self, _request) -> None:
        """Count a request that started."""
        self.in_flight, self.last = self.in_flight + 1, time.monotonic()

    def ended(self, _request) -> None:
        """Count a request that ended."""
        self.in_flight, self.last = self.in_flight - 1, time.monotonic()

    def wait(self) -> None:
        """Return once nothing has been in flight for quiet_ms (or after limit_ms)."""
        self.last = time.monotonic()
        for _ in range(self.limit_ms // 50):
            self.page.wait_for_timeout(50)
            if self.in_flight <= 0 and time.monotonic() - self.last >= self.quiet_ms / 1000:
                return


def visit(context, url: str, sent: list[str], site: Path) -> tuple[set[Path], set[Path]]:
    """Open url and scroll to the end (lazy content loads): the files sent in full; then also
    scroll each widget into view, as a reader does: the files sent in full by then."""
    sent.clear()
    page = context.new_page()
    page.goto(url, wait_until="networkidle")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_load_state("networkidle")
    at_end = sent_files(sent, site)
    quiet = QuietNetwork(page)
    for view in page.locator(VIEW_TAGS).all():
        view.evaluate("view => view.parentElement.scrollIntoView()")
        quiet.wait()
    page.close()
    return at_end, sent_files(sent, site)


def page_weights(course: Course, site: Path, pages: list[str] | None = None) -> dict[str, Weight]:
    """Per page (edition/name, in reading order): bytes fetched with a cold cache, and as the
    next page: visited right after the page before it, in the same browser context."""
    from coursekit.serve import browser

    pages = pages or [f"{ed.key}/{name}" for ed in course.editions()
                      for name in course.toc_files()]
    weights: dict[str, Weight] = {}
    with logging_server(site) as (base, sent), browser() as b:
        for name in pages:
            context = b.new_context()
            files, read = visit(context, f"{base}/{name}.html", sent, site)
            context.close()
            html_text = (site / f"{name}.html").read_text(encoding="utf-8")
            weights[name] = Weight(*files_weight(files),
                                   widgets="application/vnd.jupyter.widget-state+json" in html_text)
            weights[name].read_raw, weights[name].read_gz = files_weight(read)
        context, before = b.new_context(), None
        for name in pages:
            if before is None or before.split("/")[0] != name.split("/")[0]:
                context.close()
                context = b.new_context()            # each edition read from its first page
            warm, _ = visit(context, f"{base}/{name}.html", sent, site)
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
        checks = [("gzipped", w.gz, gz_budget), ("raw", max(w.raw, w.read_raw), PAGE_RAW),
                  ("next page, warm cache", w.warm_gz, WARM_NEXT_GZ)]
        misses += [f"{name}: {what} {got / 1e6:.2f} MB > {limit / 1e6:.2f} MB"
                   for what, got, limit in checks if got > limit]
    return misses


def weight_table(weights: dict[str, Weight]) -> str:
    """The page weights as printed by `make bench`, with the budgets and each miss flagged."""
    lines = [f"budgets: gzipped <= {PAGE_GZ / 1e6:.1f} MB per page ({WIDGET_PAGE_GZ / 1e6:.1f} MB "
             f"with widgets), raw <= {PAGE_RAW / 1e6:.1f} MB (also read through: scrolled to "
             f"every widget), next page (warm cache, gzipped) <= {WARM_NEXT_GZ / 1e3:.0f} kB",
             "   gzipped      raw |  read through: gzipped      raw |  next: gzipped      raw "
             "| page"]
    for name, w in weights.items():
        lines.append(f"  {w.gz / 1e6:5.2f} MB {w.raw / 1e6:5.2f} MB |  {w.read_gz / 1e6:13.2f} MB "
                     f"{w.read_raw / 1e6:5.2f} MB |  {w.warm_gz / 1e3:7.1f} kB "
                     f"{w.warm_raw / 1e3:6.0f} kB | {name}{'  (widgets)' if w.widgets else ''}")
    misses = budget_misses(weights)
    lines += [f"  OVER BUDGET: {m}" for m in misses] or ["  every page is within its budgets"]
    return "\n".join(lines)


def run_weights(course: Course, site: Path) -> int:
    """Print the page weights of a built site and its offline zip; 1 if a page is over budget."""
    weights = page_weights(course, site)
    print(weight_table(weights))
    zip_path = site / "nn-module-course-offline.zip"
    if zip_path.is_file():
        print(f"offline copy: {zip_path.stat().st_size / 1e6:.1f} MB ({zip_path.name})")
    return int(bool(budget_misses(weights)))


def grading_throughput(course: Course, count: int = 40) -> tuple[float, float, float]:
    """(submissions per minute, s per submission, start-up s) for a class of `count` notebooks.

    The class mixes every assignment, both languages and partial answers (some questions left
    as stubs). The batch time includes the start-up (course preparation, kernel factory).
    """
    import nbformat

    from coursekit import grading

    settings = grading.Settings.of(course)
    names = grading.assignments(settings.source)
    paths = {"source": settings.source, "exercises": settings.exercises}
    with tempfile.TemporaryDirectory(prefix="course-bench-grade-") as tmp:
        folder = Path(tmp) / "submissions"
        folder.mkdir()
        for i in range(count):
            skip = ("q2_answer", "q4_answer")[: i % 3]
            language = course.editions()[i // 2 % 2].key
            nb = grading.answered(names[i % len(names)], language, skip=skip, **paths)
            nbformat.write(nb, folder / f"student{i:03d}.ipynb")
        one = Path(tmp) / "one"
        one.mkdir()
        nbformat.write(grading.answered(names[0], language, **paths), one / "student.ipynb")
        alone = timed(grading.grade_folder, one, Path(tmp) / "out-one", settings)
        secs = timed(grading.grade_folder, folder, Path(tmp) / "out", settings)
    per_file = (secs - alone) / (count - 1)
    return 60 * count / secs, per_file, alone - per_file


def run_bench(course: Course, full: bool = True, only_tests: bool = False) -> None:
    """Measure and print every figure (only the test times and the floor, if only_tests)."""
    if only_tests:
        print_test_times(test_times(course, full=True))
        return
    print("== nbval, seconds per notebook ==")
    for name, secs in nbval_times(course).items():
        print(f"  {secs:6.1f} s  {name}")
    with tempfile.TemporaryDirectory(prefix="course-bench-") as tmp:
        clean, rebuild = build_times(course, Path(tmp))
        print(f"== site build ==\n  {clean:6.1f} s  clean build, both editions")
        print(f"  {rebuild:6.1f} s  rebuild after touching one page")
        print("== page weight (everything the browser fetches; gzipped on the wire and raw) ==")
        print(weight_table(page_weights(course, Path(tmp))))
        zip_path = Path(tmp) / "nn-module-course-offline.zip"
        if zip_path.is_file():
            print(f"== offline copy ==\n  {zip_path.stat().st_size / 1e6:6.1f} MB  {zip_path.name}")
    per_minute, per_file, start = grading_throughput(course)
    print(f"== grading ({os.cpu_count()} cores; 40 submissions, all 8 assignments, EN and ZH) ==")
    print(f"  {per_minute:6.1f} submissions per minute, start-up included")
    print(f"  {per_file:6.1f} s per extra submission, {start:.1f} s start-up per batch")
    print_test_times(test_times(course, full=full))
