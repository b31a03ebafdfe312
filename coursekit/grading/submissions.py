"""Reading what students hand in: parse and identify a notebook, undo what their tools did to
graded cells (copies, deletions, moves, retyping, foreign metadata), flag code aimed at the
grader for an instructor to read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

from coursekit.grading.sources import grade_id, grade_ids

# Code that only a submission attacking the grader needs: flagged for the instructor to read.
SUSPICIOUS = {
    "changes builtins": r"__builtins__|\bimport builtins\b|\bbuiltins\.",
    "redefines __import__": r"\b__import__\b",
    "edits sys.modules": r"\bsys\.modules\b",
    "overrides equality": r"\bdef __eq__\b|\b__eq__\s*=(?!=)",
    "targets the grader": r"course_guard|kernel_guard|nbgrader|gradebook",
    "installs IPython hooks": r"get_ipython\(\)\s*\.\s*(events|ast_transformers|"
                              r"input_transformers|set_custom_exc|run_cell)",
    "traces or redirects": r"\bsys\.(settrace|setprofile|stdout\s*=|stderr\s*=)",
    "monkeypatches a library": r"(?m)^\s*(torch|nn|F|np|math|numpy)\.[\w.]+\s*=(?!=)"
                               r"|\bsetattr\(\s*(torch|nn|F|np|math|numpy)\b",
    "redefines a builtin": r"(?m)^\s*(def\s+(?P<f>{b})\s*\(|(?P<v>{b})\s*=(?!=))".format(
        b="isinstance|issubclass|len|abs|all|any|print|float|int|sum|max|min|type|round|range"
          "|callable|hasattr|getattr|setattr|iter|next|sorted|list|dict|set|tuple|str|bool"),
    "touches files or processes": r"\bos\.(remove|unlink|rmdir|rename|replace|system|chdir)\b"
                                  r"|\bshutil\.|\bsubprocess\b|\bsocket\b|\.\./",
    "reads files outside the submission": r"\.parents?\b|\bPath\.home\(|\bos\.(walk|listdir|"
                                          r"scandir)\(|\b(rglob|i?glob)\(|\bglob\b"
                                          r"|open\(\s*f?['\"](/|~)|expanduser\(",
    "runs foreign code": r"(?<![\w.])(exec|eval|compile)\(|\brunpy\b|\bimportlib\b"
                         r"|nbformat|nbclient",
}
# Notebook- and cell-level metadata that editors add and grading has no use for.
EDITOR_METADATA = ("colab", "accelerator", "gpuClass", "vscode", "widgets", "kaggle", "toc")
CELL_EDITOR_METADATA = ("colab", "cellView", "id", "outputId", "executionInfo", "vscode",
                        "papermill", "execution", "ExecuteTime", "scrolled", "collapsed")


class SubmissionError(Exception):
    """A submission cannot be graded; the message goes to the CSV and the feedback."""


def student_id(path: Path) -> str:
    """A safe student id from a submission's file name (letters of any script are kept)."""
    return re.sub(r"[^\w.-]+", "_", path.stem).strip("._") or "unnamed"


