"use strict";
// KaTeX worker: one process per build. Reads JSON lines {id, tex, display, macros} on stdin,
// writes one JSON line per request: {id, html, warnings} or {id, error}.
const path = require("path");
const readline = require("readline");

const katex = require(path.resolve(process.argv[2] || "node_modules/katex"));

function reply(message) {
  process.stdout.write(JSON.stringify(message) + "\n");
}

readline.createInterface({ input: process.stdin, crlfDelay: Infinity }).on("line", (line) => {
  if (!line.trim()) return;
  let request;
  try {
    request = JSON.parse(line);
  } catch (err) {
    reply({ id: null, error: "bad request line: " + err.message });
    return;
  }
  const warnings = [];
  try {
    const html = katex.renderToString(request.tex, {
      displayMode: Boolean(request.display),
      throwOnError: true,
      output: "htmlAndMathml", // MathML for screen readers, HTML for the eye
      macros: Object.assign({}, request.macros || {}), // a copy: \gdef must not leak between formulas
      strict: (code, message) => {
        warnings.push(message);
        return "ignore";
      },
      trust: false,
    });
    reply({ id: request.id, html, warnings });
  } catch (err) {
    reply({ id: request.id, error: String((err && err.message) || err) });
  }
});
