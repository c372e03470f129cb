"""The live bandit's training speed in headless Chromium: static/js/bandit-core.js run in a Web
Worker exactly as the article's explorable runs it (the same blob: worker, the frozen digit
subset of results/bandit-digits.json, an evaluation on the held-out digits every 50 steps),
3,000 steps per method; and the main thread's long tasks meanwhile (it only draws).

    python -m bench.bandit [--quick] [--repeats N]

The brief asks for at least 1,000 steps per second on this 2-core machine. The machine is
shared, so the load average at the start and end is printed with the numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
from pathlib import Path

from bench import ROOT, machine_header

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
METHODS = [("q", 1.0), ("pg_naive", 1.0), ("pg_stable", 1.0), ("pg_onpolicy", 0.0),
           ("ppo", 1.0), ("is", 1.0)]
TARGET_STEPS_PER_S = 1000

PAGE = """<!doctype html><meta charset="utf-8"><title>bandit bench</title>
<script src="bandit-core.js"></script><script src="digits.js"></script>
<script>
window.__longTasks = [];
new PerformanceObserver(l => l.getEntries().forEach(e => window.__longTasks.push(e.duration)))
  .observe({type: "longtask", buffered: true});
window.runBench = function (jobs) {
  const source = "(" + window.onpolicyBanditWorker.toString() + ")((" +
    window.onpolicyBanditCore.toString() + ")());";
  const worker = new Worker(URL.createObjectURL(new Blob([source], {type: "text/javascript"})));
  worker.postMessage({type: "digits", payload: window.DIGITS});
  const results = [];
  return jobs.reduce((chain, job) => chain.then(() => new Promise(resolve => {
    const t0 = performance.now();
    worker.onmessage = e => {
      const m = e.data;
      if (m.type === "done" || m.type === "nonfinite") {
        const s = (performance.now() - t0) / 1000;
        const steps = m.type === "done" ? m.step : m.firstNonfinite;
        results.push({method: job.method, eps: job.eps, steps: steps, seconds: s,
                      steps_per_s: steps / s, accuracy: m.accuracy,
                      nonfinite: m.type === "nonfinite" ? m.firstNonfinite : null});
        resolve();
      }
    };
    worker.postMessage({type: "run", config: Object.assign({rewards: "pm1", seed: 0,
      hidden: 32, lr: 1e-3, batch: 64, evalEvery: 50, sliceMs: 30}, job)});
  })), Promise.resolve()).then(() => { worker.terminate();
    return {results: results, longTasks: window.__longTasks}; });
};
</script>"""


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def main(repeats: int | None = None, quick: bool = False) -> dict:
    repeats = repeats or (1 if quick else 3)
    steps = 600 if quick else 3000
    print(machine_header("live bandit: steps per second in a Web Worker (headless Chromium)"))
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} not found: install Debian's chromium package")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="onpolicy-bench-bandit-"))
    try:
        shutil.copy(ROOT / "static" / "js" / "bandit-core.js", tmp / "bandit-core.js")
        digits = json.loads((ROOT / "results" / "bandit-digits.json").read_text())["result"]
        (tmp / "digits.js").write_text(f"window.DIGITS = {json.dumps(digits)};\n")
        (tmp / "index.html").write_text(PAGE)
        runs: dict[str, list[float]] = {}
        long_tasks: list[float] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                        headless=True, timeout=60_000)
            print(f"browser: Chromium {browser.version}; {steps} steps per run, {repeats} "
                  "repeat(s), methods interleaved")
            page = browser.new_page()
            page.goto((tmp / "index.html").as_uri())
            jobs = [{"method": m, "eps": e, "steps": steps} for m, e in METHODS]
            for _ in range(repeats):
                out = page.evaluate("jobs => window.runBench(jobs)", jobs)
                for r in out["results"]:
                    runs.setdefault(r["method"], []).append(r["steps_per_s"])
                long_tasks = out["longTasks"]
            browser.close()
        print(f"load average at end:   {load_average()}")
        summary = []
        for method, values in runs.items():
            median = statistics.median(values)
            line = (f"bandit {method:12s} {median:7.0f} steps/s (median of {len(values)}; "
                    f"{'meets' if median >= TARGET_STEPS_PER_S else 'BELOW'} the "
                    f"{TARGET_STEPS_PER_S} target)")
            print(line)
            summary.append(line)
        worst = max(long_tasks, default=0.0)
        summary.append(f"bandit main-thread long tasks while training: {len(long_tasks)} "
                       f"(longest {worst:.0f} ms)")
        print(summary[-1])
        return {"steps_per_s": runs, "long_tasks_ms": long_tasks, "summary": summary,
                "load_average": load_average()}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.bandit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, help="runs per method (median)")
    parser.add_argument("--quick", action="store_true", help="600 steps, one repeat")
    args = parser.parse_args()
    main(args.repeats, args.quick)
