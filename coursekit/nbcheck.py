"""pytest plugin: how nbval checks each kind of notebook cell, so stored outputs verify on any CPU.

Every code cell is one of four kinds, marked by a tag in its source:
- exact (no tag): output compared byte for byte, as nbval does;
- `numeric`: floats that may differ in their last digits between CPUs and thread counts; numbers
  are compared with a tolerance (`within`), everything else exactly;
- `chaotic`: results of training, whose trajectory legitimately changes with the CPU; the output
  is not compared, and the cell's own `assert`s check what it shows;
- `provenance`: the setup cell's last line, checked against `PROVENANCE`.
Cells tagged `nbval-ignore-output` (timings, progress bars) are not compared either.

nbval executes the first edition's notebooks only: the editions share every code cell (a test
enforces it), so instead of running the same code again, `edition_differences` checks that every
other edition's stored outputs are what nbval compares in the first one, once the edition's figure
and widget labels (the `label(en, zh)` pairs of the code) are mapped back. Images and widget ids
are not compared, by nbval either; their presence is. `--nbval-all-editions`, or naming another
edition's notebooks on the command line, runs nbval on them too.
"""

from __future__ import annotations

import ast
import copy
import os
import re
from collections import Counter
from pathlib import Path

import pytest

from coursekit.project import LANGUAGES

NUMERIC, CHAOTIC, PROVENANCE_TAG, IGNORED = "numeric", "chaotic", "provenance", "ignored"
KIND_TAGS = (NUMERIC, CHAOTIC, PROVENANCE_TAG)
RTOL, ATOL, LAST_DIGITS = 1e-4, 1e-6, 2
TOLERANCE = (f"|a - b| <= {ATOL:g} + {RTOL:g}·|a|, or at most {LAST_DIGITS} units in the last "
             "printed digit; integers exact")
PROVENANCE = re.compile(
    r"torch 2\.13\.0(\+\w+)? \| device: (cpu|cuda|mps) \| CPU: [A-Z0-9_ ]+ \| threads: \d+ "
    r"\| CJK font: .+")
NBVAL_TIMEOUT = 600  # seconds per cell item, kernel start included (nbval: 300 s per cell)
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def cell_kind(cell) -> str:
    """The kind of a code cell: exact, numeric, chaotic, provenance or ignored."""
    tags = set(cell.get("metadata", {}).get("tags", []))
    if tags & {"nbval-ignore-output", "nbval-skip"}:
        return IGNORED
    return next((k for k in KIND_TAGS if k in tags), "exact")


def kind_problems(cell) -> list[str]:
    """What is wrong with a cell's kind tags (two kinds, or a chaotic cell that asserts nothing)."""
    tags = set(cell.get("metadata", {}).get("tags", []))
    problems = []
    if len(tags & set(KIND_TAGS)) > 1:
        problems.append(f"has more than one kind tag: {sorted(tags & set(KIND_TAGS))}")
    if CHAOTIC in tags and not re.search(r"^\s*assert ", cell.source, re.M):
        problems.append("is chaotic but asserts nothing about what it shows")
    return problems


