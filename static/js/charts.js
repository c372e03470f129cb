// Charts: each <div class="chart" data-chart-src="..."> is drawn when it scrolls near the
// viewport. 2D charts are drawn with Chart.js (chart-2d.js translates the figure's plotly JSON);
// a 3D surface shows its slices (lines at a few values of the second axis, also Chart.js) and
// becomes a WebGL scene only when the reader asks for it (the "3D surface" button); plotly.js's
// gl3d bundle is fetched then, and only one scene is live at a time. On touch screens a shield
// covers the scene (its camera views are buttons), so a swipe over it scrolls the page.
// Every chart's data is fetched once the page has loaded, and each placeholder then reserves
// the height its chart will have (nothing moves when it is drawn); printing draws every chart.
// Sizes are decided for the width the chart has; colours come from the page's CSS variables.
// Chart data comes as <script> files (window.onpolicyCharts[id]), which also load from file://.
// The layout rules (sizes, formats, slices, 3D scene) are in chart-layout.js.
(function () {
  "use strict";
  var script = document.currentScript;
  var L = window.onpolicyChartLayout;   // chart-layout.js: sizes, slices, 3D scene
  var C2 = window.onpolicyChart2d;      // chart-2d.js: 2D charts with Chart.js
  var GL3D_SRC = script.getAttribute("data-gl3d-src");
  var gl3d = null;           // Promise of plotly.js gl3d's namespace, once asked for
  var figures = {};          // chart id -> Promise of its figure JSON
  var drawn = [];            // elements drawn at least once
  var live3d = null;         // the one element showing a WebGL scene
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

  function loadGl3d() {
    if (!gl3d) {
      gl3d = loadScript(GL3D_SRC).then(function () { return window.Plotly; },
                                       function (error) { gl3d = null; throw error; });
    }
    return gl3d;
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

  function palette(element) {
    var css = getComputedStyle(document.documentElement);
    var read = function (name) { return css.getPropertyValue(name).trim(); };
    var width = element ? element.clientWidth : 0;
    return { fg: read("--fg"), muted: read("--muted"), grid: read("--chart-grid"),
             bg: read("--bg"), font: read("--font-sans"), width: width, small: width < 560 };
  }

  // Plotly.relayout updates ("scene.xaxis.gridcolor": ...) for the current theme (3D scenes).
  function themeUpdate(p) {
    var update = {
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
      "font.color": p.fg, "font.family": p.font,
      "hoverlabel.bgcolor": p.bg, "hoverlabel.font.color": p.fg, "hoverlabel.bordercolor": p.muted
    };
    ["xaxis", "yaxis", "zaxis"].forEach(function (axis) {
      update["scene." + axis + ".gridcolor"] = p.grid;
      update["scene." + axis + ".zerolinecolor"] = p.muted;
      update["scene." + axis + ".linecolor"] = p.muted;
      update["scene." + axis + ".color"] = p.fg;
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

  // Nothing may send the chart to a third-party service; no toolbar on touch screens.
  var CONFIG_3D = { responsive: true, displaylogo: false, showSendToCloud: false, showTips: false,
                    plotlyServerURL: "", displayModeBar: touch ? false : "hover",
                    modeBarButtonsToRemove: ["sendChartToCloud", "toImage"] };

  function fail(element, error) {
    var message = String(error && error.message || error);
    element.setAttribute("data-error", message);
    var note = document.createElement("p");
    note.className = "chart-error";
    note.textContent = "This chart could not be drawn (" + message +
      "). Its numbers are in the Data section below.";
    element.appendChild(note);
  }

  // The element's child for one kind of drawing ("chart-2d" or "chart-scene"); the other goes.
  function pane(element, kind) {
    var other = kind === "chart-2d" ? "chart-scene" : "chart-2d";
    var old = element.querySelector(":scope > ." + other);
    if (old) {
      if (other === "chart-2d") C2.destroy(old);
      else if (window.Plotly) window.Plotly.purge(old);
      old.remove();
    }
    var box = element.querySelector(":scope > ." + kind);
    if (!box) {
      box = document.createElement("div");
      box.className = kind;
      element.insertBefore(box, element.firstChild);
    }
    return box;
  }

  function draw2d(element, figure) {
    element.style.height = "";
    element.style.minHeight = "";
    var box = pane(element, "chart-2d");
    C2.draw(box, copy(figure), palette(element), element.getAttribute("aria-label") || "Chart");
    return Promise.resolve();
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
    return loadGl3d().then(function (Plotly) {
      if (element.getAttribute("data-mode") !== "3d") return null;   // the reader moved on
      var layout = L.layout3d(figure, element.clientWidth);
      var update = themeUpdate(palette());
      Object.keys(update).forEach(function (key) { setPath(layout, key, update[key]); });
      var box = pane(element, "chart-scene");
      element.style.height = layout.height + "px";
      box.style.height = layout.height + "px";
      return Plotly.react(box, L.data3d(figure, element.clientWidth), layout, CONFIG_3D);
    }).then(function (box) {
      // plotly's scene takes every touch: on touch screens a shield over it lets a swipe
      // scroll the page (the camera views are the buttons above it)
      if (touch && box && !box.querySelector(".scene-shield")) {
        var shield = document.createElement("div");
        shield.className = "scene-shield";
        shield.setAttribute("aria-hidden", "true");
        box.appendChild(shield);
      }
      element.removeAttribute("aria-busy");
    });
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
    var before = element.previousElementSibling;
    if (before && before.classList.contains("chart-views")) return;
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
        else if (live3d === element) {
          window.Plotly.relayout(element.querySelector(".chart-scene"),
                                 { "scene.camera": L.framed(v.camera, element.clientWidth) });
        }
      });
      bar.appendChild(button);
    });
    element.parentNode.insertBefore(bar, element);
    markButtons(element);   // camera views hidden until 3D: the bar keeps its height
  }

  // The height the chart will have, reserved before it is drawn (and its view buttons).
  function reserve(element, figure) {
    if (element.hasAttribute("data-drawn") || element.querySelector(":scope > .chart-2d")) return;
    var is3d = figure.data.some(function (t) { return t.type === "surface"; });
    if (is3d) addViewButtons(element, figure);
    var box = document.createElement("div");
    box.className = "chart-2d";
    element.insertBefore(box, element.firstChild);
    var height = C2.measure(box, is3d ? L.slicesFigure(figure) : figure, palette(element));
    box.remove();
    element.style.aspectRatio = "auto";
    element.style.minHeight = Math.round(height) + "px";
  }

  function draw(element) {
    if (element.hasAttribute("data-drawing")) return;
    element.setAttribute("data-drawing", "true");
    loadFigure(element).then(function (figure) {
      element.figure = figure;
      var is3d = figure.data.some(function (t) { return t.type === "surface"; });
      if (!is3d) return draw2d(element, figure);
      addViewButtons(element, figure);
      return showSlices(element, figure);
    }).then(function () {
      element.style.aspectRatio = "auto";
      element.setAttribute("data-drawn", "true");
      drawn.push(element);
    }).catch(function (error) { fail(element, error); });
  }

  // Printing (or print preview) draws every chart not drawn yet; a live 3D scene is printed
  // as its slices. The data are all loaded by then (fetched after the page's load).
  function drawForPrint() {
    charts.forEach(function (element) {
      if (!element.hasAttribute("data-drawn")) draw(element);
    });
    if (live3d) showSlices(live3d, live3d.figure);
  }

  function redrawAll() {
    drawn.forEach(function (element) {
      var figure = element.figure;
      if (!figure) return;
      if (element.getAttribute("data-mode") === "3d") show3d(element, figure);
      else if (element.getAttribute("data-mode") === "slices") showSlices(element, figure);
      else draw2d(element, figure);
    });
  }

  function retheme() {
    drawn.forEach(function (element) {
      var box = element.querySelector(":scope > .chart-2d");
      if (box) C2.retheme(box, palette(element));
      var scene = element.querySelector(":scope > .chart-scene");
      if (scene && window.Plotly) window.Plotly.relayout(scene, themeUpdate(palette()));
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
  function reserveAll() {
    charts.forEach(function (element) {
      loadFigure(element).then(function (figure) { reserve(element, figure); })
        .catch(function () { /* draw() reports it */ });
    });
  }
  if (document.readyState === "complete") reserveAll();
  else window.addEventListener("load", reserveAll);
  // charts drawn for the printed page's width are drawn again for the screen's afterwards
  window.addEventListener("beforeprint", drawForPrint);
  window.addEventListener("afterprint", redrawAll);
  if (window.matchMedia) {
    var print = matchMedia("print");
    var onPrint = function (event) { if (event.matches) drawForPrint(); else redrawAll(); };
    if (print.addEventListener) print.addEventListener("change", onPrint);
    else if (print.addListener) print.addListener(onPrint);
  }
  var lastWidth = window.innerWidth, resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      if (Math.abs(window.innerWidth - lastWidth) < 40) return;
      lastWidth = window.innerWidth;
      redrawAll();
      charts.forEach(function (element) {
        if (element.figure || figures[element.getAttribute("data-chart-id")]) {
          loadFigure(element).then(function (figure) { reserve(element, figure); });
        }
      });
    }, 250);
  });
  new MutationObserver(retheme).observe(document.documentElement,
                                        { attributes: true, attributeFilter: ["data-theme"] });
})();
