"""Helpers for the browser tests of issue 14a: both editions, phones, geometry, axe-core."""

from __future__ import annotations

from pathlib import Path

from checkout import COURSE, ROOT

PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}
TABLET = {"viewport": {"width": 820, "height": 1180}, "has_touch": True, "is_mobile": True}
DESKTOP = {"viewport": {"width": 1366, "height": 900}}
WIDGET_PAGES = ("ch02_builtin_layers", "ch04_initialisation")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"  # a dev dependency, never in the site


def page_names() -> list[str]:
    """Every page of an edition: the toc's pages plus the generated search and index pages."""
    return [*COURSE.toc_files(), "search", "genindex"]


def edition_keys() -> list[str]:
    """The editions' keys, English first."""
    return [ed.key for ed in COURSE.editions()]


def open_page(context, url: str):
    """Load a page and wait until its widgets and math have rendered."""
    page = context.new_page()
    page.goto(url, wait_until="networkidle")
    where = page.evaluate("window.scrollY")  # the fragment's section, or the top
    views = page.locator("script[type='application/vnd.jupyter.widget-view+json']")
    if views.count():  # the widget manager loads when a widget comes near (slim.py): go there
        views.first.evaluate("s => s.parentElement.scrollIntoView({block: 'center'})")
    page.wait_for_function("""() => [...document.querySelectorAll(
        "script[type='application/vnd.jupyter.widget-view+json']")]
        .every(s => s.parentElement.querySelector(".jupyter-widgets"))""", timeout=20_000)
    if page.locator(".course-explorer").count():
        page.wait_for_selector(".course-explorer img", timeout=20_000)
    if page.locator(".math").count():
        page.wait_for_selector("mjx-container", timeout=20_000)
    page.evaluate("y => window.scrollTo({top: y, behavior: 'instant'})", where)
    return page


# Elements sticking out of the viewport, unless a horizontally scrolling or clipping box (a code
# block, a wide table) holds them inside the screen, or they are visually hidden for screen
# readers (MathJax's assistive MathML).
OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth, out = [];
  const clipped = (el) => {
    for (let p = el.parentElement; p; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (s.clip !== "auto" && s.position === "absolute") return true;  // visually hidden
      if (["auto", "scroll", "hidden", "clip"].includes(s.overflowX)) {
        const r = p.getBoundingClientRect();
        if (r.left >= -1 && r.right <= width + 1) return true;  // a box on screen clips it
      }
    }
    return false;
  };
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    if (!r.width || !r.height || s.visibility === "hidden") continue;
    if ((r.right > width + 1 || r.left < -1) && !clipped(el)) {
      const name = (el.className && el.className.baseVal !== undefined) ? el.className.baseVal
        : el.className;
      out.push(`${el.tagName.toLowerCase()}.${String(name).trim().replace(/\\s+/g, ".")}`
        + ` [${Math.round(r.left)}, ${Math.round(r.right)}]`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, sticking: out};
}"""


def overflow(page) -> dict:
    """The page's scroll width, the viewport width and what sticks out sideways."""
    return page.evaluate(OVERFLOW_JS)


def axe_violations(page, impacts=("serious", "critical")) -> list[str]:
    """axe-core's violations of the given impacts on the page, one line per offending element."""
    page.add_script_tag(path=str(Path(AXE)))
    found = page.evaluate("""async () => {
      const r = await axe.run(document, {resultTypes: ["violations"]});
      return r.violations.map(v => ({id: v.id, impact: v.impact,
        nodes: v.nodes.map(n => n.target.join(" "))}));
    }""")
    return [f"{v['id']} ({v['impact']}): {target}"
            for v in found if v["impact"] in impacts for target in v["nodes"]]
