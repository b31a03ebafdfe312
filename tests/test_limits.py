"""Every test has a time limit, and a test that hangs is cut off at it (pytest-timeout)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HANGS = "import time\n\n\ndef test_hangs():\n    time.sleep(600)\n"
PASSES = "def test_passes():\n    assert True\n"


def run_pytest(tmp_path: Path, files: dict[str, str]) -> tuple[subprocess.CompletedProcess, float]:
    """Run test files under this suite's conftest and settings, with limits scaled down."""
    shutil.copy(ROOT / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "checkout.py").write_text(  # the conftest's view of the real checkout
        f"from coursekit.project import Course\nCOURSE = Course({str(ROOT)!r})\n",
        encoding="utf-8")
    for name, body in files.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    env = {**os.environ, "COURSE_TIMEOUT_SCALE": "0.05", "PYTHONPATH": f"{ROOT}:{tmp_path}"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rA", "-c",
                           str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), "-o",
                           "addopts=", "-p", "no:cacheprovider", str(tmp_path)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    return done, time.perf_counter() - start


def test_a_hanging_test_is_cut_off_and_a_quick_one_passes(tmp_path):
    """The positive control (a quick test under the same limits) passes in the same run."""
    done, secs = run_pytest(tmp_path, {"test_unit_hangs.py": HANGS,
                                       "test_unit_passes.py": PASSES})
    out = done.stdout
    assert done.returncode == 1, out[-2000:]
    assert "FAILED test_unit_hangs.py::test_hangs - Failed: Timeout" in out, out[-2000:]
    assert "PASSED test_unit_passes.py::test_passes" in out, out[-2000:]
    assert secs < 60, f"the 1.5 s limit took {secs:.0f} s"


def test_every_collected_test_has_a_kind_and_a_limit(request):
    from conftest import KINDS

    for item in request.session.items:
        kinds = [k for k in KINDS if item.get_closest_marker(k)]
        assert len(kinds) == 1, f"{item.nodeid} has kinds {kinds}"
        limit = item.get_closest_marker("timeout")
        assert limit and limit.args[0] > 0, f"{item.nodeid} has no time limit"


def test_a_file_without_a_kind_is_refused(tmp_path):
    done, _ = run_pytest(tmp_path, {"test_new_thing.py": PASSES})
    assert done.returncode != 0
    assert "test_new_thing.py: give it a kind" in done.stdout + done.stderr
