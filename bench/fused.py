"""Fused vs unfused training of the default suite, and CUDA kernel launches per step.

A = the runner's fused run, what a build does by default: every stale experiment's
    compatible run units as one model; on the CPU only lanes that share one loss and lag
    (experiments/fusion_plan.py, cpu_bucket), in jobs of at most onpolicy.fusion.CPU_MAX_SLOTS slots.
B = the same runner with --no-fuse: one model per run unit, one experiment after another
    (a dial unit still in jobs of at most CPU_MAX_SLOTS slots).
Both train the default suite's training rows (the gradient grids are not training) on the CPU
with one torch thread, through onpolicy.runner.run_local into a scratch store, with the steps
cut to 200 (50 with --quick) so a repeat takes a minute, not ten. Interleaved A, B, B, A, ...;
medians of wall time and of process CPU time (the verdict uses CPU time: with one thread it
is the work done, and it is far less disturbed by other jobs on a shared machine); ratio B / A.

On a machine with CUDA, also: CUDA kernel launches per training step (torch.profiler) of the
fused step eager and replayed from a CUDA graph (goal: one graph launch per step).
"""
from __future__ import annotations

import copy
import os
import tempfile
import time
from pathlib import Path

from bench import MNIST_DEFAULT, ROOT, machine_header, median, spread, table, verdict

TARGET_RATIO = 1.0  # fused >= 1.0x unfused on the CPU


def suite_pairs(steps: int, data: dict | None = None):
    from experiments.suite import EXPERIMENTS
    from onpolicy import freeze

    pairs = []
    from onpolicy import fusion

    for exp in EXPERIMENTS:
        if fusion.default_plan().lanes(exp.entry, {}, ()) is None:  # never fused: gradients, estimators
            continue
        inputs = copy.deepcopy(freeze.inputs_for(exp, ROOT))
        inputs["config"].update(steps=steps, eval_every=min(50, steps))
        if data is not None:  # e.g. synthetic, where MNIST is not at hand
            inputs["config"]["data"] = data
        pairs.append((exp, inputs))
    return pairs


def time_suite(fuse: bool, steps: int, device: str = "cpu", threads: int = 1) -> tuple:
    """(wall seconds, process CPU seconds) of training the suite's rows once."""
    from onpolicy.config import BuildConfig
    from onpolicy.runner import run_local

    with tempfile.TemporaryDirectory() as store:
        cfg = BuildConfig(results_dir=Path(store), device=device, threads=threads, fuse=fuse,
                          data_dir=Path(os.environ.get("MNIST_DIR", MNIST_DEFAULT)))
        start, cpu = time.perf_counter(), time.process_time()
        run_local(cfg, suite_pairs(steps), log=lambda message: None)
        return time.perf_counter() - start, time.process_time() - cpu


def describe_default(steps: int) -> str:
    """What a build does on the CPU by default (side A), against --no-fuse (side B)."""
    from onpolicy import fusion
    from onpolicy.ledger import unit_plan

    units = [u for exp, inputs in suite_pairs(steps)
             for u in unit_plan(exp, inputs["config"], "cpu")]
    fused, unfused = fusion.plan(units), fusion.plan(units, fuse=False)
    slots = lambda job: sum(len(lane.seeds) for lane in job.lanes)  # noqa: E731
    return (f"default on the CPU (A): fused, jobs of one loss and lag of at most "
            f"{fusion.cpu_max_slots()} slots: {len(fused)} jobs of "
            f"{min(map(slots, fused))}-{max(map(slots, fused))} slots; --no-fuse (B): "
            f"{len(unfused)} jobs of {min(map(slots, unfused))}-{max(map(slots, unfused))} "
            f"slots, for {len(units)} run units. On CUDA a build fuses whole groups.")


