// Render TeX to SVG markup at build time, so that pages ship no MathJax JavaScript.
// Reads a JSON list of pages, each a list of {tex, display}, from stdin; writes
// {css, pages: [{svgs: [markup, ...], cache: markup}, ...]} to stdout. Glyph shapes are defined
// once per page (cache: a hidden <svg> of <defs>) and each formula refers to them.
// Run by coursekit/slim.py with NODE_PATH pointing at the project's node_modules.
"use strict";
const chunks = [];
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", () => {
  const pages = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  require("mathjax").init({
    loader: { load: ["input/tex", "output/svg", "a11y/assistive-mml"] },
    tex: { packages: { "[+]": ["ams", "noerrors"] } },
    svg: { fontCache: "global" },
    startup: { typeset: false },
  }).then((MathJax) => {
    const adaptor = MathJax.startup.adaptor;
    const output = MathJax.startup.output;
    const result = pages.map((items) => {
      output.clearFontCache();
      const svgs = items.map((item) =>
        adaptor.outerHTML(MathJax.tex2svg(item.tex, { display: item.display })));
      const cache = output.svg("svg", { id: "MJX-SVG-global-cache", style: { display: "none" } },
        [output.fontCache.getCache()]);
      return { svgs, cache: adaptor.outerHTML(cache) };
    });
    const css = adaptor.textContent(MathJax.svgStylesheet());
    process.stdout.write(JSON.stringify({ css, pages: result }));
  }).catch((err) => {
    process.stderr.write(String((err && err.stack) || err) + "\n");
    process.exit(1);
  });
});
