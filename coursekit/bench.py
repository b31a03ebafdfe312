"""Benchmark: nbval seconds per notebook, build and rebuild times, page weights, total test time."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

from coursekit.project import ROOT, chapter_files, editions, toc_files

PAGE_BUDGET = 3_000_000  # bytes on the wire per page (issue 3)


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


def page_weights(site: Path) -> dict[str, tuple[int, int]]:
    """(raw, gzipped) bytes each page makes the browser fetch, as recorded by Chromium."""
    from coursekit.serve import browser, serving

    weights = {}
    with serving(site) as base, browser() as b:
        for ed in editions():
            for name in toc_files():
                page = b.new_page()
                urls: set[str] = set()
                page.on("requestfinished", lambda r, urls=urls: urls.add(r.url))
                page.goto(f"{base}/{ed.key}/{name}.html", wait_until="networkidle")
                page.close()
                files = {site / unquote(urlparse(u).path).lstrip("/") for u in urls}
                files = {f for f in files if f.is_file()}
                weights[f"{ed.key}/{name}"] = (sum(f.stat().st_size for f in files),
                                               sum(gzipped_size(f) for f in files))
    return weights


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
        print("== page weight (everything the browser fetches): gzipped on the wire / raw ==")
        for name, (raw, zipped) in page_weights(Path(tmp)).items():
            flag = "  over the 3 MB budget" if zipped > PAGE_BUDGET else ""
            print(f"  {zipped / 1e6:6.2f} MB / {raw / 1e6:5.2f} MB  {name}{flag}")
    per_minute, per_file, start = grading_throughput()
    print(f"== grading ({os.cpu_count()} cores; 40 submissions, all 8 assignments, EN and ZH) ==")
    print(f"  {per_minute:6.1f} submissions per minute, start-up included")
    print(f"  {per_file:6.1f} s per extra submission, {start:.1f} s start-up per batch")
    if full:
        total = pytest_seconds()
        print(f"== whole test suite ==\n  {total:6.1f} s  pytest (make test after set-up)")
