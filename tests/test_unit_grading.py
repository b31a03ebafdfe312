"""The grader's pure helpers: shards, CSV writing and merging, atomic writes, question order, the
reasons in a message, student ids, the check magic and path hiding."""

from __future__ import annotations

import csv
import os
import stat
from pathlib import Path

import pytest

from coursekit.grading import report
from coursekit.grading.class_report import lms_rows, lost_reasons, question_stats, split_top
from coursekit.grading.plugins import hide_paths, tidy_traceback, without_check_magic
from coursekit.grading.report import Result
from coursekit.grading.sources import GradingError
from coursekit.grading.submissions import student_id

FILES = [Path(f"s{i}.ipynb") for i in range(7)]


@pytest.mark.parametrize(("shard", "want"), [
    (None, FILES), ("1/1", FILES), ("1/3", FILES[0::3]), ("3/3", FILES[2::3])])
def test_select_shard(shard, want):
    assert report.select_shard(FILES, shard) == want


def test_shards_cover_every_file_once():
    parts = [report.select_shard(FILES, f"{i}/4") for i in range(1, 5)]
    assert sorted(f for p in parts for f in p) == sorted(FILES)
    assert report.select_shard([], "2/2") == []


@pytest.mark.parametrize("bad", ["0/2", "3/2", "2", "a/b", "1/0", "-1/2"])
def test_bad_shard_names_the_form(bad):
    with pytest.raises(GradingError, match=r"--shard must look like 2/5 .*" + repr(bad)):
        report.select_shard(FILES, bad)


def test_question_order_is_numeric():
    names = ["q10", "q2", "q1", "q2_answer"]
    assert sorted(names, key=report.question_order) == ["q1", "q2", "q2_answer", "q10"]


def result(student: str, **points) -> Result:
    """A graded result with points per question."""
    return Result(student=student, file=f"{student}.ipynb", assignment="a1", language="en",
                  points=points, total=sum(points.values()), max_total=4, status="graded")


def test_unique_ids_keep_both_rows():
    rows = [result("ann"), result("bob"), result("ann"), result("ann")]
    report.unique_ids(rows)
    assert [r.student for r in rows] == ["ann", "bob", "ann~2", "ann~3"]


def test_write_csv_orders_questions_and_formats_points(tmp_path):
    path = tmp_path / "g" / "grades.csv"
    report.write_csv(path, [result("ann", q10=1.0, q2=0.5), result("bob", q1=2.0)])
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [*report.FIXED_COLUMNS, "q1", "q2", "q10", *report.TAIL_COLUMNS]
    assert (rows[0]["q2"], rows[0]["q1"], rows[0]["total"]) == ("0.5", "", "1.5")


