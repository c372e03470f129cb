"""The runner's fused run: which run units share a model, results equal to unfused runs (to the
trainer's tolerance), and an interrupted build keeps every experiment whose groups finished."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from onpolicy.contract import Experiment, load_suite
from onpolicy import freeze, fusion
from onpolicy.config import BuildConfig
from onpolicy.ledger import unit_plan
from onpolicy.runner import run_local
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
    # on a GPU, where a group is one job (the CPU splits it by loss: test below)
    units = [replace(u, device="cuda") for u in units_of(rows)]
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
    run_local(cfg, load_suite(cfg.suite), [(e, freeze.inputs_for(e, cfg.root)) for e in rows],
              log=lambda m: None)
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

    def interrupt_wider(job, units, progress=None):  # the last job (CPU: one per loss)
        calls.append(job)
        if any(units[i].experiment == WIDER.name for i in job.units):
            raise KeyboardInterrupt
        return real(job, units, progress)

    monkeypatch.setattr(fusion, "run_job", interrupt_wider)
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
    lane_of = sorted(o for job in jobs for o in job.lane_of)
    assert lane_of == sorted({o for job in fusion.plan(units) for o in job.lane_of})
    gpu_units = [replace(u, device="cuda") for u in units]
    assert len(fusion.plan(gpu_units)) == 1  # a GPU takes the whole group


def test_a_cpu_job_shares_one_loss_and_lag_while_a_gpu_takes_the_whole_group():
    lagged = Experiment("tiny-is_lag", "experiments.methods.importance",
                        {**tiny_suite.EXPERIMENTS[0].config, "method": "is",
                         "behaviour_eps": 0.0, "behaviour_lag": 5})
    stable = Experiment("tiny-pg_stable", "experiments.methods.policy_gradient",
                        {**tiny_suite.EXPERIMENTS[1].config, "log_prob": "stable"})
    units = units_of([*tiny_suite.EXPERIMENTS, DIAL, lagged, stable])
    jobs = fusion.plan(units)
    for job in jobs:
        assert len({fusion.default_plan().cpu_bucket(lane) for lane in job.lanes}) == 1, job.describe(units)
    # the dial's two lanes (eps 0 and 1) and the lagged lane share a loss: two jobs, not one
    buckets = sorted((fusion.default_plan().cpu_bucket(job.lanes[0])[1], len(job.lanes)) for job in jobs
                     if "importance" in fusion.default_plan().cpu_bucket(job.lanes[0])[0])
    assert buckets == [(False, 4), (True, 2)]  # 2 seed batches x (2 dial lanes) | (1 lane)
    # naive and stable log-probabilities are different losses
    assert len({fusion.default_plan().cpu_bucket(lane)[0] for job in jobs for lane in job.lanes
                if "policy_gradient" in fusion.default_plan().cpu_bucket(lane)[0]}) == 2
    gpu = fusion.plan([replace(u, device="cuda") for u in units])
    assert len(gpu) == 1 and len(gpu[0].lanes) == sum(len(job.lanes) for job in jobs)


def untimed(value):
    """A result without its wall times (the one thing two equal runs differ in)."""
    if isinstance(value, dict):
        return {k: untimed(v) for k, v in value.items() if k != "wall_time_s"}
    return [untimed(v) for v in value] if isinstance(value, list) else value


def test_worker_processes_give_the_results_of_one_process(tmp_path):
    """--workers 2 (local_pool.py: spawned processes, one thread each) freezes the same
    numbers as training here at one thread, and says so in the provenance."""
    rows = [*tiny_suite.EXPERIMENTS, DIAL, WIDER]
    here = _run(rows, tmp_path / "here", workers=1, threads=1)
    pool = _run(rows, tmp_path / "pool", workers=2, threads=2)
    for exp in rows:
        assert freeze.check(exp, BuildConfig().root, tmp_path / "pool").fresh
        assert untimed(pool[exp.name]["result"]) == untimed(here[exp.name]["result"]), exp.name
        assert pool[exp.name]["provenance"]["cpu_workers"] == 2
        assert pool[exp.name]["provenance"]["cpu_threads"] == 1
        assert "cpu_workers" not in here[exp.name]["provenance"]


def test_a_failing_job_in_a_worker_stops_the_build_and_keeps_the_others(tmp_path):
    broken = Experiment("tiny-broken", "experiments.methods.supervised",
                        {**WIDER.config, "hidden": 40, "data": {"name": "nope"}})
    with pytest.raises(Exception):
        _run([*tiny_suite.EXPERIMENTS, broken], tmp_path / "store", workers=2, threads=2)
    assert not (tmp_path / "store" / "tiny-broken.json").exists()
