"""Portability checks: nbval under a CPU matrix, resolution of the lock for every supported
platform and Python, and the run against the newest torch (drift)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from coursekit.errors import CourseError, MissingToolError

AVX2_CAPS = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
             "ONEDNN_MAX_CPU_ISA": "AVX2"}
THREADS = (1, 2, 4)
PYTHONS = ("3.11", "3.12", "3.13")
TARGETS = {"Linux x86_64 (and WSL2)": "x86_64-unknown-linux-gnu",
           "Linux aarch64": "aarch64-unknown-linux-gnu",
           "macOS arm64": "aarch64-apple-darwin"}
MACOS = "14.0"  # torch 2.13's macOS wheels need macOS 14 (Sonoma) or newer
SDIST_OK = ("jieba",)  # pure Python, published as source only: builds anywhere
# What Colab's image has, by name; the drift job takes the newest release of each.
COLAB_PACKAGES = ("torch", "numpy", "matplotlib", "ipywidgets", "scikit-learn", "tqdm", "pillow",
                  "ipykernel", "nbclient", "nbformat")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


@dataclass
class MatrixRow:
    """One nbval run under one CPU setting."""

    isa: str
    threads: int
    capability: str
    passed: int = 0
    failed: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


def cpu_env(isa: str, threads: int) -> dict:
    """The environment for one matrix cell: native ISA or AVX2 caps, and a thread count."""
    env = {k: v for k, v in os.environ.items() if k not in AVX2_CAPS}
    if isa == "avx2":
        env.update(AVX2_CAPS)
    env["OMP_NUM_THREADS"] = str(threads)
    return env


def capability(env: dict) -> str:
    """The vector ISA torch reports under an environment (AVX512, AVX2, DEFAULT, ...)."""
    code = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=False)
    return done.stdout.strip() or "unknown"


def parse_pytest(text: str) -> tuple[int, int, list[str]]:
    """(passed, failed, failing test ids) from pytest's output."""
    def count(word):
        found = re.findall(rf"(\d+) {word}", text.splitlines()[-1] if text.strip() else "")
        return int(found[0]) if found else 0
    failures = re.findall(r"^FAILED (\S+::Cell \d+)", text, re.M)
    return count("passed"), count("failed") + count("error"), failures


def run_cell(root: Path, paths: list[Path], isa: str, threads: int) -> MatrixRow:
    """Run nbval on the notebooks under one CPU setting."""
    env = cpu_env(isa, threads)
    row = MatrixRow(isa, threads, capability(env))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", *map(str, paths)], cwd=root,
                          env=env, capture_output=True, text=True, check=False)
    row.seconds = time.perf_counter() - start
    row.passed, row.failed, row.failures = parse_pytest(done.stdout)
    if done.returncode not in (0, 1) or (row.passed == 0 and row.failed == 0):
        row.failed, row.failures = max(row.failed, 1), [f"pytest exit {done.returncode}: "
                                                         + done.stdout.strip()[-300:]]
    return row


def matrix_table(rows: list[MatrixRow]) -> str:
    """The matrix as a text table, one row per CPU setting, and a closing line."""
    lines = ["ISA asked   torch runs  threads  passed  failed  seconds  failing cells",
             "----------  ----------  -------  ------  ------  -------  -------------"]
    for r in rows:
        asked = "native" if r.isa == "native" else "AVX2 caps"
        lines.append(f"{asked:<10}  {r.capability:<10}  {r.threads:7d}  {r.passed:6d}  "
                     f"{r.failed:6d}  {r.seconds:7.1f}  {', '.join(r.failures) or '-'}")
    bad = sum(r.failed > 0 for r in rows)
    lines.append(f"matrix: {len(rows) - bad} passed, {bad} failed")
    return "\n".join(lines)


def run_matrix(root: Path, paths: list[Path], threads=THREADS, echo=print) -> list[MatrixRow]:
    """nbval on the notebooks for native and AVX2 kernels and each thread count."""
    rows = []
    for isa in ("native", "avx2"):
        for t in threads:
            rows.append(run_cell(root, paths, isa, t))
            echo(matrix_table(rows[-1:]).splitlines()[2], flush=True)
    return rows


@dataclass
class Resolution:
    """Whether the lock and torch resolve, as wheels, for one platform and Python."""

    target: str
    python: str
    packages: int = 0
    torch_packages: int = 0
    cuda_libraries: int = 0
    problem: str = ""


