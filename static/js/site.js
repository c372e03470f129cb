// Page helpers: links that work when the site is opened from disk, keyboard access and a
// visible cue for boxes that scroll sideways, and the contents list following the reader.
(function () {
  "use strict";

  // From file:// a link to "dir/" opens a directory listing: point it at "dir/index.html".
  if (location.protocol === "file:") {
    document.querySelectorAll("a[href]").forEach(function (a) {
      var href = a.getAttribute("href");
      if (/^[a-z][a-z0-9+.-]*:|^\/\/|^#/i.test(href)) return;
      var parts = href.match(/^([^?#]*)(.*)$/);
      if (parts[1] === "" ) return;
      if (/(^|\/)\.{0,2}$/.test(parts[1]) || parts[1].slice(-1) === "/") {
        a.setAttribute("href", parts[1].replace(/\/?$/, "/") + "index.html" + parts[2]);
      }
    });
  }

  // Wide equations, tables and code: focusable (so arrow keys scroll them), named, and
  // marked with a cue while there is more to see on the right.
  var SCROLLERS = [[".math-display", "Equation"], [".prose table", "Table"],
                   [".chart-data table", "Data table"], ["pre", "Code"]];
  function checkScrollers() {
    SCROLLERS.forEach(function (pair) {
      document.querySelectorAll(pair[0]).forEach(function (box) {
        var wide = box.scrollWidth > box.clientWidth + 1;
        box.classList.toggle("scrolls", wide);
        box.classList.toggle("scrolled-to-end",
                             box.scrollLeft + box.clientWidth >= box.scrollWidth - 1);
        if (wide && !box.hasAttribute("tabindex")) {
          box.setAttribute("tabindex", "0");
          box.setAttribute("role", "region");
          box.setAttribute("aria-label", pair[1] + " (scrolls sideways)");
          box.addEventListener("scroll", function () {
            box.classList.toggle("scrolled-to-end",
                                 box.scrollLeft + box.clientWidth >= box.scrollWidth - 1);
          }, { passive: true });
        }
      });
    });
  }
  checkScrollers();
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(checkScrollers, 200);
  });
  document.querySelectorAll("details").forEach(function (d) {
    d.addEventListener("toggle", checkScrollers);
  });

  // The contents list marks the section being read (shown in the margin on wide screens).
  var links = Array.prototype.slice.call(document.querySelectorAll(".toc a[href^='#']"));
  var headings = links.map(function (a) {
    return document.getElementById(decodeURIComponent(a.getAttribute("href").slice(1)));
  });
  if (links.length && "IntersectionObserver" in window) {
    var current = null;
    var update = function () {
      var index = -1;
      headings.forEach(function (h, i) {
        if (h && h.getBoundingClientRect().top < window.innerHeight * 0.3) index = i;
      });
      var link = links[Math.max(index, 0)];
      if (link === current) return;
      if (current) current.removeAttribute("aria-current");
      link.setAttribute("aria-current", "location");
      current = link;
    };
    var ticking = false;
    window.addEventListener("scroll", function () {
      if (ticking) return;
      ticking = true;
      requestAnimationFrame(function () { ticking = false; update(); });
    }, { passive: true });
    update();
  }
})();
