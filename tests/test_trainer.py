"""The batched multi-seed trainer: equivalence with per-seed runs, non-finite handling, the
merged payload, and that the article's two headline behaviours show up on synthetic data."""
from __future__ import annotations

import json
import math

import pytest
import torch

from experiments import model, payloads, runs, training
from experiments.methods import policy_gradient, q_regression, supervised

DATA = {"name": "synthetic", "n_train": 512, "n_eval": 256, "dim": 64, "n_classes": 10,
        "seed": 0}
BASE = {"hidden": 32, "lr": 1e-3, "batch_size": 32, "steps": 20, "eval_every": 10,
        "behaviour_eps": 1.0, "data": DATA, "task": "binary"}
TRAINING_KEYS = {"task", "method", "n_actions", "seeds", "steps", "accuracy", "logit_abs_max",
                 "logit_abs_mean", "action_share", "first_nonfinite_step", "final_accuracy",
                 "wall_time_s"}


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def config(**overrides) -> dict:
    return {**BASE, **overrides}


def run_capturing_params(module, cfg, seeds, monkeypatch=None):
    """Run one unit and also return its trained weights."""
    captured = {}
    (part,) = training.train_lanes(runs.lanes(module.METHOD, cfg, seeds), "cpu",
                                params_out=captured)
    return part, captured[0]


def test_init_is_per_seed_and_like_nn_linear():
    batched = model.init_params([3, 7], 784, 128, 10)
    alone = model.init_params([7], 784, 128, 10)
    for name in batched:
        assert torch.equal(batched[name][1], alone[name][0]), name
    bound = 1 / math.sqrt(784)
    w1 = batched["W1"][0]
    assert w1.abs().max() <= bound and w1.abs().max() > 0.99 * bound
    assert abs(w1.std().item() - bound / math.sqrt(3)) < 1e-3  # U(-b, b) has sd b/sqrt(3)


@pytest.mark.parametrize("module,task,extra", [
    (policy_gradient, "binary", {"log_prob": "stable"}),
    (q_regression, "categorical", {"behaviour_eps": 0.5}),
    (policy_gradient, "categorical", {"log_prob": "stable", "behaviour_eps": 0.0}),
])
def test_batched_run_equals_separate_runs(module, task, extra, monkeypatch):
    seeds = [0, 1, 2]
    cfg = config(task=task, method="m", **extra)
    part, params = run_capturing_params(module, cfg, seeds, monkeypatch)
    for i, seed in enumerate(seeds):
        alone_part, alone = run_capturing_params(module, cfg, [seed], monkeypatch)
        diff = max((params[k][i] - alone[k][0]).abs().max().item() for k in params)
        assert diff <= 1e-5, f"seed {seed}: batched and separate weights differ by {diff}"
        assert alone_part["accuracy"][0] == pytest.approx(part["accuracy"][i], abs=1e-6)


def test_naive_off_policy_pg_goes_non_finite_and_is_recorded(monkeypatch):
    # a larger learning rate than the article's, so the blow-up comes within a few dozen steps
    cfg = config(method="pg_random", log_prob="naive", lr=1e-2, steps=100, eval_every=10)
    seeds = [0, 1, 2]
    part, params = run_capturing_params(policy_gradient, cfg, seeds, monkeypatch)  # no raise
    first = part["first_nonfinite_step"]
    assert all(isinstance(s, int) and 0 < s <= 100 for s in first), first
    for i, stop in enumerate(first):
        for step, acc in zip(part["steps"], part["accuracy"][i]):
            assert (acc is None) == (step >= stop), (i, step, acc)
    # a stopped seed keeps its last finite weights: those after (stop - 1) updates
    for i, (seed, stop) in enumerate(zip(seeds, first)):
        _, before = run_capturing_params(policy_gradient, {**cfg, "steps": stop - 1}, [seed],
                                         monkeypatch)
        for k in params:
            assert torch.isfinite(params[k][i]).all()
            assert (params[k][i] - before[k][0]).abs().max() <= 1e-5, (seed, k)
    payload = policy_gradient.merge(cfg, [part])
    json.dumps(payload, allow_nan=False)
    assert payload["final_accuracy"]["n"] == 0 and payload["final_accuracy"]["mean"] is None


