// The brake explorable: the expected vanilla-PG gradient with respect to the logit on the
// binary bandit, as a curve over the logit, for the reward of the wrong action r, the share
// eps of random actions and an optional baseline c. The formula is experiments/brake.py's
// (definitions there); tests/test_explore_brake.py runs this file in Node against it.
(function () {
  "use strict";

  function sigmoid(x) {
    if (x >= 0) return 1 / (1 + Math.exp(-x));
    var z = Math.exp(x);
    return z / (1 + z);
  }

  function expectedGradient(x, r, eps, baseline) {
    var c = baseline || 0, s = sigmoid(x);
    var b1 = (1 - eps) * s + eps / 2, b0 = (1 - eps) * (1 - s) + eps / 2;
    return b1 * (1 - c) * (s - 1) + b0 * (r - c) * s;
  }

  function logit(s) { return Math.log(s) - Math.log1p(-s); }

  // Finite logits where the expected gradient vanishes: {kind, zeros: [{x, kind}]}, kind
  // "bottom" (negative to positive: gradient descent rests there), "top", "none" or
  // "everywhere". The same quadratic in sigma(x) as experiments/brake.py.
  function gradientZeros(r, eps, baseline) {
    var c = baseline || 0, k = 1 - eps, e = eps / 2, A = 1 - c, B = r - c;
    var quad = k * (A - B), lin = k * (B - A) + e * (A + B), cst = -A * e;
    var scale = Math.max(Math.abs(quad), Math.abs(lin), Math.abs(cst));
    if (scale === 0) return { kind: "everywhere", zeros: [] };
    // g = B s (k (1 - s) + e) or -A (1 - s) (k s + e): no zero at a finite logit
    if (A === 0 || B === 0) return { kind: "none", zeros: [] };
    var tol = 1e-12 * scale, roots = [];
    if (Math.abs(quad) <= tol) {
      if (Math.abs(lin) > tol) roots = [-cst / lin];
    } else {
      var disc = lin * lin - 4 * quad * cst;
      if (disc >= 0) {
        var sign = lin < 0 || Object.is(lin, -0) ? -1 : 1;
        var q = -0.5 * (lin + sign * Math.sqrt(disc));
        roots = [q / quad];
        if (q !== 0) roots.push(cst / q);
      }
    }
    roots = roots.filter(function (s, i) { return roots.indexOf(s) === i; })
      .sort(function (a, b) { return a - b; });
    var zeros = [];
    roots.forEach(function (s) {
      if (!(s > 0 && s < 1)) return;
      var slope = 2 * quad * s + lin;
      if (Math.abs(slope) <= tol) return;
      zeros.push({ x: logit(s), kind: slope > 0 ? "bottom" : "top" });
    });
    return { kind: zeros.length ? zeros[0].kind : "none", zeros: zeros };
  }

  var math = { sigmoid: sigmoid, expectedGradient: expectedGradient,
               gradientZeros: gradientZeros };
  if (typeof module === "object" && module.exports) {
    module.exports = math;
    return;
  }

  // -- the figure in the page ------------------------------------------------------------------
  var X_MIN = -8, X_MAX = 8, N = 161;

  function fmt(v, digits) {
    if (Math.abs(v) < 5e-13) return "0";
    var text = Math.abs(v) >= 1e-3 ? v.toFixed(digits === undefined ? 3 : digits)
                                    : v.toExponential(2);
    return text.replace("-", "\u2212");
  }

  function slider(parent, id, text, min, max, step, value) {
    var row = document.createElement("div");
    row.className = "explorable-control";
    var label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = text;
    var input = document.createElement("input");
    Object.assign(input, { type: "range", id: id, min: min, max: max, step: step, value: value });
    var out = document.createElement("output");
    out.htmlFor = id;
    out.id = id + "-value";
    row.appendChild(label);
    row.appendChild(input);
    row.appendChild(out);
    parent.appendChild(row);
    return { input: input, out: out };
  }

  // In words: where the expected gradient vanishes, or why it never does.
  function describe(r, eps, c, zeros) {
    if (zeros.kind === "everywhere") {
      return "Both actions earn exactly the baseline, so every gradient is zero.";
    }
    var parts = zeros.zeros.map(function (z) {
      var where = z.x < X_MIN || z.x > X_MAX ? " (outside the plotted range)" : "";
      return z.kind === "bottom"
        ? "The bottom is at x = " + fmt(z.x, 2) + where + ": below it the expected gradient " +
          "is negative, above it positive, so gradient descent moves the logit there and stops."
        : "The expected gradient changes sign from positive to negative at x = " + fmt(z.x, 2) +
          where + ": gradient descent moves the logit away from there.";
    });
    if (!zeros.zeros.length) {
      // one sign everywhere: descent moves x against it, towards the end it never reaches
      var negative = expectedGradient(0, r, eps, c) < 0;
      var limit = negative ? (eps / 2) * (r - c) : -(eps / 2) * (1 - c);  // g at that end
      var towards = negative ? "+\u221e" : "\u2212\u221e";
      parts.push("There is no bottom: the expected gradient is " +
        (negative ? "negative" : "positive") + " at every logit, so gradient descent pushes " +
        "the logit " + (negative ? "up" : "down") + " for ever.");
      parts.push(Math.abs(limit) < 5e-13
        ? "It fades to 0 as x \u2192 " + towards + ", so the push slows down."
        : "As x \u2192 " + towards + " it tends to " + fmt(limit) + " and never fades: no brake.");
    }
    return parts.join(" ");
  }

  function init(element, data, kit) {
    var body = element.querySelector(".explorable-body");
    var controls = document.createElement("div");
    controls.className = "explorable-controls";
    body.appendChild(controls);
    var uid = element.id;
    var r = slider(controls, uid + "-r", "Reward of the wrong action, r", -1, 1, 0.05, -1);
    var eps = slider(controls, uid + "-eps", "Share of random actions, \u03b5", 0, 1, 0.01, 1);
    var toggle = document.createElement("div");
    toggle.className = "explorable-control";
    var check = document.createElement("input");
    Object.assign(check, { type: "checkbox", id: uid + "-use-c" });
    var checkLabel = document.createElement("label");
    checkLabel.htmlFor = check.id;
    checkLabel.textContent = " Subtract a baseline c";
    toggle.appendChild(check);
    toggle.appendChild(checkLabel);
    controls.appendChild(toggle);
    var c = slider(controls, uid + "-c", "Baseline, c", -1, 1, 0.05, 0);
    c.input.disabled = true;

    var box = document.createElement("div");
    box.className = "chart-2d";
    body.appendChild(box);
    var text = document.createElement("p");
    text.className = "explorable-readout";
    text.setAttribute("aria-live", "polite");
    body.appendChild(text);

    function values() {
      return { r: Number(r.input.value), eps: Number(eps.input.value),
               c: check.checked ? Number(c.input.value) : 0 };
    }
    function figure(v, zeros) {
      var xs = [], ys = [];
      for (var i = 0; i < N; i++) {
        var x = X_MIN + (X_MAX - X_MIN) * i / (N - 1);
        xs.push(x);
        ys.push(expectedGradient(x, v.r, v.eps, v.c));
      }
      var traces = [{ type: "scatter", mode: "lines", x: xs, y: ys, name: "E[\u2202L/\u2202x]",
                      line: { color: "#0072B2", width: 2.5 },
                      hovertemplate: "x %{x:.2f}<br>E[\u2202L/\u2202x] %{y:.3g}" },
                    { type: "scatter", mode: "lines", x: [X_MIN, X_MAX], y: [0, 0], name: "zero",
                      line: { color: "#999999", width: 1, dash: "dot" }, showlegend: false,
                      hoverinfo: "skip" }];
      var shown = zeros.zeros.filter(function (z) { return z.x >= X_MIN && z.x <= X_MAX; });
      if (shown.length) {
        traces.push({ type: "scatter", mode: "markers+text", name: "where it vanishes",
                      x: shown.map(function (z) { return z.x; }),
                      y: shown.map(function () { return 0; }),
                      text: shown.map(function (z) { return z.kind === "bottom" ? "bottom" : "top"; }),
                      textposition: "top center",
                      marker: { symbol: "circle", size: 9, color: "#D55E00" },
                      hovertemplate: "%{text} at x %{x:.2f}" });
      }
      // the range always holds 0 and leaves a margin, so a flat curve is not drawn on an edge
      var lo = Math.min(0, Math.min.apply(null, ys)), hi = Math.max(0, Math.max.apply(null, ys));
      var pad = Math.max(hi - lo, 0.02) * 0.1;
      return { data: traces, layout: {
        margin: { l: 60, r: 20, t: 20, b: 50 }, showlegend: false,
        xaxis: { title: { text: "logit x" }, range: [X_MIN, X_MAX] },
        yaxis: { title: { text: "expected \u2202L/\u2202x" }, range: [lo - pad, hi + pad] } } };
    }
    function draw() {
      var v = values(), zeros = gradientZeros(v.r, v.eps, v.c);
      r.out.value = fmt(v.r, 2);
      eps.out.value = fmt(v.eps, 2);
      c.out.value = check.checked ? fmt(v.c, 2) : "off";
      c.input.disabled = !check.checked;
      element.setAttribute("data-kind", zeros.kind);
      element.setAttribute("data-zeros", JSON.stringify(zeros.zeros.map(function (z) {
        return z.x; })));
      window.onpolicyChart2d.draw(box, figure(v, zeros), kit.look(box),
                                  "Expected gradient with respect to the logit");
      text.textContent = "With r = " + fmt(v.r, 2) + ", \u03b5 = " + fmt(v.eps, 2) +
        (check.checked ? ", c = " + fmt(v.c, 2) : "") + ": the expected gradient is " +
        fmt(expectedGradient(X_MIN, v.r, v.eps, v.c)) + " at x = \u22128, " +
        fmt(expectedGradient(0, v.r, v.eps, v.c)) + " at x = 0 and " +
        fmt(expectedGradient(X_MAX, v.r, v.eps, v.c)) + " at x = 8. " +
        describe(v.r, v.eps, v.c, zeros);
    }
    // at once, not in the next frame's draw: a keystroke right after the tick must reach c
    check.addEventListener("change", function () { c.input.disabled = !check.checked; });
    kit.redrawOn([r.input, eps.input, c.input, check], draw);
  }

  window.onpolicyExplorables.register("brake", init);
})();
