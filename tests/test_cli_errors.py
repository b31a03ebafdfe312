"""Bad input to the command line gives one line that names the fix and exit code 2, never a
traceback; each case runs `coursekit.__main__.main` in-process on a small course."""

from __future__ import annotations

import socket

import pytest
from minicourse import write_course

from coursekit import bench
from coursekit.__main__ import main


@pytest.fixture
def root(tmp_path):
    """A small course checkout; its path as a string."""
    return str(write_course(tmp_path))


def one_line_error(capsys, argv: list[str], code: int = 2) -> str:
    """Run the CLI; check the exit code and that stderr is one line; return that line."""
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def edit(path, old: str, new: str) -> None:
    """Replace text in a file."""
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def test_unknown_edition(root, capsys):
    err = one_line_error(capsys, ["--root", root, "execute", "--edition", "fr"])
    assert "UnknownEditionError: unknown edition 'fr': use one of en, zh." in err


@pytest.mark.parametrize("command", ["run-all", "matrix"])
def test_unknown_edition_elsewhere(root, capsys, command):
    assert "use one of en, zh" in one_line_error(capsys, ["--root", root, command,
                                                          "--edition", "de"])


def test_unknown_page(root, capsys):
    err = one_line_error(capsys, ["--root", root, "execute", "ch09_missing"])
    assert "UnknownPageError: unknown page 'ch09_missing': the toc (_toc.yml) lists" in err


def test_negative_jobs(root, capsys, tmp_path):
    err = one_line_error(capsys, ["--root", root, "grade", str(tmp_path), "--jobs", "-1"])
    assert "UsageError: --jobs -1: use 0 (one per core) or a positive count" in err


def test_zero_cell_timeout(root, capsys, tmp_path):
    err = one_line_error(capsys, ["--root", root, "grade", str(tmp_path), "--cell-timeout", "0"])
    assert "--cell-timeout 0: use 1 (second) or more" in err


def test_busy_port(root, capsys, tmp_path):
    site = tmp_path / "_build" / "html"
    site.mkdir(parents=True)
    (site / "index.html").write_text("<html></html>", encoding="utf-8")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        err = one_line_error(capsys, ["--root", root, "serve", "--port", str(port)])
    assert f"PortInUseError: cannot serve on 127.0.0.1:{port}" in err
    assert "--port 8001" in err


def test_port_out_of_range(root, capsys):
    assert "is not a port" in one_line_error(capsys, ["--root", root, "serve", "--port", "70000"])


def test_serve_before_build(root, capsys):
    assert "run `make site` first" in one_line_error(capsys, ["--root", root, "serve"])


def test_missing_config_key(root, capsys, tmp_path):
    edit(tmp_path / "_config.yml", "title: 小课程, ", "")
    err = one_line_error(capsys, ["--root", root, "check"])
    assert "ConfigError: _config.yml course.editions.zh lacks title: add them" in err


def test_missing_toc_key(root, capsys, tmp_path):
    edit(tmp_path / "_toc.yml", "root: index", "start: index")
    assert "_toc.yml has no `root:` entry" in one_line_error(capsys, ["--root", root, "check"])


def test_glossary_yaml_error(root, capsys, tmp_path):
    edit(tmp_path / "book" / "glossary.yml", "  zh: 参数\n", "  zh: [参数\n")
    err = one_line_error(capsys, ["--root", root, "check"])
    assert "GlossaryError: glossary.yml is not valid YAML at line" in err and "fix that" in err


def test_config_yaml_error(root, capsys, tmp_path):
    (tmp_path / "_config.yml").write_text("course: {editions: [\n", encoding="utf-8")
    assert "_config.yml is not valid YAML at line" in one_line_error(
        capsys, ["--root", root, "check"])


def test_not_a_checkout(capsys, tmp_path):
    err = one_line_error(capsys, ["--root", str(tmp_path), "check"])
    assert "is not inside a course checkout" in err and "--root" in err


def test_bench_with_a_failing_test(root, capsys, tmp_path, monkeypatch):
    """A failing test under `bench --tests` names it, instead of a CalledProcessError."""
    monkeypatch.setattr(bench, "floor_seconds", lambda root: 1.0)  # no kernel needed here
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\nmarkers = ["unit", "content", "lint"]\n', encoding="utf-8")
    (tmp_path / "test_broken.py").write_text(
        "import pytest\n\n\n@pytest.mark.unit\ndef test_broken():\n    assert 1 == 2\n",
        encoding="utf-8")
    err = one_line_error(capsys, ["--root", root, "bench", "--tests"])
    assert "NotebookFailedError: pytest -m unit or content or lint failed " in err
    assert "test_broken.py::test_broken" in err and "to see why" in err


def test_a_good_command_still_works(root, capsys):
    """The positive control: the same course passes `check`."""
    from coursekit import notebooks
    from coursekit.project import Course

    course = Course.at(root)
    for ed in course.editions():
        for page in course.toc_files():
            path = notebooks.notebook_path(ed, page)
            path.parent.mkdir(parents=True, exist_ok=True)
            import nbformat
            nbformat.write(notebooks.reader_source(ed, page), path)
    assert main(["--root", root, "check"]) == 0, capsys.readouterr().err


def test_a_notebook_that_fails_while_executing(root, capsys, monkeypatch):
    import nbclient
    from nbclient.exceptions import CellExecutionError

    class FailingClient:
        def __init__(self, nb, **kwargs):
            pass

        def execute(self):
            raise CellExecutionError("traceback", "NameError", "name 'x' is not defined")

    monkeypatch.setattr(nbclient, "NotebookClient", FailingClient)
    err = one_line_error(capsys, ["--root", root, "execute", "--force", "--edition", "en",
                                  "ch01_first"])
    assert "NotebookFailedError: en/ch01_first failed: NameError" in err
    assert "then run `make notebooks` again" in err
