"""Rebuild latency and peak memory, measured in a temporary copy of the repository.

The copy holds what git would (`git ls-files -co --exclude-standard`: tracked and untracked,
not ignored, files), with results/ and the --quick results (.cache/quick/) copied, the
repository's node_modules symlinked and its virtualenv's python reused. Nothing in the real
working tree is touched. Each build is `python build.py ...` in a subprocess, started by a
small launcher that measures its wall time and the ru_maxrss that os.wait4 reports for it
(the largest resident set of the build process and the processes it waited for, e.g. the
KaTeX node worker).

Scenarios, interleaved round by round (median of the rounds):
  no-op          the same build again, nothing changed (renders and writes nothing)
  prose edit     a sentence appended to site_src/article/index.md
  template edit  an HTML comment added to templates/base.html
and, once per round, in --quick mode: one experiment retrained
  (`--quick --rerun binary-supervised`; every other --quick result is reused).

Render-only builds use `--no-train` when every frozen result is fresh, otherwise
`--quick --no-train` over the --quick results (said in the output). Also: where the no-op
time goes (interpreter start, imports by package with -X importtime, a cProfile of the
build by phase), and whether torch is imported by a render-only build.
"""
from __future__ import annotations

import argparse
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import MNIST_DEFAULT, ROOT, fmt_bytes, machine_header, median, spread, table, verdict

TARGET_NOOP_S = 0.4   # issue 12: a no-op rebuild under 0.4 s on the 2-core machine
TARGET_PROSE_S = 1.0  # and a prose edit under 1 s
ONE_EXPERIMENT = "binary-supervised"


# -- the copy ----------------------------------------------------------------------------------

def make_copy(dest: Path) -> Path:
    """A working copy of the repository at dest/repo (see the module docstring)."""
    repo = dest / "repo"
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            check=True, capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        src = ROOT / rel
        if not src.is_file() or src.is_symlink():
            continue  # deleted in the working tree, or a link (node_modules is linked below)
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    for folder in ("results", ".cache/quick"):  # results/ may be partly untracked or ignored
        if (ROOT / folder).is_dir():
            shutil.copytree(ROOT / folder, repo / folder, dirs_exist_ok=True)
    (repo / "results").mkdir(exist_ok=True)
    if (ROOT / "node_modules").exists():
        (repo / "node_modules").symlink_to(ROOT / "node_modules")
    return repo


def python_exe() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def build_env() -> dict:
    env = {**os.environ, "TQDM_DISABLE": "1", "PYTHONUNBUFFERED": "1"}
    # A developer's machine caches bytecode; this sandbox sets PYTHONDONTWRITEBYTECODE=1,
    # which would recompile every project module on every build. Let the copy cache it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPATH", None)
    if not env.get("MNIST_DIR") and MNIST_DEFAULT.is_dir():
        env["MNIST_DIR"] = str(MNIST_DEFAULT)
    return env


# A small launcher runs each measured command: ru_maxrss is a high-water mark that a forked
# child inherits from its parent's image, so a command forked straight from this process (which
# may hold torch and MNIST after the throughput benchmark) would report this process's size.
LAUNCHER = """\
import json, os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - start
with open(sys.argv[1], "w") as f:
    json.dump({"wall_s": wall, "maxrss": usage.ru_maxrss * 1024,
               "rc": os.waitstatus_to_exitcode(status)}, f)
"""


def timed(cmd: list[str], cwd: Path, log: Path) -> dict:
    """Run cmd; wall seconds, peak RSS (bytes) and exit status, measured by the launcher."""
    import json

    side = log.with_name("last-run.json")
    side.unlink(missing_ok=True)
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.run([python_exe(), "-c", LAUNCHER, str(side), *cmd], cwd=cwd,
                              env=build_env(), stdout=out, stderr=out)
    if not side.is_file():
        return {"wall_s": float("nan"), "maxrss": 0, "rc": proc.returncode or 1}
    return json.loads(side.read_text())


def tail(log: Path, n: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-n:])


def status_counts(repo: Path, quick: bool) -> tuple[dict, str]:
    """{'fresh': n, 'stale': m, ...} from `build.py status`, and its last line."""
    cmd = [python_exe(), "build.py", "status"] + (["--quick"] if quick else [])
    proc = subprocess.run(cmd, cwd=repo, env=build_env(), capture_output=True, text=True)
    last = (proc.stdout.strip().splitlines() or [""])[-1]
    if proc.returncode != 0:
        return {}, proc.stderr.strip()[-200:]
    return {state: int(n) for n, state in re.findall(r"(\d+) (\w+)", last)}, last


