"""Rebuild latency and peak memory, measured in a temporary copy of the repository.

The copy holds what git would (`git ls-files -co --exclude-standard`: tracked and untracked,
not ignored, files), with results/ and the --quick results (.cache/quick/) copied, the
repository's node_modules symlinked and its virtualenv's python reused. Nothing in the real
working tree is touched. Each build is `python build.py ...` in a subprocess, started by a
small launcher that measures its wall time and the ru_maxrss that os.wait4 reports for it
(the largest resident set of the build process and the processes it waited for, e.g. the
KaTeX node worker).

Scenarios, interleaved round by round (median of the rounds):
  floor          `python -c pass` through the same launcher: the interpreter's start
  no-op          the same build again, nothing changed (renders and writes nothing)
  prose edit     a sentence appended to site_src/article/index.md
  template edit  an HTML comment added to templates/base.html
and, in the first rounds, in --quick mode: one experiment retrained
  (`--quick --rerun binary-supervised --out` a folder of its own, so the next round's no-op
  is still one; every other --quick result is reused).

Render-only builds use `--no-train` when every frozen result is fresh, otherwise
`--quick --no-train` over the --quick results (said in the output). Then where the time of a
no-op and of a prose edit goes (bench/rebuild_where.py), and whether torch is imported.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import MNIST_DEFAULT, ROOT, fmt_bytes, machine_header, median, spread, table, verdict
from bench.rebuild_where import report as where_time_goes

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
    json.dump({"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
               "maxrss": usage.ru_maxrss * 1024, "rc": os.waitstatus_to_exitcode(status)}, f)
"""


def timed(cmd: list[str], cwd: Path, log: Path) -> dict:
    """Run cmd; wall seconds, peak RSS (bytes) and exit status, measured by the launcher."""
    side = log.with_name("last-run.json")
    side.unlink(missing_ok=True)
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.run([python_exe(), "-c", LAUNCHER, str(side), *cmd], cwd=cwd,
                              env=build_env(), stdout=out, stderr=out)
    if not side.is_file():
        return {"wall_s": float("nan"), "cpu_s": float("nan"), "maxrss": 0,
                "rc": proc.returncode or 1}
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

        floor_cmd = [py, "-c", "pass"]
        scenarios = {"floor: python -c pass": (None, floor_cmd),
                     "no-op": (None, [py, "build.py", *flags]),
                     "prose edit (article.md)": (prose_edit, [py, "build.py", *flags]),
                     "template edit (base.html)": (template_edit, [py, "build.py", *flags])}
        runs = {name: [] for name in scenarios}
        retrain_name = f"one experiment, --quick --rerun {ONE_EXPERIMENT}"
        runs[retrain_name] = []
        for r in range(repeats):
            for name, (edit, cmd) in scenarios.items():
                if edit:
                    edit(repo, r)
                run = timed(cmd, repo, log)
                if run["rc"] != 0:
                    raise RuntimeError(f"{name}: build failed (exit {run['rc']}):\n{tail(log)}")
                runs[name].append(run)
            if r < retrain_rounds:
                run = timed([py, "build.py", "--quick", "--rerun", ONE_EXPERIMENT, "--out",
                             str(tmp / "quick-site")], repo, log)  # public/ stays as it was
                if run["rc"] != 0:
                    raise RuntimeError(f"{retrain_name}: failed (exit {run['rc']}):\n{tail(log)}")
                runs[retrain_name].append(run)
            print(f"  round {r + 1}/{repeats}: " + ", ".join(
                f"{n.split(' (')[0].split(',')[0]} {runs[n][-1]['wall_s']:.2f} s"
                for n in runs if len(runs[n]) == r + 1), flush=True)

        rows, result = [], {"mode": mode, "setup": setup, "flags": flags, "repeats": repeats,
                            "first_build": first, "scenarios": {}}
        for name, rs in runs.items():
            walls, cpus = [x["wall_s"] for x in rs], [x["cpu_s"] for x in rs]
            rss = max(x["maxrss"] for x in rs)
            result["scenarios"][name] = {"wall_s": walls, "median_s": median(walls),
                                         "cpu_s": cpus, "median_cpu_s": median(cpus),
                                         "peak_rss": rss}
            rows.append([name, f"{median(walls):.2f} s", spread(walls), f"{median(cpus):.2f} s",
                         len(rs), fmt_bytes(rss)])
        print()
        print(table(rows, ["scenario", "median wall", "range (s)", "median CPU", "runs",
                           "peak RSS"]))
        print("(CPU: user + system seconds of the build and the processes it waited for; "
              "on a busy machine it moves less than the wall time)")

        result["where"] = where_time_goes(repo, py, build_env(), flags, {
            "no-op": None, "prose edit": lambda n: prose_edit(repo, n)})

        medians = {name: v["median_s"] for name, v in result["scenarios"].items()}
        cpu = {name: v["median_cpu_s"] for name, v in result["scenarios"].items()}
        noop, prose = medians["no-op"], medians["prose edit (article.md)"]
        result["summary"] = [
            f"rebuild ({'quick results' if '--quick' in flags else 'frozen results'}): "
            f"no-op {noop:.2f} s wall, {cpu['no-op']:.2f} s CPU (target < {TARGET_NOOP_S:g} s: "
            f"{verdict(noop < TARGET_NOOP_S)}), prose edit {prose:.2f} s wall, "
            f"{cpu['prose edit (article.md)']:.2f} s CPU (target < "
            f"{TARGET_PROSE_S:g} s: {verdict(prose < TARGET_PROSE_S)}), template edit "
            f"{medians['template edit (base.html)']:.2f} s, one --quick experiment "
            f"{medians[retrain_name]:.2f} s; peak RSS "
            f"{fmt_bytes(result['scenarios']['no-op']['peak_rss'])} (no-op); floor: "
            f"`python -c pass` {medians['floor: python -c pass']:.2f} s (interleaved)",
            "torch imported by render-only build: "
            + str("torch" in (result["where"]["torch_probe"].get("imported") or ["?"])),
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
    parser.add_argument("--repeats", type=int, metavar="N",
                        help="rounds of the interleaved scenarios (default 5; 2 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: fewer rounds, one retrain instead of two")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary copy (and its builds.log) for inspection")
    args = parser.parse_args(argv)
    result = main(args.repeats, args.quick, args.keep)
    print("\n".join(result["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(cli())