def source_text(cell) -> str:
    """A cell's source as one string (a notebook file may store it as a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def read_submission(path: Path, known: dict, expected: str | None = None) -> tuple:
    """Parse and validate one file: (notebook, assignment, language, repairs).

    Old nbformat versions are upgraded, editor metadata is dropped; raises SubmissionError
    with a readable reason, also when the file is another assignment than `expected`.
    """
    if path.suffix != ".ipynb":
        raise SubmissionError(f"not a notebook ({path.suffix or 'no extension'}); not graded")
    raw = path.read_bytes()
    if not raw.strip():
        raise SubmissionError("empty file")
    try:
        text = raw.decode("utf-8-sig")
        json.loads(text)  # the error message of a bad file names the JSON problem
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SubmissionError(f"not valid JSON: {err}") from None
    try:
        data = json.loads(text)
        old = (data.get("nbformat"), data.get("nbformat_minor", 0)) if isinstance(data, dict) \
            else None
        nb = nbformat.reads(text, as_version=4)
        notes = normalise(nb, old)
        nbformat.validate(nb)
    except Exception as err:  # nbformat raises several types for schema problems
        reason = getattr(err, "message", None) or str(err).strip() or type(err).__name__
        raise SubmissionError(f"not a valid notebook: {reason.splitlines()[0][:160]}") from None
    assignment, language = identify(nb, known)
    if expected and assignment != expected:
        raise SubmissionError(f"this is the notebook of {assignment}, but this folder holds "
                              f"{expected} (--assignment); submit the {expected} notebook")
    return nb, assignment, language, notes


def normalise(nb, old: tuple | None) -> list[str]:
    """Upgrade to nbformat 4.5 (cell ids) and drop editor metadata; what was changed."""
    notes = []
    if old and all(isinstance(v, int) for v in old) and old < (4, 5):
        notes.append(f"upgraded from nbformat {old[0]}.{old[1]}")
    nb.nbformat, nb.nbformat_minor = 4, max(5, nb.get("nbformat_minor", 0))
    editors = [k for k in EDITOR_METADATA if k in nb.metadata]
    for key in editors:
        del nb.metadata[key]
    seen: set[str] = set()
    for i, cell in enumerate(nb.cells):
        for key in CELL_EDITOR_METADATA:
            cell.get("metadata", {}).pop(key, None)
        if not cell.get("id") or cell["id"] in seen:
            cell["id"] = f"cell-{i}"
        seen.add(cell["id"])
    if editors:
        notes.append("dropped editor metadata (" + ", ".join(editors) + ")")
    return notes


def identify(nb, known: dict[str, dict[str, set[str]]]) -> tuple[str, str]:
    """(assignment, language) of a submission: from its metadata if its cells agree, else from
    its cells' grade_ids."""
    meta = nb.get("metadata", {}).get("course", {})
    assignment, language = meta.get("assignment"), meta.get("language")
    ids = grade_ids(nb)
    if assignment in known and language in known[assignment] and ids & known[assignment][language]:
        return assignment, language
    overlap = {(a, lang): len(ids & cells) for a, langs in known.items()
               for lang, cells in langs.items()}
    best = max(overlap, key=overlap.get, default=None)
    if best is None or overlap[best] == 0:
        raise SubmissionError("not one of this course's assignments (no known graded cells)")
    return best


def forget_unknown_cells(nb, known: set[str]) -> list[str]:
    """Turn cells whose grade_id the assignment does not have into plain cells; return the ids.

    nbgrader stops on an unknown graded cell (a renamed one, say). Demoted, it runs as ordinary
    code, and the original cell, now missing, is restored from the assignment.
    """
    strangers = []
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid is not None and gid not in known:
            strangers.append(gid)
            del cell.metadata["nbgrader"]
    return strangers


def drop_duplicates(nb, release) -> list[str]:
    """Keep one cell per grade_id (a copy/paste in Jupyter duplicates its metadata).

    Of an answer cell the last copy that differs from the handed-out stub is kept (the
    student's work); of any other cell the first. Returns what was repaired.
    """
    stubs = {grade_id(c): source_text(c).strip() for c in release.cells if grade_id(c)}
    copies: dict[str, list[int]] = {}
    for i, cell in enumerate(nb.cells):
        if grade_id(cell):
            copies.setdefault(grade_id(cell), []).append(i)
    drop, notes = set(), []
    for gid, where in copies.items():
        if len(where) < 2:
            continue
        answered = [i for i in where if source_text(nb.cells[i]).strip() != stubs.get(gid)]
        is_answer = nb.cells[where[0]].metadata["nbgrader"].get("solution")
        keep = answered[-1] if is_answer and answered else where[0]
        drop |= set(where) - {keep}
        notes.append(f"kept one of {len(where)} copies of {gid}")
    nb.cells = [c for i, c in enumerate(nb.cells) if i not in drop]
    return notes


