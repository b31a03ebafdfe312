"""The kernels a batch grades with: guarded, sandboxed, forked from a zygote where possible.

The batch writes one kernel spec into its own folder and tells workers where it is through their
Settings; nbgrader's Execute then starts kernels through `CourseKernelManager`, which looks only
there. No environment variable is involved.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpecManager
from traitlets import Unicode, default

from coursekit.grading import sandbox
from coursekit.grading.settings import KERNEL_NAME, Settings

HERE = Path(__file__).parent
GUARD_BOOT = """\
def _course_guard_boot():
    import importlib.util
    spec = importlib.util.spec_from_file_location("kernel_guard", {path!r})
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.install()
_course_guard_boot()
del _course_guard_boot
"""


class CourseKernelManager(AsyncKernelManager):
    """A kernel manager that finds kernel specs only in the batch's own folder."""

    spec_dir = Unicode("", help="Folder holding the batch's kernels/<name>/kernel.json").tag(
        config=True)

    @default("kernel_spec_manager")
    def _spec_manager(self) -> KernelSpecManager:
        """Specs from spec_dir only."""
        return KernelSpecManager(kernel_dirs=[str(Path(self.spec_dir) / "kernels")])


def sandbox_works(settings: Settings) -> bool:
    """Whether kernels will be sandboxed: asked for, and Landlock is available here."""
    return settings.sandbox and sandbox.abi() >= 1


def protected_paths(settings: Settings, batch: Path, submissions: Path, out: Path) -> tuple:
    """What no kernel may open: the batch's course folders, the instructor sources (and the git
    history of the repository holding them), the submissions, the grades."""
    paths = [batch / "course", batch / "files", settings.source, submissions, out]
    for start in (settings.source, *settings.source.parents):
        if (start / ".git").exists():
            paths.append(start / ".git")
            break
    public = Path(__file__).resolve().parents[2]  # a checkout's own solutions/ and history
    paths += [public / "solutions", public / ".git"]
    return tuple(dict.fromkeys(str(p.resolve()) for p in paths))


def write_kernel_spec(batch: Path, settings: Settings, zygote_sock: str | None) -> Settings:
    """Write the batch's kernel spec (zygote or plain, both guarded); Settings that use it."""
    boot = batch / "guard_boot.py"
    boot.write_text(GUARD_BOOT.format(path=str(HERE / "kernel_guard.py")), encoding="utf-8")
    policy = json.dumps({"sandbox": sandbox_works(settings), "protect": list(settings.protect),
                         "read": [str(HERE), str(boot)]})
    if zygote_sock:
        argv = [sys.executable, str(HERE / "zygote.py"), "attach", zygote_sock, str(boot), policy]
    else:
        argv = [sys.executable, str(HERE / "sandbox.py"), "launch", policy, str(boot)]
    spec = {"argv": [*argv, "{connection_file}"], "display_name": "Python 3 (grading)",
            "language": "python", "interrupt_mode": "message" if zygote_sock else "signal",
            "metadata": {"debugger": False}}
    spec_dir = batch / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return settings.with_kernels(str(batch), settings.protect)


def start_zygote(batch: Path, settings: Settings):
    """A zygote serving pre-warmed kernels, or None where unsupported or switched off."""
    from coursekit.grading import zygote

    if not settings.zygote or not zygote.supported():
        return None
    return zygote.Zygote(str(batch))
