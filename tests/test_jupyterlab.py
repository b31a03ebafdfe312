"""The reader notebooks in a real JupyterLab (from the venv), driven by Chromium: the text shows
no MyST (boxes, folded solutions), and after Run All the explorers recompute every frame with
the kernel, with no error in the outputs or the console."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from checkout import COURSE

from coursekit.notebooks import notebook_path
from coursekit.serve import browser

TOKEN = "course-test-token"
# page: (explorer name prefix in each edition, [(button to click in en, in zh)])
MOVES = {
    "ch02_builtin_layers": ({"en": "Dropout explorer", "zh": "Dropout 演示"},
                            [("0.6", "0.6"), ("eval", "评估"), ("0.2", "0.2"), ("train", "训练")]),
    "ch04_initialisation": ({"en": "Init explorer", "zh": "初始化演示"},
                            [("tanh", "tanh"), ("5", "5"), ("ReLU", "ReLU"), ("50", "50")]),
}
LIVE = {"en": "live frame {n}, computed by PyTorch", "zh": "第 {n} 帧，由 PyTorch 实时计算"}


def free_port() -> int:
    """A TCP port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving copies of the widget chapters of both editions; yields its URL."""
    root = tmp_path_factory.mktemp("lab")
    for ed in COURSE.editions():
        for page in MOVES:
            (root / ed.key).mkdir(exist_ok=True)
            shutil.copy(notebook_path(ed, page), root / ed.key / f"{page}.ipynb")
    settings = root / ".settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(  # render every cell, not only visible
        json.dumps({"windowingMode": "none"}), encoding="utf-8")
    port = free_port()
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(root / ".settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(root / ".workspaces"),
               JUPYTER_RUNTIME_DIR=str(root / ".runtime"))
    env.pop("COURSE_EDITION", None)  # the kernel finds its edition from the notebook's path
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}", "--allow-root",
         "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("JupyterLab did not start within 60 s")
    yield url
    os.killpg(proc.pid, 9)
    proc.wait()


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium for the module."""
    with browser() as b:
        yield b


KERNEL_READY = """() => { const w = window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle'; }"""


@pytest.mark.parametrize("edition", [ed.key for ed in COURSE.editions()])
@pytest.mark.parametrize("page_name", list(MOVES))
def test_run_all_then_every_control_recomputes_live(lab, chromium, edition, page_name):
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{lab}/lab/workspaces/{edition}-{page_name}/tree/{edition}/{page_name}.ipynb"
              f"?reset&token={TOKEN}")  # a fresh workspace: this notebook's tab only
    panel = page.locator(".jp-NotebookPanel:visible")
    panel.locator(".jp-Notebook").wait_for(timeout=60_000)
    page.wait_for_function(KERNEL_READY, timeout=60_000, polling=250)

    text = panel.locator(".jp-MarkdownOutput").all_inner_texts()
    joined = "\n".join(text)
    assert "{term}" not in joined and ":class:" not in joined and "```{" not in joined
    box = "Common misconception" if edition == "en" else "常见误区"
    assert panel.locator(f".jp-MarkdownOutput blockquote:has-text('{box}')").count() > 0
    assert panel.locator(".jp-MarkdownOutput details").count() > 0
    assert panel.locator(".jp-MarkdownOutput details[open]").count() == 0, "solutions folded"

    errors_before = panel.locator("[data-mime-type='application/vnd.jupyter.error']").count()
    # Resolves when the last cell has run (False: some cell raised, as raises-exception cells do).
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    name, moves = MOVES[page_name]
    explorer = panel.locator(".course-explorer").filter(
        has=page.locator(f"img[alt^='{name[edition]}']"))
    explorer.first.wait_for(timeout=120_000)
    assert explorer.count() == 1
    for n, labels in enumerate(moves, start=1):
        explorer.get_by_role("button", name=labels[edition == "zh"], exact=True).click()
        status = LIVE[edition].format(n=n)
        explorer.get_by_text(status, exact=True).wait_for(timeout=60_000)
        frame = explorer.locator("img[alt]:visible")
        assert frame.count() == 1
        assert frame.get_attribute("alt").endswith(f" · live {n}"), "the kernel drew this frame"
    assert explorer.locator("pre").count() == 0, "no error shown in the widget"
    errors_after = panel.locator("[data-mime-type='application/vnd.jupyter.error']").count()
    assert errors_after == errors_before, "Run All and the moves added no error output"
    assert [e for e in errors if "favicon" not in e] == []
    context.close()