def restore_missing(nb, release) -> list[str]:
    """Put back graded cells a student deleted (Colab ignores `deletable: false`), as handed
    out, after the cell that precedes them there. Returns what was repaired."""
    present, notes = grade_ids(nb), []
    ids = {c.get("id") for c in nb.cells}
    for pos, cell in enumerate(release.cells):
        gid = grade_id(cell)
        if not gid or gid in present:
            continue
        anchor = next((grade_id(c) for c in reversed(release.cells[:pos])
                       if grade_id(c) in present), None)
        at = 0 if anchor is None else 1 + next(i for i, c in enumerate(nb.cells)
                                               if grade_id(c) == anchor)
        new = nbformat.from_dict(json.loads(json.dumps(cell)))
        if new.get("id") in ids:
            new["id"] = f"restored-{gid}"[:64]
        nb.cells.insert(at, new)
        present.add(gid)
        notes.append(f"restored {gid} from the assignment")
    return notes


def retype(nb, release) -> list[str]:
    """Give graded cells back the type they were handed out with (a stray M or Y key)."""
    kinds = {grade_id(c): c.cell_type for c in release.cells if grade_id(c)}
    notes = []
    for i, cell in enumerate(nb.cells):
        want = kinds.get(grade_id(cell))
        if want and cell.cell_type != want:
            make = nbformat.v4.new_code_cell if want == "code" else nbformat.v4.new_markdown_cell
            new = make(source_text(cell), metadata=cell.metadata)
            new["id"] = cell.get("id", new["id"])
            nb.cells[i] = new
            notes.append(f"made {grade_id(cell)} a {want} cell again")
    return notes


def reorder(nb, release) -> list[str]:
    """Put graded cells back in their handed-out order; a student's own cells move with the
    graded cell above them."""
    rank = {grade_id(c): i for i, c in enumerate(release.cells) if grade_id(c)}
    head, blocks = [], []
    for cell in nb.cells:
        if grade_id(cell) in rank:
            blocks.append([cell])
        elif blocks:
            blocks[-1].append(cell)
        else:
            head.append(cell)
    ordered = sorted(blocks, key=lambda b: rank[grade_id(b[0])])
    if ordered == blocks:
        return []
    moved = [grade_id(b[0]) for b, o in zip(blocks, ordered, strict=True) if b is not o]
    nb.cells = head + [c for b in ordered for c in b]
    return [f"put {', '.join(moved)} back in the order handed out"]


def restore_metadata(nb, release) -> list[str]:
    """Give graded cells back their grading metadata as handed out (an editor may drop a key)."""
    handed = {grade_id(c): c.metadata["nbgrader"] for c in release.cells if grade_id(c)}
    changed = []
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in handed and cell.metadata["nbgrader"] != handed[gid]:
            cell.metadata["nbgrader"] = json.loads(json.dumps(handed[gid]))
            changed.append(gid)
    if len(changed) > 4:
        return [f"restored the grading metadata of {len(changed)} cells"]
    return [f"restored the grading metadata of {', '.join(changed)}"] if changed else []


def repair(nb, release) -> list[str]:
    """Undo what students' tools do to graded cells; a note is added on top of the notebook."""
    notes = (drop_duplicates(nb, release) + restore_missing(nb, release)
             + restore_metadata(nb, release) + retype(nb, release) + reorder(nb, release))
    if notes:
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(
            "**Grader:** this notebook was repaired before grading: " + "; ".join(notes) + "."))
    return notes


def review_flags(nb) -> list[str]:
    """What in a submission's own code looks aimed at the grader, for the instructor to read."""
    own = "\n".join(source_text(c) for c in nb.cells if c.get("cell_type") == "code"
                    and not c.get("metadata", {}).get("nbgrader", {}).get("locked"))
    return [label for label, pattern in SUSPICIOUS.items() if re.search(pattern, own)]
