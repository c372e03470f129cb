"""Runs stale experiments as Ray tasks (the Ray executor: `python build.py --executor ray`).

The run units are the local executor's (`runner.unit_plan`), fused into the local executor's
jobs (`fusion.plan`: compatible units train as one model); each job is one Ray task, and
nothing else changes. The driver (the machine running build.py) hashes, plans,
ships the project code to the cluster, gathers the parts, merges each experiment with its own
`merge` and freezes it with `freeze.write_result` as soon as its last unit has arrived. An
experiment with a failed unit is never frozen, so nothing partial reaches results/.

Same numbers as the local executor: a task pins torch to the driver's intra-op thread count
(Ray would otherwise set OMP_NUM_THREADS to the task's CPU count, and large CPU reductions
depend on it), checks that the project modules it imported are byte for byte the ones the
freeze hash covers, and reads MNIST from the files the driver verified and shipped.
See docs/RAY.md.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import logging
import os
import re
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tqdm.auto import tqdm

from experiments import mnist_files
from experiments.suite import Experiment

from . import freeze, fusion
from .config import BuildConfig, shown
from .pipeline import BuildError
from .runner import RunUnit, git_commit, machine_info, merge_units, unit_plan

INSTALL_HINT = "the Ray executor needs the optional extra: pip install -e '.[ray]'"
MAX_RETRIES = 2  # reruns of a unit whose worker process or node died (never for an exception)
WAIT_S = 1.0     # ray.wait timeout: how often the driver wakes up (and sees Ctrl-C)

# Never shipped to the workers (gitignore patterns, relative to the repository root). Ray also
# honours .gitignore and always leaves out .git, .venv, venv and __pycache__.
EXCLUDES = [
    "/.git", "/.venv", "/venv", "/node_modules", "/public", "/public.*", "/.cache",
    "/results", "/data", "/test-artifacts", "/build", "/dist", "/.build.lock",
    "/site_src", "/templates", "/static", ".pytest_cache", "__pycache__", "*.pyc",
    "*.egg-info",
]

_HERE_ROOT = Path(__file__).resolve().parent.parent  # on a worker: its copy of the working dir


class RayRunError(BuildError):
    """A Ray build that must stop: a run unit raised, its worker kept dying, or the cluster
    cannot run the units. The message names the unit; nothing partial was frozen."""


class SourceMismatchError(RuntimeError):
    """A worker imported project code that differs from the code the freeze hash covers."""


# -- on the worker ------------------------------------------------------------------------

def _module_name(rel_path: str) -> str:
    name = rel_path[:-3].replace("/", ".") if rel_path.endswith(".py") else rel_path
    return name[: -len(".__init__")] if name.endswith(".__init__") else name


def check_sources(sources: dict[str, str], root: Path = _HERE_ROOT) -> None:
    """Raise SourceMismatchError unless every module of `sources` ({relative path: sha256},
    the freeze inputs) hashes the same here: the file this process imported it from, or, if
    it is not imported, the file under `root`."""
    problems = []
    for rel, digest in sorted(sources.items()):
        module = sys.modules.get(_module_name(rel))
        path = Path(module.__file__) if getattr(module, "__file__", None) else root / rel
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            problems.append(f"{rel} is missing on the worker (looked for {path})")
            continue
        if freeze.sha256(text) != digest:
            problems.append(f"{rel} differs from the file the freeze hash covers "
                            f"(the worker loaded {path})")
    if problems:
        raise SourceMismatchError(
            "the worker's project code is not the code this build hashed: "
            + "; ".join(problems) + ". Was a file edited during the build, or does the "
            "worker import the project from an installed copy?")


@contextlib.contextmanager
def staged_mnist(files: dict[str, bytes] | None):
    """Write the MNIST IDX files the driver shipped into a per-node cache directory and point
    MNIST_DIR at it for the duration of one unit (the loader verifies the MD5s)."""
    if not files:
        yield None
        return
    key = hashlib.sha256("".join(f"{name}:{hashlib.md5(blob).hexdigest()};"
                                 for name, blob in sorted(files.items())).encode()).hexdigest()
    where = Path(tempfile.gettempdir()) / "onpolicy-mnist" / key[:16]
    where.mkdir(parents=True, exist_ok=True)
    for name, blob in files.items():
        target = where / name
        if not (target.is_file() and target.stat().st_size == len(blob)):
            partial = where / f".{name}.{os.getpid()}.part"
            partial.write_bytes(blob)
            os.replace(partial, target)  # atomic: workers on one node may race, harmlessly
    old = os.environ.get(mnist_files.ENV_VAR)
    os.environ[mnist_files.ENV_VAR] = str(where)
    try:
        yield where
    finally:
        if old is None:
            os.environ.pop(mnist_files.ENV_VAR, None)
        else:
            os.environ[mnist_files.ENV_VAR] = old


def _node_id() -> str | None:
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return None
    return ray.get_runtime_context().get_node_id()


def worker_info(device: str) -> dict:
    """The provenance fields the worker knows (the local executor's names and meanings)."""
    return machine_info(device)


def execute_unit(unit: RunUnit, threads: int, sources: dict[str, str],
                 mnist: dict[str, bytes] | None = None) -> dict:
    """One run unit on a Ray worker (a plain function: also callable without Ray)."""
    from . import fusion

    job = fusion.Job([0], owners=[(0, 0)], solo=True)
    out = execute_job(job, [unit], threads, sources, mnist)
    return {**out, "part": out["outputs"][0]}


def execute_job(job, units: list[RunUnit], threads: int, sources: dict[str, str],
                mnist: dict[str, bytes] | None = None) -> dict:
    """One fusion job (a fused group of lanes, or a solo run unit) on a Ray worker: the same
    call the local executor makes, so the parts are the local run's, bit for bit."""
    import torch

    from . import fusion

    torch.set_num_threads(threads)  # Ray sets OMP_NUM_THREADS to the task's CPUs; undo that
    device = units[job.units[0]].device
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"Ray gave this task a GPU, but torch {torch.__version__} on this "
                           "worker sees no CUDA device")
    with staged_mnist(mnist):
        for i in job.units:
            importlib.import_module(units[i].entry)
        check_sources(sources)
        start = time.perf_counter()
        outputs = fusion.run_job(job, units)
        seconds = time.perf_counter() - start
    return {"outputs": outputs, "seconds": seconds, "info": worker_info(device),
            "node": _node_id()}


