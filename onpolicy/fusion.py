"""Fused runs: the stale experiments' run units gathered into groups that train as one model.

The experiment package says how (its `FUSION`, a contract.FusionPlan): a run unit its plan
turns into lanes can be fused, and lanes with equal group keys train together. Every other
unit (for this article: the gradient grids, the estimators) runs alone as a plain run unit.
A suite without a plan trains every unit alone.
"""
from __future__ import annotations

import importlib
import os
import time
from dataclasses import dataclass, field

from .contract import DEFAULT_SUITE, load_suite

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
    lane_of: list[tuple[int, int]] = field(default_factory=list)  # lane -> (unit, its lane no.)
    solo: bool = False
    plan: object = None                               # the FusionPlan that made the lanes

    def describe(self, units) -> str:
        names = list(dict.fromkeys(units[i].experiment for i in self.units))
        shown = ", ".join(names[:4]) + (f" +{len(names) - 4}" if len(names) > 4 else "")
        if self.solo:
            return shown
        seeds = sum(self.plan.seed_count(lane) for lane in self.lanes)
        return f"fused {len(self.lanes)} lanes, {seeds} seeds: {shown}"


_DEFAULT = object()


def default_plan():
    """The default suite's fusion plan (callers that plan without a build: tests, bench)."""
    return load_suite(DEFAULT_SUITE).fusion


def plan(units: list, fuse: bool = True, fusion=_DEFAULT) -> list[Job]:
    """Jobs in a stable order: the solo units (small, independent: on a cluster they spread
    over the nodes before the long fused groups take them), then the fused groups in order of
    first appearance. fuse=False: one job per run unit (the unfused reference).
    fusion: the suite's FusionPlan (None: every unit alone; default: experiments.suite's)."""
    fusion = default_plan() if fusion is _DEFAULT else fusion
    groups: dict[str, Job] = {}
    solo: list[Job] = []
    for i, unit in enumerate(units):
        lanes = fusion.lanes(unit.entry, unit.config, unit.seeds) if fusion else None
        if lanes is None:
            solo.append(Job([i], lane_of=[(i, 0)], solo=True))
            continue
        for j, lane in enumerate(lanes):
            key = f"{unit.device}|{fusion.group_key(lane)}" + ("" if fuse else f"|unit {i}")
            job = groups.setdefault(key, Job([], plan=fusion))
            if i not in job.units:
                job.units.append(i)
            job.lanes.append(lane)
            job.lane_of.append((i, j))
    jobs = []
    for key, job in groups.items():
        jobs += _split(job, units) if key.startswith("cpu|") else [job]
    return [*solo, *jobs]


def _split(job: Job, units: list) -> list[Job]:
    """A CPU group as jobs of at most cpu_max_slots() slots whose lanes share a cpu_bucket;
    a lane is never split. On the CPU the work per slot is the same fused or not, so a job
    only saves per-step overhead; mixing losses or lags would add work (docs/BENCHMARKS.md)."""
    limit, jobs, fusion = cpu_max_slots(), [], job.plan
    buckets: dict[tuple, list] = {}
    for lane, where in zip(job.lanes, job.lane_of):
        buckets.setdefault(fusion.cpu_bucket(lane), []).append((lane, where))
    for key in sorted(buckets):
        # as few jobs as the limit allows, of about equal size (no small job left over)
        total = sum(fusion.seed_count(lane) for lane, _ in buckets[key])
        target = total / -(-total // limit)
        first = len(jobs)
        for lane, where in buckets[key]:
            n = fusion.seed_count(lane)
            size = (sum(fusion.seed_count(l) for l in jobs[-1].lanes)
                    if len(jobs) > first else 0)
            if len(jobs) == first or size >= target or size + n > limit:
                jobs.append(Job([], plan=fusion))
            last = jobs[-1]
            if where[0] not in last.units:
                last.units.append(where[0])
            last.lanes.append(lane)
            last.lane_of.append(where)
    return jobs


def run_job(job: Job, units: list, progress=None) -> list:
    """Train one job; returns one output per entry of job.lane_of (for a solo job: the unit's
    output). `RunOutputs` turns lanes' outputs into run units' outputs."""
    if job.solo:
        unit = units[job.units[0]]
        module = importlib.import_module(unit.entry)
        return [module.run(unit.config, list(unit.seeds), unit.device, progress)]
    return job.plan.train(job.lanes, units[job.units[0]].device, progress)


def timed_run_job(job: Job, units: list, progress=None) -> tuple[list, float]:
    """run_job's outputs and its wall seconds: what every executor records as a job's time."""
    start = time.perf_counter()
    outputs = run_job(job, units, progress)
    return outputs, time.perf_counter() - start


class RunOutputs:
    """Gathers jobs' outputs per run unit; a unit's output is ready once all its lanes are in
    (on the CPU a dial unit's lanes may be spread over several jobs)."""

    def __init__(self, jobs: list[Job], units: list):
        self.units = units
        self.solo = {job.units[0] for job in jobs if job.solo}
        self.expected: dict[int, int] = {}
        for job in jobs:
            for unit_index, _ in job.lane_of:
                self.expected[unit_index] = self.expected.get(unit_index, 0) + 1
        self.lanes: dict[int, dict[int, dict]] = {}
        self.done: dict[int, dict] = {}     # run unit -> its output, as `merge` takes it

    def add(self, job: Job, outputs: list) -> list[int]:
        """Record one job's outputs; returns the run units whose outputs are now complete."""
        done = []
        for (unit_index, lane_index), output in zip(job.lane_of, outputs):
            got = self.lanes.setdefault(unit_index, {})
            got[lane_index] = output
            if len(got) == self.expected[unit_index]:
                self.done[unit_index] = (output if unit_index in self.solo else
                                          job.plan.assemble(self.units[unit_index].config,
                                                            [got[k] for k in sorted(got)]))
                done.append(unit_index)
        return done
