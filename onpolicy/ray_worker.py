"""The worker side of the Ray executor: one task (a fused group or a run unit; see ray_executor.py).

A task pins torch to the driver's intra-op thread count (Ray would otherwise set
OMP_NUM_THREADS to the task's CPU count, and large CPU reductions depend on it), checks that
the project modules it imported are byte for byte the ones the freeze hash covers, and reads
its dataset from the files the driver found and shipped.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import sys
import tempfile
from pathlib import Path

from . import freeze
from .ledger import RunUnit
from .runner import machine_info

_HERE_ROOT = Path(__file__).resolve().parent.parent  # on a worker: its copy of the working dir


class SourceMismatchError(RuntimeError):
    """A worker imported project code that differs from the code the freeze hash covers."""


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
def staged_data(files: dict[str, bytes] | None, env_var: str | None):
    """Write the dataset files the driver shipped into a per-node cache directory and point
    the package's loader (the DataSource's env_var) at it for the duration of one job."""
    if not files or not env_var:
        yield None
        return
    key = hashlib.sha256("".join(f"{name}:{hashlib.md5(blob).hexdigest()};"
                                 for name, blob in sorted(files.items())).encode()).hexdigest()
    where = Path(tempfile.gettempdir()) / "onpolicy-data" / key[:16]
    where.mkdir(parents=True, exist_ok=True)
    for name, blob in files.items():
        target = where / name
        if not (target.is_file() and target.stat().st_size == len(blob)):
            partial = where / f".{name}.{os.getpid()}.part"
            partial.write_bytes(blob)
            os.replace(partial, target)  # atomic: workers on one node may race, harmlessly
    old = os.environ.get(env_var)
    os.environ[env_var] = str(where)
    try:
        yield where
    finally:
        if old is None:
            os.environ.pop(env_var, None)
        else:
            os.environ[env_var] = old


def _node_id() -> str | None:
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return None
    return ray.get_runtime_context().get_node_id()


def worker_info(device: str) -> dict:
    """The provenance fields the worker knows (the local executor's names and meanings)."""
    return machine_info(device)


def execute_unit(unit: RunUnit, threads: int, sources: dict[str, str],
                 files: dict[str, bytes] | None = None, env_var: str | None = None) -> dict:
    """One run unit on a Ray worker (a plain function: also callable without Ray)."""
    from . import fusion

    job = fusion.Job([0], lane_of=[(0, 0)], solo=True)
    out = execute_job(job, [unit], threads, sources, files, env_var)
    return {**out, "output": out["outputs"][0]}


def execute_job(job, units: list[RunUnit], threads: int, sources: dict[str, str],
                files: dict[str, bytes] | None = None, env_var: str | None = None) -> dict:
    """One fusion job (a fused group of lanes, or a solo run unit) on a Ray worker: the same
    call the local executor makes (fusion.run_job), so the outputs are the local run's, bit
    for bit."""
    import torch

    from . import fusion

    torch.set_num_threads(threads)  # Ray sets OMP_NUM_THREADS to the task's CPUs; undo that
    device = units[job.units[0]].device
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"Ray gave this task a GPU, but torch {torch.__version__} on this "
                           "worker sees no CUDA device")
    with staged_data(files, env_var):
        for i in job.units:
            importlib.import_module(units[i].entry)
        check_sources(sources)
        outputs, seconds = fusion.timed_run_job(job, units)
    return {"outputs": outputs, "seconds": seconds, "info": worker_info(device),
            "node": _node_id()}
