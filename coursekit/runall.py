"""Run every notebook and compare nothing: fail only on an error in a cell not tagged
`raises-exception` (or on a failed assert). For the weekly job against the newest torch and for
a GPU machine. Needs only nbformat and nbclient, so any interpreter with those can run it:
`python -m coursekit.runall NOTEBOOK...`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class RunResult:
    """How one notebook ran."""

    notebook: str
    seconds: float
    error: str | None


def first_error(exc: Exception) -> str:
    """The last line of a cell error: the exception and its message."""
    lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else type(exc).__name__


def run_one(path: Path, timeout: int) -> RunResult:
    """Execute one notebook in an empty temporary folder; keep nothing."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="course-run-") as tmp:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": tmp}})
        try:
            client.execute()
            error = None
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
            error = first_error(exc)
    return RunResult(str(path), time.perf_counter() - start, error)


def row(r: RunResult) -> str:
    """One line of the table: notebook, seconds, outcome."""
    return (f"{r.notebook}  {r.seconds:6.1f} s  "
            + ("ok" if r.error is None else f"FAILED  {r.error}"))


def closing(results: list[RunResult]) -> str:
    """The closing line pytest-style CI readers understand."""
    failed = sum(r.error is not None for r in results)
    return f"{len(results) - failed} passed, {failed} failed"


def main(argv: list[str] | None = None) -> int:
    """Run the notebooks given on the command line; exit 1 if any failed."""
    p = argparse.ArgumentParser(prog="python -m coursekit.runall", description=__doc__)
    p.add_argument("notebooks", nargs="+", type=Path)
    p.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    args = p.parse_args(argv)
    missing = [str(n) for n in args.notebooks if not n.is_file()]
    if missing:
        print(f"runall: no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    import torch

    print(f"torch {torch.__version__} | CUDA available: {torch.cuda.is_available()}", flush=True)
    results = []
    for path in args.notebooks:
        results.append(run_one(path, args.timeout))
        print(row(results[-1]), flush=True)
    print(closing(results))
    return int(any(r.error for r in results))


if __name__ == "__main__":
    sys.exit(main())
