// 2D charts with Chart.js, from the plotly figure JSON the build writes (the spec). Only the
// subset the build allows (onpolicy/render/chart_support.py) is translated: scatter traces
// (lines, markers, text labels, dashes, ✕ markers, 'tonexty' bands, stacked areas), linear, log
// and category axes, tick and hover formats, and a second panel on x2/y2 (figkit.zoom_panel),
// drawn as its own canvas under the first. The legend is HTML under the panels.
(function () {
  "use strict";
  var F = window.onpolicyChartFormat;   // chart-layout.js: number formats, hover templates
  var L = window.onpolicyChartLayout;   // chart-layout.js: panel heights
  var DASHES = window.onpolicyChartContract.dashes;    // chart-contract.js, also the build's
  var SYMBOLS = window.onpolicyChartContract.symbols;

  function dashOf(dash) {
    if (!dash) return [];
    if (DASHES[dash]) return DASHES[dash];
    return String(dash).split(",").map(function (d) { return parseFloat(d) || 0; });
  }

  function alpha(colour, opacity) {
    if (opacity == null || opacity >= 1 || !/^#[0-9a-f]{6}$/i.test(colour)) return colour;
    var n = parseInt(colour.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + opacity + ")";
  }

  // Stacked areas (plotly stackgroup): each trace's y on top of the ones before it.
  function stack(traces) {
    var sums = {};
    traces.forEach(function (t) {
      if (!t.stackgroup) return;
      var below = sums[t.stackgroup];
      t.stackedY = (t.y || []).map(function (v, i) {
        return (below && below[i] != null ? below[i] : 0) + (v == null ? 0 : v);
      });
      t.stackFill = below ? "-1" : "origin";
      sums[t.stackgroup] = t.stackedY;
    });
  }

  function dataset(trace, category, logY, look) {
    var mode = trace.mode || "lines", line = trace.line || {}, marker = trace.marker || {};
    if (isMarks(trace)) marker = Object.assign({}, marker, { color: look.fg });
    var colour = line.color || marker.color || "#0072B2";
    var lines = mode.indexOf("lines") >= 0, markers = mode.indexOf("markers") >= 0;
    var ys = trace.stackedY || trace.y || [];
    var size = marker.size == null ? 6 : marker.size;
    var open = /-open$/.test(marker.symbol || "");
    var fill = trace.stackFill || (trace.fill === "tonexty" ? "-1" :
               trace.fill === "tozeroy" ? "origin" : false);
    var radius = [].concat(size).reduce(function (a, b) { return Math.max(a, b / 2); }, 0);
    return {
      label: trace.name || "", trace: trace,
      data: (trace.x || []).map(function (x, i) {
        var y = ys[i] == null || (logY && ys[i] <= 0) ? null : ys[i];
        return { x: category ? String(x) : x, y: y };
      }),
      showLine: lines, spanGaps: false, tension: 0,
      borderColor: colour, borderWidth: lines ? (line.width == null ? 2 : line.width) : 0,
      borderDash: dashOf(line.dash),
      backgroundColor: trace.fillcolor || alpha(marker.color || colour, marker.opacity),
      fill: fill,
      pointRadius: !markers ? 0 : Array.isArray(size) ? size.map(function (s) { return s / 2; })
        : size / 2,
      pointHitRadius: 4, pointHoverRadius: markers ? undefined : 3,
      pointStyle: SYMBOLS[String(marker.symbol || "circle").replace(/-open$/, "")] || "circle",
      pointBackgroundColor: open ? "rgba(0,0,0,0)" : alpha(marker.color || colour, marker.opacity),
      pointBorderColor: (marker.line || {}).color || marker.color || colour,
      pointBorderWidth: (marker.line || {}).width == null ? 1 : marker.line.width,
      // markers on the plot's edge are drawn whole (lines stay clipped to the plot)
      clip: markers ? Math.ceil(radius) + 2 : 0,
      hidden: trace.visible === false || trace.visible === "legendonly"
    };
  }

  // A surface's marked points, drawn on its slices (chart-layout.js slicesFigure).
  function isMarks(trace) { return !!(trace.meta && trace.meta.role === "marks"); }

  function axisType(axis, traces, letter) {
    if (traces.some(function (t) { return (t[letter] || []).some(function (v) {
      return typeof v === "string"; }); })) return "category";
    return axis.type === "log" ? "logarithmic" : "linear";
  }

  function extent(traces, letter) {
    var values = [];
    traces.forEach(function (t) { (t[letter] || []).forEach(function (v) {
      if (typeof v === "number" && isFinite(v)) values.push(v); }); });
    return values.length ? [Math.min.apply(null, values), Math.max.apply(null, values)] : null;
  }

  function scale(axis, type, letter, traces, look, shared) {
    var title = F.axisTitle(axis);
    var lines = title ? [].concat(look.small ? F.wrap(String(title), Math.floor(look.width / 8))
                                              : String(title)) : "";
    var s = { type: type, offset: type === "category",
              title: { display: !!title, text: lines,
                       color: look.fg, font: { size: look.small ? 11 : 12 } },
              grid: { color: look.grid }, border: { color: look.muted },
              ticks: { color: look.fg, font: { size: look.small ? 10 : 11 }, maxRotation: 0,
                       includeBounds: false } };
    if (type === "category") {
      var labels = [];
      traces.forEach(function (t) { (t[letter] || []).forEach(function (v) {
        if (labels.indexOf(String(v)) < 0) labels.push(String(v)); }); });
      s.labels = labels;
      s.ticks.autoSkip = false;
      // words wrap to the room each label has; on a phone the labels stand upright instead
      // (chart-layout.js's panelHeights gives them the height)
      var chars = Math.max(8, Math.floor((look.width - 70) / labels.length / 6.5));
      if (look.small) s.ticks.minRotation = s.ticks.maxRotation = 90;
      s.ticks.callback = function (value) {
        var text = this.getLabelForValue(value);
        return look.small ? text : F.wrap(text, chars);
      };
      return s;
    }
    var range = axis.range;
    if (range && range.length === 2) {
      s.min = type === "logarithmic" ? Math.pow(10, range[0]) : range[0];
      s.max = type === "logarithmic" ? Math.pow(10, range[1]) : range[1];
    } else if (letter === "x") {
      // lines end at the plot's edges, as in plotly; markers get a little room to be whole
      var span = extent(traces, "x"), log = type === "logarithmic";
      var marks = extent(traces.filter(function (t) { return /markers/.test(t.mode || ""); }), "x");
      if (span && span[1] > span[0] && !(log && span[0] <= 0)) {
        var pad = 0.03 * (log ? Math.log10(span[1] / span[0]) : span[1] - span[0]);
        var lo = marks && marks[0] === span[0] ? pad : 0;
        var hi = marks && marks[1] === span[1] ? pad : 0;
        s.min = log ? span[0] / Math.pow(10, lo) : span[0] - lo;
        s.max = log ? span[1] * Math.pow(10, hi) : span[1] + hi;
      }
    }
    s.ticks.callback = F.tickFormatter(axis, type);
    if (Array.isArray(axis.tickvals) && axis.tickvals.length) {
      s.afterBuildTicks = F.fixedTicks(axis.tickvals);
    } else if (type === "logarithmic") s.afterBuildTicks = F.logTicks;
    if (letter === "y" && shared) {   // panels' plot areas line up: same y-axis width
      s.afterFit = function (sc) {
        shared.width = Math.max(shared.width || 0, sc.width);
        sc.width = shared.width;
      };
    }
    return s;
  }

  // Nearest visible point, not counting band edges or traces with hoverinfo "skip".
  function nearest(chart, event) {
    var pos = Chart.helpers.getRelativePosition(event, chart), best = [], bestD = Infinity;
    chart.data.datasets.forEach(function (ds, i) {
      var t = ds.trace;
      if (!chart.isDatasetVisible(i) || t.hoverinfo === "skip" || F.isBand(t)) return;
      chart.getDatasetMeta(i).data.forEach(function (el, j) {
        if (ds.data[j].y == null || el.skip) return;
        var d = Math.hypot(el.x - pos.x, el.y - pos.y);
        if (d < bestD - 0.5) { bestD = d; best = []; }
        if (d <= bestD + 0.5) best.push({ element: el, datasetIndex: i, index: j });
      });
    });
    return bestD < 60 ? best.slice(0, 1) : [];
  }

  // Text next to marked points ("markers+text" traces), kept inside the plot.
  var pointText = {
    id: "onpolicyPointText",
    afterDatasetsDraw: function (chart, args, options) {
      var ctx = chart.ctx;
      chart.data.datasets.forEach(function (ds, i) {
        var t = ds.trace;
        if (!t.text || (t.mode || "").indexOf("text") < 0 || !chart.isDatasetVisible(i)) return;
        ctx.save();
        ctx.fillStyle = options.color;
        ctx.font = "12px " + (options.font || "sans-serif");
        chart.getDatasetMeta(i).data.forEach(function (el, j) {
          var below = el.y - 22 < chart.chartArea.top;   // no room above: under the point
          ctx.textBaseline = below ? "top" : "bottom";
          var where = Array.isArray(t.textposition) ? t.textposition[j] : t.textposition || "";
          ctx.textAlign = /right/.test(where) ? "left" : /left/.test(where) ? "right" : "center";
          var dx = ctx.textAlign === "left" ? -4 : ctx.textAlign === "right" ? 4 : 0;
          ctx.fillText(String([].concat(t.text)[j] || ""), el.x + dx, below ? el.y + 7 : el.y - 7);
        });
        ctx.restore();
      });
    }
  };

  function options(layout, panel, look, shared) {
    var xKey = panel.x === "x" ? "xaxis" : "xaxis" + panel.x.slice(1);
    var yKey = panel.y === "y" ? "yaxis" : "yaxis" + panel.y.slice(1);
    var xAxis = layout[xKey] || {}, yAxis = layout[yKey] || {};
    if (xAxis.matches && layout[xAxis.matches.replace("x", "xaxis")]) {
      xAxis = Object.assign({}, layout[xAxis.matches.replace("x", "xaxis")], xAxis);
    }
    return {
      responsive: true, maintainAspectRatio: false, animation: false,
      color: look.fg, font: { family: look.font },
      layout: { padding: { top: 8, right: 12 } },
      interaction: { mode: "onpolicyNearest", intersect: false },
      scales: { x: scale(xAxis, axisType(xAxis, panel.traces, "x"), "x", panel.traces, look),
                y: scale(yAxis, axisType(yAxis, panel.traces, "y"), "y", panel.traces, look,
                         shared) },
      plugins: {
        legend: { display: false },
        onpolicyPointText: { color: look.fg, font: look.font },
        tooltip: {
          backgroundColor: look.bg, titleColor: look.fg, bodyColor: look.fg,
          borderColor: look.muted, borderWidth: 1, displayColors: true,
          callbacks: {
            title: function () { return ""; },
            label: function (item) { return F.hoverLines(item.dataset.trace, item.dataIndex); }
          }
        }
      }
    };
  }

  // Traces grouped by their axes; panels top to bottom (plotly y domain).
  function panels(figure) {
    var byKey = {}, list = [];
    figure.data.forEach(function (trace) {
      var key = (trace.xaxis || "x") + "/" + (trace.yaxis || "y");
      if (!byKey[key]) {
        byKey[key] = { x: trace.xaxis || "x", y: trace.yaxis || "y", traces: [] };
        list.push(byKey[key]);
      }
      byKey[key].traces.push(trace);
    });
    list.forEach(function (p) {
      var yAxis = figure.layout[p.y === "y" ? "yaxis" : "yaxis" + p.y.slice(1)] || {};
      p.domain = yAxis.domain || [0, 1];
      p.traces.forEach(function (t) { delete t.stackedY; });
      stack(p.traces);
    });
    return list.sort(function (a, b) { return b.domain[1] - a.domain[1]; });
  }

  function destroy(box) {
    (box.charts || []).forEach(function (chart) { chart.destroy(); });
    box.charts = [];
    while (box.firstChild) box.removeChild(box.firstChild);
  }

  // The panels' frames and the legend in box (emptied first), sized for look.width.
  function frame(box, figure, look) {
    destroy(box);
    var list = panels(figure), holder = document.createElement("div");
    holder.className = "chart-panels";
    box.appendChild(holder);
    var key = window.onpolicyChartLegend.legend(figure, box, dashOf);
    if (key) box.appendChild(key);
    var heights = L.panelHeights(list, figure.layout, look.width,
                                 key ? key.getBoundingClientRect().height : 0);
    var frames = list.map(function (panel, n) {
      var div = document.createElement("div");
      div.className = "chart-panel";
      div.style.height = heights[n] + "px";
      holder.appendChild(div);
      return div;
    });
    return { list: list, key: key, frames: frames };
  }

  // The height box will have once the figure is drawn in it (placeholders reserve it, so that
  // nothing below a chart moves when it is drawn); box is left empty.
  function measure(box, figure, look) {
    frame(box, figure, look);
    var height = box.getBoundingClientRect().height;
    destroy(box);
    return height;
  }

  // A linear y axis with a fixed range shrinks to the series left visible when the legend
  // hides some, and returns to the figure's range when all are shown again.
  function fitter(chart, axis) {
    var range = axis.range;
    if (!range || chart.options.scales.y.type !== "linear") return null;
    return function () {
      var scaleY = chart.options.scales.y;
      var all = true, lo = Infinity, hi = -Infinity;
      chart.data.datasets.forEach(function (ds, i) {
        if (!chart.isDatasetVisible(i)) { all = false; return; }
        if (ds.trace.stackgroup) return;
        ds.data.forEach(function (p) {
          if (p.y != null) { lo = Math.min(lo, p.y); hi = Math.max(hi, p.y); }
        });
      });
      if (all || !(hi >= lo)) {
        scaleY.min = range[0];
        scaleY.max = range[1];
        return;
      }
      var pad = Math.max(0.05 * (hi - lo), 0.005 * (Math.abs(hi) || 1));
      scaleY.min = Math.max(range[0], lo - pad);
      scaleY.max = Math.min(range[1], hi + pad);
    };
  }

  // Draws the figure into box (emptied first): one canvas per panel, then the legend; series
  // the reader had hidden stay hidden (a redraw follows a resize or a phone's rotation).
  // look: {fg, muted, grid, bg, font, width, small}; label: the chart's accessible name.
  function draw(box, figure, look, label) {
    var hidden = window.onpolicyChartLegend.hiddenNames(box);
    var built = frame(box, figure, look), key = built.key;
    var shared = built.list.length > 1 ? {} : null;
    box.charts = built.list.map(function (panel, n) {
      var canvas = document.createElement("canvas");
      canvas.setAttribute("role", "img");
      var yKey = panel.y === "y" ? "yaxis" : "yaxis" + panel.y.slice(1);
      var title = n ? F.axisTitle(figure.layout[yKey] || {}) : "";
      canvas.setAttribute("aria-label", label + (title ? " (" + title + ")" : ""));
      built.frames[n].appendChild(canvas);
      var opts = options(figure.layout, panel, look, shared);
      var category = opts.scales.x.type === "category";
      var logY = opts.scales.y.type === "logarithmic";
      var chart = new Chart(canvas, { type: "line", options: opts, data: {
        datasets: panel.traces.map(function (t) { return dataset(t, category, logY, look); }) } });
      if (!n) chart.$fit = fitter(chart, figure.layout[yKey] || {});
      return chart;
    });
    if (shared) box.charts.forEach(function (chart) { chart.update("none"); });
    if (key) window.onpolicyChartLegend.hideAgain(key, hidden);
    return box.charts;
  }

  // New colours for the page's theme, in place.
  function retheme(box, look) {
    (box.charts || []).forEach(function (chart) {
      var o = chart.options;
      o.color = look.fg;
      o.font.family = look.font;
      ["x", "y"].forEach(function (k) {
        var s = o.scales[k];
        s.ticks.color = look.fg;
        s.title.color = look.fg;
        s.grid.color = look.grid;
        s.border.color = look.muted;
      });
      Object.assign(o.plugins.tooltip, { backgroundColor: look.bg, titleColor: look.fg,
                                         bodyColor: look.fg, borderColor: look.muted });
      o.plugins.onpolicyPointText.color = look.fg;
      chart.data.datasets.forEach(function (ds) {
        if (isMarks(ds.trace)) ds.pointBorderColor = ds.borderColor = look.fg;
      });
      chart.update("none");
    });
  }

  if (window.Chart) {
    Chart.Interaction.modes.onpolicyNearest = nearest;
    Chart.register(pointText);
  }

  window.onpolicyChart2d = { draw: draw, measure: measure, retheme: retheme, destroy: destroy };
})();
