// The chart contract: the number formats, line dashes and marker symbols the page's 2D charts
// draw. One source for both sides: chart-2d.js and chart-layout.js read it here, and the build
// (onpolicy/render/chart_support.py) parses the JSON object below, failing a figure that uses
// anything else. Keep it plain JSON (double quotes, no comments inside the braces).
window.onpolicyChartContract = {
  "formats": "^(,)?(?:\\.(\\d+))?([%fge])?$",
  "dashes": {"solid": [], "dot": [2, 3], "dash": [7, 4], "longdash": [13, 5],
             "dashdot": [7, 3, 2, 3], "longdashdot": [13, 4, 2, 4]},
  "dash_lengths": "^\\d+(?:\\.\\d+)?px(?:,\\s*\\d+(?:\\.\\d+)?px)*$",
  "symbols": {"circle": "circle", "circle-open": "circle", "x": "crossRot",
              "x-thin": "crossRot", "cross": "cross", "square": "rect"}
};
