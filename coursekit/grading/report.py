"""What a batch hands back: rows of the grades CSV, why points were lost, the students' feedback
pages, the CSV itself (atomically written, shard CSVs merged) and the class report."""

from __future__ import annotations

import csv
import html
import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from coursekit.grading.plugins import ANSI, is_test
from coursekit.grading.sources import GradingError, grade_id

FIXED_COLUMNS = ["student", "file", "assignment", "language"]
TAIL_COLUMNS = ["total", "max_total", "status", "message", "review"]
REMOTE_SCRIPT = re.compile(r"<script[^>]*\ssrc=\"https?://[^\"]*\"[^>]*>\s*</script>", re.I)
PAGE_STYLE = ("<style>pre,.output_text,.output_error{white-space:pre-wrap;"
              "overflow-wrap:anywhere}#course-summary{border:1px solid #888;padding:.5em 1em;"
              "margin:1em 0;border-radius:4px}</style>")


@dataclass
class Result:
    """One row of the grades CSV."""

    student: str
    file: str
    assignment: str = ""
    language: str = ""
    points: dict[str, float] = field(default_factory=dict)
    total: float = 0.0
    max_total: float = 0.0
    status: str = "graded"
    message: str = ""
    review: str = ""


def failure_reasons(path: Path, limit: int) -> dict[str, str]:
    """{grade_id: why} of the failed test cells: the error of the question's own answer cell
    (a timeout names the limit) if it had one, else the test's first error line."""
    if not path.is_file():
        return {}
    answer_errors, reasons = {}, {}
    for cell in nbformat.read(path, as_version=4).cells:
        gid = grade_id(cell)
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if not (gid and errors):
            continue
        if is_test(cell):
            reasons[gid] = error_line(errors[0], limit)
        else:
            answer_errors[gid] = "the answer cell " + error_line(errors[0], limit, answer=True)
    for gid in reasons:
        reasons[gid] = answer_errors.get(f"{gid}_answer", reasons[gid])
    return reasons


def error_line(error: dict, limit: int, answer: bool = False) -> str:
    """'ErrorType: first line of the message', or what a timeout means."""
    if error.get("ename") == "KeyboardInterrupt":
        return (f"{'' if answer else 'test '}ran longer than the limit of {limit} s per cell "
                "(grade --cell-timeout) and was stopped")
    if error.get("ename") == "NotImplementedError":
        return f"{'raised ' if answer else ''}NotImplementedError: not answered"
    first = ANSI.sub("", str(error.get("evalue", ""))).strip().splitlines() or [""]
    text = f"{error.get('ename', 'Error')}: {first[0]}"[:300].rstrip(": ")
    return f"raised {text}" if answer else text


def last_line(outcome: dict) -> str:
    """What went wrong, in a line, from an nbgrader log or error."""
    text = f"{outcome.get('log') or ''}\n{outcome.get('error') or ''}"
    if "DeadKernelError" in text:
        return ("the kernel died while running the notebook (the code exited or crashed Python), "
                "so no test could be scored; restart and run all cells before submitting")
    if "CellTimeoutError" in text:
        return "a cell ran past the time limit and could not be interrupted"
    lines = [ANSI.sub("", line).strip() for line in text.splitlines()]
    causes = [line for line in lines if re.match(r"(\w+\.)*[A-Z]\w*(Error|Exception)\b", line)
              and "see the" not in line.lower()]
    useful = [line for line in lines if line and "see the" not in line.lower()]
    return (causes or useful or ["unknown error"])[-1][:300]


def summary_html(result: Result) -> str:
    """The box at the top of a feedback page: who, which assignment, the score and the causes."""
    rows = [("Student · 学生", result.student), ("File · 文件", result.file),
            ("Assignment · 作业", result.assignment or "unknown · 未知"),
            ("Score · 得分", f"{result.total:g} / {result.max_total:g}"
             if result.status == "graded" else f"not graded · 未评分 ({result.status})")]
    if result.points:
        rows.append(("Questions · 各题", ", ".join(f"{q}: {p:g}" for q, p in
                                                   result.points.items())))
    rows.append(("Grader · 评分说明", result.message))
    cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                    for k, v in rows)
    return f"<div id='course-summary'><table>{cells}</table></div>"


