"""The runner's fused run: which run units share a model, results equal to unfused runs (to the
trainer's tolerance), and an interrupted build keeps every experiment whose groups finished."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from experiments.suite import Experiment
from onpolicy import freeze, fusion
from onpolicy.config import BuildConfig
from onpolicy.runner import run_local, unit_plan
from tests import ray_suite, tiny_suite

pytestmark = pytest.mark.usefixtures("torch_one_thread")

WIDER = Experiment("tiny-wider", "experiments.methods.supervised",
                   {**tiny_suite.EXPERIMENTS[0].config, "hidden": 48, "method": "supervised"})
DIAL = Experiment("tiny-dial", "experiments.methods.importance",
                  {**tiny_suite.EXPERIMENTS[0].config, "method": "is", "dial_eps": [0.0, 1.0]})


def units_of(rows):
    return [u for e in rows for u in unit_plan(e, dict(e.config), "cpu")]


def test_compatible_units_share_one_job_and_the_rest_split_off():
    rows = [*tiny_suite.EXPERIMENTS, DIAL, WIDER, *ray_suite.EXPERIMENTS]
    units = units_of(rows)
    jobs = fusion.plan(units)
    fused = [j for j in jobs if not j.solo]
    solo = [j for j in jobs if j.solo]
    names = [sorted({units[i].experiment for i in j.units}) for j in fused]
    assert names == [["tiny-dial", "tiny-pg_random", "tiny-supervised"], ["tiny-wider"]]
    # seed batches of 2 and 1 (seed_batch 2 of 3 seeds): both units ride in the one model
    assert len(fused[0].lanes) == 2 + 2 + 2 * 2
    assert sorted(units[j.units[0]].experiment for j in solo) == ["ray-a"] * 3 + ["ray-b"]
    unfused = fusion.plan(units, fuse=False)
    assert len(unfused) == len(units)


def _run(rows, store: Path, **overrides) -> dict:
    cfg = replace(BuildConfig(results_dir=store, device="cpu"), **overrides)
    run_local(cfg, [(e, freeze.inputs_for(e, cfg.root)) for e in rows], log=lambda m: None)
    return {e.name: json.loads((store / f"{e.name}.json").read_text()) for e in rows}


@pytest.mark.parametrize("cpu_slots", [None, "3"])  # 3: a dial unit's lanes in two jobs
def test_fused_results_are_fresh_and_match_unfused_runs(tmp_path, monkeypatch, cpu_slots):
    if cpu_slots:
        monkeypatch.setenv("ONPOLICY_CPU_FUSE_SLOTS", cpu_slots)
    rows = [*tiny_suite.EXPERIMENTS, DIAL]
    fused = _run(rows, tmp_path / "fused")
    alone = _run(rows, tmp_path / "alone", fuse=False)
    for exp in rows:
        assert freeze.check(exp, BuildConfig().root, tmp_path / "fused").fresh
        a, b = fused[exp.name]["result"], alone[exp.name]["result"]
        for run_a, run_b in zip(a.get("runs", [a]), b.get("runs", [b])):
            assert run_a["first_nonfinite_step"] == run_b["first_nonfinite_step"]
            assert run_a["accuracy"]["mean"] == pytest.approx(run_b["accuracy"]["mean"],
                                                              abs=1e-3)
        assert fused[exp.name]["provenance"]["wall_time_s"] > 0


def test_an_interrupted_fused_build_keeps_the_finished_groups(tmp_path, monkeypatch):
    rows = [*tiny_suite.EXPERIMENTS, WIDER]
    real = fusion.run_job
    calls = []

    def interrupt_second(job, units, progress=None):
        calls.append(job)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(job, units, progress)

    monkeypatch.setattr(fusion, "run_job", interrupt_second)
    with pytest.raises(KeyboardInterrupt):
        _run(rows, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny-pg_random.json",
                                                          "tiny-supervised.json"]


def test_a_cpu_group_is_split_into_cache_sized_jobs_without_splitting_a_lane(monkeypatch):
    monkeypatch.setenv("ONPOLICY_CPU_FUSE_SLOTS", "4")
    units = units_of([*tiny_suite.EXPERIMENTS, DIAL])
    jobs = fusion.plan(units)
    slots = [sum(len(lane.seeds) for lane in job.lanes) for job in jobs]
    assert len(jobs) > 1 and max(slots) <= 4 and sum(slots) == 12
    owners = sorted(o for job in jobs for o in job.owners)
    assert owners == sorted({o for job in fusion.plan(units) for o in job.owners})
    gpu_units = [replace(u, device="cuda") for u in units]
    assert len(fusion.plan(gpu_units)) == 1  # a GPU takes the whole group
