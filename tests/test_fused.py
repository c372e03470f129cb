"""The fused trainer: different experiments trained as one model agree with each alone; the
behaviour lag; stopped seeds are not evaluated; the CUDA-graph warm-up restores its state."""
from __future__ import annotations

import pytest
import torch

from experiments import cuda_graph, evaluation, runs, training
from experiments.lanes import group_key, layout
from experiments.methods import policy_gradient, ppo, q_regression, supervised

DATA = {"name": "synthetic", "n_train": 512, "n_eval": 256, "dim": 64, "n_classes": 10,
        "seed": 0}
BASE = {"hidden": 32, "lr": 1e-2, "batch_size": 32, "steps": 100, "eval_every": 10,
        "behaviour_eps": 1.0, "data": DATA, "task": "categorical", "method": "m"}
# Fused and alone runs differ only where a kernel's blocking or vector path depends on the
# number of slots (softmax and exp on the CPU, for one): last-bit differences that grow
# slowly. Over 100 steps at lr 1e-2 they stay far below this.
WEIGHT_TOL = 1e-4
EVAL_TOL = 1e-3

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def train(lanes, **kwargs):
    params = {}
    return training.train_lanes(lanes, "cpu", params_out=params, **kwargs), params


def test_two_experiments_fused_agree_with_each_alone():
    naive_pg = runs.lanes(policy_gradient.METHOD, {**BASE, "log_prob": "naive"}, [0, 1, 2])
    dial_ppo = runs.lanes(ppo.METHOD, {**BASE, "clip_eps": 0.2, "dial_eps": [0.0, 0.5]},
                             [0, 1])
    lanes = naive_pg + dial_ppo
    together, together_params = train(lanes)
    assert any(s is not None for s in together[0]["first_nonfinite_step"]), \
        "want a lane that goes non-finite within the 100 steps"
    for i, lane in enumerate(lanes):
        (alone,), alone_params = train([lane])
        assert alone["first_nonfinite_step"] == together[i]["first_nonfinite_step"], i
        for k in alone_params[0]:
            a, b = alone_params[0][k], together_params[i][k]
            assert torch.isfinite(a).all() and torch.isfinite(b).all()
            assert (a - b).abs().max().item() <= WEIGHT_TOL, (i, k)
        for key in ("accuracy", "logit_abs_max", "logit_abs_mean"):
            for s_alone, s_together in zip(alone[key], together[i][key]):
                assert [v is None for v in s_alone] == [v is None for v in s_together]
                assert [v for v in s_alone if v is not None] == pytest.approx(
                    [v for v in s_together if v is not None], rel=EVAL_TOL, abs=EVAL_TOL)


def test_same_loss_lanes_share_one_loss_call():
    cfg = {**BASE, "steps": 5, "task": "binary"}
    lanes = (runs.lanes(supervised.METHOD, cfg, [0, 1])
             + runs.lanes(supervised.METHOD, {**cfg, "method": "other"}, [2]))
    order, loss_calls = layout(lanes)
    assert len(loss_calls) == 1 and loss_calls[0].stop == 3
    _, together = train(lanes)
    _, alone = train(lanes[1:])
    for k in alone[0]:
        assert (alone[0][k] - together[1][k]).abs().max().item() <= WEIGHT_TOL, k


def test_lanes_that_cannot_share_a_model_are_refused():
    a = runs.lanes(supervised.METHOD, BASE, [0])
    b = runs.lanes(q_regression.METHOD, {**BASE, "task": "binary"}, [0])  # 2 outputs
    c = runs.lanes(supervised.METHOD, {**BASE, "hidden": 16}, [0])
    assert len({group_key(lane) for lane in a + b + c}) == 3
    with pytest.raises(ValueError, match="cannot be fused"):
        training.train_lanes(a + c, "cpu")


