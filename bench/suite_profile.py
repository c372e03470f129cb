"""Where the CPU training suite's time goes (issue #24): per row, and per kind of work.

* per row: the recorded `provenance.wall_time_s` of every result file in results/ (a fused
  job's time is shared among its rows by seeds), with the device it was trained on and the
  seed-steps it holds (nothing is rerun);
* per kind of work: representative rows trained again here, on the CPU at `--threads`
  (default 1) with their own configs but `--steps` (default 300) training steps (estimator
  rows: their checkpoints up to a third of that), after an untimed warm-up, with timers
  around the functions that do each kind of work: the training forward, the lagged snapshot's forward, backward,
  Adam, the evaluations, drawing contexts and uniforms, the rest of a step (losses, acting,
  finite checks, the snapshot refresh) and the estimators' measurements. Times are CPU
  seconds of this process (at one thread they do not count the time spent waiting for a
  core on a busy machine), exclusive (a timer nested in another is subtracted from it), of
  the fastest of `--repeats` runs of each row, interleaved. Nothing is written.

    python -m bench.suite_profile                       # the table and the profile
    python -m bench.suite_profile --rows binary-ppo_lag10 --steps 100
"""
from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import sys
import time
from pathlib import Path

from bench import MNIST_DEFAULT, ROOT, machine_header, table

ROWS = ("binary-ppo_random", "binary-ppo_lag10", "categorical-ppo_random", "dial-pg",
        "estimators-binary")
KINDS = ("forward (training)", "forward (lagged snapshot)", "backward", "Adam step",
         "rest of the step", "evaluation", "contexts and uniforms", "estimator measurements",
         "setup and data")


WHOLE = ("estimator measurements", "evaluation")  # kinds whose forwards/backwards are theirs


