"""Runs stale experiments here and freezes their results (the local executor).

The run units, the jobs that train them and the merge-and-freeze of each experiment once its
last unit is in are the Ledger's (ledger.py, shared with the Ray executor); this module runs
the jobs one after another, with progress bars, and says where the results went.
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from tqdm.auto import tqdm

from . import fusion
from .config import BuildConfig, shown
from .contract import Experiment, Suite
from .errors import ConfigError
from .ledger import Ledger


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


def use_data_dir(cfg: BuildConfig, suite: Suite) -> None:
    """--data-dir (alias --mnist-dir) reaches the experiment package's loaders through the
    environment variable its suite names (DATA_ENV; MNIST_DIR for this article)."""
    if not suite.data_env:
        return
    if cfg.data_dir:
        os.environ[suite.data_env] = str(cfg.data_dir)
    data_dir = os.environ.get(suite.data_env)
    if data_dir and Path(data_dir).exists() and not Path(data_dir).is_dir():
        raise ConfigError(f"{suite.data_env}={data_dir} is a file, not a directory: give the "
                          "directory that holds the dataset's files")


# Below this much work (seeds x steps over the jobs, ~10 s on one core) worker processes
# cost more to start (each imports torch) than they save: train here.
POOL_MIN_WORK = 20_000


def cpu_workers(cfg: BuildConfig, device: str, jobs: list, units: list) -> tuple[int, int]:
    """(processes, torch threads each) for training. On the CPU: --workers, or by default
    one process per thread of --threads (default: every core) once the work is big enough,
    never more than there are jobs; each gets an equal share of the threads. Elsewhere one."""
    import torch

    from .local_pool import job_cost

    if device == "cpu" and len(jobs) > 1 and (
            cfg.workers is not None or sum(job_cost(j, units) for j in jobs) >= POOL_MIN_WORK):
        budget = cfg.threads or os.cpu_count() or 1
        workers = max(1, min(cfg.workers or budget, len(jobs)))
        return workers, max(1, budget // workers)
    return 1, cfg.threads or torch.get_num_threads()


def run_local(cfg: BuildConfig, suite: Suite, todo: list[tuple[Experiment, dict]],
              log=print) -> list[Path]:
    """Train every stale experiment's run units, fused into jobs (onpolicy/fusion.py) unless
    cfg.fuse is off, in one process or (CPU) in worker processes (local_pool.py), and freeze
    each experiment as soon as its last unit is done: an interrupted build keeps every
    experiment whose jobs finished."""
    use_data_dir(cfg, suite)
    device = resolve_device(cfg.device, cfg.threads)
    ledger = Ledger(suite, todo, device, cfg.fuse)
    workers, threads = cpu_workers(cfg, device, ledger.jobs, ledger.units)
    written = []
    outer = tqdm(total=len(ledger.jobs), desc="training", unit="job", disable=None,
                 dynamic_ncols=True)
    if workers > 1:
        log(f"training {len(ledger.jobs)} jobs in {workers} processes of {threads} "
            f"thread(s) each on {device}")

    def done(job, outputs, seconds: float) -> None:
        ledger.record(job, outputs, seconds)
        outer.update(1)
        for k in ledger.complete():
            total = ledger.seconds(k)
            # with worker processes: their count and each one's threads (seconds are a
            # worker's, so the rows' sum exceeds the build's wall time)
            info = {"cpu_workers": workers, "cpu_threads": threads} if workers > 1 else {}
            path = ledger.freeze(k, cfg.store_dir,
                                 lambda merge_s: {**provenance(cfg.root, device, total), **info})
            written.append(path)
            log(f"{todo[k][0].name}: {total:.1f} s on {device} -> {shown(path, cfg.root)}")

    try:
        if workers > 1:
            from .local_pool import run_jobs

            run_jobs(ledger.jobs, ledger.units, workers, threads, done, _bars(ledger.units))
        else:
            for job in ledger.jobs:
                outer.set_postfix_str(job.describe(ledger.units)[:60])
                bar, progress = _step_bar(job.describe(ledger.units)[:60], 1)
                try:
                    outputs, seconds = fusion.timed_run_job(job, ledger.units, progress)
                finally:
                    bar.close()
                done(job, outputs, seconds)
    finally:
        outer.close()
    sys.stdout.flush()
    return written


def _bars(units: list):
    """on_progress for the worker pool: a step bar per running job, under the job bar."""
    bars: dict[int, tuple] = {}      # job -> (bar, its update, its line)
    ended: set[int] = set()

    def on_progress(job, done_steps, total) -> None:
        key = id(job)
        if done_steps is None:  # the job ended: late reports from its worker are dropped
            ended.add(key)
            if key in bars:
                bars.pop(key)[0].close()
            return
        if key in ended:
            return
        if key not in bars:
            line = min(set(range(1, len(bars) + 2)) - {b[2] for b in bars.values()})
            bars[key] = (*_step_bar(job.describe(units)[:60], line), line)
        bars[key][1](done_steps, total)

    return on_progress
