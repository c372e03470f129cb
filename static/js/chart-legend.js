// The legend of a 2D chart, as HTML under its canvases (chart-2d.js): a button per named
// series, with a swatch of its line (colour and dash), marker or area; pressing it hides or
// shows the series with its whole legend group in every panel.
(function () {
  "use strict";
  var F = window.onpolicyChartFormat;   // chart-layout.js

  function swatch(trace, dashOf) {
    var line = trace.line || {}, marker = trace.marker || {};
    var colour = line.color || marker.color || "#0072B2";
    var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("width", "28");
    svg.setAttribute("height", "12");
    svg.setAttribute("aria-hidden", "true");
    var shape;
    if (trace.stackgroup || trace.fill === "tozeroy") {
      shape = document.createElementNS(svg.namespaceURI, "rect");
      [["x", 4], ["y", 1], ["width", 20], ["height", 10], ["fill", trace.fillcolor || colour]]
        .forEach(function (a) { shape.setAttribute(a[0], a[1]); });
    } else if ((trace.mode || "lines").indexOf("lines") < 0) {
      shape = document.createElementNS(svg.namespaceURI, "circle");
      [["cx", 14], ["cy", 6], ["r", 4], ["fill", marker.color || colour]]
        .forEach(function (a) { shape.setAttribute(a[0], a[1]); });
    } else {
      shape = document.createElementNS(svg.namespaceURI, "line");
      [["x1", 1], ["y1", 6], ["x2", 27], ["y2", 6], ["stroke", colour],
       ["stroke-width", Math.min(3, Math.max(1.5, line.width || 2))],
       ["stroke-dasharray", dashOf(line.dash).join(" ")]]
        .forEach(function (a) { shape.setAttribute(a[0], a[1]); });
    }
    svg.appendChild(shape);
    return svg;
  }

  // The legend under the panels: one button per named series; it shows or hides the series'
  // whole legend group (its band, its non-finite markers, its copy in the zoomed panel).
  function legend(figure, box, dashOf) {
    if (figure.layout.showlegend === false) return null;
    var entries = figure.data.filter(function (t) {
      var zoomCopy = t.meta && t.meta.role === "zoom";
      return t.showlegend !== false && !F.isBand(t) && t.name && !zoomCopy;
    });
    if (!entries.length) return null;
    var list = document.createElement("ul");
    list.className = "chart-legend";
    list.setAttribute("aria-label", "Series (press to hide or show)");
    entries.forEach(function (trace) {
      var item = document.createElement("li"), button = document.createElement("button");
      button.type = "button";
      button.setAttribute("aria-pressed", "true");
      button.appendChild(swatch(trace, dashOf));
      button.appendChild(document.createTextNode(trace.name));
      button.addEventListener("click", function () {
        var show = button.getAttribute("aria-pressed") !== "true";
        button.setAttribute("aria-pressed", show ? "true" : "false");
        var group = trace.legendgroup;
        (box.charts || []).forEach(function (chart) {
          chart.data.datasets.forEach(function (ds, i) {
            var t = ds.trace;
            if (t === trace || t.name === trace.name && t.xaxis !== trace.xaxis ||
                (group && t.legendgroup === group)) chart.setDatasetVisibility(i, show);
          });
          chart.update("none");
        });
      });
      item.appendChild(button);
      list.appendChild(item);
    });
    return list;
  }

  // The names of the series hidden with a box's legend, and hiding them again in a new legend
  // (a chart is drawn anew after a resize or a phone's rotation; the reader's choice stays).
  function hiddenNames(box) {
    return Array.prototype.map.call(
      box.querySelectorAll('.chart-legend button[aria-pressed="false"]'),
      function (button) { return button.textContent; });
  }

  function hideAgain(list, names) {
    Array.prototype.forEach.call(list.querySelectorAll("button"), function (button) {
      if (names.indexOf(button.textContent) >= 0) button.click();
    });
  }

  window.onpolicyChartLegend = { legend: legend, hiddenNames: hiddenNames, hideAgain: hideAgain };
})();
