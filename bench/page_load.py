"""One page load in headless Chromium, for bench/pages.py: build the site, serve it on
127.0.0.1, open a page in a fresh context (empty cache), scroll every chart into view as fast as
the page lets it, and record what it received (every response, for the weight), its paint and
load times, when each chart was drawn, and the long tasks while scrolling.

Browser: Debian's /usr/bin/chromium through Playwright (never a downloaded browser), with the
flags of tests/test_browser.py: headless, no GPU, WebGL from SwiftShader (software).
"""
from __future__ import annotations

import functools
import gzip
import mimetypes
import os
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bench import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [  # as tests/test_browser.py: software WebGL (SwiftShader) for the 3D charts
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
]
VIEWPORT = {"width": 1280, "height": 900}
CHART_TIMEOUT_MS = 180_000
GZIP_LEVEL = 6
KINDS = ("HTML", "CSS", "fonts", "JS", "data JSON", "other")

for _ext, _type in ((".js", "text/javascript"), (".json", "application/json"),
                    (".svg", "image/svg+xml"), (".woff2", "font/woff2"), (".woff", "font/woff"),
                    (".ttf", "font/ttf"), (".xml", "application/xml"), (".csv", "text/csv")):
    mimetypes.add_type(_type, _ext)

# Installed before any page script: records when each chart placeholder gets data-drawn.
OBSERVER_JS = """
window.__drawn = {};
new MutationObserver(function (records) {
  records.forEach(function (r) {
    var e = r.target;
    if (e.getAttribute && e.getAttribute("data-drawn") === "true") {
      var id = e.getAttribute("data-chart-id") || e.getAttribute("data-chart-src");
      if (!(id in window.__drawn)) window.__drawn[id] = performance.now();
    }
  });
}).observe(document, {subtree: true, attributes: true, attributeFilter: ["data-drawn"]});
window.__longTasks = [];
new PerformanceObserver(function (list) {
  list.getEntries().forEach(function (e) { window.__longTasks.push([e.startTime, e.duration]); });
}).observe({type: "longtask", buffered: true});
"""

SCROLL_JS = """async () => {
  const frame = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const start = performance.now();
  for (const e of document.querySelectorAll(".chart[data-chart-src]")) {
    e.scrollIntoView({block: "center"});
    await frame();
  }
  window.scrollTo(0, document.documentElement.scrollHeight);
  await frame();
  return start;
}"""

ALL_DRAWN_JS = """() => Array.from(document.querySelectorAll(".chart[data-chart-src]"))
  .every(e => e.getAttribute("data-drawn") === "true" || e.hasAttribute("data-error"))"""

CHARTS_JS = """() => Array.from(document.querySelectorAll(".chart[data-chart-src]")).map(e => ({
  id: e.getAttribute("data-chart-id") || e.getAttribute("data-chart-src"),
  is3d: !!(e.closest("figure") && e.closest("figure").classList.contains("chart-3d")),
  error: e.getAttribute("data-error")}))"""

TIMES_JS = """() => {
  const paint = Object.fromEntries(performance.getEntriesByType("paint")
                                   .map(e => [e.name, e.startTime]));
  const nav = performance.getEntriesByType("navigation")[0] || {};
  // the first chart bundle in: Chart.js (2D), or plotly.js (before Chart.js, and for 3D)
  const bundles = performance.getEntriesByType("resource")
    .filter(e => /(plotly|chartjs)[^/]*\.js/.test(e.name)).map(e => e.responseEnd);
  return {fp: paint["first-paint"], fcp: paint["first-contentful-paint"],
          dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
          bundle: bundles.length ? Math.min(...bundles) : null};
}"""


# -- build and serve ---------------------------------------------------------------------------

