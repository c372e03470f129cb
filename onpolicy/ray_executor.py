"""Runs stale experiments as Ray tasks (the Ray executor: `python build.py --executor ray`).

The run units and jobs are the local executor's (ledger.Ledger: compatible units train as
one model); each job is one Ray task (ray_worker.execute_job), and nothing else changes. The
driver (the machine running build.py) hashes, plans, ships the project code and the datasets'
files to the cluster (ray_cluster.py), and the Ledger merges each experiment and freezes it
as soon as its last unit has arrived. An experiment with a failed unit is never frozen, so
nothing partial reaches results/. Same numbers as the local executor (see ray_worker.py and
docs/RAY.md).
"""
from __future__ import annotations

import re
import sys
from datetime import datetime, timezone
from pathlib import Path

from tqdm.auto import tqdm

from .config import BuildConfig, shown
from .contract import Experiment, Suite
from .ledger import Ledger, RunUnit
from .ray_cluster import RayRunError, cluster_device, connect, data_payloads, import_ray
from .ray_worker import execute_job
from .runner import git_commit, use_data_dir

MAX_RETRIES = 2  # reruns of a unit whose worker process or node died (never for an exception)
WAIT_S = 1.0     # ray.wait timeout: how often the driver wakes up (and sees Ctrl-C)


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


def _provenance(outs: list[dict], seconds: float, ray_version: str, commit: str | None,
                merge_s: float) -> dict:
    infos = [out["info"] for out in outs]
    info = {key: _combine([i[key] for i in infos]) for key in infos[0]}
    return {
        **info,
        "git_commit": commit,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        # compute time, like the local executor's: the units' run times plus the merge
        "wall_time_s": round(seconds + merge_s, 3),
        "executor": "ray",
        "ray": ray_version,
        "ray_nodes": len({out["node"] for out in outs}),
    }


def _say(log, message: str) -> None:
    with tqdm.external_write_mode(file=sys.stderr):
        log(message)


def run_ray(cfg: BuildConfig, suite: Suite, pairs: list[tuple[Experiment, dict]],
            log=print) -> list[Path]:
    """Run every unit of each (experiment, inputs) as a Ray task; freeze each experiment as
    soon as all its units are in. Raise RayRunError (nothing partial frozen) if a unit fails;
    on Ctrl-C cancel what is outstanding and re-raise."""
    if not pairs:
        return []
    ray = import_ray()
    import torch  # the driver merges (entry modules import torch)

    threads = cfg.threads or torch.get_num_threads()  # what a local build here would use
    use_data_dir(cfg, suite)
    payloads = data_payloads(suite, pairs)
    commit = git_commit(cfg.root)  # the tree that is shipped now
    connect(ray, cfg)
    try:
        return _run(ray, cfg, suite, pairs, threads, payloads, commit, log)
    finally:
        ray.shutdown()


def _run(ray, cfg, suite, pairs, threads, payloads, commit, log) -> list[Path]:
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

    ledger = Ledger(suite, pairs, device, cfg.fuse)
    empty = [exp.name for k, (exp, _) in enumerate(pairs) if not ledger.units_of(k)]
    if empty:
        raise RayRunError(f"no run units (the config lists no seeds): {', '.join(empty)}")
    units, jobs = ledger.units, ledger.jobs  # each job (fused group or solo unit): one task
    outs: dict[int, dict] = {}  # unit -> the worker's report of the task that completed it
    refs = {key: (env_var, ray.put(files)) for key, (env_var, files) in payloads.items()}
    total = len(units)
    log(f"Ray: {len(nodes)} node(s), {resources.get('CPU', 0):g} CPU(s), "
        f"{resources.get('GPU', 0):g} GPU(s); {total} run unit(s) of {len(pairs)} "
        f"experiment(s) in {len(jobs)} task(s) on {device}, {threads} torch thread(s) each")

    pending: dict = {}  # ObjectRef -> job index
    written, frozen, done = [], [], 0
    bar = tqdm(total=total, desc="run units across the cluster", unit="unit", disable=None,
               dynamic_ncols=True)
    try:
        for g, job in enumerate(jobs):
            sources, env_var, files = {}, None, None
            for u in job.units:  # a job's units share one dataset (fusion.plan keys it)
                inputs = pairs[ledger.owner[u]][1]
                sources.update(inputs["sources"])
                env_var, files = refs.get(data_key(inputs), (env_var, files))
            # the files' ref as an argument of its own: Ray resolves top-level refs only
            pending[task.remote(job, units, threads, sources, files, env_var)] = g
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=WAIT_S)
            for ref in ready:
                job = jobs[pending.pop(ref)]
                try:
                    out = ray.get(ref)
                except ray.exceptions.RayError as err:
                    raise _failure(ray, err, units[job.units[0]], len(pending),
                                   frozen) from err
                for u in ledger.record(job, out["outputs"], out["seconds"]):
                    outs[u] = out
                    done += 1
                    bar.update(1)
                    _say(log, f"[{done}/{total} units] {_unit_name(units[u])}: "
                              f"{ledger.unit_seconds[u]:.1f} s on a worker")
                for k in ledger.complete():  # its last unit: merge, freeze
                    exp = pairs[k][0]
                    mine = ledger.units_of(k)
                    path = ledger.freeze(k, cfg.store_dir, lambda merge_s: _provenance(
                        [outs[i] for i in mine], ledger.seconds(k), ray.__version__, commit,
                        merge_s))
                    written.append(path)
                    frozen.append(exp.name)
                    _say(log, f"{exp.name}: {len(mine)} unit(s) on Ray ({device}) "
                              f"-> {shown(path, cfg.root)}")
    except BaseException:  # a failed unit, a bad result, Ctrl-C: stop the rest of the work
        _cancel(ray, list(pending))
        raise
    finally:
        bar.close()
    return written


def data_key(inputs: dict) -> str:
    """Runs whose dataset identity is equal read the same shipped files."""
    from .contract import canonical_json

    return canonical_json(inputs["data"])
