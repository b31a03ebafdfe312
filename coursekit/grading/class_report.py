"""The class report of a graded batch: per-question statistics and a histogram of totals as one
offline HTML page (the figure is inlined, nothing comes from a CDN), and a CSV for an LMS."""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

LOST = "lost points on "


@dataclass
class QuestionStats:
    """How the class did on one question."""

    name: str
    max_points: float
    scores: list[float] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)

    @property
    def mean(self) -> float:
        """Mean points over the graded submissions."""
        return sum(self.scores) / len(self.scores) if self.scores else 0.0

    def share(self, points: float) -> float:
        """Fraction of graded submissions with exactly these points."""
        return sum(s == points for s in self.scores) / len(self.scores) if self.scores else 0.0


def split_top(text: str, sep: str) -> list[str]:
    """Split text on sep where it is not inside parentheses."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            start = i = i + len(sep)
            continue
        i += 1
    return [*parts, text[start:]]


def lost_reasons(message: str) -> dict[str, str]:
    """{question: reason} from a grades-CSV message ('lost points on q2 (why), q3 (why); ...')."""
    if not message.startswith(LOST):
        return {}
    listed = split_top(message[len(LOST):], "; ")[0]
    found = {}
    for item in split_top(listed, ", "):
        name, _, reason = item.partition(" (")
        found[name.strip()] = reason[:-1] if reason.endswith(")") else reason
    return found


def question_stats(rows: list[dict], maxima: dict[str, float]) -> list[QuestionStats]:
    """Statistics of each question over the graded rows of one assignment."""
    stats = {q: QuestionStats(q, m) for q, m in maxima.items()}
    for row in rows:
        if row.get("status") != "graded":
            continue
        reasons = lost_reasons(row.get("message", ""))
        for q, st in stats.items():
            st.scores.append(float(row.get(q) or 0))
            if q in reasons:
                st.reasons[reasons[q] or "(no message)"] += 1
    return list(stats.values())


def histogram_png(totals: list[float], max_total: float, title: str) -> str:
    """A histogram of totals as a base64 PNG (matplotlib's object API: no global state)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(6, 2.8), dpi=144)
    ax = fig.subplots()
    edges = [x - 0.5 for x in range(int(max_total) + 2)]
    ax.hist(totals, bins=edges, color="#3b6ea8", edgecolor="white")
    ax.set_xlabel("total points")
    ax.set_ylabel("submissions")
    ax.set_title(title, fontsize=10)
    ax.set_xlim(-0.5, max_total + 0.5)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def assignment_section(name: str, rows: list[dict], maxima: dict[str, float]) -> str:
    """The HTML of one assignment: counts, histogram, per-question table."""
    graded = [r for r in rows if r.get("status") == "graded"]
    not_graded = [r for r in rows if r.get("status") != "graded"]
    max_total = sum(maxima.values())
    totals = [float(r.get("total") or 0) for r in graded]
    mean = sum(totals) / len(totals) if totals else 0.0
    out = [f"<h2>{html.escape(name)}</h2>",
           f"<p>{len(rows)} files: {len(graded)} graded, {len(not_graded)} not graded. "
           f"Mean total {mean:.2f} of {max_total:g}.</p>"]
    if graded:
        png = histogram_png(totals, max_total, f"{name}: totals of {len(graded)} submissions")
        out.append(f'<img alt="Histogram of the totals of {html.escape(name)}" '
                   f'src="data:image/png;base64,{png}">')
    out.append("<table><tr><th>question</th><th>points</th><th>mean</th><th>full marks</th>"
               "<th>zero</th><th>most common reasons for lost points</th></tr>")
    for st in question_stats(rows, maxima):
        common = "<br>".join(f"{n} × {html.escape(why)}" for why, n in st.reasons.most_common(3))
        out.append(f"<tr><td>{html.escape(st.name)}</td><td>{st.max_points:g}</td>"
                   f"<td>{st.mean:.2f}</td><td>{st.share(st.max_points):.0%}</td>"
                   f"<td>{st.share(0.0):.0%}</td><td>{common or '-'}</td></tr>")
    out.append("</table>")
    if not_graded:
        why = Counter(r.get("message", "") for r in not_graded).most_common()
        out.append("<p>Not graded:</p><ul>" + "".join(
            f"<li>{n} × {html.escape(m)}</li>" for m, n in why) + "</ul>")
    return "\n".join(out)


STYLE = ("body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
         "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.3rem .5rem;"
         "text-align:left;vertical-align:top}img{max-width:100%}")


def report_html(rows: list[dict], maxima_of) -> str:
    """The whole report; maxima_of(assignment) gives {question: points}."""
    names = sorted({r.get("assignment") or "" for r in rows} - {""})
    sections = [assignment_section(a, [r for r in rows if r.get("assignment") == a],
                                   maxima_of(a)) for a in names]
    unknown = [r for r in rows if not r.get("assignment")]
    if unknown:
        sections.append("<h2>Not graded: no assignment recognised</h2><ul>" + "".join(
            f"<li>{html.escape(r.get('file', ''))}: {html.escape(r.get('message', ''))}</li>"
            for r in unknown) + "</ul>")
    return ("<!doctype html><html lang='en'><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>Class report</title><style>{STYLE}</style><h1>Class report</h1>"
            + "\n".join(sections) + "</html>")


def lms_rows(rows: list[dict]) -> list[dict]:
    """One row per submission for an LMS gradebook import: id, assignment, score, maximum."""
    return [{"student_id": r.get("student", ""), "assignment": r.get("assignment", ""),
             "score": r.get("total", "0") if r.get("status") == "graded" else "0",
             "max_score": r.get("max_total", ""), "status": r.get("status", "")}
            for r in sorted(rows, key=lambda r: (r.get("assignment", ""), r.get("student", "")))]


def write_reports(rows: list[dict], folder: Path, maxima_of, write) -> list[Path]:
    """Write report.html and lms.csv into folder with `write(path, text)`; their paths."""
    from coursekit.grading.report import to_csv

    report, lms = folder / "report.html", folder / "lms.csv"
    write(report, report_html(rows, maxima_of))
    write(lms, to_csv(["student_id", "assignment", "score", "max_score", "status"],
                      lms_rows(rows)))
    return [report, lms]