def prepare(repo: Path, log: Path) -> tuple[list[str], str, str]:
    """Render flags, a description of the mode, and what setup was needed.

    --no-train when every frozen result is fresh, else --quick --no-train. The --quick
    results are made fresh in the copy first (they are needed anyway for the one-experiment
    scenario, where every other result must be fresh so that exactly one trains)."""
    frozen, frozen_line = status_counts(repo, quick=False)
    quick, quick_line = status_counts(repo, quick=True)
    setup = "--quick results already fresh"
    if set(quick) != {"fresh"}:
        run = timed([python_exe(), "build.py", "--quick"], repo, log)
        if run["rc"] != 0:
            raise RuntimeError(f"refreshing the --quick results failed:\n{tail(log)}")
        setup = (f"--quick results were not all fresh ({quick_line}): retrained in the copy "
                 f"with `build.py --quick` in {run['wall_s']:.1f} s")
    if frozen and set(frozen) == {"fresh"}:
        return ["--no-train"], f"frozen results ({frozen_line}): `build.py --no-train`", setup
    return (["--quick", "--no-train"], f"results/ not all fresh ({frozen_line}), so the "
            f"--quick results: `build.py --quick --no-train`", setup)


# -- edits -------------------------------------------------------------------------------------

def prose_edit(repo: Path, n: int) -> None:
    with open(repo / "site_src" / "article" / "index.md", "a", encoding="utf-8") as f:
        f.write(f"\nA benchmark sentence, edit number {n}, changes only the prose.\n")


def template_edit(repo: Path, n: int) -> None:
    path = repo / "templates" / "base.html"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("</body>", f"<!-- benchmark edit {n} -->\n</body>", 1),
                    encoding="utf-8")


# -- where the time goes -----------------------------------------------------------------------

PHASES = [  # (label, file suffix, function name) in the cProfile of one no-op build
    ("whole build (pipeline.build)", "onpolicy/pipeline.py", "build"),
    ("status: freeze hashes of every experiment", "onpolicy/freeze.py", "check"),
    ("content modules (facts.py, figures.py)", "onpolicy/render/content.py", "load_content"),
    ("facts from results", "onpolicy/render/content.py", "compute_facts"),
    ("copy static assets (plotly, KaTeX css/fonts)", "onpolicy/render/assets.py", "copy_assets"),
    ("write data/results/*.json", "onpolicy/render/site.py", "write_results"),
    ("page bodies (Markdown, Jinja, math, charts)", "onpolicy/render/body.py", "render"),
    ("  charts: build + write (write_chart)", "onpolicy/render/figures.py", "write_chart"),
    ("    plotly figure building (build_figure)", "onpolicy/render/content.py", "build_figure"),
    ("    figure -> JSON dict (figure_dict)", "onpolicy/render/figures.py", "figure_dict"),
    ("  KaTeX (render_many, cache + node)", "onpolicy/render/katex.py", "render_many"),
    ("    KaTeX node worker start", "onpolicy/render/katex.py", "_start"),
    ("page layouts (Jinja templates)", "onpolicy/render/site.py", "render_layout"),
    ("swap into place", "onpolicy/atomic.py", "swap_dir"),
]


def profile_noop(repo: Path, flags: list[str], log: Path) -> dict:
    prof = repo.parent / "noop.prof"
    cmd = [python_exe(), "-m", "cProfile", "-o", str(prof), "build.py", *flags]
    run = timed(cmd, repo, log)
    if run["rc"] != 0 or not prof.is_file():
        return {"error": f"profiled build failed (exit {run['rc']})"}
    stats = pstats.Stats(str(prof))
    raw = stats.stats  # (file, line, name) -> (cc, nc, tt, ct, callers)
    total = sum(v[2] for v in raw.values())
    phases = []
    for label, suffix, name in PHASES:
        ct = sum(v[3] for (f, _, fn), v in raw.items()
                 if fn == name and f.replace(os.sep, "/").endswith(suffix))
        phases.append((label, ct))
    imports = sum(v[3] for (f, _, fn), v in raw.items()
                  if fn == "_find_and_load" and "importlib._bootstrap" in f)
    phases.insert(0, ("imports (all, inside the profile)", imports))
    def where(f: str, fn: str) -> str:
        f = f.replace(os.sep, "/")
        f = f.split("site-packages/")[-1] if "site-packages/" in f else \
            f[f.find("onpolicy/"):] if "onpolicy/" in f else Path(f).name
        return f"{f}:{fn}"
    top = sorted(((v[3], where(f, fn)) for (f, _, fn), v in raw.items()
                  if ("site-packages" in f or "onpolicy/" in f) and fn != "<module>"),
                 reverse=True)[:15]
    return {"profiled_wall_s": run["wall_s"], "profile_total_s": total, "phases": phases,
            "top": top}


