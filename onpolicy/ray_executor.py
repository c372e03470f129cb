"""Runs stale experiments as Ray tasks (the Ray executor: `python build.py --executor ray`).

The run units are the local executor's (`runner.unit_plan`), fused into the local executor's
jobs (`fusion.plan`: compatible units train as one model); each job is one Ray task
(ray_worker.execute_job), and nothing else changes. The driver (the machine running
build.py) hashes, plans, ships the project code to the cluster (ray_cluster.py), gathers the
parts, merges each experiment with its own `merge` and freezes it with `freeze.write_result`
as soon as its last unit has arrived. An experiment with a failed unit is never frozen, so
nothing partial reaches results/. Same numbers as the local executor (see ray_worker.py and
docs/RAY.md).
"""
from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tqdm.auto import tqdm

from experiments.suite import Experiment

from . import freeze, fusion
from .config import BuildConfig, shown
from .ray_cluster import RayRunError, cluster_device, connect, import_ray, mnist_payloads
from .ray_worker import execute_job
from .runner import RunUnit, git_commit, merge_units, unit_plan

MAX_RETRIES = 2  # reruns of a unit whose worker process or node died (never for an exception)
WAIT_S = 1.0     # ray.wait timeout: how often the driver wakes up (and sees Ctrl-C)


@dataclass
class _Job:
    exp: Experiment
    inputs: dict
    units: list[RunUnit]
    outs: list = field(default_factory=list)  # worker results, in unit order (None = pending)

    def __post_init__(self):
        self.outs = [None] * len(self.units)


def _unit_name(unit: RunUnit) -> str:
    return f"{unit.experiment} seeds {list(unit.seeds)}"


def _indent(text: str, prefix: str = "    ") -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # Ray colours the task name
    return "\n".join(prefix + line for line in text.strip().splitlines())


def _failure(ray, err: Exception, unit: RunUnit, outstanding: int,
             frozen: list[str]) -> RayRunError:
    name = _unit_name(unit)
    tail = (f"\nnothing was frozen for {unit.experiment}"
            + (f"; the {outstanding} other outstanding run unit(s) were cancelled"
               if outstanding else "")
            + (f"; already frozen in this build: {', '.join(frozen)}" if frozen else ""))
    if isinstance(err, ray.exceptions.RayTaskError):
        cause = getattr(err, "cause", None)
        summary = (f"{type(cause).__name__}: {cause}" if cause is not None
                   else str(err).strip().splitlines()[-1])
        return RayRunError(f"run unit {name} failed on a Ray worker: {summary}\n"
                           f"  remote traceback:\n{_indent(str(err))}{tail}")
    return RayRunError(f"run unit {name} could not run on the Ray cluster "
                       f"({MAX_RETRIES} retries for lost workers): "
                       f"{type(err).__name__}: {str(err).strip()}{tail}")


def _cancel(ray, refs) -> None:
    for ref in refs:
        try:
            ray.cancel(ref, force=True)
        except Exception:  # already finished or gone: nothing to cancel
            pass


def _combine(values: list) -> object:
    distinct = list(dict.fromkeys(values))
    return distinct[0] if len(distinct) == 1 else " | ".join(str(v) for v in distinct)


def _provenance(job: _Job, ray_version: str, commit: str | None, merge_s: float) -> dict:
    infos = [out["info"] for out in job.outs]
    info = {key: _combine([i[key] for i in infos]) for key in infos[0]}
    return {
        **info,
        "git_commit": commit,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        # compute time, like the local executor's: the units' run times plus the merge
        "wall_time_s": round(sum(out["seconds"] for out in job.outs) + merge_s, 3),
        "executor": "ray",
        "ray": ray_version,
        "ray_nodes": len({out["node"] for out in job.outs}),
    }


def _time_shares(group, seconds: float) -> list[tuple[int, float]]:
    """A task's run time shared out over its run units by seeds (lane by lane)."""
    if group.solo:
        return [(group.units[0], seconds)]
    sizes = [(u, len(lane.seeds)) for lane, (u, _) in zip(group.lanes, group.owners)]
    total = sum(n for _, n in sizes)
    return [(u, seconds * n / total) for u, n in sizes]


def _say(log, message: str) -> None:
    with tqdm.external_write_mode(file=sys.stderr):
        log(message)


