"""Command line: python -m coursekit {assets,build,serve,execute,check,test,bench,exercises,
grade,grade-merge,matrix,platforms,drift,run-all}."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from coursekit.errors import CourseError, UsageError
from coursekit.project import LANGUAGES, Course


def cmd_assets(args) -> int:
    """Copy widget JS and MathJax into the site."""
    from coursekit.assets import copy_assets

    copy_assets(args.course)
    return 0


def cmd_build(args) -> int:
    """Build both editions into _build/html."""
    from coursekit.build import build_site

    out = Path(args.out) if args.out else args.course.site
    root = build_site(args.course, out, fresh=args.fresh)
    print(f"\nSite built: {root}\nOpen it with `make serve` (http://127.0.0.1:8000/), "
          f"or serve {out} with any static web server.")
    return 0


def cmd_serve(args) -> int:
    """Serve the built site on localhost."""
    from coursekit.serve import serve_forever

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port} is not a port: use 1024-65535, e.g. --port 8001")
    serve_forever(args.course.site, port=args.port)
    return 0


def cmd_execute(args) -> int:
    """Fix Colab links, then execute every page whose notebook is out of date."""
    from coursekit import notebooks

    course = args.course
    eds = [course.edition(args.edition)] if args.edition else course.editions()
    pages = [course.page(p) for p in args.pages] or course.toc_files()
    for ed in eds:
        for page in pages:
            notebooks.fix_colab_links(ed, page)
            why = notebooks.out_of_sync(ed, page)
            if why and not args.force and notebooks.carry_outputs(ed, page):
                print(f"updated {ed.key}/{page}: prose only, outputs kept", flush=True)
                continue
            if why or args.force:
                print(f"executing {ed.key}/{page} ({why or 'forced'}) ...", flush=True)
                notebooks.execute(ed, page)
    from coursekit.grading import write_exercises

    solutions = sorted(course.solutions.glob("*/*.md"))
    if any([notebooks.fix_links_in(course, p) for p in solutions]):
        print("assignment Colab links changed: regenerating exercises/", flush=True)
        write_exercises(course)
    return 0


def cmd_check(args) -> int:
    """Fast checks: toc, twins, sync, parity, Colab links."""
    from coursekit import notebooks

    course = args.course
    course.check_pages()
    notebooks.check_sync(course)
    notebooks.check_parity(course)
    problems = [p for ed in course.editions() for page in course.chapter_files()
                for p in notebooks.colab_link_problems(ed, page)]
    if problems:
        raise CourseError("Colab links (run `make notebooks`):\n  - " + "\n  - ".join(problems))
    print("check: toc, twins, notebook sync, code parity and Colab links are all consistent.")
    return 0


CHECK_KINDS = "unit or content or lint"  # `make check`: no kernel, no browser, no site build


def cmd_test(args) -> int:
    """Run every test (pytest: unit, nbval, build, browser, ruff); --check: the quick ones.

    Without pytest arguments the two independent stages, nbval over notebooks/ and the tests in
    tests/, run at the same time in two processes (one core each), nbval's report after."""
    import pytest

    root = args.course.root
    here = ["--rootdir", str(root), "-c", str(root / "pyproject.toml")]
    if args.check or args.pytest_args or args.serial:
        extra = ["-q", "-m", CHECK_KINDS] if args.check else []
        return int(pytest.main([*extra, *here, *args.pytest_args]))
    return run_stages(root, here)


def run_stages(root: Path, here: list[str]) -> int:
    """pytest on notebooks/ (its output kept until the end) beside pytest on tests/; the worse
    exit code."""
    import subprocess
    import tempfile

    pytest_cmd = [sys.executable, "-m", "pytest", *here]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
        nbval = subprocess.Popen([*pytest_cmd, "-o", "cache_dir=_build/pytest-cache/nbval",
                                  "notebooks"], cwd=root, stdout=log, stderr=subprocess.STDOUT)
        try:
            tests = subprocess.run([*pytest_cmd, "tests"], cwd=root).returncode
        finally:
            nbval_code = nbval.wait()
        log.seek(0)
        print(f"\n==== nbval (notebooks/, run alongside) ====\n{log.read()}", flush=True)
    return max(tests, nbval_code)


def cmd_bench(args) -> int:
    """Print timings and page weights."""
    from coursekit.bench import run_bench, run_weights

    if args.weights:
        return run_weights(args.course, Path(args.weights))
    run_bench(args.course, full=not args.quick, only_tests=args.tests)
    return 0


