"""Page weight and render time of the built site, in headless Chromium on localhost.

The site is built into a temporary directory (`build.py --frozen --out TMP`; if the frozen
results are not all fresh, `--no-train`, and if that cannot render, `--quick --no-train`;
the output says which) and served by a local HTTP server. Each page is opened in a fresh
browser context (empty cache), then every chart is scrolled into view, one after another as
fast as the page lets it, until each placeholder has data-drawn="true" (or data-error).

Weight: every response the page received, lazy chart JSON and the Plotly bundle included,
in bytes raw and gzipped (gzip level 6, what a typical static host sends), by kind: HTML,
CSS, fonts, JS, data JSON, other. Times, from the navigation start (performance.timeOrigin):
first paint and first contentful paint (performance.getEntriesByType('paint')), the load
event, and the moment the last chart was drawn (a MutationObserver records when each
placeholder gets data-drawn). Long tasks (PerformanceObserver 'longtask', main-thread tasks
over 50 ms) from the start of the scroll to the last chart drawn: their count, total and
longest. Median of the repeats.

`--before DIR` also measures a site built earlier (e.g. from the previous commit) in the same
browser, interleaved with the current one, and prints both side by side.

Browser: Debian's /usr/bin/chromium through Playwright (never a downloaded browser), with the
flags of tests/test_browser.py: headless, no GPU, WebGL from SwiftShader (software), so the
3D surfaces are drawn by the CPU.
"""
from __future__ import annotations

import argparse
import functools
import gzip
import mimetypes
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bench import ROOT, fmt_bytes, machine_header, median, spread, table, verdict

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [  # as tests/test_browser.py: software WebGL (SwiftShader) for the 3D charts
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
]
VIEWPORT = {"width": 1280, "height": 900}
CHART_TIMEOUT_MS = 180_000
TARGET_ARTICLE_GZIP = 450_000     # bytes: the article, everything it loads, gzipped
TARGET_LONG_TASKS_S = 3.0         # total long-task time while scrolling through every chart
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
  const plotly = performance.getEntriesByType("resource")
    .filter(e => /plotly[^/]*\.js/.test(e.name)).map(e => e.responseEnd);
  return {fp: paint["first-paint"], fcp: paint["first-contentful-paint"],
          dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
          plotly: plotly.length ? plotly[0] : null};
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
        "plotly_loaded_s": times["plotly"] / 1000 if times.get("plotly") else None,
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


def _s(v) -> str:
    return "n/a" if v is None or v != v else f"{v:.2f} s"


# -- the benchmark -----------------------------------------------------------------------------

def article_path(site: Path) -> str:
    """The page with the most charts (the article), as a URL path."""
    def charts(pg: str) -> int:
        html = site / (pg + "index.html" if pg == "" or pg.endswith("/") else pg)
        return html.read_text(encoding="utf-8").count("data-chart-src=")
    return max(site_pages(site), key=charts)


def side_by_side(browser, sites: dict[str, Path], repeats: int) -> dict:
    """The article of each site (label -> built site), loaded interleaved in one browser:
    weight with every chart drawn, time to first chart and long tasks while scrolling."""
    servers = {label: serve(site) for label, site in sites.items()}
    runs: dict[str, list[dict]] = {label: [] for label in sites}
    try:
        for _ in range(repeats):
            for label, site in sites.items():
                url = f"http://127.0.0.1:{servers[label].server_address[1]}/" \
                      f"{article_path(site)}"
                runs[label].append(load_page(browser, site, url))
    finally:
        for server in servers.values():
            server.shutdown()
            server.server_close()
    rows, out = [], {}
    for label, loads in runs.items():
        gz = weigh(loads[0]["files"])["total"]["gzip"]
        med = {k: median([x[k] for x in loads]) for k in
               ("first_drawn_s", "all_drawn_s", "long_tasks_n", "long_tasks_s",
                "long_task_max_s")}
        out[label] = {"gzip": gz, **med}
        rows.append([label, fmt_bytes(gz), _s(med["first_drawn_s"]), _s(med["all_drawn_s"]),
                     f"{med['long_tasks_n']:.0f}", _s(med["long_tasks_s"]),
                     _s(med["long_task_max_s"])])
    print()
    print(f"the article side by side ({repeats} load(s) each, interleaved; medians):")
    print(table(rows, ["site", "gzip, all charts drawn", "1st chart", "all drawn",
                       "long tasks", "long-task total", "longest"]))
    return out


