"""The Course object on a small checkout written in code: paths, editions, toc, and the one-line
errors for a broken configuration."""

from __future__ import annotations

import pytest
from minicourse import write_course

from coursekit import glossary
from coursekit.errors import (
    ConfigError,
    TocError,
    TwinError,
    UnknownEditionError,
    UnknownPageError,
)
from coursekit.project import LANGUAGES, Course, find_root


@pytest.fixture
def course(tmp_path) -> Course:
    """The small course, in its own folder."""
    return Course(write_course(tmp_path))


def test_paths_follow_the_root(course):
    assert course.site == course.root / "_build" / "html"
    assert course.assets == course.site / "_assets"
    assert course.solutions == course.root / "solutions"
    ed = course.edition("zh")
    assert ed.source_dir == course.root / "book" / "zh"
    assert ed.notebook_dir == course.root / "notebooks" / "zh"


def test_editions_come_in_the_design_order(course):
    assert [e.key for e in course.editions()] == list(LANGUAGES)
    zh = course.edition("zh")
    assert (zh.language, zh.title, zh.captions) == ("zh_CN", "小课程", {"Basics": "基础"})


def test_toc_lists_root_then_chapters(course):
    assert course.toc_files() == ["index", "ch01_first"]
    assert course.chapter_files() == ["ch01_first"]
    course.check_pages()


def test_find_root_walks_up_and_says_when_there_is_none(course, tmp_path_factory):
    inner = course.root / "book" / "en"
    assert find_root(inner) == course.root
    assert Course.at(inner) == course
    with pytest.raises(ConfigError, match=r"not inside a course checkout.*--root"):
        find_root(tmp_path_factory.mktemp("empty"))


def test_unknown_edition_names_the_known_ones(course):
    with pytest.raises(UnknownEditionError, match=r"unknown edition 'fr': use one of en, zh\."):
        course.edition("fr")


@pytest.mark.parametrize("name", ["ch01_first", "ch01_first.md", "book/en/ch01_first.md"])
def test_page_accepts_a_name_or_a_file(course, name):
    assert course.page(name) == "ch01_first"


def test_unknown_page_names_the_toc(course):
    with pytest.raises(UnknownPageError, match=r"'ch09'.*lists index, ch01_first"):
        course.page("ch09")


@pytest.mark.parametrize(("old", "new", "says"), [
    ("root: index", "start: index", "_toc.yml has no `root:` entry"),
    ("- file: ch01_first", "- title: First", r"_toc.yml parts\[0\] has an entry without `file:`"),
])
def test_toc_without_a_key_names_it(course, old, new, says):
    path = course.root / "_toc.yml"
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    with pytest.raises(ConfigError, match=says):
        course.toc_files()


@pytest.mark.parametrize(("old", "new", "says"), [
    ("course:", "courses:", "_config.yml has no course section"),
    ("title: 小课程, ", "", "course.editions.zh lacks title"),
    ("    en: {", "    fr: {", r"lists \['fr', 'zh'\]; the course has the editions en, zh"),
])
def test_config_without_a_key_names_it(course, old, new, says):
    path = course.root / "_config.yml"
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    with pytest.raises(ConfigError, match=says):
        course.editions()


def test_yaml_error_names_file_and_line(course):
    (course.root / "_toc.yml").write_text("root: index\nparts: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"_toc.yml is not valid YAML at line \d+, column \d+"):
        course.toc()


def test_missing_config_says_how_to_restore_it(course):
    (course.root / "_config.yml").unlink()
    with pytest.raises(ConfigError, match=r"_config.yml is missing: restore it"):
        course.config()


def test_repository_url_must_be_github(course):
    path = course.root / "_config.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("https://github.com/me/mini",
                                                             "http://example.org/x"))
    with pytest.raises(ConfigError, match=r"repository\.url must be a https://github.com/"):
        course.repository_url()


def test_colab_urls_follow_the_repository(course):
    assert course.colab_url("zh", "ch01_first") == (
        "https://colab.research.google.com/github/me/mini/blob/main/notebooks/zh/ch01_first.ipynb")
    assert course.exercise_colab_url("ch01_first", "en").endswith(
        "/blob/main/exercises/ch01_first/en.ipynb")
    assert course.site_url() == ""


def test_site_url_defaults_to_github_pages(course):
    path = course.root / "_config.yml"
    path.write_text(path.read_text(encoding="utf-8").replace('  site_url: ""\n', ""))
    assert course.site_url() == "https://me.github.io/mini"


def test_missing_twin_and_stray_page_are_told_apart(course):
    (course.root / "book" / "zh" / "ch01_first.md").unlink()
    with pytest.raises(TwinError, match=r"book/zh/ch01_first\.md is in _toc\.yml but missing "
                                        r"\(it exists in en: translate it\)"):
        course.check_pages()
    (course.root / "book" / "zh" / "ch01_first.md").write_text("# x\n", encoding="utf-8")
    (course.root / "book" / "en" / "stray.md").write_text("# x\n", encoding="utf-8")
    with pytest.raises(TocError, match=r"book/en/stray\.md is not in _toc\.yml"):
        course.check_pages()


def test_two_courses_do_not_share_state(course, tmp_path_factory):
    other = Course(write_course(tmp_path_factory.mktemp("other")))
    (other.root / "_toc.yml").write_text("root: index\n", encoding="utf-8")
    assert other.toc_files() == ["index"]
    assert course.toc_files() == ["index", "ch01_first"]


def test_glossary_lines_give_one_term_when_both_languages_agree(course):
    lines = glossary.glossary_lines("zh", course.glossary_file)
    assert lines[:3] == ["参数", "parameter", "   优化器更新的张量。"]  # its own term first
    assert lines[4:6] == ["logits", "   softmax 之前的分数。"]
    assert glossary.jieba_dictionary(course.glossary_file) == "参数 100000 n\nlogits 100000 n\n"


@pytest.mark.parametrize(("text", "says"), [
    ("- en: a\n  zh: [\n", r"glossary.yml is not valid YAML at line \d+"),
    ("en: a\n", "must be a list of entries"),
    ("- {en: hook, zh: 钩子, def_en: x}\n", r"entry 0 \('hook'\) lacks \['def_zh'\]"),
    ("- {en: Hook, zh: 钩子, def_en: x, def_zh: y}\n- {en: hook, zh: 钩, def_en: x, def_zh: y}\n",
     "lists 'hook' twice"),
])
def test_glossary_errors_are_one_line(tmp_path, text, says):
    path = tmp_path / "glossary.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(glossary.GlossaryError, match=says) as caught:
        glossary.entries(path)
    assert "\n" not in str(caught.value)