def cmd_exercises(args) -> int:
    """Regenerate the student notebooks in exercises/ from solutions/ (nbgrader)."""
    from coursekit.grading import write_exercises

    for path in write_exercises(args.course):
        print(f"wrote {path}")
    return 0


def cmd_grade(args) -> int:
    """Grade a folder of submitted notebooks into a CSV and per-student feedback."""
    from coursekit.grading import grade_folder
    from coursekit.grading.kernels import sandbox_works

    settings = grading_settings(args)
    if settings.sandbox and not sandbox_works(settings):
        print("coursekit grade: no sandbox here (Landlock needs Linux 5.13 or later with it "
              "enabled): kernels can read every file this user can, so keep the instructor "
              "sources elsewhere (--source) and read the `review` column", file=sys.stderr)
    results = grade_folder(Path(args.submissions), Path(args.out), settings, args.shard)
    graded = sum(r.status == "graded" for r in results)
    print(f"graded {graded} of {len(results)} files; grades: {Path(args.out) / 'grades.csv'}, "
          f"feedback: {Path(args.out) / 'feedback'}/, class report: "
          f"{Path(args.out) / 'report.html'}, for an LMS: {Path(args.out) / 'lms.csv'}")
    for r in results:
        if r.status != "graded":
            print(f"  {r.file}: {r.message}")
    flagged = [r for r in results if r.review]
    if flagged:
        print(f"{len(flagged)} to read by hand (the `review` column says why):")
        for r in flagged:
            print(f"  {r.file}: {r.review}")
    broken = [r for r in results if r.message.startswith("the grader failed")]
    if broken:
        print(f"coursekit grade: the grader itself failed on {len(broken)} of {len(results)} files "
              "(listed above; not the students' fault): grade them again", file=sys.stderr)
        return 1
    return 0


def grading_settings(args):
    """Settings of a grading run from the command line."""
    from coursekit.grading import Settings

    if args.jobs < 0:
        raise UsageError(f"--jobs {args.jobs}: use 0 (one per core) or a positive count")
    if args.cell_timeout < 1:
        raise UsageError(f"--cell-timeout {args.cell_timeout}: use 1 (second) or more")
    source = Path(args.source) if args.source else args.course.solutions
    if not source.is_dir():
        raise CourseError(f"--source {source} is not a folder of instructor sources "
                          "(one folder per assignment holding en.md and zh.md)")
    return Settings(source=source.resolve(), exercises=args.course.exercises,
                    cell_timeout=args.cell_timeout, jobs=args.jobs, zygote=not args.no_zygote,
                    sandbox=not args.no_sandbox, assignment=args.assignment)


def cmd_grade_merge(args) -> int:
    """Merge the grades CSVs of several shards into one."""
    from coursekit.grading import merge_csvs

    source = Path(args.source) if args.source else args.course.solutions
    rows = merge_csvs([Path(p) for p in args.parts], Path(args.out), source)
    out = Path(args.out)
    print(f"merged {rows} rows into {out}; class report: {out.parent / 'report.html'}, "
          f"for an LMS: {out.parent / 'lms.csv'}")
    return 0


def notebook_paths(course, edition: str | None, chapters_only: bool = False) -> list:
    """The executed notebooks of one edition (or all), in toc order."""
    from coursekit.notebooks import notebook_path

    eds = [course.edition(edition)] if edition else course.editions()
    pages = course.chapter_files() if chapters_only else course.toc_files()
    return [notebook_path(ed, p) for ed in eds for p in pages]


def cmd_matrix(args) -> int:
    """Run nbval with native and AVX2 CPU kernels and 1, 2 and 4 threads; print a table."""
    from coursekit.portability import matrix_table, run_matrix

    rows = run_matrix(args.course.root, notebook_paths(args.course, args.edition))
    print(matrix_table(rows))
    return int(any(r.failed for r in rows))


def cmd_platforms(args) -> int:
    """Check that the lock and torch resolve for every supported platform and Python."""
    from coursekit.portability import check_platforms, resolution_table

    rows = check_platforms(args.course.root)
    print(resolution_table(rows))
    return int(any(r.problem for r in rows))


def cmd_drift(args) -> int:
    """Run every chapter on the newest torch and Colab's packages, comparing nothing."""
    from coursekit.portability import run_drift

    return run_drift(args.course.root,
                     notebook_paths(args.course, args.edition, chapters_only=True))


def cmd_run_all(args) -> int:
    """Run every chapter with this environment's torch (CUDA if present), comparing nothing."""
    from coursekit import runall

    paths = notebook_paths(args.course, args.edition, chapters_only=True)
    return runall.main([str(p) for p in paths])