def last_digit(token: str) -> float:
    """One unit in the last printed digit of a number as written ('0.0123' -> 0.0001)."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def within(ref: str, test: str) -> bool:
    """True when two numbers as printed agree within the stated tolerance."""
    if ref == test:
        return True
    if not re.search(r"[.eE]", ref + test):
        return False  # integers (counts, shapes, indices) must be exact
    a, b = float(ref), float(test)
    return (abs(a - b) <= ATOL + RTOL * abs(a)
            or abs(a - b) <= LAST_DIGITS * max(last_digit(ref), last_digit(test)) * (1 + 1e-9))


def numbers_agree(ref: str, test: str) -> bool:
    """The same text around the numbers, and every number within the tolerance."""
    if NUMBER.split(ref) != NUMBER.split(test):
        return False
    return all(within(a, b) for a, b in zip(NUMBER.findall(ref), NUMBER.findall(test),
                                            strict=True))


def provenance_agrees(ref: str, test: str) -> bool:
    """Both texts end in a provenance line of the expected form, and agree before it."""
    ref_head, _, ref_last = ref.rstrip("\n").rpartition("\n")
    test_head, _, test_last = test.rstrip("\n").rpartition("\n")
    return (ref_head == test_head and bool(PROVENANCE.fullmatch(ref_last))
            and bool(PROVENANCE.fullmatch(test_last)))


def texts(output) -> list[tuple[dict, str]]:
    """The (holder, key) places of an output that hold comparable text."""
    if output.get("output_type") == "stream":
        return [(output, "text")]
    data = output.get("data", {})
    return [(data, "text/plain")] if "text/plain" in data else []


def reconcile(test: list, ref: list, agree) -> list:
    """A copy of the test outputs where each text that `agree`s with the stored one is replaced
    by the stored text, so nbval's own comparison (and its diff for the rest) applies."""
    test = copy.deepcopy(test)
    for t_out, r_out in zip(test, ref, strict=False):
        if t_out.get("output_type") != r_out.get("output_type"):
            continue
        for (t_holder, key), (r_holder, r_key) in zip(texts(t_out), texts(r_out), strict=False):
            t_text, r_text = "".join(t_holder[key]), "".join(r_holder[r_key])
            if t_text != r_text and agree(r_text, t_text):
                t_holder[key] = r_text
    return test


def install(item) -> None:
    """Make one nbval cell item check its cell by the cell's kind."""
    kind = cell_kind(item.cell)
    if kind == CHAOTIC:
        item.options["check"] = False
    elif kind in (NUMERIC, PROVENANCE_TAG):
        agree = numbers_agree if kind == NUMERIC else provenance_agrees
        original = item.compare_outputs

        def compare_outputs(test, ref, skip_compare=None):
            from nbval.plugin import coalesce_streams
            ref = coalesce_streams(copy.deepcopy(ref))
            return original(reconcile(coalesce_streams(test), ref, agree), ref, skip_compare)

        item.compare_outputs = compare_outputs


def kind_counts(notebooks, with_output: bool = False) -> Counter:
    """How many code cells of each kind the given notebooks hold (only those that print, if
    `with_output`: a cell without output is trivially exact)."""
    return Counter(cell_kind(c) for nb in notebooks for c in nb.cells
                   if c.cell_type == "code" and (c.outputs or not with_output))


# What nbval leaves out of its comparison (nbval.plugin.IPyNbFile.skip_compare without --nbdime).
NBVAL_SKIPS = frozenset({"metadata", "traceback", "prompt_number", "output_type", "name",
                         "execution_count", "application/vnd.jupyter.widget-view+json",
                         "image/png", "image/jpeg"})
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def label_pairs(sources: list[str]) -> list[tuple[str, str]]:
    """The (English, Chinese) string pairs that code cells pass to a call such as label(en, zh),
    longest Chinese text first (so that a longer label is mapped before a part of it)."""
    pairs = set()
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue  # a cell with IPython magics holds no label
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and len(node.args) == 2 and all(
                    isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args):
                en, zh = (a.value for a in node.args)
                if CJK.search(zh) and not CJK.search(en):
                    pairs.add((en, zh))
    return sorted(pairs, key=lambda p: (-len(p[1]), p))


def template_parts(node: ast.expr) -> list[tuple[str, str]] | None:
    """An f-string's parts as ("text", literal) and ("field", expression source); None when the
    node is not an f-string (or a format spec makes it one we do not map)."""
    if not isinstance(node, ast.JoinedStr):
        return None
    parts = []
    for value in node.values:
        if isinstance(value, ast.Constant):
            parts.append(("text", value.value))
        elif value.format_spec is None and value.conversion == -1:
            parts.append(("field", ast.unparse(value.value)))
        else:
            return None
    return parts