def import_times(repo: Path) -> dict:
    """-X importtime of what a render-only build imports: seconds per package (the cumulative
    time of its outermost imports, i.e. those not made by the package itself)."""
    code = ("import onpolicy.cli, onpolicy.pipeline, onpolicy.render, plotly.graph_objects")
    proc = subprocess.run([python_exe(), "-X", "importtime", "-c", code], cwd=repo,
                          env=build_env(), capture_output=True, text=True)
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
        parent_top = stack[-1].split(".")[0] if stack else None
        if top != parent_top:
            per_package[top] = per_package.get(top, 0) + cumulative
        stack.append(name)
    total = sum(c for level, _, c in entries if level == 0)
    startup = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([python_exe(), "-c", "pass"], env=build_env(), check=True)
        startup.append(time.perf_counter() - t)
    imports = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([python_exe(), "-c", code], cwd=repo, env=build_env(), check=True)
        imports.append(time.perf_counter() - t)
    status = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([python_exe(), "build.py", "status"], cwd=repo, env=build_env(),
                       check=True, capture_output=True)
        status.append(time.perf_counter() - t)
    return {"status_s": median(status),
            "per_package_s": sorted(((v / 1e6, k) for k, v in per_package.items()),
                                    reverse=True), "importtime_total_s": total / 1e6,
            "startup_s": median(startup), "startup_and_imports_s": median(imports)}


PHASE_TIMERS = """\
import json, shutil, sys, tempfile, time
from pathlib import Path
t = [time.perf_counter()]
from onpolicy import freeze, pipeline, schema
from onpolicy.config import BuildConfig
from onpolicy.render import render_site
import plotly.graph_objects
t.append(time.perf_counter())
cfg = BuildConfig(quick="--quick" in sys.argv[1:])
found = pipeline.statuses(cfg)
t.append(time.perf_counter())
paths = [freeze.result_path(cfg.store_dir, s.name) for s in found]
docs = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
t.append(time.perf_counter())
for d in docs:
    schema.problems(d)
t.append(time.perf_counter())
for d in docs:
    freeze.sha256(freeze.canonical_json(d["result"]))
t.append(time.perf_counter())
results, meta = pipeline._load_results(cfg, found, pipeline.BuildReport(found))
out = Path(tempfile.mkdtemp())
t.append(time.perf_counter())
render_site(cfg, results, meta, out)
t.append(time.perf_counter())
shutil.rmtree(out, ignore_errors=True)
d = [b - a for a, b in zip(t, t[1:])]
print("TIMERS " + json.dumps({"imports": d[0], "statuses": d[1], "json_parse": d[2],
                              "schema_validation": d[3], "result_hash": d[4],
                              "render_site": d[6], "n_results": len(docs)}))
"""


def phase_timers(repo: Path, flags: list[str]) -> dict:
    """Simple timers around the stages of a no-op build, in one process (no profiler)."""
    import json

    runs = []
    for _ in range(3):
        proc = subprocess.run([python_exe(), "-c", PHASE_TIMERS, *flags], cwd=repo,
                              env=build_env(), capture_output=True, text=True)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("TIMERS ")), None)
        if line is None:
            return {"error": (proc.stderr or proc.stdout)[-300:]}
        runs.append(json.loads(line[7:]))
    return {k: median([r[k] for r in runs]) for k in runs[0]}


TORCH_PROBE = """\
import json, runpy, sys
sys.argv = ["build.py", *json.loads(sys.argv[1])]
code = 0
try:
    runpy.run_path("build.py", run_name="__main__")
except SystemExit as exit_:
    code = exit_.code
mods = sorted(m for m in ("torch", "numpy", "plotly", "experiments.trainer", "experiments.data")
              if m in sys.modules)
print("PROBE " + json.dumps({"exit": code, "imported": mods}), file=sys.stderr)
"""


