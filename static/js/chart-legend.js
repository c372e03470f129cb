// The legend of a 2D chart, as HTML under its canvases (chart-2d.js): a button per named
// series, with a swatch of its line (colour and dash), marker or area; pressing it hides or
// shows the series (with its band and markers) in every panel.
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
    if ((trace.mode || "").indexOf("lines") >= 0 && (trace.mode || "").indexOf("markers") >= 0) {
      svg.appendChild(mark(svg, marker.symbol || "circle", colour));
    }
    return svg;
  }

  // A series' marker in the middle of its swatch (estimators differ by shape as well as colour).
  function mark(svg, symbol, colour) {
    var ns = svg.namespaceURI, open = /-open$/.test(symbol), shape;
    symbol = symbol.replace(/-open$/, "");
    if (symbol === "square") {
      shape = document.createElementNS(ns, "rect");
      [["x", 10], ["y", 2], ["width", 8], ["height", 8]].forEach(function (a) {
        shape.setAttribute(a[0], a[1]); });
    } else if (symbol === "x" || symbol === "x-thin" || symbol === "cross") {
      shape = document.createElementNS(ns, "path");
      shape.setAttribute("d", symbol === "cross" ? "M14 1.5v9M9.5 6h9"
                                                 : "M10.5 2.5l7 7M17.5 2.5l-7 7");
      shape.setAttribute("stroke-width", "2");
      open = true;
    } else {
      shape = document.createElementNS(ns, "circle");
      [["cx", 14], ["cy", 6], ["r", 4]].forEach(function (a) { shape.setAttribute(a[0], a[1]); });
    }
    shape.setAttribute("fill", open ? "none" : colour);
    shape.setAttribute("stroke", colour);
    if (shape.tagName !== "path") shape.setAttribute("stroke-width", "1.5");
    return shape;
  }

  // The legend under the panels: one button per named series; it shows or hides that series
  // with the members of its legend group that have no button of their own (its band, its
  // non-finite markers, its copy in the zoomed panel), so every button says what is drawn.
  // One tab stop for the whole legend: arrow keys, Home and End move between its buttons.
  function legend(figure, box, dashOf) {
    if (figure.layout.showlegend === false) return null;
    var entries = figure.data.filter(function (t) {
      var zoomCopy = t.meta && t.meta.role === "zoom";
      return t.showlegend !== false && !F.isBand(t) && t.name && !zoomCopy;
    });
    if (!entries.length) return null;
    var list = document.createElement("div");
    list.className = "chart-legend";
    list.setAttribute("role", "toolbar");
    list.setAttribute("aria-label", "Series (press to hide or show; arrow keys move)");
    var buttons = entries.map(function (trace, n) {
      var button = document.createElement("button");
      button.type = "button";
      button.tabIndex = n ? -1 : 0;
      button.setAttribute("aria-pressed", "true");
      button.appendChild(swatch(trace, dashOf));
      button.appendChild(document.createTextNode(trace.name));
      button.addEventListener("click", function () {
        var show = button.getAttribute("aria-pressed") !== "true";
        button.setAttribute("aria-pressed", show ? "true" : "false");
        (box.charts || []).forEach(function (chart) {
          chart.data.datasets.forEach(function (ds, i) {
            if (owner(ds.trace, entries) === trace) chart.setDatasetVisibility(i, show);
          });
          if (chart.$fit) chart.$fit();
          chart.update("none");
        });
      });
      list.appendChild(button);
      return button;
    });
    list.addEventListener("keydown", function (event) {
      var at = buttons.indexOf(document.activeElement);
      if (at < 0) return;
      var to = { ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1,
                 Home: 0, End: buttons.length - 1 }[event.key];
      if (to == null) return;
      event.preventDefault();
      to = (to + buttons.length) % buttons.length;
      buttons[at].tabIndex = -1;
      buttons[to].tabIndex = 0;
      buttons[to].focus();
    });
    return list;
  }

  // The legend entry a trace belongs to: itself, its namesake in the main panel (a zoomed
  // copy), or the entry of its legend group when it has none of its own.
  function owner(trace, entries) {
    if (entries.indexOf(trace) >= 0) return trace;
    var same = entries.filter(function (e) { return e.name === trace.name; });
    if (same.length) return same[0];
    if (!trace.legendgroup || !F.isBand(trace) && trace.showlegend !== false &&
        !(trace.meta && trace.meta.role === "zoom")) return null;
    var group = entries.filter(function (e) { return e.legendgroup === trace.legendgroup; });
    return group.length ? group[0] : null;
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
