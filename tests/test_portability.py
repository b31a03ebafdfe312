"""Portability: cell kinds and their tolerances, the provenance pattern, the lock, the set-up
script's answers to bad input, and the CI workflow."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from checkout import COURSE, ROOT

from coursekit import nbcheck, portability
from coursekit.notebooks import ignore_report, notebook_path

MIN_EXACT_SHARE = 0.95


def stored_notebooks():
    """Every committed notebook."""
    return [nbformat.read(notebook_path(ed, p), as_version=4) for ed in COURSE.editions()
            for p in COURSE.toc_files()]


@pytest.mark.parametrize(("ref", "test", "agree"), [
    ("max error 1.8e-07", "max error 2.4e-07", True),        # rounding noise, under ATOL
    ("weight 107.9264", "weight 107.9265", True),             # last digit
    ("bias 0.0001, weight 1.0", "bias 0.0000, weight 1.0", True),
    ("bias -0.0000", "bias 0.0000", True),
    ("loss 0.7431", "loss 0.7429", True),                     # two units in the last digit
    ("loss 0.7431", "loss 0.7426", False),                    # five units: a real change
    ("accuracy 0.9917", "accuracy 0.9889", False),
    ("wrong: 3", "wrong: 4", False),                          # integers are exact
    ("shape (2, 16, 8, 8)", "shape (2, 16, 8, 9)", False),
    ("equal: True", "equal: False", False),                   # text around numbers is exact
    ("[ 5.  -3.   0.5 10. ]", "[ 5.  -3.   0.5 10. ]", True),
])
def test_numeric_tolerance(ref, test, agree):
    assert nbcheck.numbers_agree(ref, test) is agree


@pytest.mark.parametrize(("line", "ok"), [
    ("torch 2.13.0+cpu | device: cpu | CPU: AVX2 | threads: 2 | CJK font: Noto Sans CJK SC", True),
    ("torch 2.13.0 | device: cuda | CPU: AVX512 | threads: 8 | CJK font: PingFang SC", True),
    ("torch 2.13.0 | device: mps | CPU: DEFAULT | threads: 10 | CJK font: None", True),
    ("torch 2.14.0+cpu | device: cpu | CPU: AVX2 | threads: 2 | CJK font: None", False),
    ("torch 2.13.0+cpu | device: cpu | CJK font: Noto Sans CJK SC", False),   # the old form
])
def test_provenance_pattern(line, ok):
    ref = "torch 2.13.0+cpu | device: cpu | CPU: AVX2 | threads: 2 | CJK font: Noto Sans CJK SC\n"
    assert nbcheck.provenance_agrees(ref, line + "\n") is ok


def test_every_chapter_states_its_provenance():
    for ed in COURSE.editions():
        for page in COURSE.chapter_files():
            nb = nbformat.read(notebook_path(ed, page), as_version=4)
            setup = next(c for c in nb.cells if c.cell_type == "code")
            assert nbcheck.cell_kind(setup) == nbcheck.PROVENANCE_TAG, f"{ed.key}/{page}"
            text = "".join(o.get("text", "") for o in setup.outputs).rstrip("\n")
            assert nbcheck.PROVENANCE.fullmatch(text.rpartition("\n")[2]), text


def test_exact_cells_are_the_large_majority(capsys):
    counts = nbcheck.kind_counts(stored_notebooks(), with_output=True)
    compared = counts["exact"] + counts[nbcheck.NUMERIC] + counts[nbcheck.PROVENANCE_TAG]
    assert counts["exact"] / compared >= MIN_EXACT_SHARE, counts
    assert counts[nbcheck.CHAOTIC] > 0 and counts[nbcheck.NUMERIC] > 0


def test_chaotic_cells_assert_what_they_show():
    for nb in stored_notebooks():
        assert ignore_report(nb)[2] == []


def test_kind_problems_are_found():
    two = nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["numeric", "chaotic"]})
    silent = nbformat.v4.new_code_cell("print(loss)", metadata={"tags": ["chaotic"]})
    assert nbcheck.kind_problems(two) and nbcheck.kind_problems(silent)


CONTROL_CELLS = [  # (source, stored output, tags, expected nbval outcome)
    ("print('loss 0.7429')", "loss 0.7431\n", ["numeric"], "passed"),
    ("print('loss 0.7300')", "loss 0.7431\n", ["numeric"], "failed"),
    ("print('loss 0.7429')", "loss 0.7431\n", [], "failed"),
    ("print('loss 0.1'); assert True", "loss 0.9\n", ["chaotic"], "passed"),
    ("print('x'); assert False", "x\n", ["chaotic"], "failed"),
    ("print('torch 2.13.0 | device: cuda | CPU: AVX512 | threads: 8 | CJK font: X')",
     "torch 2.13.0+cpu | device: cpu | CPU: AVX2 | threads: 2 | CJK font: Y\n",
     ["provenance"], "passed"),
    ("print('torch 2.13.0 | device: cuda | CJK font: X')",
     "torch 2.13.0+cpu | device: cpu | CPU: AVX2 | threads: 2 | CJK font: Y\n",
     ["provenance"], "failed"),
]


@pytest.mark.kernel
def test_nbval_applies_each_kind(tmp_path):
    """Positive and negative controls through real nbval: a change beyond the tolerance, an exact
    cell that differs, a failed assert in a chaotic cell and a bad provenance line all fail."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    for i, (src, out, tags, _) in enumerate(CONTROL_CELLS, start=1):
        cell = nbformat.v4.new_code_cell(src, metadata={"tags": tags}, execution_count=i)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=out)]
        nb.cells.append(cell)
    path = tmp_path / "controls.ipynb"
    nbformat.write(nb, path)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p",
                           "coursekit.nbcheck", "--nbval", "--nbval-current-env", "-rA",
                           "-o", "addopts=", str(path)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    got = {int(n): s for s, n in re.findall(r"^(PASSED|FAILED) \S+::Cell (\d+)", done.stdout,
                                             re.M)}
    assert got, done.stdout[-2000:]
    assert got == {i: want.upper() for i, (*_, want) in enumerate(CONTROL_CELLS)}, done.stdout