def uv_compile(root: Path, pins: str, target: str, python: str) -> list[str]:
    """The `name==version` lines uv resolves `pins` to for a platform and Python (wheels only,
    except the pure-Python sdists in SDIST_OK); CourseError with uv's reason when it cannot."""
    uv = root / ".venv" / "bin" / "uv"
    if not uv.is_file():
        raise MissingToolError("uv is not in .venv: run `make setup` (it is in the lock).")
    with tempfile.TemporaryDirectory(prefix="course-platforms-") as tmp:
        src = Path(tmp) / "in.txt"
        src.write_text(pins, encoding="utf-8")
        cmd = [str(uv), "pip", "compile", str(src), "--python-platform", TARGETS[target],
               "--python-version", python, "--only-binary", ":all:", "--no-header",
               "--no-annotate", "--quiet", *(x for p in SDIST_OK for x in ("--no-binary", p))]
        env = dict(os.environ, MACOSX_DEPLOYMENT_TARGET=MACOS)
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode:
        reason = [ln.strip() for ln in done.stderr.splitlines() if "cause:" in ln or "error" in ln]
        raise CourseError((reason[-1] if reason else done.stderr.strip())[:240])
    return re.findall(r"^\S+==\S+", done.stdout, re.M)


def locked_pins(lock: Path) -> str:
    """The lock's pins with their markers, without hashes or comments."""
    return "\n".join(ln.rstrip(" \\") for ln in lock.read_text(encoding="utf-8").splitlines()
                     if re.match(r"^[A-Za-z0-9]", ln)) + "\n"


def resolve(root: Path, target: str, python: str, torch_pin: str) -> Resolution:
    """Resolve the lock, then torch from PyPI, for one platform and Python."""
    res = Resolution(target, python)
    try:
        res.packages = len(uv_compile(root, locked_pins(root / "requirements.txt"), target,
                                      python))
        names = uv_compile(root, torch_pin + "\n", target, python)
        res.torch_packages = len(names)
        res.cuda_libraries = sum(n.lower().startswith(("nvidia-", "cuda-")) for n in names)
    except CourseError as exc:
        res.problem = str(exc)
    return res


def resolution_table(rows: list[Resolution]) -> str:
    """The resolutions as a text table and a closing line."""
    lines = ["platform                 python  locked  torch from PyPI: packages, CUDA libs  "
             "problem"]
    for r in rows:
        lines.append(f"{r.target:<24} {r.python:<6}  {r.packages:6d}  {r.torch_packages:26d}, "
                     f"{r.cuda_libraries:9d}  {r.problem or '-'}")
    bad = sum(bool(r.problem) for r in rows)
    lines.append(f"platforms: {len(rows) - bad} passed, {bad} failed")
    return "\n".join(lines)


def check_platforms(root: Path, echo=print) -> list[Resolution]:
    """Resolve the lock and the torch pin for every supported platform and Python."""
    torch_pin = torch_requirement(root)
    rows = []
    for target in TARGETS:
        for python in PYTHONS:
            rows.append(resolve(root, target, python, torch_pin))
            echo(resolution_table(rows[-1:]).splitlines()[1], flush=True)
    return rows


def torch_requirement(root: Path) -> str:
    """The torch pin of requirements-torch.txt."""
    path = root / "requirements-torch.txt"
    pins = re.findall(r"^torch==\S+", path.read_text(encoding="utf-8"), re.M) if path.is_file() \
        else []
    if len(pins) != 1:
        raise CourseError("requirements-torch.txt must hold exactly one `torch==VERSION` line.")
    return pins[0]


def drift_venv(root: Path, echo=print) -> Path:
    """A fresh venv with the newest torch and Colab's other packages; its python."""
    venv = root / "_build" / "drift-venv"
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--upgrade",
           "--retries", "1"]
    others = [p for p in COLAB_PACKAGES if p != "torch"]
    torch_args = ["torch"]
    if sys.platform == "linux" and not shutil.which("nvidia-smi"):
        torch_args += ["--extra-index-url", os.environ.get("TORCH_INDEX_URL", CPU_INDEX)]
    for step in (["pip"], torch_args, others):
        echo(f"drift: pip install --upgrade {' '.join(step)}", flush=True)
        if subprocess.run(pip + step, check=False).returncode:
            raise MissingToolError(f"could not install the newest {step[0]} (see above); check "
                                   "the network and re-run `make drift`.")
    return py


def run_drift(root: Path, notebooks: list[Path], echo=print) -> int:
    """Execute the notebooks with the newest packages, comparing nothing; the exit code."""
    py = drift_venv(root, echo)
    env = dict(os.environ, PYTHONPATH=str(root))
    subprocess.run([str(py), "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"],
                   check=True, capture_output=True, env=env)
    return subprocess.run([str(py), "-m", "coursekit.runall", *map(str, notebooks)], env=env,
                          cwd=root, check=False).returncode