def test_write_atomically_replaces_leaves_no_temp_and_is_readable(tmp_path):
    path = tmp_path / "new" / "out.csv"
    report.write_atomically(path, "a\n")
    report.write_atomically(path, "b\n")
    assert path.read_text(encoding="utf-8") == "b\n"
    assert [p.name for p in path.parent.iterdir()] == ["out.csv"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600


def test_write_atomically_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old\n", encoding="utf-8")
    with pytest.raises(TypeError):
        report.write_atomically(path, None)  # type: ignore[arg-type]
    assert path.read_text(encoding="utf-8") == "old\n"


def shard_csv(path: Path, *rows: dict) -> Path:
    """A shard's grades CSV with ungraded rows (no assignment: no instructor source needed)."""
    base = {"assignment": "", "language": "en", "total": "0", "max_total": "0",
            "status": "not graded", "message": "empty file", "review": ""}
    path.write_text(report.to_csv([*report.FIXED_COLUMNS, "q1", *report.TAIL_COLUMNS],
                                  [{**base, **r} for r in rows]), encoding="utf-8")
    return path


def test_merge_csvs_sorts_students_and_writes_the_reports(tmp_path):
    a = shard_csv(tmp_path / "a.csv", {"student": "zoe", "file": "zoe.ipynb"})
    b = shard_csv(tmp_path / "b.csv", {"student": "amy", "file": "amy.ipynb"},
                  {"student": "max", "file": "max.ipynb"})
    out = tmp_path / "merged" / "grades.csv"
    assert report.merge_csvs([a, b], out, tmp_path / "no-sources") == 3
    with out.open(encoding="utf-8") as f:
        assert [r["student"] for r in csv.DictReader(f)] == ["amy", "max", "zoe"]
    assert {p.name for p in out.parent.iterdir()} == {"grades.csv", "report.html", "lms.csv"}


def test_merge_csvs_refuses_a_student_in_two_shards(tmp_path):
    a = shard_csv(tmp_path / "a.csv", {"student": "amy", "file": "amy.ipynb"})
    b = shard_csv(tmp_path / "b.csv", {"student": "amy", "file": "amy2.ipynb"})
    with pytest.raises(GradingError, match="more than one shard: amy"):
        report.merge_csvs([a, b], tmp_path / "m.csv", tmp_path)
    assert not (tmp_path / "m.csv").exists()


def test_merge_csvs_names_a_missing_part(tmp_path):
    with pytest.raises(GradingError, match=r"nowhere\.csv does not exist"):
        report.merge_csvs([tmp_path / "nowhere.csv"], tmp_path / "m.csv", tmp_path)


def test_split_top_ignores_separators_in_parentheses():
    assert split_top("q1 (a, b), q2 (c)", ", ") == ["q1 (a, b)", "q2 (c)"]
    assert split_top("", ", ") == [""]


def test_lost_reasons_reads_the_message():
    msg = "lost points on q2 (AssertionError: f(x) (got 3)), q3 (timeout after 10 s); restored q1"
    assert lost_reasons(msg) == {"q2": "AssertionError: f(x) (got 3)",
                                 "q3": "timeout after 10 s"}
    assert lost_reasons("all correct") == {}


def test_question_stats_count_graded_rows_only():
    rows = [{"status": "graded", "q1": "2", "message": "lost points on q2 (wrong)", "q2": "0"},
            {"status": "graded", "q1": "1", "message": "", "q2": "3"},
            {"status": "not graded", "q1": "", "q2": ""}]
    q1, q2 = question_stats(rows, {"q1": 2, "q2": 3})
    assert (q1.mean, q1.share(2), q2.share(0), dict(q2.reasons)) == (1.5, 0.5, 0.5, {"wrong": 1})


def test_lms_rows_give_zero_to_ungraded_files():
    rows = lms_rows([{"student": "b", "assignment": "a1", "total": "3", "max_total": "4",
                      "status": "graded"},
                     {"student": "a", "assignment": "a1", "total": "2", "max_total": "4",
                      "status": "not graded"}])
    assert [(r["student_id"], r["score"]) for r in rows] == [("a", "0"), ("b", "3")]


@pytest.mark.parametrize(("name", "sid"), [
    ("alice.ipynb", "alice"), ("学生甲.ipynb", "学生甲"), ("a b&c.ipynb", "a_b_c"),
    ("..ipynb", "unnamed"), ("x.y.ipynb", "x.y")])
def test_student_id(name, sid):
    assert student_id(Path(name)) == sid


def test_without_check_magic_drops_only_the_first_line():
    src = "%%check q1\nassert f(1) == 2\n# %%check q2 stays\n"
    assert without_check_magic(src) == "assert f(1) == 2\n# %%check q2 stays\n"
    assert without_check_magic("assert True\n") == "assert True\n"


def test_hide_paths_hides_install_and_course_folders():
    line = ('File "/opt/venv/lib/python3.11/site-packages/torch/nn/m.py", line 3, and '
            '/tmp/course-grade-x1y2/course/submitted/s/a1/en.ipynb')
    assert hide_paths(line) == ('File "<site-packages>/torch/nn/m.py", line 3, and '
                                '<course>/course/submitted/s/a1/en.ipynb')


def test_tidy_traceback_of_a_test_cell_is_its_last_line():
    error = {"ename": "AssertionError", "evalue": "q1 wrong",
             "traceback": ["frame in hidden test line 12", "AssertionError: q1 wrong"]}
    assert tidy_traceback(error, test=True) == ["AssertionError: q1 wrong"]
    assert tidy_traceback({**error, "traceback": ["in course_guard", "x"]}, test=False) == ["x"]


def test_attach_gives_up_on_a_silent_kernel_factory(tmp_path, monkeypatch):
    """A factory that accepts but never answers costs ATTACH_TIMEOUT, then a plain kernel."""
    import socket
    import time

    from coursekit.grading import zygote

    class PlainKernel:
        def launch(self, *args):
            raise SystemExit("plain kernel")

    path = str(tmp_path / "z.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.bind(path)
        silent.listen()
        monkeypatch.setattr(zygote, "ATTACH_TIMEOUT", 0.5)
        monkeypatch.setattr(zygote, "load_sibling", lambda name: PlainKernel())
        start = time.perf_counter()
        with pytest.raises(SystemExit, match="plain kernel"):
            zygote.attach(path, "boot.py", "{}", str(tmp_path / "kernel.json"))
    assert time.perf_counter() - start < 5