def test_lock_pins_everything_with_hashes_and_leaves_torch_out():
    text = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==", text, re.M)
    assert len(pins) > 150 and "torch" not in {p.lower() for p in pins}
    blocks = re.split(r"\n(?=[A-Za-z])", text.split("\n", 2)[2])
    assert all("--hash=sha256:" in b for b in blocks if b.strip()), "every pin needs a hash"
    assert "rfc3987-syntax" not in {p.lower() for p in pins}
    assert "appnope" in {p.lower() for p in pins}, "the lock must cover macOS"
    assert portability.torch_requirement(ROOT) == "torch==2.13.0"


def test_lock_answers_requirements_in():
    wanted = [re.split(r"[<>=\s;#\[]", ln)[0].lower().replace("_", "-")
              for ln in (ROOT / "requirements.in").read_text(encoding="utf-8").splitlines()
              if ln.strip() and not ln.startswith("#")]
    locked = {p.lower().replace("_", "-") for p in re.findall(
        r"^([A-Za-z0-9_.-]+)==", (ROOT / "requirements.txt").read_text(encoding="utf-8"), re.M)}
    assert [w for w in wanted if w not in locked] == [], "run `make lock`"


def fake_python(tmp_path: Path, version: str) -> Path:
    """An executable that answers like a Python of another version."""
    major, minor = version.split(".")[:2]
    script = tmp_path / f"python{version}"
    script.write_text(f"#!/bin/sh\n[ \"$1\" = --version ] && echo 'Python {version}' && exit 0\n"
                      f"exec {sys.executable} -c 'import sys; sys.version_info = "
                      f"({major}, {minor}, 0); exec(sys.argv[1])' \"$2\"\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def setup_sh(env: dict, *args: str) -> subprocess.CompletedProcess:
    """Run scripts/setup.sh with extra environment; it must stop before touching anything."""
    return subprocess.run(["bash", str(ROOT / "scripts" / "setup.sh"), *args],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("env", "says"), [
    ({"PYTHON": "no-such-python3"}, "no such interpreter"),
    ({"TORCH_BACKEND": "rocm"}, "TORCH_BACKEND=rocm: use auto, cpu, cuda or pypi"),
])
def test_setup_refuses_bad_settings_in_one_line(env, says):
    done = setup_sh(env)
    assert done.returncode == 1
    assert says in done.stderr and done.stderr.strip().count("\n") == 0, done.stderr


def test_setup_refuses_an_unsupported_python(tmp_path):
    done = setup_sh({"PYTHON": str(fake_python(tmp_path, "3.10.4"))})
    assert done.returncode == 1
    assert "supports Python 3.11, 3.12 and 3.13" in done.stderr, done.stderr


def workflow() -> dict:
    """The GitHub Actions workflow."""
    return yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))


