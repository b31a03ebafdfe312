"""The explorer widgets: the numbers they show agree with theory, and both chapters share one
implementation. The functions under test are executed from the chapters' own code cells."""

from __future__ import annotations

import contextlib
import io
import itertools

import pytest
import torch
from checkout import COURSE, ROOT

from coursekit.notebooks import read_source, source_path

EXPLORER_CELL = "# The explorer widget: the same code in chapters 2 and 4"
PAGES = {"dropout": "ch02_builtin_layers", "init": "ch04_initialisation"}
MARKERS = {"dropout": "# The dropout explorer's computation",
           "init": "# The init explorer's computation"}


def code_cells(page: str) -> list[str]:
    """The code cells of a chapter's English source."""
    nb = read_source(source_path(COURSE.editions()[0], page))
    return [c.source for c in nb.cells if c.cell_type == "code"]


def chapter_namespace(page: str, marker: str) -> dict:
    """Run a chapter's setup cell and the cell starting with marker; return the namespace."""
    cells = code_cells(page)
    wanted = [cells[0], *(c for c in cells if c.startswith(marker))]
    assert len(wanted) == 2, f"{page} has no code cell starting {marker!r}"
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for source in wanted:
            exec(compile(source, page, "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def init_ns():
    """The init explorer's computation, from chapter 4."""
    return chapter_namespace(PAGES["init"], MARKERS["init"])


@pytest.fixture(scope="module")
def dropout_ns():
    """The dropout explorer's computation, from chapter 2."""
    return chapter_namespace(PAGES["dropout"], MARKERS["dropout"])


def layer_variances(ns: dict, scheme: str, activation: str, depth: int, seed: int) -> list[float]:
    """Per-layer activation variance of the explorer's network."""
    return [out.var().item() for out in ns["layer_outputs"](scheme, activation, depth, seed)]


def test_both_chapters_share_one_explorer_implementation():
    found = [[c for c in code_cells(p) if c.startswith(EXPLORER_CELL)] for p in PAGES.values()]
    assert all(len(cells) == 1 for cells in found), "each widget chapter has one explorer cell"
    assert found[0] == found[1], "the explorer cell differs between chapters 2 and 4"


@pytest.mark.parametrize("seed", range(5))
def test_kaiming_relu_keeps_variance_within_a_factor_of_5_over_20_layers(init_ns, seed):
    var = layer_variances(init_ns, "Kaiming normal", "ReLU", 20, seed)
    ratios = [v / var[0] for v in var]
    assert min(ratios) > 1 / 5 and max(ratios) < 5, ratios


def test_small_std_normal_vanishes(init_ns):
    var = layer_variances(init_ns, "normal σ=0.01", "ReLU", 20, 0)
    assert var[-1] < 1e-30 * var[0]
    assert all(b < a for a, b in itertools.pairwise(var) if a > 0)


def test_large_std_normal_explodes(init_ns):
    var = layer_variances(init_ns, "normal σ=0.2", "ReLU", 20, 0)
    assert var[-1] > 1e10 * var[0]


def test_xavier_vanishes_under_relu_but_not_linear(init_ns):
    """Xavier's gain of 1 ignores ReLU halving the second moment at every layer."""
    relu = layer_variances(init_ns, "Xavier uniform", "ReLU", 50, 0)
    linear = layer_variances(init_ns, "Xavier uniform", "linear", 50, 0)
    assert relu[-1] < 1e-8 * relu[0]
    assert 1 / 5 < linear[-1] / linear[0] < 5


def test_depth_is_a_prefix_of_a_deeper_network(init_ns):
    """Inputs are drawn before the layers, so depth d equals the first d layers of depth 50."""
    short = init_ns["layer_outputs"]("orthogonal", "tanh", 5)
    long = init_ns["layer_outputs"]("orthogonal", "tanh", 50)[:5]
    assert all(torch.equal(a, b) for a, b in zip(short, long, strict=True))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_preserves_the_mean_and_scales_survivors(dropout_ns, p):
    torch.manual_seed(0)
    x = torch.rand(1_000_000) + 0.5
    out, zeroed = dropout_ns["apply_dropout"](x, p, "train")
    assert abs(out.mean().item() / x.mean().item() - 1) < 0.01
    assert abs(zeroed - p) < 0.01
    kept = out != 0
    assert torch.allclose(out[kept], x[kept] / (1 - p))


@pytest.mark.parametrize("p", [0.1, 0.9])
def test_dropout_in_eval_mode_is_the_identity(dropout_ns, p):
    photo = dropout_ns["photo"]
    out, zeroed = dropout_ns["apply_dropout"](photo, p, "eval")
    assert torch.equal(out, photo) and zeroed == 0


def test_dropout_explorer_photo_is_real_data(dropout_ns):
    photo = dropout_ns["photo"]
    assert tuple(photo.shape) == (53, 80)
    assert 0 <= photo.min().item() < photo.max().item() <= 1


# ---------------------------------------------------------------- the live path (a kernel)

LIVE_SCRIPT = """
import sys, torch
page, explorer_name, moves = sys.argv[1], sys.argv[2], [int(m) for m in sys.argv[3:]]
cells = {cells!r}
ns = {{}}
for source in cells:
    exec(compile(source, page, "exec"), ns)
import ipywidgets
explorer = ns[explorer_name]
print("ipywidgets", ipywidgets.__version__, "Stack" if hasattr(ipywidgets, "Stack") else "no Stack")
ns["points"] = ns["fig"] = ns["hists"] = torch.tensor([1.0])   # later cells reuse such names
for control, index in zip(explorer.controls, moves):
    control.index = index                                     # what a reader's click does
    key = tuple(c.index for c in explorer.controls)
    shown = explorer.frames.get(key, explorer.frames.get(None)).value
    print(explorer.status.value, "|", shown.split('alt="')[1].split('"')[0])
explorer.render = lambda *setting: 1 / 0                      # a failing recompute ...
try:
    explorer.controls[0].index = 0
except ZeroDivisionError:
    print("raised")
print(explorer.status.value)                                  # ... is shown in the widget
"""


def run_live(page: str, marker: str, name: str, moves: list[int], compat: bool) -> list[str]:
    """Run a chapter's explorer cells in a fresh Python (ipywidgets 7 where compat), move its
    controls through the kernel-side API and return what it printed."""
    import os
    import subprocess
    import sys

    cells = code_cells(page)
    start = next(i for i, c in enumerate(cells) if c.startswith(EXPLORER_CELL))
    end = next(i for i, c in enumerate(cells) if f"{name} = Explorer(" in c)
    script = LIVE_SCRIPT.format(cells=[cells[0], *cells[start:end + 1]])
    env = dict(os.environ, COURSE_EDITION="en", MPLBACKEND="Agg")
    if compat:
        folder = ROOT / ".venv" / "compat" / "ipywidgets7"
        if not (folder / "ipywidgets").is_dir():
            pytest.fail("ipywidgets 7 is not installed in .venv/compat: run `make test` "
                        "(scripts/setup.sh --browser installs it)")
        env["PYTHONPATH"] = str(folder)
    done = subprocess.run([sys.executable, "-c", script, page, name, *map(str, moves)],
                          capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines()


@pytest.mark.parametrize("compat", [False, True], ids=["ipywidgets8", "ipywidgets7"])
@pytest.mark.parametrize("which", ["dropout", "init"])
def test_live_explorer_recomputes_with_private_state_and_shows_errors(which, compat):
    name = {"dropout": "dropout_explorer", "init": "init_explorer"}[which]
    moves = {"dropout": [6, 1], "init": [2, 1, 0]}[which]
    lines = run_live(PAGES[which], MARKERS[which], name, moves, compat)
    version = next(line for line in lines if line.startswith("ipywidgets "))
    assert version.startswith("ipywidgets 7.7.1 no Stack" if compat else "ipywidgets 8.")
    assert version.endswith("no Stack" if compat else " Stack")
    live = [line for line in lines if line.startswith("live frame")]
    first = 2 if compat else 1  # ipywidgets 7 draws its one frame live at start
    assert [line.split(",")[0] for line in live] == [
        f"live frame {n}" for n in range(first, first + len(moves))]
    if which == "dropout":
        assert live[0].endswith("p=0.6, mode=train · live " + str(first))
        assert live[1].endswith("p=0.6, mode=eval · live " + str(first + 1))
    assert lines[-2] == "raised"
    assert "ZeroDivisionError: division by zero" in lines[-1]
