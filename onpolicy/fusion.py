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

# On the CPU a group is split into jobs of at most this many slots (lane x seed). Per slot,
# a job of one loss runs faster as it grows from 5 slots to about 60 (less per-step
# overhead), then slower (a slot's weights, gradients and Adam moments take ~2 MB, and 120
# slots stream 240 MB per step): docs/BENCHMARKS.md, 4c. A GPU takes the whole group at once.
# ONPOLICY_CPU_FUSE_SLOTS overrides it.
CPU_MAX_SLOTS = 60


def cpu_max_slots() -> int:
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
    """Jobs in a stable order: the solo units (small, independent: on a cluster they spread
    over the nodes before the long fused groups take them), then the fused groups in order of
    first appearance. fuse=False: one job per run unit (the unfused reference)."""
    from experiments import fused, trainer

    groups: dict[str, Job] = {}
    solo: list[Job] = []
    for i, unit in enumerate(units):
        method = fusable_method(unit.entry)
        if method is None:
            solo.append(Job([i], owners=[(i, 0)], solo=True))
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
    return [*solo, *jobs]


def cpu_bucket(lane) -> tuple[str, bool]:
    """Lanes that may share a CPU job: one loss call, and all or none acting from a lagged
    snapshot (a lagged lane makes the step run a second forward and refresh a snapshot of
    every slot in the job)."""
    from experiments import fused

    return fused.loss_key(lane), int(lane.config.get("behaviour_lag", 0)) > 0


def _split(job: Job, units: list) -> list[Job]:
    """A CPU group as jobs of at most cpu_max_slots() slots whose lanes share a cpu_bucket;
    a lane is never split. On the CPU the work per slot is the same fused or not, so a job
    only saves per-step overhead; mixing losses or lags would add work (docs/BENCHMARKS.md)."""
    limit, parts = cpu_max_slots(), []
    buckets: dict[tuple, list] = {}
    for lane, owner in zip(job.lanes, job.owners):
        buckets.setdefault(cpu_bucket(lane), []).append((lane, owner))
    for key in sorted(buckets):
        # as few jobs as the limit allows, of about equal size (no small job left over)
        total = sum(len(lane.seeds) for lane, _ in buckets[key])
        target = total / -(-total // limit)
        first = len(parts)
        for lane, owner in buckets[key]:
            size = sum(len(l.seeds) for l in parts[-1].lanes) if len(parts) > first else 0
            if len(parts) == first or size >= target or size + len(lane.seeds) > limit:
                parts.append(Job([]))
            part = parts[-1]
            if owner[0] not in part.units:
                part.units.append(owner[0])
            part.lanes.append(lane)
            part.owners.append(owner)
    return parts


def run_job(job: Job, units: list, progress=None) -> list:
    """Train one job; returns one output per entry of job.owners (for a solo job: the unit's
    part). `Parts` turns them into run-unit parts."""
    if job.solo:
        unit = units[job.units[0]]
        module = importlib.import_module(unit.entry)
        return [module.run(unit.config, list(unit.seeds), unit.device, progress)]
    from experiments import fused

    return fused.train_lanes(job.lanes, units[job.units[0]].device, progress)


class Parts:
    """Gathers jobs' outputs per run unit; a unit's part is ready once all its lanes are in
    (on the CPU a dial unit's lanes may be spread over several jobs)."""

    def __init__(self, jobs: list[Job], units: list):
        self.units = units
        self.solo = {job.units[0] for job in jobs if job.solo}
        self.expected: dict[int, int] = {}
        for job in jobs:
            for unit_index, _ in job.owners:
                self.expected[unit_index] = self.expected.get(unit_index, 0) + 1
        self.lanes: dict[int, dict[int, dict]] = {}
        self.parts: dict[int, dict] = {}

    def add(self, job: Job, outputs: list) -> list[int]:
        """Record one job's outputs; returns the run units whose parts are now complete."""
        from experiments import trainer

        done = []
        for (unit_index, lane_index), output in zip(job.owners, outputs):
            got = self.lanes.setdefault(unit_index, {})
            got[lane_index] = output
            if len(got) == self.expected[unit_index]:
                self.parts[unit_index] = (output if unit_index in self.solo else
                                          trainer.assemble(self.units[unit_index].config,
                                                           [got[k] for k in sorted(got)]))
                done.append(unit_index)
        return done
