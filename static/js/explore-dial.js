// The dial explorable: a slider over the frozen eps values of the binary dial; for the chosen
// eps, each method's learning curves (greedy accuracy and largest |logit| over training steps,
// mean over seeds with 95% bands) from the dial results (data: site_src/article/
// explorable_data.py, "dial-curves"). Nothing is computed here but the text.
(function () {
  "use strict";

  function rgba(hex, alpha) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }

  function pct(v) { return v === null || v === undefined ? "\u2013" : (100 * v).toFixed(1) + "%"; }

  function big(v) {
    if (v === null || v === undefined) return "\u2013";
    if (v >= 1e4) return v.toExponential(1).replace("e+", " \u00d7 10^");
    return v >= 100 ? Math.round(v).toLocaleString("en") : v.toPrecision(3);
  }

  function last(values) {
    for (var i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
    return null;
  }

  function curves(data, index, metric, showLegend, yaxis) {
    var traces = [];
    data.methods.forEach(function (m) {
      var run = m.runs[index], stat = run[metric];
      traces.push({ type: "scatter", mode: "lines", x: data.steps, y: stat.lo, name: m.label +
                    " (95% CI low)", legendgroup: m.key, showlegend: false, hoverinfo: "skip",
                    line: { width: 0 }, meta: { role: "band" } });
      traces.push({ type: "scatter", mode: "lines", x: data.steps, y: stat.hi, name: m.label +
                    " (95% CI high)", legendgroup: m.key, showlegend: false, hoverinfo: "skip",
                    line: { width: 0 }, fill: "tonexty", fillcolor: rgba(m.colour, 0.18),
                    meta: { role: "band" } });
      traces.push({ type: "scatter", mode: "lines", x: data.steps, y: stat.mean, name: m.label,
                    legendgroup: m.key, line: { color: m.colour, width: 2, dash: m.dash },
                    hovertemplate: "step %{x}: %{y" + (metric === "accuracy" ? ":.1%" : ":.3g") +
                                   "}<extra>" + m.label + "</extra>" });
    });
    if (metric === "logit_abs_max") {
      traces.push({ type: "scatter", mode: "lines", name: "failure threshold",
                    x: [data.steps[0], data.steps[data.steps.length - 1]],
                    y: [data.logit_fail, data.logit_fail],
                    line: { color: "#999999", width: 1, dash: "dot" },
                    hovertemplate: "failure threshold %{y:,}<extra></extra>" });
    }
    return { data: traces, layout: { margin: { l: 60, r: 20, t: 20, b: 50 },
                                     showlegend: showLegend,
                                     legend: { orientation: "h", yanchor: "top", y: -0.18, x: 0 },
                                     xaxis: { title: { text: "training step" } }, yaxis: yaxis } };
  }

  function summary(data, index) {
    var eps = data.eps[index];
    var parts = data.methods.map(function (m) {
      var run = m.runs[index];
      var text = m.label + " ends at " + pct(last(run.accuracy.mean)) +
        " with a largest logit of " + big(last(run.logit_abs_max.mean));
      if (run.nonfinite) {
        text += "; " + run.nonfinite + " of " + run.n_seeds + " seeds went non-finite and " +
          "stopped";
      }
      var over = run.logit_abs_max.mean.some(function (v) { return v !== null && v > data.logit_fail; });
      if (over) text += " (past the failure threshold of " + big(data.logit_fail) + ")";
      return text;
    });
    return "At \u03b5 = " + eps + (eps === 0 ? " (on-policy)" : eps === 1 ? " (uniform actions)" : "") +
      ", after " + data.steps[data.steps.length - 1].toLocaleString("en") + " steps: " +
      parts.join("; ") + ".";
  }

  function init(element, data, kit) {
    var body = element.querySelector(".explorable-body");
    var controls = document.createElement("div");
    controls.className = "explorable-controls";
    var row = document.createElement("div");
    row.className = "explorable-control";
    var label = document.createElement("label");
    label.htmlFor = element.id + "-eps";
    label.textContent = "Share of random actions, \u03b5";
    var input = document.createElement("input");
    var start = data.eps.indexOf(0.02) >= 0 ? data.eps.indexOf(0.02) : 0;
    Object.assign(input, { type: "range", id: element.id + "-eps", min: 0,
                           max: data.eps.length - 1, step: 1, value: start });
    var out = document.createElement("output");
    out.htmlFor = input.id;
    row.appendChild(label);
    row.appendChild(input);
    row.appendChild(out);
    controls.appendChild(row);
    body.appendChild(controls);
    var boxes = [0, 1].map(function () {
      var box = document.createElement("div");
      box.className = "chart-2d";
      body.appendChild(box);
      return box;
    });
    var text = document.createElement("p");
    text.className = "explorable-readout";
    text.setAttribute("aria-live", "polite");
    body.appendChild(text);

    function draw() {
      var index = Number(input.value), eps = data.eps[index];
      out.value = String(eps);
      input.setAttribute("aria-valuetext", "\u03b5 = " + eps);
      element.setAttribute("data-eps", String(eps));
      var C2 = window.onpolicyChart2d;
      C2.draw(boxes[0], curves(data, index, "accuracy", true,
                               { title: { text: "greedy accuracy" }, tickformat: ".0%",
                                 range: [0, 1.02] }),
              kit.look(boxes[0]), "Greedy accuracy over training at \u03b5 = " + eps);
      C2.draw(boxes[1], curves(data, index, "logit_abs_max", false,
                               { title: { text: "largest |logit| (log scale)" }, type: "log" }),
              kit.look(boxes[1]), "Largest absolute logit over training at \u03b5 = " + eps);
      text.textContent = summary(data, index);
    }
    kit.redrawOn([input], draw);
  }

  window.onpolicyExplorables.register("dial", init);
})();
