"""Page weight and render time of the built site, in headless Chromium on localhost.

The site is built into a temporary directory (`build.py --frozen --out TMP`; if the frozen
results are not all fresh, `--no-train`, and if that cannot render, `--quick --no-train`;
the output says which) and served by a local HTTP server. Each page is opened in a fresh
browser context (empty cache), then every chart is scrolled into view, one after another as
fast as the page lets it, until each placeholder has data-drawn="true" (or data-error).

Weight: every response the page received, lazy chart data and the chart bundles included,
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
3D surfaces are drawn by the CPU. Loading, serving and weighing: bench/page_load.py.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench import fmt_bytes, machine_header, median, spread, table, verdict
from bench.page_load import (CHROMIUM, CHROMIUM_ARGS, GZIP_LEVEL, KINDS, VIEWPORT,
                             build_site, load_page, serve, site_pages, weigh)

TARGET_ARTICLE_GZIP = 450_000     # bytes: the article, everything it loads, gzipped
TARGET_LONG_TASKS_S = 3.0         # total long-task time while scrolling through every chart


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
                    "bundle_loaded_s", "first_drawn_s")}
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
                              fmt(med["bundle_loaded_s"]), fmt(med["first_drawn_s"]),
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
                                "chart code in", "1st chart", "last 2D", "last 3D",
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