def main(repeats: int | None = None, quick: bool = False, before: Path | None = None) -> dict:
    repeats = repeats or (1 if quick else 3)
    print(machine_header("page weight and render time (headless Chromium, localhost)"))
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} not found: install Debian's chromium package")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="onpolicy-bench-pages-"))
    server = None
    try:
        site = tmp / "public"
        start = time.perf_counter()
        flags, notes = build_site(site)
        print(f"site:     `build.py {flags} --out TMP` ({time.perf_counter() - start:.1f} s"
              + (f"; {notes}" if notes else "") + ")")
        server = serve(site)
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        pages = site_pages(site)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                        headless=True, timeout=60_000)
            version = browser.version
            print(f"browser:  Chromium {version} ({' '.join(CHROMIUM_ARGS[4:])}), viewport "
                  f"{VIEWPORT['width']}x{VIEWPORT['height']}; {repeats} load(s) per page, "
                  f"fresh context (empty cache) each")
            compared = side_by_side(browser, {"before": before, "now": site}, repeats) \
                if before else None
            loads = {pg: [] for pg in pages}
            for r in range(repeats):
                for pg in pages:  # interleaved: page A, B, C, then again
                    loads[pg].append(load_page(browser, site, base + pg))
                    last = loads[pg][-1]
                    print(f"  load {r + 1}/{repeats} /{pg}: FCP {last['fcp_s']:.2f} s, load "
                          f"{last['load_s']:.2f} s" + (
                              f", {last['n_charts']} charts drawn at "
                              f"{last['all_drawn_s']:.2f} s" if last["n_charts"] and
                              last["all_drawn_s"] is not None else ""), flush=True)
            browser.close()

        result = {"flags": flags, "notes": notes, "chromium": version, "repeats": repeats,
                  "pages": {}, "side_by_side": compared}
        weight_rows, time_rows = [], []
        for pg in pages:
            w = weigh(loads[pg][0]["files"])
            runs = loads[pg]
            med = {key: median([x[key] for x in runs]) for key in
                   ("fp_s", "fcp_s", "load_s", "all_drawn_s", "drawn_2d_s", "drawn_3d_s",
                    "plotly_loaded_s", "first_drawn_s")}
            result["pages"][pg or "index.html"] = {
                "weight": {**w, "biggest": w["biggest"]}, "times_median": med,
                "times": [{k: v for k, v in x.items() if k != "files"} for x in runs],
                "n_charts": runs[0]["n_charts"], "n_3d": runs[0]["n_3d"]}
            label = "/" + pg
            weight_rows.append([label] + [
                f"{fmt_bytes(w['per_kind'][k]['raw'])} / {fmt_bytes(w['per_kind'][k]['gzip'])}"
                if w["per_kind"][k]["n"] else "-" for k in KINDS]
                + [f"{fmt_bytes(w['total']['raw'])} / {fmt_bytes(w['total']['gzip'])}",
                   w["total"]["n"]])
            fmt = (lambda v: "-" if v is None or v != v else f"{v:.2f} s")
            time_rows.append([label, fmt(med["fp_s"]), fmt(med["fcp_s"]), fmt(med["load_s"]),
                              f"{runs[0]['n_charts']} ({runs[0]['n_3d']} 3D)"
                              if runs[0]["n_charts"] else "-",
                              fmt(med["plotly_loaded_s"]), fmt(med["first_drawn_s"]),
                              fmt(med["drawn_2d_s"]), fmt(med["drawn_3d_s"]),
                              fmt(med["all_drawn_s"]),
                              spread([x["all_drawn_s"] for x in runs])
                              if runs[0]["n_charts"] else "-"])
            problems = [e for x in runs for e in x["chart_errors"] + x["errors"]]
            if problems:
                print(f"  /{pg}: {len(problems)} problem(s): {problems[:3]}")
        print()
        print(f"weight of everything each page loads (raw / gzip -{GZIP_LEVEL}), lazy chart "
              f"data included:")
        print(table(weight_rows, ["page"] + list(KINDS) + ["total", "files"]))
        print()
        print("times from navigation start, median (headless, software WebGL):")
        print(table(time_rows, ["page", "first paint", "FCP", "load", "charts",
                                "plotly.js in", "1st chart", "last 2D", "last 3D",
                                "all drawn", "all drawn range"]))

        article = max(result["pages"].items(), key=lambda kv: kv[1]["n_charts"])
        a_name, a = article
        print()
        print(f"largest files loaded by /{a_name if a_name != 'index.html' else ''} (gzip):")
        for gz, raw, rel in a["weight"]["biggest"]:
            print(f"  {rel:<60} {fmt_bytes(raw):>10} raw  {fmt_bytes(gz):>10} gzip")
        runs = loads[a_name if a_name != "index.html" else ""]
        if runs[0]["chart_times"]:
            print(f"each chart of /{a_name} drawn at (s from navigation start, median; * = 3D):")
            per = []
            for i, (cid, is3d, _) in enumerate(runs[0]["chart_times"]):
                t = median([x["chart_times"][i][2] for x in runs])
                per.append(f"{cid}{'*' if is3d else ''} {t:.2f}")
            for i in range(0, len(per), 5):
                print("  " + ", ".join(per[i:i + 5]))
            a["chart_times"] = [x["chart_times"] for x in runs]
        gz_total = a["weight"]["total"]["gzip"]
        drawn = a["times_median"]["all_drawn_s"]
        ok_weight = gz_total <= TARGET_ARTICLE_GZIP
        long_s = median([x["long_tasks_s"] for x in runs])
        ok_long = long_s <= TARGET_LONG_TASKS_S
        result["article"] = a_name
        result["summary"] = [
            f"pages ({flags}): article /{a_name} loads {fmt_bytes(a['weight']['total']['raw'])}"
            f" raw, {gz_total:,} B gzipped with every chart drawn (target <= "
            f"{TARGET_ARTICLE_GZIP:,} B: {verdict(ok_weight)}); FCP "
            f"{a['times_median']['fcp_s']:.2f} s; first chart at "
            f"{_s(a['times_median']['first_drawn_s'])}, all {a['n_charts']} at {_s(drawn)}; "
            f"long tasks while scrolling {median([x['long_tasks_n'] for x in runs]):.0f}, "
            f"{long_s:.2f} s in all, longest "
            f"{median([x['long_task_max_s'] for x in runs]):.2f} s (target <= "
            f"{TARGET_LONG_TASKS_S:.0f} s: {verdict(ok_long)})"]
        if compared:
            b, n = compared["before"], compared["now"]
            result["summary"].append(
                f"pages, side by side: before {b['gzip']:,} B, {b['long_tasks_s']:.2f} s of long "
                f"tasks, first chart {_s(b['first_drawn_s'])}; now {n['gzip']:,} B, "
                f"{n['long_tasks_s']:.2f} s, first chart {_s(n['first_drawn_s'])}")
        return result
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        shutil.rmtree(tmp, ignore_errors=True)


def cli(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, help="loads per page (default 3; 1 with --quick)")
    parser.add_argument("--quick", action="store_true", help="one load per page")
    parser.add_argument("--before", type=Path, metavar="DIR",
                        help="a site built earlier (build.py --out DIR): its article is "
                             "measured side by side with the current one")
    args = parser.parse_args(argv)
    if args.before and not (args.before / "index.html").is_file():
        parser.error(f"--before {args.before}: no index.html there (build a site into it)")
    result = main(args.repeats, args.quick, args.before)
    print("\n".join(result["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(cli())
