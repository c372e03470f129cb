"""Runs stale experiments and freezes their results (the local executor).

A run unit is (experiment, config, seed batch): `unit_plan` lists them, `run_unit` runs one
(a plain function, so another executor can ship it elsewhere), and the experiment's own
`merge` joins the units' outputs into the result payload. Results are frozen one experiment
at a time, so an interrupted build keeps everything that finished.
"""
from __future__ import annotations

import importlib
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from tqdm.auto import tqdm

from experiments.suite import Experiment

from . import freeze
from .config import BuildConfig, shown
from .errors import ConfigError


@dataclass(frozen=True)
class RunUnit:
    experiment: str
    entry: str
    config: dict
    seeds: tuple[int, ...]
    device: str


def unit_plan(exp: Experiment, config: dict, device: str) -> list[RunUnit]:
    seeds = list(config.get("seeds", [0]))
    size = int(config.get("seed_batch") or len(seeds) or 1)
    return [RunUnit(exp.name, exp.entry, config, tuple(seeds[i:i + size]), device)
            for i in range(0, len(seeds), size)]


def run_unit(unit: RunUnit, progress=None) -> dict:
    module = importlib.import_module(unit.entry)
    return module.run(unit.config, list(unit.seeds), unit.device, progress)


def merge_units(exp: Experiment, config: dict, parts: list[dict]) -> dict:
    return importlib.import_module(exp.entry).merge(config, parts)


def resolve_device(requested: str, threads: int | None = None) -> str:
    import torch  # only here: render-only builds never import torch

    if threads:
        torch.set_num_threads(threads)

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for, but torch sees no CUDA device "
                          f"(torch {torch.__version__}); use --device cpu or auto")
    return requested


def git_commit(root: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def machine_info(device: str) -> dict:
    """What this process trains on (the part of provenance a remote worker also reports)."""
    import torch

    return {
        "torch": torch.__version__,
        "device": device,
        "device_name": (torch.cuda.get_device_name() if device == "cuda"
                        else platform.processor() or platform.machine()),
        "cpu_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def provenance(root: Path, device: str, wall_time_s: float) -> dict:
    return {
        **machine_info(device),
        "git_commit": git_commit(root),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": round(wall_time_s, 3),
    }


def _step_bar(name: str, position: int):
    bar = tqdm(total=None, desc=f"  {name}", unit="step", position=position, leave=False,
               disable=None, dynamic_ncols=True)

    def progress(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    return bar, progress


def run_local(cfg: BuildConfig, todo: list[tuple[Experiment, dict]], log=print) -> list[Path]:
    """Train every stale experiment's run units, fused into groups (onpolicy/fusion.py) unless
    cfg.fuse is off, and freeze each experiment as soon as its last unit is done: an
    interrupted build keeps every experiment whose groups finished."""
    from . import fusion

    if cfg.mnist_dir:
        os.environ["MNIST_DIR"] = str(cfg.mnist_dir)
    mnist_dir = os.environ.get("MNIST_DIR")
    if mnist_dir and Path(mnist_dir).exists() and not Path(mnist_dir).is_dir():
        raise ConfigError(f"MNIST_DIR={mnist_dir} is a file, not a directory: give the "
                          "directory that holds the MNIST IDX .gz files")
    device = resolve_device(cfg.device, cfg.threads)
    units, owner = [], []
    for k, (exp, inputs) in enumerate(todo):
        for unit in unit_plan(exp, inputs["config"], device):
            units.append(unit)
            owner.append(k)
    jobs = fusion.plan(units, fuse=cfg.fuse)
    parts = fusion.Parts(jobs, units)
    seconds = [0.0] * len(todo)  # each experiment's share of the jobs' wall time
    written, frozen = [], set()
    outer = tqdm(jobs, desc="training", unit="job", disable=None, dynamic_ncols=True)
    for job in outer:
        outer.set_postfix_str(job.describe(units)[:60])
        start = time.perf_counter()
        bar, progress = _step_bar(job.describe(units)[:60], 1)
        try:
            parts.add(job, fusion.run_job(job, units, progress))
        finally:
            bar.close()
        wall = time.perf_counter() - start
        shares = ([(job.units[0], 1)] if job.solo else
                  [(u, len(lane.seeds)) for lane, (u, _) in zip(job.lanes, job.owners)])
        for u, n in shares:  # the job's time, shared out by seeds
            seconds[owner[u]] += wall * n / sum(n for _, n in shares)
        for k, (exp, inputs) in enumerate(todo):
            mine = [i for i, o in enumerate(owner) if o == k]
            if k in frozen or not all(i in parts.parts for i in mine):
                continue
            result = merge_units(exp, inputs["config"], [parts.parts[i] for i in mine])
            path = freeze.write_result(cfg.store_dir, exp, inputs, result,
                                       provenance(cfg.root, device, seconds[k]))
            frozen.add(k)
            written.append(path)
            log(f"{exp.name}: {seconds[k]:.1f} s on {device} -> {shown(path, cfg.root)}")
    outer.close()
    sys.stdout.flush()
    return written
