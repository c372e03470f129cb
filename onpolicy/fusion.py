"""Fused runs: the stale experiments' run units gathered into groups that train as one model.

An entry module whose `METHOD` is a trainer Method can be fused: its run units become lanes
(experiments/trainer.lanes), and lanes with equal `fused.group_key` (task, network shape,
steps, minibatch, learning rate, eval schedule, data) train together. Everything else (the
gradient grids, any custom entry) runs alone as a plain run unit. Torch is imported only when
a plan is made, that is, when training.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field

# On the CPU a group is split into jobs of at most this many slots (lane x seed): a slot's
# weights, gradients and Adam moments take ~2 MB, and a model much larger than the CPU's
# cache runs slower per slot than several small ones (docs/BENCHMARKS.md). A GPU takes the
# whole group at once. ONPOLICY_CPU_FUSE_SLOTS overrides it.
CPU_MAX_SLOTS = 20


def _cpu_max_slots() -> int:
    return int(os.environ.get("ONPOLICY_CPU_FUSE_SLOTS", CPU_MAX_SLOTS))


@dataclass
class Job:
    """One thing to train: a fused group of lanes, or one plain run unit (`solo`)."""
    units: list[int]                                  # indices into the plan's units
    lanes: list = field(default_factory=list)        # fused: the lanes, in training order
    owners: list[tuple[int, int]] = field(default_factory=list)  # lane -> (unit, lane index)
    solo: bool = False

    def describe(self, units) -> str:
        names = list(dict.fromkeys(units[i].experiment for i in self.units))
        shown = ", ".join(names[:4]) + (f" +{len(names) - 4}" if len(names) > 4 else "")
        if self.solo:
            return shown
        return f"fused {len(self.lanes)} lanes, {sum(len(l.seeds) for l in self.lanes)} seeds: {shown}"


def fusable_method(entry: str):
    """The entry module's trainer Method, or None when its units must run alone."""
    from experiments import trainer

    method = getattr(importlib.import_module(entry), "METHOD", None)
    return method if isinstance(method, trainer.Method) else None


def plan(units: list, fuse: bool = True) -> list[Job]:
    """Jobs in a stable order: fused groups (first appearance order), then solo units.
    fuse=False: one job per run unit (the unfused reference)."""
    from experiments import fused, trainer

    groups: dict[str, Job] = {}
    solo: list[Job] = []
    for i, unit in enumerate(units):
        method = fusable_method(unit.entry)
        if method is None:
            solo.append(Job([i], solo=True))
            continue
        for j, lane in enumerate(trainer.lanes(method, unit.config, unit.seeds)):
            key = f"{unit.device}|{fused.group_key(lane)}" + ("" if fuse else f"|unit {i}")
            job = groups.setdefault(key, Job([]))
            if i not in job.units:
                job.units.append(i)
            job.lanes.append(lane)
            job.owners.append((i, j))
    jobs = []
    for key, job in groups.items():
        jobs += _split(job, units) if key.startswith("cpu|") else [job]
    return [*jobs, *solo]


def _split(job: Job, units: list) -> list[Job]:
    """A CPU group as jobs of at most _cpu_max_slots() slots; a lane is never split."""
    limit, parts = _cpu_max_slots(), []
    for lane, owner in zip(job.lanes, job.owners):
        if not parts or sum(len(l.seeds) for l in parts[-1].lanes) + len(lane.seeds) > limit:
            parts.append(Job([]))
        part = parts[-1]
        if owner[0] not in part.units:
            part.units.append(owner[0])
        part.lanes.append(lane)
        part.owners.append(owner)
    return parts


def run_job(job: Job, units: list, progress=None) -> dict[int, dict]:
    """Train one job; returns {unit index: its part}, ready for the experiment's merge."""
    if job.solo:
        unit = units[job.units[0]]
        module = importlib.import_module(unit.entry)
        return {job.units[0]: module.run(unit.config, list(unit.seeds), unit.device, progress)}
    from experiments import fused, trainer

    outputs = fused.train_lanes(job.lanes, units[job.units[0]].device, progress)
    per_unit: dict[int, list] = {i: [] for i in job.units}
    for (unit_index, lane_index), output in sorted(zip(job.owners, outputs),
                                                   key=lambda pair: pair[0]):
        per_unit[unit_index].append(output)
    return {i: trainer.assemble(units[i].config, outs) for i, outs in per_unit.items()}