def test_a_stopped_seed_does_not_disturb_the_others():
    cfg = config(task="categorical", method="pg_random", log_prob="naive", lr=1e-2, steps=60,
                 eval_every=10)
    batched = policy_gradient.run(cfg, [0, 1, 2, 3], "cpu")
    steps = batched["first_nonfinite_step"]
    assert len(set(steps)) > 1, "want seeds that stop at different steps"
    for i, seed in enumerate([0, 1, 2, 3]):
        alone = policy_gradient.run(cfg, [seed], "cpu")
        assert alone["first_nonfinite_step"] == [steps[i]]
        assert alone["accuracy"][0] == pytest.approx(batched["accuracy"][i], abs=1e-6)


def test_on_policy_pg_learns():
    cfg = config(method="pg_onpolicy", log_prob="stable", behaviour_eps=0.0, steps=300,
                 eval_every=100)
    payload = policy_gradient.merge(cfg, [policy_gradient.run(cfg, [0, 1], "cpu")])
    assert payload["first_nonfinite_step"] == [None, None]
    assert payload["final_accuracy"]["mean"] > 0.8  # chance is about 0.5


def test_merged_payload_shape_and_seed_batches():
    cfg = config(task="categorical", method="supervised", seeds=[0, 1, 2], seed_batch=2)
    calls = []
    parts = [supervised.run(cfg, [0, 1], "cpu", progress=lambda d, t: calls.append((d, t))),
             supervised.run(cfg, [2], "cpu")]
    payload = supervised.merge(cfg, parts)
    whole = supervised.merge(cfg, [supervised.run(cfg, [0, 1, 2], "cpu")])
    assert calls and calls[-1] == (20, 20)
    assert TRAINING_KEYS <= set(payload)
    assert payload["seeds"] == [0, 1, 2] and payload["n_actions"] == 10
    assert payload["steps"] == [0, 10, 20]
    for key in ("accuracy", "logit_abs_max", "logit_abs_mean"):
        stat = payload[key]
        assert len(stat["per_seed"]) == 3 and all(len(s) == 3 for s in stat["per_seed"])
        assert all(len(stat[k]) == 3 for k in ("mean", "lo", "hi", "n"))
        assert stat["n"] == [3, 3, 3]
        assert stat["mean"] == pytest.approx(whole[key]["mean"], abs=1e-6)
        assert all(lo <= m <= hi for lo, m, hi in zip(stat["lo"], stat["mean"], stat["hi"]))
    shares = payload["action_share"]["mean"]
    assert len(shares) == 3 and all(len(row) == 10 and abs(sum(row) - 1) < 1e-6
                                    for row in shares)
    final = payload["final_accuracy"]
    assert final["per_seed"] == [s[-1] for s in payload["accuracy"]["per_seed"]]
    assert final["n"] == 3 and final["lo"] <= final["mean"] <= final["hi"]
    json.dumps(payload, allow_nan=False)
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(payload, payloads.TRAINING)


def test_dial_payload():
    cfg = config(method="pg", log_prob="stable", dial_eps=[0.0, 1.0], seeds=[0, 1])
    progress = []
    part = policy_gradient.run(cfg, [0, 1], "cpu", progress=lambda d, t: progress.append(d))
    payload = policy_gradient.merge(cfg, [part])
    assert progress[-1] == 40
    assert payload["eps"] == [0.0, 1.0] and len(payload["runs"]) == 2
    assert [r["behaviour_eps"] for r in payload["runs"]] == [0.0, 1.0]
    assert len(payload["final_accuracy"]["mean"]) == 2
    assert payload["nonfinite_seeds"] == [0, 0]
    json.dumps(payload, allow_nan=False)
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(payload, payloads.DIAL)


def test_behaviour_sampling_follows_the_behaviour_policy():
    gen = torch.Generator().manual_seed(0)
    behaviour = torch.tensor([0.1, 0.0, 0.6, 0.3]).expand(1, 40_000, 4)
    actions = runs.sample_actions(behaviour, torch.rand(1, 40_000, generator=gen))
    freq = torch.bincount(actions.flatten(), minlength=4).float() / 40_000
    assert torch.allclose(freq, torch.tensor([0.1, 0.0, 0.6, 0.3]), atol=0.01)
    assert freq[1] == 0  # an action of probability 0 is never taken