def test_behaviour_lag_acts_with_an_older_policy():
    cfg = {**BASE, "steps": 30, "log_prob": "stable", "behaviour_eps": 0.0}
    (on,), _ = train(runs.lanes(policy_gradient.METHOD, cfg, [0]))
    (lag1,), _ = train(runs.lanes(policy_gradient.METHOD, {**cfg, "behaviour_lag": 1}, [0]))
    (lag0,), _ = train(runs.lanes(policy_gradient.METHOD, {**cfg, "behaviour_lag": 0}, [0]))
    assert lag0 == {**on, "wall_time_s": lag0["wall_time_s"]}  # lag 0: on-policy, exactly
    assert lag1["accuracy"] != on["accuracy"]
    with pytest.raises(ValueError, match="behaviour_lag"):
        train(runs.lanes(policy_gradient.METHOD, {**cfg, "behaviour_lag": -1}, [0]))


def test_behaviour_lag_snapshot_is_refreshed_every_k_updates(monkeypatch):
    """With lag k the behaviour at update t uses the weights after k*floor((t-1)/k) - 1
    updates (t = 1: the initial ones): record which weights it acted with."""
    k, steps = 3, 8
    cfg = {**BASE, "steps": steps, "eval_every": steps, "log_prob": "stable",
           "behaviour_eps": 0.0, "behaviour_lag": k}
    history, acted = [], []
    real_forward = training.forward

    def spy(params, x):
        if params is not history_params[0]:  # the snapshot's forward
            acted.append(params["b2"].detach().clone())
        else:
            history.append(params["b2"].detach().clone())
        return real_forward(params, x)

    history_params = [None]
    real_step_init = training.Step.__init__

    def init(self, loss_calls, params, *args, **kwargs):
        history_params[0] = params
        real_step_init(self, loss_calls, params, *args, **kwargs)

    monkeypatch.setattr(training.Step, "__init__", init)
    monkeypatch.setattr(training, "forward", spy)
    train(runs.lanes(policy_gradient.METHOD, cfg, [0]))
    assert len(history) == len(acted) == steps  # history[t-1]: weights after t-1 updates
    for t in range(1, steps + 1):
        j = k * ((t - 1) // k)
        expected = history[max(j - 1, 0)]
        assert torch.equal(acted[t - 1], expected), t


def test_stopped_seeds_are_not_evaluated(monkeypatch):
    cfg = {**BASE, "log_prob": "naive", "steps": 200, "eval_every": 10}
    lanes = runs.lanes(policy_gradient.METHOD, cfg, [0, 1, 2])
    evaluated = []
    real_forward = evaluation.forward

    def counting_forward(params, x):
        evaluated.append(params["W1"].shape[0])
        return real_forward(params, x)

    monkeypatch.setattr(evaluation, "forward", counting_forward)
    (out,), _ = train(lanes)
    stops = out["first_nonfinite_step"]
    assert all(s is not None for s in stops), stops
    alive_at = [sum(s > step for s in stops) for step in out["steps"]]
    assert evaluated == [n for n in alive_at if n > 0]  # only live seeds, none when all stopped
    assert alive_at[-1] == 0


def test_warm_up_and_reset_leaves_a_fresh_state():
    """The CUDA capture's warm-up trains; its reset must leave exactly the initial state (the
    device-independent part of experiments/cuda_graph.py, run here on the CPU)."""
    cfg = {**BASE, "steps": 12, "eval_every": 4, "log_prob": "stable", "behaviour_lag": 2}
    lanes = runs.lanes(policy_gradient.METHOD, cfg, [0, 1])
    plain, plain_params = train(lanes)
    real_capture = None

    def eager_warm(step):
        cuda_graph.warm_up_and_reset(step, warmup=3)
        step.optimizer.zero_grad(set_to_none=True)

        def replay():
            step.optimizer.zero_grad(set_to_none=True)
            step()
        return replay

    real_capture, cuda_graph.capture_step = cuda_graph.capture_step, eager_warm
    try:
        warmed, warmed_params = train(lanes, capture=True)
    finally:
        cuda_graph.capture_step = real_capture
    assert [dict(o, wall_time_s=0) for o in warmed] == [dict(o, wall_time_s=0) for o in plain]
    for k in plain_params[0]:
        assert torch.equal(plain_params[0][k], warmed_params[0][k]), k


def test_capture_refuses_a_cpu_model():
    lanes = runs.lanes(supervised.METHOD, {**BASE, "steps": 2}, [0])
    with pytest.raises(ValueError, match="CUDA"):
        training.train_lanes(lanes, "cpu", capture=True)
