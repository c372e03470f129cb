// Layout rules for the charts, decided at draw time for the width a chart has (used by
// charts.js): 2D height, margins and a legend under the plot that never takes more than a
// third of the chart, labels wrapped on phones; a surface's slices (z against x at five values
// of y, drawn with the light bundle); the 3D scene's size, ticks and framing.
(function () {
  "use strict";
  var SLICE_COLOURS = ["#0072B2", "#56B4E9", "#7f7f7f", "#E69F00", "#D55E00"];
  var SLICE_DASHES = ["solid", "dash", "dot", "dashdot", "longdash"];

  function copy(value) { return JSON.parse(JSON.stringify(value)); }

  function legendEntries(data, layout) {
    if (layout.showlegend === false) return [];
    return data.filter(function (t) {
      return t.showlegend !== false && !(t.meta && t.meta.role === "band") && t.name;
    });
  }

  // Long labels break into lines that fit the width (Plotly does not wrap text itself).
  function wrap(text, chars) {
    if (typeof text !== "string" || text.length <= chars || text.indexOf("<br>") >= 0) return text;
    var lines = [""];
    text.split(" ").forEach(function (word) {
      var line = lines[lines.length - 1];
      if (line && (line + " " + word).length > chars) lines.push(word);
      else lines[lines.length - 1] = line ? line + " " + word : word;
    });
    return lines.join("<br>");
  }

  function axisTitle(axis) {
    return axis && axis.title && (typeof axis.title === "string" ? axis.title : axis.title.text);
  }

  // The x axis drawn at the bottom: the zoomed panel's when there is one.
  function bottomAxis(layout) { return layout.xaxis2 ? "xaxis2" : "xaxis"; }

  // Height under the plot area taken by tick labels and the (maybe wrapped) x-axis title.
  function axisBlockOf(layout) {
    var title = axisTitle(layout[bottomAxis(layout)]);
    return 58 + 16 * (String(title || "").split("<br>").length - 1);
  }

  // Height, margins and a legend under the plot (never over a third of the chart's height).
  function fitLayout2d(layout, data, width, legendHeight) {
    var narrow = width < 560;
    var entries = legendEntries(data, layout);
    if (narrow) {
      var chars = Math.max(24, Math.floor((width - 70) / 6.4));
      entries.forEach(function (t) { t.name = wrap(t.name, chars); });
      var bottom = bottomAxis(layout), xTitle = axisTitle(layout[bottom]);
      if (xTitle) layout[bottom].title = { text: wrap(xTitle, Math.floor(width / 8)) };
    }
    var perRow = narrow ? 1 : Math.max(1, Math.floor(width / 300));
    var estimate = entries.length ? Math.ceil(entries.length / perRow) * 19 + 6 : 0;
    var legend = legendHeight == null ? estimate : legendHeight;
    var plot = narrow ? Math.max(240, Math.round(width * 0.72)) :
      Math.min(460, Math.round(width * 0.5));
    if (layout.yaxis2) plot = Math.round(plot * 1.45);   // room for the zoomed panel
    var axisBlock = axisBlockOf(layout);
    layout.margin = { l: narrow ? 52 : 64, r: 14, t: 14, b: axisBlock + legend,
                      autoexpand: true };
    layout.height = Math.max(plot + 14 + axisBlock + legend, 3 * legend + 24);
    layout.showlegend = entries.length > 0 && layout.showlegend !== false;
    layout.legend = Object.assign({}, layout.legend || {}, {
      orientation: "h", x: 0, xanchor: "left", y: 0, yanchor: "bottom", yref: "container",
      font: { size: narrow ? 11 : 12 }, itemwidth: 30, tracegroupgap: 0 });
    return layout;
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
                  showlegend: false, marker: { size: 9, symbol: "circle-open", line: { width: 2 } },
                  hovertemplate: "%{text}<extra></extra>" });
    });
    var layout = { hovermode: "closest", xaxis: { title: { text: title("xaxis", "x") } },
                   yaxis: { title: { text: title("zaxis", "z") } } };
    return { data: data, layout: layout };
  }

  function layout3d(figure, width) {
    var layout = copy(figure.layout);
    var narrow = width < 560;
    layout.margin = { l: 0, r: 0, t: 0, b: 0 };
    layout.height = Math.round(Math.min(Math.max(width * 0.75, 320), 640));
    layout.scene = layout.scene || {};
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
    var camera = layout.scene.camera = layout.scene.camera || {};
    if (!camera.center) camera.center = { x: 0, y: 0, z: -0.22 };
    if (layout.meta) delete layout.meta.views;
    return layout;
  }

  window.onpolicyChartLayout = { fitLayout2d: fitLayout2d, slicesFigure: slicesFigure,
                                 layout3d: layout3d, axisBlockOf: axisBlockOf };
})();
