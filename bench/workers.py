"""One process with N threads against N worker processes of one thread (issue #24).

The same stale rows, shortened to `--steps`, trained by the local executor twice per round,
interleaved: `--workers 1 --threads N` (the build before the worker pool) and `--workers N
--threads N` (its default). Results go to a scratch folder; results/ is not touched.
Prints the median wall time of each, their ratio and the CPU seconds (children included).

    python -m bench.workers                     # 2 threads, 300 steps, 3 rounds
    python -m bench.workers --steps 600 --repeats 5
"""
from __future__ import annotations

import argparse
import copy
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from bench import MNIST_DEFAULT, ROOT, machine_header, median, spread, table

# a dial (60 seeds x eps), a categorical row, a binary row, a lagged row: the suite's kinds
ROWS = ("dial-pg", "categorical-ppo_random", "binary-supervised", "binary-ppo_lag10",
        "categorical-q_random", "binary-is_random")


def _rows(steps: int):
    from experiments.suite import BY_NAME
    from onpolicy.contract import Experiment

    out = []
    for name in ROWS:
        row = BY_NAME[name]
        config = copy.deepcopy(row.config)
        config["steps"] = steps
        out.append(Experiment(row.name, row.entry, config))
    return out


def _cpu_seconds() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _train(rows, threads: int, workers: int, store: Path) -> tuple[float, float]:
    from onpolicy import freeze
    from onpolicy.config import BuildConfig
    from onpolicy.contract import load_suite
    from onpolicy.runner import run_local

    cfg = BuildConfig(results_dir=store, device="cpu", threads=threads, workers=workers)
    todo = [(row, freeze.inputs_for(row, cfg.root)) for row in rows]
    wall, cpu = time.perf_counter(), _cpu_seconds()
    run_local(cfg, load_suite(cfg.suite), todo, log=lambda message: None)
    return time.perf_counter() - wall, _cpu_seconds() - cpu


def main(repeats: int | None = None, quick: bool = False, steps: int | None = None,
         threads: int = 2) -> dict:
    repeats = repeats or (1 if quick else 3)
    steps = steps or (100 if quick else 300)
    os.environ.setdefault("MNIST_DIR", str(MNIST_DEFAULT))
    print(machine_header(f"workers: {threads} threads in one process vs {threads} processes",
                         "cpu"))
    rows = _rows(steps)
    print(f"rows: {', '.join(ROWS)} at {steps} steps each; {repeats} interleaved round(s)")
    times: dict[str, list] = {"one": [], "pool": []}
    cpus: dict[str, list] = {"one": [], "pool": []}
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as scratch:
        for r in range(repeats):
            for kind in (("one", "pool") if r % 2 == 0 else ("pool", "one")):
                workers = 1 if kind == "one" else threads
                wall, cpu = _train(rows, threads, workers, Path(scratch) / f"{kind}{r}")
                times[kind].append(wall)
                cpus[kind].append(cpu)
    one, pool = median(times["one"]), median(times["pool"])
    print(table([[f"1 process x {threads} threads", f"{one:.1f} s", spread(times["one"]),
                  f"{median(cpus['one']):.1f} s"],
                 [f"{threads} processes x 1 thread", f"{pool:.1f} s", spread(times["pool"]),
                  f"{median(cpus['pool']):.1f} s"]],
                ["how", "wall (median)", "range", "CPU"]))
    print(f"speed-up of the worker pool: {one / pool:.2f}x wall, "
          f"{median(cpus['one']) / median(cpus['pool']):.2f}x CPU")
    print(machine_header("end", when="at end").splitlines()[-1])
    return {"one_process_s": one, "pool_s": pool, "speedup": one / pool, "steps": steps,
            "threads": threads}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, help="interleaved rounds (default 3)")
    parser.add_argument("--steps", type=int, help="training steps per row (default 300)")
    parser.add_argument("--threads", type=int, default=2, help="the CPU budget (default 2)")
    parser.add_argument("--quick", action="store_true", help="100 steps, one round")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    main(args.repeats, args.quick, args.steps, args.threads)
