"""Reaching a Ray cluster from the driver: the connection (with the project code shipped as
the job's working directory), the device the cluster offers, and the dataset files to send."""
from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

from .config import BuildConfig
from .contract import Suite, canonical_json
from .errors import BuildError

INSTALL_HINT = "the Ray executor needs the optional extra: pip install -e '.[ray]'"

# Never shipped to the workers (gitignore patterns, relative to the repository root). Ray also
# honours .gitignore and always leaves out .git, .venv, venv and __pycache__.
EXCLUDES = [
    "/.git", "/.venv", "/venv", "/node_modules", "/public", "/public.*", "/.cache",
    "/results", "/data", "/test-artifacts", "/build", "/dist", "/.build.lock",
    "/site_src", "/templates", "/static", ".pytest_cache", "__pycache__", "*.pyc",
    "*.egg-info",
]


class RayRunError(BuildError):
    """A Ray build that must stop: a run unit raised, its worker kept dying, or the cluster
    cannot run the units. The message names the unit; nothing partial was frozen."""


def import_ray():
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


def data_payloads(suite: Suite, pairs) -> dict[str, tuple[str, dict[str, bytes]]]:
    """{dataset identity (canonical JSON): (its env_var, {file name: bytes})} for every dataset
    the units read from files (contract.DataSource.shipped), found (verified, or downloaded)
    on the driver like a local run would, so no worker needs the files or the internet."""
    payloads = {}
    for _, inputs in pairs:
        key = canonical_json(inputs["data"])
        if key in payloads:
            continue
        source = suite.data_source(inputs["config"])
        files = source.shipped()
        if files and source.env_var:
            payloads[key] = (source.env_var,
                             {name: Path(path).read_bytes() for name, path in files.items()})
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


def connect(ray, cfg: BuildConfig) -> None:
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
