"""Fused vs unfused training of the default suite, and CUDA kernel launches per step.

A = the runner's fused run: every stale experiment's compatible run units as one model (on
    the CPU in jobs of at most onpolicy.fusion.CPU_MAX_SLOTS slots, for the cache).
B = the same runner with --no-fuse: one model per run unit, one experiment after another.
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
    for exp in EXPERIMENTS:
        if exp.entry == "experiments.gradients":
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
                          mnist_dir=Path(os.environ.get("MNIST_DIR", MNIST_DEFAULT)))
        start, cpu = time.perf_counter(), time.process_time()
        run_local(cfg, suite_pairs(steps), log=lambda message: None)
        return time.perf_counter() - start, time.process_time() - cpu


def launches_per_step(capture: bool, steps: int = 50, data: dict | None = None) -> dict:
    """CUDA kernel and graph launches per step (chunk loads and evals included, averaged over
    the steps) of the fused default suite's largest group (binary task, one output)."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from experiments import fused, trainer
    from onpolicy import fusion

    pairs = suite_pairs(steps, data)
    lanes = []
    for exp, inputs in pairs:
        method = fusion.fusable_method(exp.entry)
        for lane in trainer.lanes(method, inputs["config"], inputs["config"]["seeds"]):
            lanes.append(lane)
    keys = [fused.group_key(lane) for lane in lanes]
    key = max(set(keys), key=keys.count)
    lanes = [lane for lane in lanes if fused.group_key(lane) == key]
    fused.train_lanes(lanes, "cuda", capture=capture)  # warm: cuBLAS handles, caches
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        fused.train_lanes(lanes, "cuda", capture=capture)
        torch.cuda.synchronize()
    counts = {e.key: e.count for e in prof.key_averages()}
    kernel = sum(n for k, n in counts.items() if "LaunchKernel" in k)  # runtime and driver API
    graph = sum(n for k, n in counts.items() if k.startswith("cudaGraphLaunch"))
    return {"lanes": len(lanes), "slots": sum(len(l.seeds) for l in lanes), "steps": steps,
            "kernel_launches_per_step": kernel / steps, "graph_launches_per_step": graph / steps}


def main(repeats: int | None, quick: bool) -> dict:
    import torch

    repeats = repeats or (1 if quick else 3)
    steps = 50 if quick else 200
    print(machine_header("fused vs unfused training (CPU, default suite, 1 thread)", "cpu"))
    if not Path(os.environ.get("MNIST_DIR", MNIST_DEFAULT)).is_dir():
        raise RuntimeError(f"MNIST files not found in {MNIST_DEFAULT}: set MNIST_DIR")
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