def feedback_page(result: Result, nbgrader_page: str | None = None) -> str:
    """A student's feedback: nbgrader's page with a proper title, question names and a summary,
    long lines wrapped and nothing loaded from the internet; or a small page if not graded."""
    title = html.escape(f"{result.student} · {result.assignment or result.file}")
    if nbgrader_page is None:
        return (f"<!doctype html><meta charset='utf-8'><title>{title}</title>{PAGE_STYLE}"
                f"<h1>{html.escape(result.file)}</h1>{summary_html(result)}"
                "<p>Points: 0. Fix the file and submit it again. · "
                "0 分：请修正文件后重新提交。</p>")
    page = REMOTE_SCRIPT.sub("", nbgrader_page)
    page = re.sub(r"<title>.*?</title>", f"<title>{title}</title>{PAGE_STYLE}", page, count=1,
                  flags=re.S)
    page = re.sub(r'(<a href="#([\w-]+)">)(Test cell|Coding free-response)</a>',
                  lambda m: f"{m[1]}Question {m[2]} · 第 {m[2].lstrip('q')} 题</a>"
                  if re.fullmatch(r"q\d+", m[2]) else m[0], page)
    return re.sub(r"(<body[^>]*>)", lambda m: m[1] + summary_html(result), page, count=1)


def select_shard(files: list[Path], shard: str | None) -> list[Path]:
    """The files of shard 'i/n' (1-based), by position in name order."""
    if not shard:
        return files
    match = re.fullmatch(r"(\d+)/(\d+)", shard)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise GradingError(f"--shard must look like 2/5 (shard i of n, 1 <= i <= n), not {shard!r}")
    i, n = int(match[1]), int(match[2])
    return [f for k, f in enumerate(files) if k % n == i - 1]


def unique_ids(results: list[Result]) -> None:
    """Make student ids unique (two files with the same stem keep both rows)."""
    seen: dict[str, int] = {}
    for r in results:
        seen[r.student] = seen.get(r.student, 0) + 1
        if seen[r.student] > 1:
            r.student = f"{r.student}~{seen[r.student]}"


def question_order(name: str) -> tuple:
    """Sort q2 before q10."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def columns(results: list[Result]) -> list[str]:
    """CSV header: fixed columns, every question id in order, then the totals."""
    questions = sorted({q for r in results for q in r.points}, key=question_order)
    return [*FIXED_COLUMNS, *questions, *TAIL_COLUMNS]


def write_csv(path: Path, results: list[Result]) -> None:
    """Write the grades CSV atomically (a reader never sees half a file)."""
    rows = []
    for r in results:
        row = {"student": r.student, "file": r.file, "assignment": r.assignment,
               "language": r.language, "total": f"{r.total:g}", "max_total": f"{r.max_total:g}",
               "status": r.status, "message": r.message, "review": r.review}
        row.update({q: f"{p:g}" for q, p in r.points.items()})
        rows.append(row)
    write_atomically(path, to_csv(columns(results), rows))


def to_csv(header: list[str], rows: list[dict]) -> str:
    """CSV text with the given header."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def write_atomically(path: Path, text: str) -> None:
    """Write text to a temp file beside path, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide the grades from the web server
    os.replace(tmp, path)


def merge_csvs(parts: list[Path], out: Path, source: Path) -> int:
    """Merge shard CSVs into one (and its class report); returns the number of rows."""
    rows: list[dict] = []
    for part in parts:
        if not part.is_file():
            raise GradingError(f"{part} does not exist")
        with part.open(encoding="utf-8", newline="") as f:
            rows += list(csv.DictReader(f))
    students = [r["student"] for r in rows]
    dupes = sorted({s for s in students if students.count(s) > 1})
    if dupes:
        raise GradingError(f"students graded in more than one shard: {', '.join(dupes)}")
    questions = sorted({k for r in rows for k in r} - set(FIXED_COLUMNS) - set(TAIL_COLUMNS),
                       key=question_order)
    rows.sort(key=lambda r: r["student"])
    write_atomically(out, to_csv([*FIXED_COLUMNS, *questions, *TAIL_COLUMNS], rows))
    write_class_report(out, out.parent, source)
    return len(rows)


def write_class_report(grades: Path, folder: Path, source: Path) -> list[Path]:
    """report.html (per-question statistics, histogram) and lms.csv from a grades CSV."""
    from coursekit.grading.class_report import write_reports
    from coursekit.grading.sources import test_points

    with grades.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return write_reports(rows, folder, lambda a: test_points(a, source), write_atomically)
