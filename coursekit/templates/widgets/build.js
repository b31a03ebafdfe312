// Bundle the course's widget manager (entry.js) with esbuild into one minified script, the
// controls' CSS inlined as text. Usage: node build.js NODE_MODULES OUT_FILE
"use strict";
const path = require("path");

const [nodeModules, outFile] = process.argv.slice(2);
const esbuild = require(path.join(nodeModules, "esbuild"));
const CSS = {
  "widgets-base": ["@lumino/widgets/style/index.css", "@jupyter-widgets/controls/css/widgets-base.css"],
  labvariables: ["@jupyter-widgets/controls/css/labvariables.css"],
};

/** One stylesheet, its @imports resolved, minified. */
async function bundledCss(files) {
  const contents = files.map((f) => `@import "${f}";`).join("\n");
  const out = await esbuild.build({
    stdin: { contents, loader: "css", resolveDir: nodeModules },
    bundle: true, minify: true, write: false, logLevel: "silent",
  });
  return out.outputFiles[0].text;
}

/** An esbuild plugin: `course-css:NAME` imports the bundled stylesheet NAME as a string. */
const cssText = {
  name: "course-css",
  setup(build) {
    build.onResolve({ filter: /^course-css:/ }, (args) => ({ path: args.path.slice(11), namespace: "course-css" }));
    build.onLoad({ filter: /.*/, namespace: "course-css" }, async (args) => ({
      contents: await bundledCss(CSS[args.path]), loader: "text",
    }));
  },
};

esbuild.build({
  entryPoints: [path.join(__dirname, "entry.js")],
  outfile: outFile,
  bundle: true, minify: true, format: "iife", target: "es2018",
  legalComments: "linked", logLevel: "error",
  nodePaths: [nodeModules],
  alias: { "sanitize-html": path.join(__dirname, "sanitize.js") },
  define: { "process.env.NODE_ENV": '"production"' },
  plugins: [cssText],
}).catch(() => process.exit(1));