def build_site(out: Path) -> tuple[str, str]:
    """Build into out; (the flags that worked, what happened before)."""
    py = ROOT / ".venv" / "bin" / "python"
    py = str(py) if py.exists() else sys.executable
    env = {**os.environ, "TQDM_DISABLE": "1"}
    notes = []
    for flags in (["--frozen"], ["--no-train"], ["--quick", "--no-train"]):
        shutil.rmtree(out, ignore_errors=True)
        proc = subprocess.run([py, "build.py", *flags, "--out", str(out)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=600)
        if proc.returncode == 0 and (out / "index.html").is_file():
            stale = [ln for ln in proc.stderr.splitlines() if "not trained in this build" in ln]
            if stale:
                notes.append(f"{len(stale)} stale result(s) rendered as they are")
            return " ".join(flags), "; ".join(notes)
        first = next((ln for ln in proc.stderr.splitlines() if ln.startswith("error:")),
                     proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "")
        notes.append(f"`{' '.join(flags)}` failed: {first[:160]}")
    raise RuntimeError("could not build the site: " + "; ".join(notes))


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


def serve(site: Path) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(QuietHandler, directory=str(site)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def site_pages(site: Path) -> list[str]:
    pages = []
    for html in sorted(site.rglob("*.html")):
        rel = html.relative_to(site).as_posix()
        if rel.startswith(("static/", "data/")):
            continue
        pages.append(rel[: -len("index.html")] if rel.endswith("index.html") else rel)
    return pages


def kind_of(path: str) -> str:
    ext = Path(path).suffix.lower()
    return {".html": "HTML", ".css": "CSS", ".woff2": "fonts", ".woff": "fonts", ".ttf": "fonts",
            ".js": "JS", ".json": "data JSON"}.get(ext, "other")


def local_file(site: Path, url: str) -> Path | None:
    path = unquote(urlsplit(url).path).lstrip("/")
    target = site / path
    if target.is_dir() or path == "" or path.endswith("/"):
        target = target / "index.html"
    return target if target.is_file() else None


# -- one page load -----------------------------------------------------------------------------

def load_page(browser, site: Path, url: str) -> dict:
    ctx = browser.new_context(viewport=VIEWPORT, color_scheme="light", reduced_motion="reduce",
                              service_workers="block")
    try:
        page = ctx.new_page()
        responses: list[tuple[str, int]] = []
        errors: list[str] = []
        page.on("response", lambda r: responses.append((r.url, r.status)))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.add_init_script(OBSERVER_JS)
        page.goto(url, wait_until="load")
        charts = page.evaluate(CHARTS_JS)
        scroll_start = None
        if charts:
            scroll_start = page.evaluate(SCROLL_JS)
            page.wait_for_function(ALL_DRAWN_JS, timeout=CHART_TIMEOUT_MS, polling=50)
        page.wait_for_load_state("networkidle")
        times = page.evaluate(TIMES_JS)
        drawn = page.evaluate("() => window.__drawn")
        long_tasks = [d for start, d in page.evaluate("() => window.__longTasks")
                      if scroll_start is not None and start + d >= scroll_start]
        charts = page.evaluate(CHARTS_JS)
    finally:
        ctx.close()
    files: dict[str, Path] = {}
    for resp_url, status in responses:
        if status == 200 and urlsplit(resp_url).scheme in ("http", "https"):
            f = local_file(site, resp_url)
            if f is not None:
                files[f.relative_to(site).as_posix()] = f
    ms = {c["id"]: drawn.get(c["id"]) for c in charts}
    d2 = [v for c in charts if not c["is3d"] and (v := ms[c["id"]]) is not None]
    d3 = [v for c in charts if c["is3d"] and (v := ms[c["id"]]) is not None]
    return {
        "files": files, "errors": errors,
        "chart_times": [(c["id"], c["is3d"], ms[c["id"]] / 1000 if ms[c["id"]] else None)
                        for c in charts],
        "fp_s": (times.get("fp") or 0) / 1000, "fcp_s": (times.get("fcp") or 0) / 1000,
        "load_s": (times.get("load") or 0) / 1000,
        "n_charts": len(charts), "n_3d": sum(c["is3d"] for c in charts),
        "chart_errors": [f"{c['id']}: {c['error']}" for c in charts if c["error"]],
        "scroll_start_s": scroll_start / 1000 if scroll_start is not None else None,
        "bundle_loaded_s": times["bundle"] / 1000 if times.get("bundle") else None,
        "first_drawn_s": min(ms.values(), default=None) / 1000 if charts and all(
            v is not None for v in ms.values()) else None,
        "all_drawn_s": max(ms.values(), default=None) / 1000 if charts and all(
            v is not None for v in ms.values()) else None,
        "drawn_2d_s": max(d2) / 1000 if d2 else None,
        "drawn_3d_s": max(d3) / 1000 if d3 else None,
        "long_tasks_n": len(long_tasks), "long_tasks_s": sum(long_tasks) / 1000,
        "long_task_max_s": max(long_tasks, default=0) / 1000,
    }


def weigh(files: dict[str, Path]) -> dict:
    per_kind = {k: {"n": 0, "raw": 0, "gzip": 0} for k in KINDS}
    biggest = []
    for rel, path in files.items():
        data = path.read_bytes()
        gz = len(gzip.compress(data, GZIP_LEVEL))
        k = per_kind[kind_of(rel)]
        k["n"] += 1
        k["raw"] += len(data)
        k["gzip"] += gz
        biggest.append((gz, len(data), rel))
    total = {"n": sum(k["n"] for k in per_kind.values()),
             "raw": sum(k["raw"] for k in per_kind.values()),
             "gzip": sum(k["gzip"] for k in per_kind.values())}
    return {"per_kind": per_kind, "total": total, "biggest": sorted(biggest, reverse=True)[:5]}
