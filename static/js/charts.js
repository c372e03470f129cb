// Charts: each <div class="chart" data-chart-src="..."> is drawn with the self-hosted plotly.js
// bundle when it scrolls near the viewport. Colours come from the page's CSS variables and are
// re-applied when the theme changes. The bundle is only fetched on pages that have charts.
(function () {
  "use strict";
  var script = document.currentScript;
  var plotlySrc = script && script.getAttribute("data-plotly-src");
  var plotlyPromise = null;
  var drawn = [];

  function loadPlotly() {
    if (window.Plotly) return Promise.resolve(window.Plotly);
    if (!plotlyPromise) {
      plotlyPromise = new Promise(function (resolve, reject) {
        var tag = document.createElement("script");
        tag.src = plotlySrc;
        tag.async = true;
        tag.onload = function () { resolve(window.Plotly); };
        tag.onerror = function () {
          plotlyPromise = null;
          reject(new Error("could not load " + plotlySrc));
        };
        document.head.appendChild(tag);
      });
    }
    return plotlyPromise;
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
      "font.color": p.fg, "font.family": p.font,
      "hoverlabel.bgcolor": p.bg, "hoverlabel.font.color": p.fg, "hoverlabel.bordercolor": p.muted
    };
    if (layout.scene) {
      ["xaxis", "yaxis", "zaxis"].forEach(function (axis) {
        update["scene." + axis + ".gridcolor"] = p.grid;
        update["scene." + axis + ".zerolinecolor"] = p.muted;
        update["scene." + axis + ".linecolor"] = p.muted;
        update["scene." + axis + ".color"] = p.fg;
      });
    } else {
      var axes = Object.keys(layout).filter(function (k) { return /^[xy]axis\d*$/.test(k); });
      if (!axes.length) axes = ["xaxis", "yaxis"];
      axes.forEach(function (axis) {
        update[axis + ".gridcolor"] = p.grid;
        update[axis + ".zerolinecolor"] = p.muted;
        update[axis + ".linecolor"] = p.muted;
      });
    }
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

  function fail(element, error) {
    element.setAttribute("data-error", String(error && error.message || error));
    var note = document.createElement("p");
    note.className = "chart-error";
    note.textContent = "This chart could not be drawn (" + (error && error.message || error) +
      "). Its data is in the table below.";
    element.appendChild(note);
  }

  function draw(element) {
    var src = element.getAttribute("data-chart-src");
    Promise.all([loadPlotly(), fetch(src).then(function (response) {
      if (!response.ok) throw new Error(src + ": HTTP " + response.status);
      return response.json();
    })]).then(function (loaded) {
      var Plotly = loaded[0], figure = loaded[1];
      var layout = figure.layout || {};
      var update = themeUpdate(layout, palette());
      Object.keys(update).forEach(function (key) { setPath(layout, key, update[key]); });
      layout.autosize = true;
      return Plotly.newPlot(element, figure.data || [], layout,
                            { responsive: true, displaylogo: false });
    }).then(function () {
      element.setAttribute("data-drawn", "true");
      drawn.push(element);
    }).catch(function (error) { fail(element, error); });
  }

  function retheme() {
    if (!window.Plotly) return;
    var p = palette();
    drawn.forEach(function (element) {
      window.Plotly.relayout(element, themeUpdate(element.layout || {}, p));
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
  new MutationObserver(retheme).observe(document.documentElement,
                                        { attributes: true, attributeFilter: ["data-theme"] });
})();