def test_workflow_runs_the_readme_test_command_like_ci():
    flow = workflow()
    runs = [s.get("run", "") for s in flow["jobs"]["test"]["steps"]]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make test" in runs and re.search(r"^make test$", ci, re.M)
    assert re.search(r"^make test +#", readme, re.M)
    triggers = flow.get("on", flow.get(True))
    assert {"push", "pull_request", "schedule"} <= set(triggers)
    drift = [s.get("run", "") for s in flow["jobs"]["newest-torch"]["steps"]]
    assert "make drift" in drift


def test_workflow_passes_actionlint():
    actionlint = Path(sys.executable).with_name("actionlint")
    done = subprocess.run([str(actionlint), "-no-color", ".github/workflows/ci.yml"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_finds_a_broken_workflow(tmp_path):
    """Positive control: actionlint really reports errors."""
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.no_such_thing }}\n", encoding="utf-8")
    actionlint = Path(sys.executable).with_name("actionlint")
    done = subprocess.run([str(actionlint), "-no-color", str(bad)], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 1 and "no_such_thing" in done.stdout


def test_matrix_table_reports_failures():
    rows = [portability.MatrixRow("native", 2, "AVX512", passed=612),
            portability.MatrixRow("avx2", 1, "AVX2", passed=600, failed=1,
                                  failures=["notebooks/en/ch08_cnn.ipynb::Cell 22"])]
    table = portability.matrix_table(rows)
    assert "ch08_cnn.ipynb::Cell 22" in table and table.endswith("matrix: 1 passed, 1 failed")
    assert portability.parse_pytest("FAILED a.ipynb::Cell 3 - x\n3 failed, 5 passed in 1s") == (
        5, 3, ["a.ipynb::Cell 3"])


def test_cpu_env_sets_and_clears_the_caps(monkeypatch):
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    assert "ATEN_CPU_CAPABILITY" not in portability.cpu_env("native", 4)
    env = portability.cpu_env("avx2", 1)
    assert env["ONEDNN_MAX_CPU_ISA"] == "AVX2" and env["OMP_NUM_THREADS"] == "1"


@pytest.mark.kernel
def test_runall_fails_on_an_error_but_not_on_an_expected_one(tmp_path, capsys):
    """The compare-nothing run (weekly drift job, GPU machines) still catches errors."""
    from coursekit import runall

    def notebook(name, tags):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nb.cells = [nbformat.v4.new_code_cell("print(1)"),
                    nbformat.v4.new_code_cell("1 / 0", metadata={"tags": tags})]
        nbformat.write(nb, tmp_path / name)
        return str(tmp_path / name)

    good, bad = notebook("expected.ipynb", ["raises-exception"]), notebook("broken.ipynb", [])
    assert runall.main([good]) == 0
    assert runall.main([good, bad]) == 1
    out = capsys.readouterr().out
    assert "ZeroDivisionError" in out and out.rstrip().endswith("1 passed, 1 failed")
    assert runall.main([str(tmp_path / "missing.ipynb")]) == 2
