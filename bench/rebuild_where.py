"""Where a rebuild's time goes, for bench/rebuild.py, in its temporary copy of the repository.

* stage timers: one build in one process (cli.main) with plain perf_counter timers wrapped
  around the pipeline's and the renderer's stages (no profiler overhead; median of 3 builds);
* a cProfile of one such build: its top functions by cumulative time;
* import time by package (-X importtime), and the time of `build.py status`;
* whether a render-only build imports torch.
"""
from __future__ import annotations

import json
import os
import pstats
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from bench import median

# (label, module, attribute): stages timed in-process; indented ones run inside the one above
STAGES = [
    ("freeze check of every result (pipeline.statuses)", "onpolicy.pipeline", "statuses"),
    ("  check a result file (freeze.open_result)", "onpolicy.freeze", "open_result"),
    ("  import graphs, source hashes (source_digests)", "onpolicy.freeze", "source_digests"),
    ("folder digests (incremental.folder_digests)", "onpolicy.incremental", "folder_digests"),
    ("site key (incremental.site_key)", "onpolicy.incremental", "site_key"),
    ("render into a new directory (pipeline._render)", "onpolicy.pipeline", "_render"),
    ("  parse result payloads (ResultFile.document)", "onpolicy.freeze", "ResultFile.document"),
    ("  facts (from the cache, or computed)", "onpolicy.render.site", "SiteBuild.facts"),
    ("  reuse unchanged units (Reuse.take)", "onpolicy.incremental", "Reuse.take"),
    ("  compile a page body (Jinja)", "onpolicy.render.body", "compile_body"),
    ("  run a page body's Jinja (facts, charts, captions)", "onpolicy.render.body",
     "render_reporting_lines"),
    ("  Markdown -> HTML of page bodies", "onpolicy.render.body", "markdown_to_html"),
    ("  KaTeX (PageBody._typeset)", "onpolicy.render.body", "PageBody._typeset"),
    ("  page layouts (SiteBuild.render_layout)", "onpolicy.render.site",
     "SiteBuild.render_layout"),
    ("  link check (links.check_links)", "onpolicy.render.links", "check_links"),
    ("  swap into place (atomic.swap_dir)", "onpolicy.atomic", "swap_dir"),
]

TIMERS = """\
import functools, importlib, json, sys, time
start = time.perf_counter()
import onpolicy.cli, onpolicy.pipeline, onpolicy.render.site
spent = {"imports (onpolicy.cli, pipeline, render)": time.perf_counter() - start}

def timed(label, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.perf_counter() - t
    return wrapper

for label, module, attribute in json.loads(sys.argv[1]):
    owner = importlib.import_module(module)
    *path, name = attribute.split(".")
    for part in path:
        owner = getattr(owner, part)
    target = vars(owner).get(name) if isinstance(owner, type) else getattr(owner, name)
    if isinstance(target, property):
        setattr(owner, name, property(timed(label, target.fget)))
    elif target is not None:
        setattr(owner, name, timed(label, target))
t = time.perf_counter()
code = onpolicy.cli.main(sys.argv[2:])
spent["whole build (cli.main)"] = time.perf_counter() - t
print("TIMERS " + json.dumps({"exit": code, "spent": spent}))
"""


def stage_timers(repo: Path, python: str, env: dict, flags: list[str],
                 edit: Callable[[int], None] | None) -> dict:
    """{label: median seconds} over 3 in-process builds (edit(n) before each, if given)."""
    runs = []
    for n in range(3):
        if edit:
            edit(1000 + n)
        proc = subprocess.run([python, "-c", TIMERS, json.dumps(STAGES), *flags], cwd=repo,
                              env=env, capture_output=True, text=True)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("TIMERS ")), None)
        if line is None or json.loads(line[7:])["exit"] != 0:
            return {"error": (proc.stderr or proc.stdout)[-300:]}
        runs.append(json.loads(line[7:])["spent"])
    labels = [label for label, _, _ in STAGES]
    ordered = [k for k in runs[0] if k not in labels] + labels
    return {k: median([r.get(k, 0.0) for r in runs]) for k in ordered if any(k in r for r in runs)}