def torch_probe(repo: Path, args: list[str]) -> dict:
    import json

    proc = subprocess.run([python_exe(), "-c", TORCH_PROBE, json.dumps(args)], cwd=repo,
                          env=build_env(), capture_output=True, text=True)
    for line in proc.stderr.splitlines():
        if line.startswith("PROBE "):
            return json.loads(line[6:])
    return {"exit": proc.returncode, "imported": None, "error": proc.stderr[-400:]}


# -- the benchmark -----------------------------------------------------------------------------

def main(repeats: int | None = None, quick: bool = False, keep: bool = False) -> dict:
    repeats = repeats or (2 if quick else 5)
    retrain_rounds = 1 if quick else 2
    print(machine_header("rebuild latency (temporary copy of the repository)"))
    tmp = Path(tempfile.mkdtemp(prefix="onpolicy-bench-rebuild-"))
    log = tmp / "builds.log"
    try:
        repo = make_copy(tmp)
        flags, mode, setup = prepare(repo, log)
        print(f"copy:     {repo} (node_modules linked, {python_exe()})")
        print(f"mode:     {mode}")
        print(f"setup:    {setup}")
        py = python_exe()
        first = timed([py, "build.py", *flags], repo, log)
        if first["rc"] != 0:
            raise RuntimeError(f"the first build failed (exit {first['rc']}):\n{tail(log)}")
        cold = setup.startswith("--quick results already fresh")
        print("first render-only build ("
              + ("cold: empty KaTeX cache, no bytecode cache" if cold else
                 "caches warmed by the setup build") + "): "
              f"{first['wall_s']:.2f} s, peak RSS {fmt_bytes(first['maxrss'])}")

        scenarios = {"no-op": None, "prose edit (article.md)": prose_edit,
                     "template edit (base.html)": template_edit}
        runs = {name: [] for name in scenarios}
        retrain_name = f"one experiment, --quick --rerun {ONE_EXPERIMENT}"
        runs[retrain_name] = []
        for r in range(repeats):
            for name, edit in scenarios.items():
                if edit:
                    edit(repo, r)
                run = timed([py, "build.py", *flags], repo, log)
                if run["rc"] != 0:
                    raise RuntimeError(f"{name}: build failed (exit {run['rc']}):\n{tail(log)}")
                runs[name].append(run)
            if r < retrain_rounds:
                run = timed([py, "build.py", "--quick", "--rerun", ONE_EXPERIMENT], repo, log)
                if run["rc"] != 0:
                    raise RuntimeError(f"{retrain_name}: failed (exit {run['rc']}):\n{tail(log)}")
                runs[retrain_name].append(run)
            print(f"  round {r + 1}/{repeats}: " + ", ".join(
                f"{n.split(' (')[0].split(',')[0]} {runs[n][-1]['wall_s']:.2f} s"
                for n in runs if len(runs[n]) == r + 1), flush=True)

        rows, result = [], {"mode": mode, "setup": setup, "flags": flags, "repeats": repeats,
                            "first_build": first, "scenarios": {}}
        for name, rs in runs.items():
            walls = [x["wall_s"] for x in rs]
            rss = max(x["maxrss"] for x in rs)
            result["scenarios"][name] = {"wall_s": walls, "median_s": median(walls),
                                         "peak_rss": rss}
            rows.append([name, f"{median(walls):.2f} s", spread(walls), len(rs), fmt_bytes(rss)])
        print()
        print(table(rows, ["scenario", "median wall", "range (s)", "runs", "peak RSS"]))

        # -- where a no-op build's time goes --------------------------------------------------
        imp = import_times(repo)
        timers = phase_timers(repo, flags)
        prof = profile_noop(repo, flags, log)
        imp["per_package_s"] = imp["per_package_s"][:20]
        result["imports"], result["timers"], result["profile"] = imp, timers, prof
        print()
        print("where a no-op build's time goes:")
        print(f"  python -c pass:                          {imp['startup_s']:.2f} s")
        print(f"  python + import the generator (cli, pipeline, render, charts): "
              f"{imp['startup_and_imports_s']:.2f} s")
        print(f"  `build.py status` (start, imports, freeze check of every result): "
              f"{imp['status_s']:.2f} s")
        print(f"  import time by package (-X importtime: {imp['importtime_total_s']:.3f} s in "
              f"all; a package's own outermost imports, nested packages counted in both):")
        for seconds, pkg in imp["per_package_s"][:10]:
            print(f"    {pkg:<20} {seconds:.3f} s")
        if "error" in timers:
            print(f"  timers: failed: {timers['error']}")
        else:
            other = timers["statuses"] - timers["json_parse"] - timers["schema_validation"] \
                - timers["result_hash"]
            print("  simple timers around the stages, in one process (median of 3, no "
                  "profiler):")
            for label, value in (
                    ("import the generator", timers["imports"]),
                    (f"status of {timers['n_results']} experiments (pipeline.statuses)",
                     timers["statuses"]),
                    ("  of which, redone alone: JSON parse of the result files",
                     timers["json_parse"]),
                    ("  jsonschema validation (schema.problems)", timers["schema_validation"]),
                    ("  result_sha256 (canonical JSON + sha256)", timers["result_hash"]),
                    ("  the rest: import graph, source + input hashes", other),
                    ("render_site (pages, charts, KaTeX from cache, assets)",
                     timers["render_site"])):
                print(f"    {label:<60} {value:6.3f} s")
        if "error" in prof:
            print(f"  cProfile: {prof['error']}")
        else:
            noop_s = result["scenarios"]["no-op"]["median_s"]
            scale = noop_s / prof["profiled_wall_s"]
            print(f"  cProfile of one no-op build ({prof['profiled_wall_s']:.2f} s wall with the "
                  f"profiler's overhead), cumulative seconds by phase, and scaled to the "
                  f"{noop_s:.2f} s unprofiled no-op (x{scale:.2f}):")
            for label, ct in prof["phases"]:
                print(f"    {label:<46} {ct:6.3f} s  ~{ct * scale:5.2f} s")
            print("  cProfile, top functions by cumulative time (project and libraries):")
            for ct, where in prof["top"]:
                print(f"    {where:<60} {ct:6.3f} s")

        # -- is torch imported by a render-only build? ----------------------------------------
        probes = {"render-only build (" + " ".join(flags) + ")": torch_probe(repo, flags),
                  "status": torch_probe(repo, ["status"])}
        result["torch_probe"] = probes
        print()
        for label, probe in probes.items():
            imported = probe.get("imported")
            torch_in = None if imported is None else "torch" in imported
            print(f"torch imported by {label}: "
                  f"{'unknown: ' + probe.get('error', '') if torch_in is None else torch_in}"
                  f"  (exit {probe.get('exit')}; heavy modules loaded: {imported})")

        # -- --only for one experiment: does a render with a subset of results work? ----------
        only = timed([py, "build.py", "--quick", "--only", ONE_EXPERIMENT, "--rerun",
                      ONE_EXPERIMENT], repo, log)
        result["only_variant"] = only
        print(f"\n`build.py --quick --only {ONE_EXPERIMENT} --rerun {ONE_EXPERIMENT}`: exit "
              f"{only['rc']} in {only['wall_s']:.2f} s"
              + ("" if only["rc"] == 0 else " (the article needs every result, so --only "
                 "cannot render it; the table above uses --rerun without --only)"))

        noop = result["scenarios"]["no-op"]["median_s"]
        prose = result["scenarios"]["prose edit (article.md)"]["median_s"]
        tmpl = result["scenarios"]["template edit (base.html)"]["median_s"]
        retrain = result["scenarios"][retrain_name]["median_s"]
        result["summary"] = [
            f"rebuild ({'quick results' if '--quick' in flags else 'frozen results'}): "
            f"no-op {noop:.2f} s (target < {TARGET_NOOP_S:g} s: "
            f"{verdict(noop < TARGET_NOOP_S)}), prose edit {prose:.2f} s (target < "
            f"{TARGET_PROSE_S:g} s: {verdict(prose < TARGET_PROSE_S)}), template edit "
            f"{tmpl:.2f} s, one --quick experiment {retrain:.2f} s; peak RSS "
            f"{fmt_bytes(result['scenarios']['no-op']['peak_rss'])} (no-op); floor: "
            f"`python -c pass` {imp['startup_s']:.2f} s",
            "torch imported by render-only build: "
            + str("torch" in (list(probes.values())[0].get("imported") or ["?"])),
        ]
        return result
    finally:
        if keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def cli(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rebuild", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy")
    args = parser.parse_args(argv)
    result = main(args.repeats, args.quick, args.keep)
    print("\n".join(result["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(cli())