def recorded(folder: Path) -> list[dict]:
    """One entry per result file: name, device, threads, seeds, steps, wall_time_s."""
    rows = []
    for path in sorted(folder.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        config, prov = document["inputs"]["config"], document["provenance"]
        slots = len(config.get("seeds", [])) * len(config.get("dial_eps", [None]))
        steps = int(config.get("steps") or max(config.get("checkpoints", [0]) or [0]))
        rows.append({"name": document["experiment"], "device": prov.get("device"),
                     "threads": prov.get("cpu_threads"), "slots": slots, "steps": steps,
                     "wall_time_s": float(prov.get("wall_time_s") or 0.0)})
    return rows


class Timers:
    """Exclusive seconds per kind: a timed call inside another is not counted twice."""

    def __init__(self):
        self.seconds = dict.fromkeys(KINDS, 0.0)
        self.stack: list[list] = []

    def wrap(self, owner, name: str, kind):
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            if self.stack and self.stack[-1][0] in WHOLE:  # its insides count as its own
                return original(*args, **kwargs)
            label = kind(args) if callable(kind) else kind
            frame = [label, time.process_time(), 0.0]
            self.stack.append(frame)
            try:
                return original(*args, **kwargs)
            finally:
                self.stack.pop()
                spent = time.process_time() - frame[1]
                self.seconds[label] += spent - frame[2]
                if self.stack:
                    self.stack[-1][2] += spent
        setattr(owner, name, timed)
        return original


def forward_kind(args) -> str:
    params = args[0]
    return ("forward (training)" if any(p.requires_grad for p in params.values())
            else "forward (lagged snapshot)")


def instrument(timers: Timers) -> None:
    import torch
    from experiments import estimators
    from experiments import training   # the batched trainer
    timers.wrap(training, "forward", forward_kind)
    timers.wrap(torch.Tensor, "backward", "backward")
    timers.wrap(torch.optim.Adam, "step", "Adam step")
    timers.wrap(training.Step, "__call__", "rest of the step")
    timers.wrap(training, "evaluate", "evaluation")
    timers.wrap(training, "_draws", "contexts and uniforms")
    timers.wrap(estimators, "measure", "estimator measurements")
    timers.wrap(estimators, "forward", forward_kind)


def small_config(name: str, steps: int) -> tuple[dict, str]:
    from experiments.suite import EXPERIMENTS
    try:
        from onpolicy.contract import effective_config
    except ImportError:
        from experiments.suite import effective_config
    row = next(e for e in EXPERIMENTS if e.name == name)
    config = dict(effective_config(row))
    if "checkpoints" in config:  # a measurement costs ~30 training steps: fewer of them
        config["checkpoints"] = [c for c in config["checkpoints"] if c <= steps // 3]
    else:
        config["steps"] = steps
    return config, row.entry


def profile(names: list[str], steps: int, threads: int, repeats: int) -> list[dict]:
    import torch
    torch.set_num_threads(threads)
    timers = Timers()
    instrument(timers)
    out = []
    warm, entry = small_config(ROWS[0], 50)   # imports, data, first-call costs: not timed
    importlib.import_module(entry).run(warm, list(warm["seeds"])[:1], "cpu")
    best: dict[str, dict] = {}
    for _ in range(repeats):
        for name in names:
            config, entry = small_config(name, steps)
            module = importlib.import_module(entry)
            timers.seconds = dict.fromkeys(KINDS, 0.0)
            start = time.process_time()
            module.run(config, list(config["seeds"]), "cpu")
            total = time.process_time() - start
            kinds = dict(timers.seconds)
            kinds["setup and data"] = total - sum(kinds.values())
            if name not in best or total < best[name]["total_s"]:
                best[name] = {"name": name, "config": config, "total_s": total, "kinds": kinds}
    out = [best[name] for name in names]
    return out


def main(rows: list[str] | None = None, steps: int = 300, threads: int = 1,
         results: Path = ROOT / "results", repeats: int = 3) -> dict:
    os.environ.setdefault("MNIST_DIR", str(MNIST_DEFAULT))
    print(machine_header("where the CPU suite's time goes", device="cpu"))
    found = recorded(results)
    by_device: dict[str, float] = {}
    for row in found:
        by_device[row["device"]] = by_device.get(row["device"], 0.0) + row["wall_time_s"]
    print(table([[r["name"], r["device"], r["threads"], r["slots"], r["steps"],
                  f"{r['wall_time_s']:.1f}",
                  f"{r['wall_time_s'] / (r['slots'] * r['steps']) * 1e3:.3f}"
                  if r["slots"] * r["steps"] else "-"]
                 for r in sorted(found, key=lambda r: -r["wall_time_s"])],
                ["row (recorded in results/)", "device", "threads", "slots", "steps",
                 "wall s", "ms per slot-step"]))
    print("recorded training time per device: " + ", ".join(
        f"{dev} {sec:.1f} s" for dev, sec in sorted(by_device.items())))
    profiled = profile(list(rows or ROWS), steps, threads, repeats)
    print(f"\nprofile: {steps} training steps (estimator rows: checkpoints up to "
          f"{steps // 3}), {threads} thread(s), exclusive CPU seconds per kind of work, the "
          f"fastest of {repeats} interleaved runs")
    print(table([[kind] + [f"{p['kinds'][kind]:.2f} ({p['kinds'][kind] / p['total_s']:.0%})"
                           for p in profiled] for kind in KINDS]
                + [["total"] + [f"{p['total_s']:.2f}" for p in profiled]],
                ["kind of work"] + [p["name"] for p in profiled]))
    summary = ["suite profile: " + "; ".join(
        f"{p['name']} {p['total_s']:.1f} s for {steps} steps, " + ", ".join(
            f"{kind} {p['kinds'][kind] / p['total_s']:.0%}"
            for kind in sorted(KINDS, key=lambda k: -p["kinds"][k])[:3]) for p in profiled)]
    return {"recorded": found, "profile": profiled, "summary": summary}


def cli(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suite_profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", nargs="+", metavar="NAME",
                        help=f"rows to profile (default: {' '.join(ROWS)})")
    parser.add_argument("--steps", type=int, default=300,
                        help="training steps per profiled row (default 300)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of each row, interleaved; the fastest is shown (default 3)")
    parser.add_argument("--results", type=Path, default=ROOT / "results",
                        help="the folder of result files for the per-row table")
    args = parser.parse_args(argv)
    result = main(args.rows, args.steps, args.threads, args.results, args.repeats)
    print("\n".join(result["summary"]))
    return 0


if __name__ == "__main__":
    sys.exit(cli())
