// Charts: each <div class="chart" data-chart-src="..."> is drawn when it scrolls near the
// viewport. 2D charts use the light plotly.js bundle; a 3D surface first shows its slices (lines
// at a few values of the second axis, same light bundle) and becomes a WebGL scene only when a
// reader stays on it (wide screens) or asks for it (the "3D" button); the heavy gl3d bundle is
// fetched then, and only one scene is live at a time. Layout (height, legend, margins) is decided
// here, for the width the chart has; colours come from the page's CSS variables.
// Chart data comes as <script> files (window.onpolicyCharts[id]), which also load from file://.
// The layout rules (sizes, legend, wrapping, slices, 3D scene) are in chart-layout.js.
(function () {
  "use strict";
  var script = document.currentScript;
  var L = window.onpolicyChartLayout;   // chart-layout.js: sizes, legends, slices
  var BUNDLE_SRC = { "2d": script.getAttribute("data-plotly-2d"),
                     "3d": script.getAttribute("data-plotly-3d") };
  var bundles = {};          // "2d" | "3d" -> Promise of that bundle's Plotly namespace
  var figures = {};          // chart id -> Promise of its figure JSON
  var drawn = [];            // elements drawn at least once
  var live3d = null;         // the one element showing a WebGL scene
  var DWELL_MS = 700;        // how long a surface stays in view before it becomes 3D
  var touch = window.matchMedia && matchMedia("(hover: none), (pointer: coarse)").matches;

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var tag = document.createElement("script");
      tag.src = src;
      tag.async = true;
      tag.onload = resolve;
      tag.onerror = function () { reject(new Error("could not load " + src)); };
      document.head.appendChild(tag);
    });
  }

  // Both bundles define window.Plotly: keep each namespace, and leave the first one global.
  function loadBundle(kind) {
    if (!bundles[kind]) {
      var before = window.Plotly;
      bundles[kind] = loadScript(BUNDLE_SRC[kind]).then(function () {
        var ns = window.Plotly;
        if (before) window.Plotly = before;
        return ns;
      }, function (error) { delete bundles[kind]; throw error; });
    }
    return bundles[kind];
  }

  function loadFigure(element) {
    var id = element.getAttribute("data-chart-id");
    if (!figures[id]) {
      figures[id] = loadScript(element.getAttribute("data-chart-src")).then(function () {
        var figure = window.onpolicyCharts && window.onpolicyCharts[id];
        if (!figure) throw new Error(element.getAttribute("data-chart-src") + " has no chart " + id);
        return figure;
      });
    }
    return figures[id];
  }

  function palette() {
    var css = getComputedStyle(document.documentElement);
    var read = function (name) { return css.getPropertyValue(name).trim(); };
    return { fg: read("--fg"), muted: read("--muted"), grid: read("--chart-grid"),
             bg: read("--bg"), font: read("--font-sans") };
  }

  // Plotly.relayout-style updates ("xaxis.gridcolor": ...) for the current theme.
  function themeUpdate(layout, p) {
    var update = {
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
      "font.color": p.fg, "font.family": p.font, "legend.font.color": p.fg,
      "hoverlabel.bgcolor": p.bg, "hoverlabel.font.color": p.fg, "hoverlabel.bordercolor": p.muted
    };
    var prefix = layout.scene ? "scene." : "";
    var axes = layout.scene ? ["xaxis", "yaxis", "zaxis"] :
      Object.keys(layout).filter(function (k) { return /^[xy]axis\d*$/.test(k); });
    if (!axes.length) axes = ["xaxis", "yaxis"];
    axes.forEach(function (axis) {
      update[prefix + axis + ".gridcolor"] = p.grid;
      update[prefix + axis + ".zerolinecolor"] = p.muted;
      update[prefix + axis + ".linecolor"] = p.muted;
      update[prefix + axis + ".color"] = p.fg;
    });
    return update;
  }

  function setPath(target, path, value) {
    var keys = path.split(".");
    var node = target;
    for (var i = 0; i < keys.length - 1; i++) {
      if (typeof node[keys[i]] !== "object" || node[keys[i]] === null) node[keys[i]] = {};
      node = node[keys[i]];
    }
    node[keys[keys.length - 1]] = value;
  }

  function copy(value) { return JSON.parse(JSON.stringify(value)); }

  function config() {
    // Nothing may send the chart to a third-party service; no toolbar on touch screens.
    return { responsive: true, displaylogo: false, showSendToCloud: false, showTips: false,
             plotlyServerURL: "", displayModeBar: touch ? false : "hover",
             modeBarButtonsToRemove: ["sendChartToCloud", "select2d", "lasso2d"] };
  }

  function fail(element, error) {
    var message = String(error && error.message || error);
    element.setAttribute("data-error", message);
    var note = document.createElement("p");
    note.className = "chart-error";
    note.textContent = "This chart could not be drawn (" + message +
      "). Its numbers are in the Data section below.";
    element.appendChild(note);
  }

  function plot(element, kind, data, layout) {
    return loadBundle(kind).then(function (Plotly) {
      var update = themeUpdate(layout, palette());
      Object.keys(update).forEach(function (key) { setPath(layout, key, update[key]); });
      if (element.plotlyNs && element.plotlyNs !== Plotly) element.plotlyNs.purge(element);
      element.plotlyNs = Plotly;
      element.style.height = layout.height + "px";
      return Plotly.react(element, data, layout, config());
    });
  }

  // After drawing: the real legend height replaces the estimate (twice at most: the
  // legend can reflow once the chart's height changes).
  function refitLegend(element, data, layout, tries) {
    var legend = element.querySelector(".legend");
    if (!legend || !tries) return null;
    var height = Math.ceil(legend.getBoundingClientRect().height);
    if (Math.abs(height - (layout.margin.b - L.axisBlockOf(layout))) < 6) return null;
    return plot(element, "2d", data, L.fitLayout2d(layout, data, element.clientWidth, height))
      .then(function () { return refitLegend(element, data, layout, tries - 1); });
  }

  function draw2d(element, figure) {
    var data = copy(figure.data), width = element.clientWidth;
    var layout = L.fitLayout2d(copy(figure.layout || {}), data, width, null);
    return plot(element, "2d", data, layout).then(function () {
      return refitLegend(element, data, layout, 2);
    });
  }

  function showSlices(element, figure) {
    element.setAttribute("data-mode", "slices");
    if (live3d === element) live3d = null;
    markButtons(element);
    return draw2d(element, L.slicesFigure(figure));
  }

  function show3d(element, figure) {
    if (live3d && live3d !== element) {
      var other = live3d;
      loadFigure(other).then(function (f) { return showSlices(other, f); });
    }
    live3d = element;
    element.setAttribute("data-mode", "3d");
    markButtons(element);
    element.setAttribute("aria-busy", "true");
    return plot(element, "3d", copy(figure.data), L.layout3d(figure, element.clientWidth))
      .then(function () { element.removeAttribute("aria-busy"); });
  }

  function markButtons(element) {
    var bar = element.previousElementSibling;
    if (!bar || !bar.classList.contains("chart-views")) return;
    var mode = element.getAttribute("data-mode");
    bar.querySelectorAll("button").forEach(function (b) {
      var view = b.getAttribute("data-view");
      if (view === "slices" || view === "3d") {
        b.setAttribute("aria-pressed", view === mode ? "true" : "false");
      } else {
        b.hidden = mode !== "3d";   // camera views only mean something in 3D
      }
    });
  }

  // Buttons above a surface: slices or 3D, and the figure's named camera views.
  function addViewButtons(element, figure) {
    var bar = document.createElement("div");
    bar.className = "chart-views";
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", "Views of this figure");
    var views = [{ view: "slices", label: "Slices" }, { view: "3d", label: "3D surface" }];
    var camera = (figure.layout.scene || {}).camera;
    var named = ((figure.layout.meta || {}).views || []).slice();
    if (camera) named.unshift({ name: "Starting view", camera: camera });
    named.forEach(function (v, i) { views.push({ view: "camera-" + i, label: v.name, camera: v.camera }); });
    views.forEach(function (v) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = v.label;
      button.setAttribute("data-view", v.view);
      button.addEventListener("click", function () {
        if (v.view === "slices") showSlices(element, figure);
        else if (v.view === "3d") show3d(element, figure).catch(function (e) { fail(element, e); });
        else if (live3d === element) element.plotlyNs.relayout(element, { "scene.camera": v.camera });
      });
      bar.appendChild(button);
    });
    element.parentNode.insertBefore(bar, element);
  }

  function draw(element) {
    loadFigure(element).then(function (figure) {
      element.figure = figure;
      var is3d = figure.data.some(function (t) { return t.type === "surface"; });
      if (!is3d) return draw2d(element, figure);
      addViewButtons(element, figure);
      return showSlices(element, figure).then(function () {
        if (!touch && element.clientWidth >= 560) watchDwell(element);
      });
    }).then(function () {
      element.style.aspectRatio = "auto";
      element.setAttribute("data-drawn", "true");
      drawn.push(element);
    }).catch(function (error) { fail(element, error); });
  }

  // Wide screens: a surface the reader stays on becomes 3D (not while scrolling past).
  function watchDwell(element) {
    if (!("IntersectionObserver" in window)) return;
    var timer = null;
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        clearTimeout(timer);
        if (entry.intersectionRatio >= 0.6) {
          timer = setTimeout(function () {
            if (element.getAttribute("data-mode") === "slices" && !element.hasAttribute("data-chosen")) {
              show3d(element, element.figure).catch(function (e) { fail(element, e); });
            }
          }, DWELL_MS);
        }
      });
    }, { threshold: [0, 0.6] });
    observer.observe(element);
    element.previousElementSibling.addEventListener("click", function () {
      element.setAttribute("data-chosen", "true");   // the reader's choice wins from now on
    });
  }

  function redrawAll() {
    drawn.forEach(function (element) {
      var figure = element.figure;
      if (!figure) return;
      if (element.getAttribute("data-mode") === "3d") {
        plot(element, "3d", copy(figure.data), L.layout3d(figure, element.clientWidth));
      } else if (element.getAttribute("data-mode") === "slices") {
        draw2d(element, L.slicesFigure(figure));
      } else {
        draw2d(element, figure);
      }
    });
  }

  function retheme() {
    var p = palette();
    drawn.forEach(function (element) {
      if (element.plotlyNs) element.plotlyNs.relayout(element, themeUpdate(element.layout || {}, p));
    });
  }

  var charts = Array.prototype.slice.call(document.querySelectorAll(".chart[data-chart-src]"));
  if ("IntersectionObserver" in window) {
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) {
          observer.unobserve(entry.target);
          draw(entry.target);
        }
      });
    }, { rootMargin: "300px 0px" });
    charts.forEach(function (element) { observer.observe(element); });
  } else {
    charts.forEach(draw);
  }
  var lastWidth = window.innerWidth, resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      if (Math.abs(window.innerWidth - lastWidth) < 40) return;
      lastWidth = window.innerWidth;
      redrawAll();
    }, 250);
  });
  new MutationObserver(retheme).observe(document.documentElement,
                                        { attributes: true, attributeFilter: ["data-theme"] });
})();