def _launches(lanes: list, capture: bool) -> tuple[int, int]:
    """(kernel launches, graph launches) of one train_lanes call, profiled."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from experiments import training

    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        training.train_lanes(lanes, "cuda", capture=capture)
        torch.cuda.synchronize()
    counts = {e.key: e.count for e in prof.key_averages()}
    return (sum(n for k, n in counts.items() if "LaunchKernel" in k),  # runtime and driver API
            sum(n for k, n in counts.items() if k.startswith("cudaGraphLaunch")))


def launches_per_step(capture: bool, steps: int = 50, data: dict | None = None) -> dict:
    """CUDA kernel and graph launches per training step of the fused default suite's largest
    group (binary task, one output), in the steady state: a run of 2 x steps minus a run of
    `steps`, over `steps`, so set-up (data, init, capture) cancels and the chunk loads and
    evals that steps bring are counted."""
    from experiments import training
    from experiments.lanes import group_key
    from onpolicy import fusion

    def group(n_steps: int) -> list:
        lanes = []
        for exp, inputs in suite_pairs(n_steps, data):
            lanes += fusion.default_plan().lanes(exp.entry, inputs["config"],
                                                 inputs["config"]["seeds"])
        keys = [group_key(lane) for lane in lanes]
        biggest = max(set(keys), key=keys.count)
        return [lane for lane, key in zip(lanes, keys) if key == biggest]

    training.train_lanes(group(steps), "cuda", capture=capture)  # warm: cuBLAS handles, caches
    short_k, short_g = _launches(group(steps), capture)
    long_k, long_g = _launches(group(2 * steps), capture)
    lanes = group(steps)
    return {"lanes": len(lanes), "slots": sum(len(lane.seeds) for lane in lanes),
            "steps": steps, "kernel_launches_per_step": (long_k - short_k) / steps,
            "graph_launches_per_step": (long_g - short_g) / steps}


def main(repeats: int | None, quick: bool) -> dict:
    import torch

    repeats = repeats or (1 if quick else 3)
    steps = 50 if quick else 200
    print(machine_header("fused vs unfused training (CPU, default suite, 1 thread)", "cpu"))
    if not Path(os.environ.get("MNIST_DIR", MNIST_DEFAULT)).is_dir():
        raise RuntimeError(f"MNIST files not found in {MNIST_DEFAULT}: set MNIST_DIR")
    default = describe_default(steps)
    print(default)
    times = {"fused": [], "unfused": []}
    cpu = {"fused": [], "unfused": []}
    for r in range(repeats):
        for name in (("fused", "unfused") if r % 2 == 0 else ("unfused", "fused")):
            wall, seconds = time_suite(name == "fused", steps)
            times[name].append(wall)
            cpu[name].append(seconds)
            print(f"  repeat {r + 1}: {name} {wall:.1f} s wall, {seconds:.1f} s CPU", flush=True)
    fused_s, unfused_s = median(times["fused"]), median(times["unfused"])
    fused_cpu, unfused_cpu = median(cpu["fused"]), median(cpu["unfused"])
    ratio, cpu_ratio = unfused_s / fused_s, unfused_cpu / fused_cpu
    print(table([["fused", f"{fused_s:.1f}", spread(times["fused"]), f"{fused_cpu:.1f}"],
                 ["unfused", f"{unfused_s:.1f}", spread(times["unfused"]), f"{unfused_cpu:.1f}"]],
                ["suite training rows", f"median wall s ({steps} steps)", "spread",
                 "median CPU s"]))
    # one torch thread: CPU seconds are the work done, less disturbed by other processes
    summary = [f"fused vs unfused suite ({steps} steps, CPU, 1 thread): wall {fused_s:.1f} s "
               f"vs {unfused_s:.1f} s = {ratio:.2f}x; CPU time {fused_cpu:.1f} s vs "
               f"{unfused_cpu:.1f} s = {cpu_ratio:.2f}x (target >= {TARGET_RATIO}x: "
               f"{verdict(cpu_ratio >= TARGET_RATIO)})"]
    summary.append(default)
    result = {"steps": steps, "times": times, "cpu_times": cpu, "ratio": ratio,
              "cpu_ratio": cpu_ratio}
    if torch.cuda.is_available():
        eager, graph = launches_per_step(False), launches_per_step(True)
        result["cuda"] = {"eager": eager, "graph": graph}
        summary.append(f"CUDA launches per step ({graph['slots']} slots): eager "
                       f"{eager['kernel_launches_per_step']:.0f} kernels; graph "
                       f"{graph['kernel_launches_per_step']:.1f} kernels + "
                       f"{graph['graph_launches_per_step']:.1f} graph launches")
    else:
        summary.append("CUDA launches per step: n/a (no GPU on this machine)")
    for line in summary:
        print(line)
    result["summary"] = summary
    return result
