"""What both executors (runner.py: here; ray_executor.py: as Ray tasks) do the same way.

The stale experiments become run units (`RunUnit`: one experiment's config and one seed
batch), the units become jobs (fusion.plan), and the `Ledger` records each finished job: it
shares the job's time out over its units by seeds, gathers each unit's output and, once every
unit of an experiment is in, merges the experiment with its entry module's `merge` and freezes
it. An interrupted build thus keeps every experiment whose jobs finished.
"""
from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import freeze, fusion
from .contract import Experiment, Suite


@dataclass(frozen=True)
class RunUnit:
    experiment: str
    entry: str
    config: dict
    seeds: tuple[int, ...]
    device: str


def unit_plan(exp: Experiment, config: dict, device: str) -> list[RunUnit]:
    """An experiment's run units: its seeds in batches of config["seed_batch"] (default: all)."""
    seeds = list(config.get("seeds", [0]))
    size = int(config.get("seed_batch") or len(seeds) or 1)
    return [RunUnit(exp.name, exp.entry, config, tuple(seeds[i:i + size]), device)
            for i in range(0, len(seeds), size)]


class Ledger:
    """One build's training: its units, its jobs, and what is done."""

    def __init__(self, suite: Suite, todo: list[tuple[Experiment, dict]], device: str,
                 fuse: bool = True):
        self.suite, self.todo = suite, todo
        self.units: list[RunUnit] = []
        self.owner: list[int] = []          # unit -> index of its experiment in todo
        for k, (exp, inputs) in enumerate(todo):
            for unit in unit_plan(exp, inputs["config"], device):
                self.units.append(unit)
                self.owner.append(k)
        self.jobs = fusion.plan(self.units, fuse=fuse, fusion=suite.fusion)
        self.outputs = fusion.RunOutputs(self.jobs, self.units)
        self.unit_seconds = [0.0] * len(self.units)
        self.frozen: set[int] = set()

    def units_of(self, k: int) -> list[int]:
        return [i for i, o in enumerate(self.owner) if o == k]

    def seconds(self, k: int) -> float:
        return sum(self.unit_seconds[i] for i in self.units_of(k))

    def record(self, job: fusion.Job, outputs: list, seconds: float) -> list[int]:
        """One finished job; returns its newly complete run units, and shares its seconds out
        over its units by seeds (lane by lane)."""
        if job.solo:
            shares = [(job.units[0], 1)]
        else:
            shares = [(u, job.plan.seed_count(lane)) for lane, (u, _) in
                      zip(job.lanes, job.lane_of)]
        total = sum(n for _, n in shares)
        for u, n in shares:
            self.unit_seconds[u] += seconds * n / total
        return self.outputs.add(job, outputs)

    def complete(self) -> list[int]:
        """Experiments (indices into todo) whose every unit is in and that are not frozen yet."""
        return [k for k in range(len(self.todo)) if k not in self.frozen
                and all(i in self.outputs.done for i in self.units_of(k))]

    def freeze(self, k: int, store: Path, provenance: Callable[[float], dict]) -> Path:
        """Merge experiment k and freeze it; provenance(merge_seconds) gives its provenance."""
        exp, inputs = self.todo[k]
        start = time.perf_counter()
        entry = importlib.import_module(exp.entry)
        result = entry.merge(inputs["config"], [self.outputs.done[i] for i in self.units_of(k)])
        merge_s = time.perf_counter() - start
        path = freeze.write_result(store, exp, inputs, result, provenance(merge_s),
                                   self.suite.payload_schema(exp, inputs["config"]))
        self.frozen.add(k)
        return path
