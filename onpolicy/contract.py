"""What the engine asks of an experiment package, and nothing more.

The engine imports no experiment code by name. The build's `--suite MODULE` (default
`experiments.suite`) is the experiment package's table module; it must define

    EXPERIMENTS: list[Experiment]        the rows, one result file each

and may define (each has a default that fits a package of plain rows):

    validate_rows(rows)                  raise ValueError naming a bad row (the engine checks
                                         names, duplicates and types itself)
    dataset(data: dict) -> DataSource    a row's dataset as the freeze hash and a worker see it
    payload_schema(row, config) -> dict  the JSON Schema of the row's payload (default: any
                                         JSON object); checked before a result is frozen
    examples(identity) -> dict           what results_meta["examples"] says of a dataset
    FUSION                               a FusionPlan: rows whose runs train as one model
    DATA_ENV                             the environment variable that --data-dir sets (the
                                         package's loaders read it; Ray workers get it too)
    ERRORS                               exception types that mean bad input (one line, exit 1)

An entry module (a row's `entry`) defines `run(config, seeds, device, progress) -> part` and
`merge(config, parts) -> payload`. Both are plain: no global state, no file writes.
"""
from __future__ import annotations

import copy
import hashlib
import importlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol


DEFAULT_SUITE = "experiments.suite"  # a name, imported only when a build asks for it


@dataclass(frozen=True)
class Experiment:
    name: str     # result file: results/<name>.json
    entry: str    # module exposing run(config, seeds, device, progress) and merge(config, parts)
    config: dict = field(default_factory=dict)


def effective_config(exp: Experiment, quick: bool = False) -> dict:
    """The config a run sees: the row's config, with its "quick" overrides applied if asked."""
    config = {key: _copied(value) for key, value in exp.config.items() if key != "quick"}
    if quick:
        config.update(_copied(exp.config.get("quick", {})))
    return config


def _copied(value):
    """A deep copy of JSON-like data (what a row's config is) without copy.deepcopy's
    bookkeeping, which cost a no-op build ~15 ms for three copies of each row."""
    kind = type(value)
    if kind is dict:
        return {key: _copied(item) for key, item in value.items()}
    if kind is list:
        return [_copied(item) for item in value]
    if kind in (str, int, float, bool) or value is None:
        return value
    return copy.deepcopy(value)


def canonical_json(obj, default=None) -> str:
    """The one serialisation every content hash of the project is taken over (the freeze
    hash, the result checksums, the incremental render's keys)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False,
                      default=default)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@dataclass(frozen=True)
class DataSource:
    """A dataset as the engine sees it.

    identity: hashed into the freeze key as it is (name, split, settings; for files fetched at
      training time, their official checksums, which the loader must verify).
    files: files read as they are on this machine: the freeze key holds the sha256 of their
      bytes (so one changed byte makes every result that reads them stale) and a Ray build
      ships them to its workers.
    fetch: files found (or downloaded) when training, {name: path}: shipped to Ray workers,
      not hashed (the identity names their checksums).
    env_var: the environment variable the package's loader reads the files' directory from;
      a Ray worker points it at the shipped copies.
    """
    identity: dict
    files: dict[str, Path] = field(default_factory=dict)
    fetch: Callable[[], dict[str, Path]] | None = None
    env_var: str | None = None

    def hashed_identity(self) -> dict:
        if not self.files:
            return self.identity
        return {**self.identity, "file_sha256": {name: file_sha256(Path(path))
                                                 for name, path in sorted(self.files.items())}}

    def shipped(self) -> dict[str, Path]:
        return {**(self.fetch() if self.fetch else {}), **self.files}


def default_dataset(data: dict) -> DataSource:
    """A dataset fully described by its config (synthetic data, none)."""
    return DataSource({"name": data.get("name"), "config": data})


class FusionPlan(Protocol):
    """How an experiment package trains many runs as one model. A run unit becomes lanes;
    lanes with equal group keys train together; outputs come back one per lane."""

    def lanes(self, entry: str, config: dict, seeds: tuple) -> list | None: ...  # None: alone
    def group_key(self, lane) -> str: ...
    def cpu_bucket(self, lane) -> tuple: ...   # lanes that may share a CPU job
    def seed_count(self, lane) -> int: ...
    def train(self, lanes: list, device: str, progress=None) -> list: ...
    def assemble(self, config: dict, outputs: list) -> dict: ...  # a unit's lanes -> its part


@dataclass(frozen=True)
class Suite:
    """The --suite module, read once: its rows and its hooks (defaults where it has none)."""
    module: str
    rows: tuple[Experiment, ...]
    source: Path | None
    validate: Callable[[list], None] | None = None
    dataset: Callable[[dict], DataSource] = default_dataset
    payload_schema: Callable[[Experiment, dict], dict] = lambda row, config: {"type": "object"}
    examples: Callable[[dict], dict] = lambda identity: {}
    fusion: Any = None
    data_env: str | None = None
    errors: tuple = ()

    def data_source(self, config: dict) -> DataSource:
        return self.dataset(config.get("data", {"name": "none"}))


class SuiteLoadError(Exception):
    """The --suite module cannot be imported, or a row breaks the engine's rules."""


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # it becomes a file name: results/<name>.json


def check_rows(rows) -> None:
    """The engine's rules for any row: an Experiment, a file-safe unique name, a dict config."""
    seen: set[str] = set()
    for row in rows:
        if not isinstance(row, Experiment):
            raise SuiteLoadError(f"EXPERIMENTS holds {row!r}, not an Experiment(name, entry, "
                                 "config) of onpolicy.contract")
        label = f"row {row.name!r}"
        if not isinstance(row.name, str) or not NAME.fullmatch(row.name):
            raise SuiteLoadError(f"{label}: the name must be letters, digits, '-', '_' or '.', "
                                 "starting with a letter or digit (it names results/<name>.json)")
        if row.name in seen:
            raise SuiteLoadError(f"{label}: two rows have this name")
        seen.add(row.name)
        if not isinstance(row.config, dict):
            raise SuiteLoadError(f"{label}: config must be a dict "
                                 f"(got {type(row.config).__name__})")


def load_suite(module_name: str) -> Suite:
    try:
        module = importlib.import_module(module_name)
        rows = tuple(module.EXPERIMENTS)
    except (ImportError, AttributeError, TypeError) as err:
        raise SuiteLoadError(f"cannot load the experiment table {module_name!r}: {err}") from err
    hooks = {"validate": "validate_rows", "dataset": "dataset", "examples": "examples",
             "payload_schema": "payload_schema", "fusion": "FUSION", "data_env": "DATA_ENV",
             "errors": "ERRORS"}
    found = {key: getattr(module, attr) for key, attr in hooks.items() if hasattr(module, attr)}
    file = getattr(module, "__file__", None)
    return Suite(module_name, rows, Path(file) if file else None, **found)