def label_templates(sources: list[str]) -> list[tuple[re.Pattern, list]]:
    """For each label(f"…", f"…") call whose two f-strings use the same fields: a pattern that
    finds the Chinese text (fields as wildcards) and the English parts to put in its place;
    longest Chinese literal text first."""
    found = {}
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and len(node.args) == 2):
                continue
            en, zh = (template_parts(a) for a in node.args)
            if en is None or zh is None:
                continue
            fields = [v for k, v in zh if k == "field"]
            zh_text = "".join(v for k, v in zh if k == "text")
            if (sorted(fields) != sorted(v for k, v in en if k == "field") or len(set(fields))
                    != len(fields) or not CJK.search(zh_text)):
                continue
            names = {f: f"f{i}" for i, f in enumerate(fields)}
            regex = "".join(re.escape(v) if k == "text" else f"(?P<{names[v]}>.+?)" for k, v in zh)
            found[regex] = (len(zh_text), [(k, v if k == "text" else names[v]) for k, v in en])
    ordered = sorted(found.items(), key=lambda item: (-item[1][0], item[0]))
    return [(re.compile(regex), parts) for regex, (_, parts) in ordered]


def to_first_edition(text: str, pairs: list[tuple[str, str]], templates=()) -> str:
    """Text of another edition with its labels put back in the first edition's language: f-string
    labels first (their fields keep the text they matched), then literal ones."""
    for pattern, parts in templates:
        text = pattern.sub(lambda m, parts=parts: "".join(
            v if k == "text" else m.group(v) for k, v in parts), text)
    for en, zh in pairs:
        text = text.replace(zh, en)
    return text


def output_shape(outputs: list) -> list[tuple]:
    """What kinds of output a cell has: (type, stream name, MIME types) per output."""
    from coursekit.notebooks import coalesce_streams

    return [(o.get("output_type"), o.get("name"), tuple(sorted(o.get("data", {}))))
            for o in coalesce_streams(copy.deepcopy(list(outputs)))]


WIDGET = "application/vnd.jupyter.widget-view+json"


def compared_texts(outputs: list) -> list[tuple[str, str]]:
    """The (key, text) pairs nbval compares in a cell's outputs (streams merged first); a
    widget's text is keyed `widget:text/plain`."""
    from coursekit.notebooks import coalesce_streams

    found = []
    for out in coalesce_streams(copy.deepcopy(list(outputs))):
        if out.get("output_type") == "stream":
            found.append((f"stream:{out.get('name')}", "".join(out.get("text", ""))))
        data = out.get("data", {})
        for key, value in sorted(data.items()):
            if key not in NBVAL_SKIPS:
                text = value if isinstance(value, str) else "".join(value)
                found.append((f"widget:{key}" if WIDGET in data else key, text))
        if out.get("output_type") == "error":
            found.append(("error", f"{out.get('ename')}: {out.get('evalue')}"))
    return found


def same_or_cut(a: str, b: str) -> bool:
    """Equal texts, or one cut short with "…" (a widget's repr is cut at a fixed length, so the
    longer labels of one language are cut where the other's are not) and a prefix of the other."""
    return (a == b or (a.endswith("…") and b.startswith(a[:-1]))
            or (b.endswith("…") and a.startswith(b[:-1])))


def first_difference(a: str, b: str) -> str:
    """The first line where two texts differ, both versions."""
    for x, y in zip([*a.splitlines(), ""], [*b.splitlines(), ""], strict=False):
        if x != y:
            return f"{x[:80]!r} vs {y[:80]!r}"
    return f"{a[-80:]!r} vs {b[-80:]!r}"


def edition_differences(first, other) -> list[str]:
    """How another edition's stored outputs differ from the first edition's, as nbval compares
    them (by cell kind), after mapping the other edition's labels back; [] when they agree."""
    a_cells = [c for c in first.cells if c.cell_type == "code"]
    b_cells = [c for c in other.cells if c.cell_type == "code"]
    if [c.source for c in a_cells] != [c.source for c in b_cells]:
        return ["the code cells differ (the editions must share them: see check_parity)"]
    sources = [c.source for c in a_cells]
    pairs, templates = label_pairs(sources), label_templates(sources)
    agree = {NUMERIC: numbers_agree, PROVENANCE_TAG: provenance_agrees}
    problems = []
    for i, (a, b) in enumerate(zip(a_cells, b_cells, strict=True)):
        kind = cell_kind(a)
        if kind in (IGNORED, CHAOTIC):
            continue  # not compared by nbval either (timing, progress, training results)
        if output_shape(a.outputs) != output_shape(b.outputs):
            problems.append(f"code cell {i}: outputs {output_shape(b.outputs)} where the first "
                            f"edition has {output_shape(a.outputs)}")
            continue
        same = agree.get(kind, str.__eq__)
        for (key, ta), (_, tb) in zip(compared_texts(a.outputs), compared_texts(b.outputs),
                                      strict=True):
            tb = to_first_edition(tb, pairs, templates)
            if not (same_or_cut if key.startswith("widget:") else same)(ta, tb):
                problems.append(f"code cell {i} ({kind}) {key}: {first_difference(ta, tb)}")
    return problems