# -- on the driver ------------------------------------------------------------------------

def _import_ray():
    try:
        import ray
    except ImportError as err:
        raise RayRunError(INSTALL_HINT) from err
    return ray


def cluster_device(requested: str, cluster_gpus: float) -> str:
    """--device for the cluster: auto means cuda when the cluster has a GPU."""
    if requested == "cpu":
        return "cpu"
    if cluster_gpus >= 1:
        return "cuda"
    if requested == "cuda":
        raise RayRunError("--device cuda was asked for, but the Ray cluster has no GPU "
                          "(`ray status` lists its resources); use --device cpu or auto, or "
                          "add a node started with GPUs")
    return "cpu"


def _mnist_payloads(cfg: BuildConfig, pairs) -> dict[str, dict[str, bytes]]:
    """{split: {file name: bytes}} for every MNIST split the units read, found (and verified)
    on the driver like a local run would, so no worker needs the files or the internet."""
    splits = set()
    for _, inputs in pairs:
        data = inputs["config"].get("data") or {}
        if data.get("name") == "mnist":
            splits.add(data.get("split", "test10k"))
    payloads = {}
    for split in sorted(splits):
        try:
            found = mnist_files.find_files(split, cfg.mnist_dir)
        except mnist_files.DataError:
            if cfg.mnist_dir or os.environ.get(mnist_files.ENV_VAR):
                raise
            from experiments.data import load_mnist  # downloads with torchvision if online
            load_mnist({"name": "mnist", "split": split})
            found = mnist_files.find_files(split)
        payloads[split] = {name: path.read_bytes() for name, path in found.items()}
    return payloads


class _QuietDefaultExcludes(logging.Filter):
    """Ray warns that it now skips .git/.venv when packaging working_dir; we skip them too."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "is now ignored by default" not in record.getMessage()


def unreachable(address: str, timeout_s: float = 10.0) -> str | None:
    """Why a TCP connection to a HOST:PORT address fails, or None (also for the address forms
    Ray resolves itself: auto, local, ray://...). ray.init retries an unreachable address
    for many minutes; this says so at once."""
    host, sep, port = address.rpartition(":")
    if not sep or "://" in address or not port.isdigit():
        return None
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as err:
        return err.strerror or str(err) or type(err).__name__
    return None


def _connect(ray, cfg: BuildConfig) -> None:
    if ray.is_initialized():
        raise RayRunError("Ray is already initialised in this process; the Ray executor "
                          "connects by itself (to ship the project code with the job)")
    address = cfg.ray_address or os.environ.get("RAY_ADDRESS")
    why = unreachable(address) if address else None
    if why:
        raise RayRunError(f"cannot reach the Ray cluster at {address}: {why}. Is it running "
                          "(`ray status` on its head node), and is this the head node's GCS "
                          "address (HOST:6379 by default)?")
    runtime_env = {"working_dir": str(cfg.root), "excludes": list(EXCLUDES)}
    quiet = _QuietDefaultExcludes()
    loggers = [logging.getLogger(name) for name in
               ("ray._private.worker", "ray._private.runtime_env.working_dir")]
    for logger in loggers:
        logger.addFilter(quiet)
    where = cfg.ray_address or os.environ.get("RAY_ADDRESS") or "a local Ray instance"
    try:
        ray.init(address=cfg.ray_address or None, runtime_env=runtime_env,
                 include_dashboard=False, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as err:
        raise RayRunError(f"cannot connect to the Ray cluster at {where}: {err}. Start one "
                          "with `ray start --head` and pass --ray-address HOST:PORT") from err
    finally:
        for logger in loggers:
            logger.removeFilter(quiet)


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
    ray = _import_ray()
    import torch  # the driver merges (entry modules import torch)

    threads = cfg.threads or torch.get_num_threads()  # what a local build here would use
    payloads = _mnist_payloads(cfg, pairs)
    commit = git_commit(cfg.root)  # the tree that is shipped now
    _connect(ray, cfg)
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
                    share = unit_seconds[u]
                    job.outs[j] = {**out, "part": collected.parts[u], "seconds": share}
                    done += 1
                    bar.update(1)
                    _say(log, f"[{done}/{total} units] {_unit_name(unit)}: "
                              f"{share:.1f} s on a worker")
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
