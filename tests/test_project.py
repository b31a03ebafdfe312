"""Toc, twins, glossary and CLI: good input passes; bad input fails naming the fix."""

from __future__ import annotations

import shutil

import pytest
from checkout import COURSE

from coursekit import __main__ as cli
from coursekit import assets, glossary, notebooks
from coursekit.errors import MissingToolError, TocError, TwinError
from coursekit.project import Course

SOURCES = COURSE.root  # the real checkout; the repo fixture is a scratch copy


@pytest.fixture
def repo(tmp_path) -> Course:
    """A scratch copy of the course sources, as a Course of its own."""
    for name in ("book", "notebooks"):
        shutil.copytree(SOURCES / name, tmp_path / name)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(SOURCES / name, tmp_path / name)
    return Course(tmp_path)


def test_check_command_passes_on_the_real_course(capsys):
    assert cli.main(["--root", str(SOURCES), "check"]) == 0
    assert "all consistent" in capsys.readouterr().out


def test_missing_twin_is_named(repo, capsys):
    (repo.root / "book" / "zh" / "ch01_module_basics.md").unlink()
    with pytest.raises(TwinError, match=r"book/zh/ch01_module_basics\.md.*translate"):
        repo.check_pages()
    assert cli.main(["--root", str(repo.root), "check"]) == 2
    assert "TwinError" in capsys.readouterr().err


def test_page_missing_from_toc_is_named(repo):
    (repo.root / "book" / "en" / "extra.md").write_text("# Extra\n", encoding="utf-8")
    with pytest.raises(TocError, match=r"book/en/extra\.md is not in _toc\.yml"):
        repo.check_pages()


def test_toc_entry_without_file_is_named(repo):
    toc = (repo.root / "_toc.yml").read_text(encoding="utf-8")
    toc = toc.replace("- file: glossary", "- file: glossary\n      - file: ch99_missing")
    (repo.root / "_toc.yml").write_text(toc, encoding="utf-8")
    with pytest.raises(TocError, match=r"ch99_missing\.md is in _toc\.yml but missing"):
        repo.check_pages()


def test_stale_notebook_is_detected(repo):
    src = repo.root / "book" / "zh" / "ch01_module_basics.md"
    src.write_text(src.read_text(encoding="utf-8") + "\n追加的一段。\n", encoding="utf-8")
    with pytest.raises(notebooks.SyncError, match=r"zh/ch01_module_basics\.ipynb"):
        notebooks.check_sync(repo)


def test_code_drift_between_editions_is_detected(repo):
    src = repo.root / "book" / "zh" / "ch01_module_basics.md"
    text = src.read_text(encoding="utf-8").replace("n, d = 200, 10", "n, d = 100, 10")
    src.write_text(text, encoding="utf-8")
    with pytest.raises(TwinError, match=r"code cell \d+ differs between en and zh"):
        notebooks.check_parity(repo)


def test_colab_links_follow_the_repository_setting(repo):
    cfg = (repo.root / "_config.yml").read_text(encoding="utf-8")
    (repo.root / "_config.yml").write_text(
        cfg.replace("nn-module-course/nn-module-course", "me/fork"), encoding="utf-8")
    ed = repo.editions()[1]
    assert notebooks.colab_link_problems(ed, "ch01_module_basics")
    assert notebooks.fix_colab_links(ed, "ch01_module_basics")
    assert notebooks.colab_link_problems(ed, "ch01_module_basics") == []
    assert "github/me/fork/blob/main/notebooks/zh/" in repo.colab_url("zh", "x")
    page = (repo.root / "book" / "zh" / "ch01_module_basics.md").read_text(encoding="utf-8")
    assert "github/me/fork/blob/main/exercises/ch01_module_basics/zh.ipynb" in page
    source = repo.root / "assignment.md"  # a graded assignment's source gets its link fixed too
    shutil.copy(SOURCES / "solutions" / "ch01_module_basics" / "en.md", source)
    assert notebooks.fix_links_in(repo, source)
    assert COURSE.colab_url("zh", "x") != repo.colab_url("zh", "x")  # the real one is untouched
    assert "github/me/fork/blob/main/exercises/ch01_module_basics/en.ipynb" in source.read_text(
        encoding="utf-8")


def test_build_without_node_assets_names_the_fix(repo, capsys):
    with pytest.raises(MissingToolError, match="apt-get install nodejs npm"):
        assets.copy_assets(repo, repo.root / "out")
    assert cli.main(["--root", str(repo.root), "assets"]) == 2
    assert "Node.js and npm" in capsys.readouterr().err


def test_missing_chromium_names_the_fix(monkeypatch):
    from coursekit import serve

    monkeypatch.setattr(serve.shutil, "which", lambda name: None)
    with pytest.raises(MissingToolError, match="apt-get install chromium"):
        serve.chromium_path()


def test_glossary_pairs_every_term():
    items = glossary.entries(COURSE.glossary_file)
    assert len(items) >= 36
    en = glossary.glossary_lines("en", COURSE.glossary_file)
    zh = glossary.glossary_lines("zh", COURSE.glossary_file)
    first_en = min(items, key=lambda e: e["en"].strip().casefold())
    first_zh = min(items, key=lambda e: glossary.pinyin_key(e["zh"].strip()))
    assert en[:2] == [first_en["en"], first_en["zh"]]  # each edition's own order and term first
    assert zh[:2] == [first_zh["zh"], first_zh["en"]]
    assert en[2].strip() == first_en["def_en"].strip().splitlines()[0]
    assert zh[2].strip() == first_zh["def_zh"].strip().splitlines()[0]
    assert "前向传播 100000 n" in glossary.jieba_dictionary(COURSE.glossary_file)


def test_glossary_entry_missing_a_language_is_rejected(tmp_path):
    bad = tmp_path / "glossary.yml"
    bad.write_text("- en: hook\n  zh: 钩子\n  def_en: A callback.\n", encoding="utf-8")
    with pytest.raises(glossary.GlossaryError, match="lacks \\['def_zh'\\]"):
        glossary.entries(bad)


def test_untranslated_part_caption_is_named(repo):
    from coursekit import build

    (repo.root / "_toc.yml").write_text(
        "root: index\nparts:\n  - caption: New part\n    chapters:\n      - file: x\n",
        encoding="utf-8")
    with pytest.raises(TocError, match="'New part' has no zh translation"):
        build.edition_toc(repo.editions()[1])
