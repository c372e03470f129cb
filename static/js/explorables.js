// Explorable figures (onpolicy/render/explorables.py): each <figure class="explorable"> names
// its script (data-explorable-src) and, optionally, its data (data-explorable-data-src, a
// script setting window.onpolicyExplorableData[id]; scripts also load from file://). Both are
// loaded only when the figure comes within 300 px of the viewport or the reader presses its
// "Open" button, so a page's weight does not grow with its explorables until one is used.
// The script calls onpolicyExplorables.register(name, init); init(element, data, kit) builds
// the figure's controls inside element's .explorable-body; kit.demand() loads the figure's
// on-demand data (data-explorable-demand-src) when the script asks, e.g. on a Run button.
(function () {
  "use strict";
  var inits = {}, waiting = {}, started = [];

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

  // The page's colours and the box's width, as the 2D charts use them (chart-2d.js).
  function look(element) {
    var css = getComputedStyle(document.documentElement);
    var read = function (name) { return css.getPropertyValue(name).trim(); };
    var width = element ? element.clientWidth : 0;
    return { fg: read("--fg"), muted: read("--muted"), grid: read("--chart-grid"),
             bg: read("--bg"), font: read("--font-sans"), width: width, small: width < 560 };
  }

  function onTheme(redraw) {
    new MutationObserver(redraw).observe(document.documentElement,
      { attributes: true, attributeFilter: ["data-theme"] });
  }

  // draw() now, and again at most once a frame when one of the inputs moves, the theme
  // changes or the window is resized.
  function redrawOn(inputs, draw) {
    var pending = false;
    function frame() { pending = false; draw(); }
    function schedule() {
      if (!pending) { pending = true; requestAnimationFrame(frame); }
    }
    inputs.forEach(function (input) {
      input.addEventListener("input", schedule);
      input.addEventListener("change", schedule);
    });
    onTheme(schedule);
    window.addEventListener("resize", schedule);
    draw();
  }

  var kit = { look: look, loadScript: loadScript, onTheme: onTheme, redrawOn: redrawOn };

  function initFor(name) {
    if (inits[name]) return Promise.resolve(inits[name]);
    return new Promise(function (resolve) { waiting[name] = resolve; });
  }

  function fail(element, error) {
    var note = document.createElement("p");
    note.className = "chart-error";
    note.textContent = "This explorable figure could not start (" +
      String(error && error.message || error) + ").";
    element.setAttribute("data-error", note.textContent);
    element.querySelector(".explorable-body").appendChild(note);
  }

  // The element's on-demand data (data-explorable-demand), loaded on the first call.
  function demand(element) {
    var id = element.getAttribute("data-explorable-demand");
    var src = element.getAttribute("data-explorable-demand-src");
    if (!id) return Promise.reject(new Error("this explorable has no on-demand data"));
    if (!element.demanded) {
      element.demanded = loadScript(src).then(function () {
        var data = (window.onpolicyExplorableData || {})[id];
        if (!data) throw new Error(src + " has no data " + id);
        return data;
      }, function (error) { element.demanded = null; throw error; });
    }
    return element.demanded;
  }

  function start(element) {
    if (started.indexOf(element) >= 0) return;
    started.push(element);
    var name = element.getAttribute("data-explorable");
    var dataId = element.getAttribute("data-explorable-data");
    var dataSrc = element.getAttribute("data-explorable-data-src");
    var button = element.querySelector(".explorable-start");
    var hadFocus = button && button.contains(document.activeElement);
    Promise.all([
      dataSrc ? loadScript(dataSrc) : Promise.resolve(),
      loadScript(element.getAttribute("data-explorable-src")).then(function () {
        return initFor(name);
      })
    ]).then(function (loaded) {
      var data = dataId ? (window.onpolicyExplorableData || {})[dataId] : null;
      if (dataId && !data) throw new Error(dataSrc + " has no data " + dataId);
      if (button) button.remove();
      loaded[1](element, data, Object.assign({ demand: demand.bind(null, element) }, kit));
      element.setAttribute("data-ready", "true");
      if (hadFocus) {
        var first = element.querySelector("input, select, button");
        if (first) first.focus();
      }
    }).catch(function (error) { fail(element, error); });
  }

  window.onpolicyExplorables = {
    register: function (name, init) {
      inits[name] = init;
      if (waiting[name]) waiting[name](init);
    },
    start: start
  };

  var elements = Array.prototype.slice.call(document.querySelectorAll("figure.explorable"));
  elements.forEach(function (element) {
    var button = element.querySelector(".explorable-start");
    if (button) {
      button.hidden = false;
      button.querySelector("button").addEventListener("click", function () { start(element); });
    }
  });
  if ("IntersectionObserver" in window) {
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) {
          observer.unobserve(entry.target);
          start(entry.target);
        }
      });
    }, { rootMargin: "300px 0px" });
    elements.forEach(function (element) { observer.observe(element); });
  }
})();
