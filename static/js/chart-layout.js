// Layout and formats for the charts, decided at draw time for the width a chart has (used by
// chart-2d.js and charts.js): panel heights with the legend under them (never more than a third
// of the chart), number formats (the d3-format subset plotly figures use: ",", ".1%", ".3g",
// ".2f"), hover templates, log-axis ticks; a surface's slices (z against x at five values of y);
// the 3D scene's size, ticks and framing.
(function () {
  "use strict";
  var SLICE_COLOURS = ["#0072B2", "#56B4E9", "#7f7f7f", "#E69F00", "#D55E00"];
  var SLICE_DASHES = ["solid", "dash", "dot", "dashdot", "longdash"];
  // chart-contract.js: the formats the build lets figures use (chart_support.py reads it too)
  var FORMAT = new RegExp(window.onpolicyChartContract.formats);
  var SUPERSCRIPT = "⁰¹²³⁴⁵⁶⁷⁸⁹";

  function copy(value) { return JSON.parse(JSON.stringify(value)); }

  function plain(value) {
    if (Number.isInteger(value)) return value.toLocaleString("en-US");
    return String(+value.toPrecision(6));
  }

  function format(value, spec) {
    if (typeof value !== "number") return value == null ? "" : String(value);
    if (!isFinite(value)) return "–";
    var m = FORMAT.exec(spec || "") || [];
    var digits = m[2] == null ? null : +m[2], type = m[3], out;
    if (type === "%") out = (value * 100).toFixed(digits == null ? 0 : digits) + "%";
    else if (type === "f") out = value.toFixed(digits == null ? 6 : digits);
    else if (type === "g") out = value.toPrecision(digits == null ? 6 : Math.max(1, digits));
    else if (type === "e") out = value.toExponential(digits == null ? 6 : digits);
    else out = digits == null ? plain(value) : String(+value.toPrecision(Math.max(1, digits)));
    if (m[1]) out = out.replace(/^-?\d+/, function (d) { return (+d).toLocaleString("en-US"); });
    return out.replace("-", "\u2212");
  }

  function superscript(n) {
    return String(n).replace("-", "\u207b").replace(/\d/g, function (d) { return SUPERSCRIPT[d]; });
  }

  // Log axes: ticks at powers of ten (and 2, 5 between them over three decades or fewer).
  function logTicks(sc) {
    var decades = Math.log10(sc.max / sc.min);
    var kept = sc.ticks.filter(function (t) {
      var mant = t.value / Math.pow(10, Math.floor(Math.log10(t.value) + 1e-9));
      return Math.abs(mant - 1) < 1e-6 || (decades <= 3 && (Math.abs(mant - 2) < 1e-6 ||
                                                             Math.abs(mant - 5) < 1e-6));
    });
    var room = Math.max(2, Math.floor((sc.isHorizontal() ? sc.width / 60 : sc.height / 22)));
    var step = Math.ceil(kept.length / room);
    sc.ticks = kept.filter(function (t, i) { return i % step === 0; });
  }

  // An axis's own tick values (plotly tickvals), thinned to the room there is; both ends kept.
  function fixedTicks(values) {
    return function (sc) {
      var inside = values.filter(function (v) { return v >= sc.min && v <= sc.max; });
      var room = Math.max(2, Math.floor(sc.isHorizontal() ? sc.width / 48 : sc.height / 22));
      var step = Math.ceil(inside.length / room);
      sc.ticks = inside.filter(function (v, i) {
        return i % step === 0 || i === inside.length - 1 && inside.length - 1 - i + step > 1;
      }).map(function (v) { return { value: v }; });
    };
  }

  function tickFormatter(axis, type) {
    return function (value) {
      if (type !== "logarithmic") return format(value, axis.tickformat);
      var exp = Math.round(Math.log10(value));
      if (!axis.tickformat && axis.exponentformat === "power" && Math.abs(exp) > 3 &&
          Math.abs(value / Math.pow(10, exp) - 1) < 1e-6) return "10" + superscript(exp);
      return format(value, axis.tickformat);
    };
  }

  function fill(template, trace, i) {
    var values = { x: (trace.x || [])[i], y: (trace.y || [])[i],
                   text: Array.isArray(trace.text) ? trace.text[i] : trace.text };
    return template.replace(/%\{(\w+)(?::([^}]*))?\}/g, function (_, name, spec) {
      return format(values[name], spec);
    }).replace(/<br>/g, "\n").replace(/<[^>]+>/g, "");
  }

  // A plotly hovertemplate as tooltip lines: the <extra> part (the series) first.
  function hoverLines(trace, i) {
    var template = trace.hovertemplate, extra = "";
    if (!template) {
      template = "%{x}: %{y}";
      extra = trace.name || "";
    }
    template = template.replace(/<extra>([\s\S]*?)<\/extra>/, function (_, e) {
      extra = e;
      return "";
    });
    var lines = fill(template, trace, i).split("\n");
    if (extra) lines.unshift(fill(extra, trace, i));
    return lines.filter(function (l) { return l.trim(); });
  }

  function isBand(trace) { return !!(trace.meta && trace.meta.role === "band"); }

  // Long labels break into lines that fit the width.
  function wrap(text, chars) {
    if (typeof text !== "string" || text.length <= chars) return text;
    var lines = [""];
    text.split(" ").forEach(function (word) {
      var line = lines[lines.length - 1];
      if (line && (line + " " + word).length > chars) lines.push(word);
      else lines[lines.length - 1] = line ? line + " " + word : word;
    });
    return lines;
  }

  function axisTitle(axis) {
    return axis && axis.title && (typeof axis.title === "string" ? axis.title : axis.title.text);
  }

  // Heights of the panels (plot + their x-axis block), sharing the plot height by their y
  // domains; taller when the legend under them would otherwise take over a third of the chart.
  function panelHeights(panels, layout, width, legendHeight) {
    var narrow = width < 560;
    var plot = narrow ? Math.max(240, Math.round(width * 0.72)) :
      Math.min(460, Math.round(width * 0.5));
    if (panels.length > 1) plot = Math.round(plot * 1.45);   // room for the zoomed panel
    var spans = panels.map(function (p) { return Math.abs(p.domain[1] - p.domain[0]) || 1; });
    var total = spans.reduce(function (a, b) { return a + b; }, 0);
    var heights = panels.map(function (p, i) {
      var xKey = p.x === "x" ? "xaxis" : "xaxis" + p.x.slice(1);
      var title = axisTitle(layout[xKey] || {});
      var chars = narrow ? Math.floor(width / 8) : 90;
      var lines = title ? [].concat(wrap(String(title), chars)).length : 0;
      var upright = 0;   // category labels stand upright on a phone (chart-2d.js)
      if (narrow) p.traces.forEach(function (t) { (t.x || []).forEach(function (v) {
        if (typeof v === "string") upright = Math.max(upright, v.length * 6);
      }); });
      return Math.round(plot * spans[i] / total) + 34 + 17 * lines + upright;
    });
    var sum = heights.reduce(function (a, b) { return a + b; }, 0);
    if (legendHeight > (sum + legendHeight) / 3 - 2) {
      var grow = (2 * legendHeight + 6) / sum;
      heights = heights.map(function (h) { return Math.ceil(h * grow); });
    }
    return heights;
  }

  // A surface shown as lines: z against x at a few values of y.
  function slicesFigure(figure) {
    var scene = figure.layout.scene || {};
    var title = function (axis, fallback) {
      var t = (scene[axis] || {}).title;
      return (t && (t.text || t)) || fallback;
    };
    var data = [];
    figure.data.forEach(function (trace) {
      if (trace.type !== "surface") return;
      var ys = trace.y, rows = [];
      for (var k = 0; k < 5; k++) rows.push(Math.round(k * (ys.length - 1) / 4));
      rows.filter(function (j, i) { return rows.indexOf(j) === i; }).reverse()
        .forEach(function (j, n) {
          var span = Math.abs(ys[ys.length - 1] - ys[0]) || 1;
          var value = Math.abs(ys[j]) < span * 1e-9 ? 0 : +ys[j].toPrecision(3);
          var name = title("yaxis", "y") + " = " + String(value).replace("-", "\u2212");
          data.push({ type: "scatter", mode: "lines", x: trace.x, y: trace.z[j], name: name,
                      line: { color: SLICE_COLOURS[n % 5], dash: SLICE_DASHES[n % 5], width: 2 },
                      hovertemplate: "%{x:.2f}: %{y:.3g}<extra>" + name + "</extra>" });
        });
    });
    var xs = [].concat.apply([], figure.data.filter(function (t) { return t.type === "surface"; })
                                 .map(function (t) { return t.x; }));
    var xMin = Math.min.apply(null, xs), xMax = Math.max.apply(null, xs);
    figure.data.forEach(function (trace) {   // marked points of the surface, on their slice
      if (trace.type !== "scatter3d") return;
      var positions = trace.x.map(function (x) {   // labels stay inside the plot
        var third = (xMax - xMin) / 3;
        return x < xMin + third ? "top right" : x > xMax - third ? "top left" : "top center";
      });
      data.push({ type: "scatter", mode: "markers+text", x: trace.x, y: trace.z,
                  text: trace.text, textposition: positions, name: trace.name || "marks",
                  showlegend: false, meta: { role: "marks" },   // drawn in the text colour
                  marker: { size: 9, symbol: "circle-open", color: "#111111",
                            line: { width: 2 } },
                  hovertemplate: "%{text}<extra></extra>" });
    });
    var layout = { xaxis: { title: { text: title("xaxis", "x") } },
                   yaxis: { title: { text: title("zaxis", "z") } } };
    return { data: data, layout: layout };
  }

  // A camera moved closer (the figures' eyes frame the whole box, corners included, which
  // leaves a band of empty space above and below a wide, flat surface) and aimed a little low.
  // On a phone the camera steps back instead: closer, the axis titles at the box's edges are
  // cut off.
  var ZOOM_3D = 0.82, ZOOM_3D_PHONE = 1.2;
  function framed(camera, width) {
    var c = copy(camera || {});
    var eye = c.eye || { x: 1.25, y: 1.25, z: 1.25 };
    var zoom = width != null && width < 560 ? ZOOM_3D_PHONE : ZOOM_3D;
    c.eye = { x: eye.x * zoom, y: eye.y * zoom, z: eye.z * zoom };
    if (!c.center) c.center = { x: 0, y: 0, z: -0.21 };
    return c;
  }

  function layout3d(figure, width) {
    var layout = copy(figure.layout);
    var narrow = width < 560;
    layout.margin = { l: 0, r: 0, t: 0, b: narrow ? 56 : 0, pad: 0 };
    layout.height = Math.round(Math.min(Math.max(width * 0.62, 300), 560)) + (narrow ? 56 : 0);
    layout.scene = layout.scene || {};
    layout.scene.domain = { x: [0, 1], y: [0, 1] };
    ["xaxis", "yaxis", "zaxis"].forEach(function (axis) {
      var a = layout.scene[axis] = layout.scene[axis] || {};
      a.tickfont = Object.assign({ size: narrow ? 10 : 11 }, a.tickfont || {});
      if (a.nticks == null) a.nticks = narrow ? 4 : 6;
    });
    // Without these the scene floats low in its box, with empty space above it.
    if (!layout.scene.aspectmode && !layout.scene.aspectratio) {
      layout.scene.aspectmode = "manual";
      layout.scene.aspectratio = { x: 1.25, y: 1.1, z: 0.8 };
    }
    layout.scene.camera = framed(layout.scene.camera, width);
    if (layout.meta) delete layout.meta.views;
    return layout;
  }

  // The 3D scene's traces for a box of this width: on a phone the colour bar lies under the
  // scene instead of taking a quarter of its width beside it.
  function data3d(figure, width) {
    var data = copy(figure.data);
    if (width >= 560) return data;
    data.forEach(function (trace) {
      if (trace.type !== "surface") return;
      var bar = trace.colorbar || {};
      trace.colorbar = Object.assign({}, bar, {
        orientation: "h", x: 0.5, xanchor: "center", y: 0, yanchor: "top", len: 0.8,
        thickness: 10, title: Object.assign({}, bar.title || {}, { side: "top" }) });
    });
    return data;
  }

  window.onpolicyChartFormat = { format: format, tickFormatter: tickFormatter, logTicks: logTicks,
                                 fixedTicks: fixedTicks,
                                 hoverLines: hoverLines, isBand: isBand, wrap: wrap,
                                 axisTitle: axisTitle };
  window.onpolicyChartLayout = { panelHeights: panelHeights, slicesFigure: slicesFigure,
                                 layout3d: layout3d, data3d: data3d, framed: framed };
})();
