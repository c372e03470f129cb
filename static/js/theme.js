// Light/dark theme: the <head> snippet already set data-theme before first paint; this wires
// the toggle button, remembers an explicit choice, and follows the OS while there is none.
(function () {
  "use strict";
  var root = document.documentElement;
  var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function stored() {
    try { return localStorage.getItem("theme"); } catch (e) { return null; }
  }
  function current() {
    return root.getAttribute("data-theme") || (media && media.matches ? "dark" : "light");
  }
  function apply(theme) {
    root.setAttribute("data-theme", theme);
    document.querySelectorAll(".theme-toggle").forEach(function (button) {
      button.setAttribute("aria-label", theme === "dark" ? "Use light theme" : "Use dark theme");
      button.setAttribute("aria-pressed", theme === "dark" ? "true" : "false");
    });
  }

  document.querySelectorAll(".theme-toggle").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var next = current() === "dark" ? "light" : "dark";
      try { localStorage.setItem("theme", next); } catch (e) { /* private mode: not remembered */ }
      apply(next);
    });
  });
  if (media && media.addEventListener) {
    media.addEventListener("change", function (event) {
      var choice = stored();
      if (choice !== "light" && choice !== "dark") apply(event.matches ? "dark" : "light");
    });
  }
  apply(current());
})();