def pytest_addoption(parser):
    """--nbval-all-editions: execute every edition's notebooks, not only the first's."""
    parser.addoption("--nbval-all-editions", action="store_true",
                     help="nbval every edition's notebooks (default: the first edition's; the "
                          "others' stored outputs are compared with it by tests/test_editions.py)")


def named_on_command_line(path: Path, config) -> bool:
    """Whether a notebook, or its folder, is named on the command line."""
    here = Path(config.invocation_params.dir)
    named = {(here / arg.split("::")[0]).resolve() for arg in config.args}
    return path.resolve() in named or path.parent.resolve() in named


def pytest_ignore_collect(collection_path, config):
    """Leave out the notebooks of editions other than the first (see the module docstring)."""
    if collection_path.suffix != ".ipynb" or config.getoption("nbval_all_editions"):
        return None
    folder = collection_path.parent
    if folder.parent != config.rootpath / "notebooks" or folder.name == LANGUAGES[0]:
        return None
    return None if named_on_command_line(collection_path, config) else True


def pytest_configure(config):
    """Stored outputs are CPU references: nbval kernels see no GPU unless asked to."""
    if os.environ.get("COURSE_NBVAL_DEVICE", "cpu") == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """A notebook's kernel learns its edition (its folder's name) before it starts, as under
    `make notebooks`, so figure labels come out in the edition's language."""
    if type(item).__name__ == "IPyNbCell":
        os.environ["COURSE_EDITION"] = Path(str(item.fspath)).parent.name


def pytest_collection_modifyitems(session, config, items):
    """Give every nbval cell the check its kind asks for, the `nbval` marker and a time limit
    (the kernel's start counts against the first cell)."""
    for item in items:
        if type(item).__name__ == "IPyNbCell":
            install(item)
            item.add_marker(pytest.mark.nbval)
            item.add_marker(pytest.mark.timeout(NBVAL_TIMEOUT))


EXECUTED = pytest.StashKey[list]()


def pytest_collection_finish(session):
    """Remember which notebooks nbval executes in this run (for the summary)."""
    paths = {str(i.fspath) for i in session.items if type(i).__name__ == "IPyNbCell"}
    session.config.stash[EXECUTED] = sorted(paths)


def pytest_terminal_summary(terminalreporter):
    """Say how many notebook cells of each kind nbval checked, and how (when it ran)."""
    import nbformat

    from coursekit.notebooks import ignore_report

    paths = terminalreporter.config.stash.get(EXECUTED, [])
    if not paths:
        return
    nbs = [nbformat.read(p, as_version=4) for p in paths]
    compared = sum(ignore_report(nb)[0] for nb in nbs)
    k = kind_counts(nbs)
    printing = kind_counts(nbs, with_output=True)
    share = printing["exact"] / max(sum(printing[x] for x in ("exact", NUMERIC, PROVENANCE_TAG)),
                                    1)
    terminalreporter.write_line(
        f"nbval: {len(nbs)} notebooks, {compared} code cells compared: {k['exact']} exact "
        f"({share:.1%} of the compared cells that print), {k[NUMERIC]} numeric ({TOLERANCE}), "
        f"{k[PROVENANCE_TAG]} provenance lines (pattern); not compared: {k[CHAOTIC]} chaotic "
        f"(checked by their asserts), {k[IGNORED]} timing/progress (nondeterministic-* tag); "
        "the other editions' stored outputs are checked against these (tests/test_editions.py)")