def parser() -> argparse.ArgumentParser:
    """The argument parser."""
    p = argparse.ArgumentParser(prog="coursekit", description=__doc__)
    p.add_argument("--root", help="the course checkout to work on (default: the one holding the "
                   "current folder)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("assets", help=cmd_assets.__doc__).set_defaults(func=cmd_assets)
    b = sub.add_parser("build", help=cmd_build.__doc__)
    b.add_argument("--fresh", action="store_true", help="ignore Sphinx's cache")
    b.add_argument("--out", help="build into this folder instead of _build/html")
    b.set_defaults(func=cmd_build)
    s = sub.add_parser("serve", help=cmd_serve.__doc__)
    s.add_argument("--port", type=int, default=8000)
    s.set_defaults(func=cmd_serve)
    e = sub.add_parser("execute", help=cmd_execute.__doc__)
    e.add_argument("pages", nargs="*", help="page names (default: all)")
    e.add_argument("--force", action="store_true", help="execute even if in sync")
    e.add_argument("--edition", help="only this edition (en, zh)")
    e.set_defaults(func=cmd_execute)
    sub.add_parser("check", help=cmd_check.__doc__).set_defaults(func=cmd_check)
    t = sub.add_parser("test", help=cmd_test.__doc__)
    t.add_argument("--check", action="store_true",
                   help=f"only the quick tests (-m '{CHECK_KINDS}')")
    t.add_argument("--serial", action="store_true",
                   help="one pytest process for everything (default: nbval beside the rest)")
    t.add_argument("pytest_args", nargs=argparse.REMAINDER)
    t.set_defaults(func=cmd_test)
    k = sub.add_parser("bench", help=cmd_bench.__doc__)
    k.add_argument("--quick", action="store_true", help="skip timing the whole test suite")
    k.add_argument("--tests", action="store_true",
                   help="only the floor, `make check` and `make test` times")
    k.add_argument("--weights", metavar="SITE", help="only the page weights of a built site "
                   "(e.g. _build/html); exits 1 on a page over budget")
    k.set_defaults(func=cmd_bench)
    sub.add_parser("exercises", help=cmd_exercises.__doc__).set_defaults(func=cmd_exercises)
    g = sub.add_parser("grade", help=cmd_grade.__doc__)
    g.add_argument("submissions", help="folder with one notebook per student")
    g.add_argument("--out", default="grades", help="output folder (default: grades/)")
    g.add_argument("--jobs", type=int, default=0, help="parallel workers (default: all cores)")
    g.add_argument("--shard", help="grade only shard i of n, e.g. 2/4")
    g.add_argument("--source", help="instructor sources (default: solutions/); for credit, "
                   "a private copy kept out of the public repository")
    g.add_argument("--assignment", help="the assignment this folder holds; other notebooks are "
                   "not graded and say so")
    g.add_argument("--cell-timeout", type=int, default=30, help="seconds per cell (default 30)")
    g.add_argument("--no-zygote", action="store_true", help="start every kernel from scratch")
    g.add_argument("--no-sandbox", action="store_true",
                   help="let kernels read any file (only for debugging the grader)")
    g.set_defaults(func=cmd_grade)
    m = sub.add_parser("grade-merge", help=cmd_grade_merge.__doc__)
    m.add_argument("out", help="merged CSV to write")
    m.add_argument("parts", nargs="+", help="the shards' grades.csv files")
    m.add_argument("--source", help="instructor sources used for grading (default: solutions/)")
    m.set_defaults(func=cmd_grade_merge)
    for name, func, default in (("matrix", cmd_matrix, None), ("platforms", cmd_platforms, None),
                                ("drift", cmd_drift, LANGUAGES[0]), ("run-all", cmd_run_all, None)):
        c = sub.add_parser(name, help=func.__doc__)
        if name != "platforms":
            c.add_argument("--edition", default=default, help="only this edition (en, zh)")
        c.set_defaults(func=func)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point: builds the Course once; a CourseError becomes one clear message and exit
    code 2."""
    p = parser()
    args, unknown = p.parse_known_args(argv)
    if unknown and args.command != "test":
        p.error(f"unrecognized arguments: {' '.join(unknown)}")
    if unknown:
        args.pytest_args = [*unknown, *args.pytest_args]  # pytest options: coursekit test -x
    try:
        args.course = Course.at(Path(args.root) if args.root else Path.cwd())
        return args.func(args)
    except CourseError as exc:
        print(f"coursekit {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