def run_ray(cfg: BuildConfig, pairs: list[tuple[Experiment, dict]], log=print) -> list[Path]:
    """Run every unit of each (experiment, inputs) as a Ray task; freeze each experiment as
    soon as all its units are in. Raise RayRunError (nothing partial frozen) if a unit fails;
    on Ctrl-C cancel what is outstanding and re-raise."""
    if not pairs:
        return []
    ray = import_ray()
    import torch  # the driver merges (entry modules import torch)

    threads = cfg.threads or torch.get_num_threads()  # what a local build here would use
    payloads = mnist_payloads(cfg, pairs)
    commit = git_commit(cfg.root)  # the tree that is shipped now
    connect(ray, cfg)
    try:
        return _run(ray, cfg, pairs, threads, payloads, commit, log)
    finally:
        ray.shutdown()


def _run(ray, cfg, pairs, threads, payloads, commit, log) -> list[Path]:
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    resources = ray.cluster_resources()
    device = cluster_device(cfg.device, resources.get("GPU", 0))
    if device == "cuda":
        options = {"num_gpus": 1, "num_cpus": 1}
    else:
        biggest = max((n.get("Resources", {}).get("CPU", 0) for n in nodes), default=0)
        if biggest < 1:
            raise RayRunError("the Ray cluster has no node with a CPU to run tasks on")
        # reserve the threads a unit will use, but never more than the largest node offers
        options = {"num_cpus": min(threads, int(biggest))}
    task = ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)(execute_job).options(
        scheduling_strategy="SPREAD", **options)

    jobs = [_Job(exp, inputs, unit_plan(exp, inputs["config"], device)) for exp, inputs in pairs]
    empty = [job.exp.name for job in jobs if not job.units]
    if empty:
        raise RayRunError(f"no run units (the config lists no seeds): {', '.join(empty)}")
    # the local executor's fusion plan: each fused group (or solo unit) is one Ray task
    units = [unit for job in jobs for unit in job.units]
    where = [(i, j) for i, job in enumerate(jobs) for j in range(len(job.units))]
    groups = fusion.plan(units, fuse=cfg.fuse)
    collected = fusion.Parts(groups, units)
    unit_seconds: dict[int, float] = {}  # each unit's share of its tasks' run times
    refs = {split: ray.put(files) for split, files in payloads.items()}
    total = len(units)
    log(f"Ray: {len(nodes)} node(s), {resources.get('CPU', 0):g} CPU(s), "
        f"{resources.get('GPU', 0):g} GPU(s); {total} run unit(s) of {len(jobs)} "
        f"experiment(s) in {len(groups)} task(s) on {device}, {threads} torch thread(s) each")

    pending: dict = {}  # ObjectRef -> group index
    written, frozen, done = [], [], 0
    bar = tqdm(total=total, desc="run units across the cluster", unit="unit", disable=None,
               dynamic_ncols=True)
    try:
        for g, group in enumerate(groups):
            sources, mnist = {}, None
            for u in group.units:
                job = jobs[where[u][0]]
                sources.update(job.inputs["sources"])
                data = job.inputs["config"].get("data") or {}
                if data.get("name") == "mnist":
                    mnist = refs.get(data.get("split", "test10k"))
            pending[task.remote(group, units, threads, sources, mnist)] = g
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=WAIT_S)
            for ref in ready:
                group = groups[pending.pop(ref)]
                try:
                    out = ray.get(ref)
                except ray.exceptions.RayError as err:
                    raise _failure(ray, err, units[group.units[0]], len(pending),
                                   frozen) from err
                for u, share in _time_shares(group, out["seconds"]):
                    unit_seconds[u] = unit_seconds.get(u, 0.0) + share
                for u in collected.add(group, out["outputs"]):
                    i, j = where[u]
                    job, unit = jobs[i], jobs[i].units[j]
                    job.outs[j] = {**out, "part": collected.parts[u],
                                   "seconds": unit_seconds[u]}
                    done += 1
                    bar.update(1)
                    _say(log, f"[{done}/{total} units] {_unit_name(unit)}: "
                              f"{unit_seconds[u]:.1f} s on a worker")
                    if all(o is not None for o in job.outs):  # its last unit: merge, freeze
                        start = time.perf_counter()
                        result = merge_units(job.exp, job.inputs["config"],
                                             [o["part"] for o in job.outs])
                        merge_s = time.perf_counter() - start
                        path = freeze.write_result(
                            cfg.store_dir, job.exp, job.inputs, result,
                            _provenance(job, ray.__version__, commit, merge_s))
                        written.append(path)
                        frozen.append(job.exp.name)
                        _say(log, f"{job.exp.name}: {len(job.units)} unit(s) on Ray ({device}) "
                                  f"-> {shown(path, cfg.root)}")
    except BaseException:  # a failed unit, a bad result, Ctrl-C: stop the rest of the work
        _cancel(ray, list(pending))
        raise
    finally:
        bar.close()
    return written