def profile(repo: Path, python: str, env: dict, flags: list[str], out: Path) -> list:
    """(cumulative seconds, where) of the top project and library functions of one build."""
    proc = subprocess.run([python, "-m", "cProfile", "-o", str(out), "build.py", *flags],
                          cwd=repo, env=env, capture_output=True, text=True)
    if proc.returncode != 0 or not out.is_file():
        return [(0.0, f"profiled build failed (exit {proc.returncode})")]
    raw = pstats.Stats(str(out)).stats  # (file, line, name) -> (cc, nc, tt, ct, callers)

    def where(f: str, fn: str) -> str:
        f = f.replace(os.sep, "/")
        f = f.split("site-packages/")[-1] if "site-packages/" in f else \
            f[f.find("onpolicy/"):] if "onpolicy/" in f else Path(f).name
        return f"{f}:{fn}"
    return sorted(((v[3], where(f, fn)) for (f, _, fn), v in raw.items()
                   if ("site-packages" in f or "onpolicy/" in f) and fn != "<module>"),
                  reverse=True)[:15]


def import_times(repo: Path, python: str, env: dict) -> dict:
    """-X importtime of what a render-only build imports: seconds per top-level package (the
    cumulative time of its outermost imports), and `build.py status` (median of 3)."""
    code = "import onpolicy.cli, onpolicy.pipeline, onpolicy.render"
    proc = subprocess.run([python, "-X", "importtime", "-c", code], cwd=repo, env=env,
                          capture_output=True, text=True)
    entries = []  # (level, name, cumulative us), in the order printed (children first)
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            entries.append(((len(m.group(3)) - 1) // 2, m.group(4), int(m.group(2))))
    per_package: dict[str, int] = {}
    stack: list[str] = []  # reversed order is pre-order: a parent before its children
    for level, name, cumulative in reversed(entries):
        del stack[level:]
        top = name.split(".")[0]
        if not stack or stack[-1].split(".")[0] != top:
            per_package[top] = per_package.get(top, 0) + cumulative
        stack.append(name)
    status = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([python, "build.py", "status"], cwd=repo, env=env, check=True,
                       capture_output=True)
        status.append(time.perf_counter() - t)
    return {"status_s": median(status),
            "importtime_total_s": sum(c for level, _, c in entries if level == 0) / 1e6,
            "per_package_s": sorted(((v / 1e6, k) for k, v in per_package.items()),
                                    reverse=True)[:10]}


TORCH_PROBE = """\
import json, runpy, sys
sys.argv = ["build.py", *json.loads(sys.argv[1])]
code = 0
try:
    runpy.run_path("build.py", run_name="__main__")
except SystemExit as exit_:
    code = exit_.code
mods = sorted(m for m in ("torch", "numpy", "plotly", "experiments.runs", "experiments.data")
              if m in sys.modules)
print("PROBE " + json.dumps({"exit": code, "imported": mods}), file=sys.stderr)
"""


def torch_probe(repo: Path, python: str, env: dict, args: list[str]) -> dict:
    proc = subprocess.run([python, "-c", TORCH_PROBE, json.dumps(args)], cwd=repo, env=env,
                          capture_output=True, text=True)
    for line in proc.stderr.splitlines():
        if line.startswith("PROBE "):
            return json.loads(line[6:])
    return {"exit": proc.returncode, "imported": None, "error": proc.stderr[-400:]}


def report(repo: Path, python: str, env: dict, flags: list[str],
           edits: dict[str, Callable[[int], None] | None]) -> dict:
    """Measure and print where the time goes, for each named edit (None: a no-op build)."""
    found: dict = {"imports": import_times(repo, python, env), "stages": {}, "profile": {}}
    imports = found["imports"]
    print(f"\n`build.py status` (start, imports, freeze check): {imports['status_s']:.2f} s; "
          f"import time by package (-X importtime, {imports['importtime_total_s']:.3f} s "
          "in all):")
    print("  " + ", ".join(f"{pkg} {s:.3f} s" for s, pkg in imports["per_package_s"]))
    for name, edit in edits.items():
        stages = stage_timers(repo, python, env, flags, edit)
        if edit:
            edit(2000)
        top = profile(repo, python, env, flags, repo.parent / f"{name.split()[0]}.prof")
        found["stages"][name], found["profile"][name] = stages, top
        print(f"\n{name}: stage timers in one process (median of 3 builds, no profiler):")
        for label, seconds in stages.items():
            print(f"    {label:<58} {seconds:6.3f} s" if label != "error" else f"    {seconds}")
        print(f"  cProfile of one {name} build, top functions by cumulative time:")
        for seconds, where in top:
            print(f"    {where:<66} {seconds:6.3f} s")
    found["torch_probe"] = torch_probe(repo, python, env, flags)
    print(f"\ntorch imported by a render-only build ({' '.join(flags)}): "
          f"{'torch' in (found['torch_probe'].get('imported') or ['?'])} "
          f"(modules loaded: {found['torch_probe'].get('imported')})")
    return found
