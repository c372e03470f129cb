"""Training options the science rows use: reward values, baselines, one minibatch reused for
K updates (PPO's regime), plain SGD beside Adam, the policy's expected reward beside greedy
accuracy, and the critic + actor method."""
from __future__ import annotations

import pytest
import torch

from experiments import model, policy, runs, training
from experiments.lanes import group_key
from experiments.methods import critic_actor, policy_gradient, q_regression

DATA = {"name": "synthetic", "n_train": 512, "n_eval": 256, "dim": 64, "n_classes": 10,
        "seed": 0}
BASE = {"hidden": 32, "lr": 1e-2, "batch_size": 16, "steps": 12, "eval_every": 6,
        "behaviour_eps": 1.0, "data": DATA, "task": "categorical", "method": "m",
        "log_prob": "stable"}

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def train(method, cfg, seeds=(0,)):
    params = {}
    (out,) = training.train_lanes(runs.lanes(method, cfg, list(seeds)), "cpu", params_out=params)
    return out, params[0]


def spy_batches(monkeypatch, module):
    """Record every Batch the method's loss sees (the loss is looked up through METHOD)."""
    seen = []
    real = module.METHOD.loss

    def loss(outputs, batch, config):
        seen.append(batch)
        return real(outputs, batch, config)
    monkeypatch.setattr(module, "METHOD", runs.Method(
        loss=loss, n_outputs=module.METHOD.n_outputs,
        outputs_are_q_values=module.METHOD.outputs_are_q_values,
        policy_head=module.METHOD.policy_head))
    return seen


@pytest.mark.parametrize("reward", [None, [0.0, 1.0], [-0.5, 2.0]])
def test_rewards_take_the_configured_values(monkeypatch, reward):
    seen = spy_batches(monkeypatch, policy_gradient)
    cfg = BASE if reward is None else {**BASE, "reward": reward}
    train(policy_gradient.METHOD, cfg)
    miss, hit = reward or (-1.0, 1.0)
    for batch in seen:
        expected = torch.where(batch.actions == batch.labels, hit, miss)
        assert torch.equal(batch.rewards, expected)
    assert {float(v) for b in seen for v in b.rewards.flatten()} == {miss, hit}


def test_advantage_baselines():
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0]])
    batch = runs.Batch(rewards.long(), rewards.long(), rewards, torch.ones_like(rewards))
    assert torch.equal(policy.advantage(batch, {}), rewards)
    assert torch.equal(policy.advantage(batch, {"baseline": 0.25}), rewards - 0.25)
    loo = policy.advantage(batch, {"baseline": "batch_mean"})
    for s in range(2):
        for i in range(4):
            others = torch.cat([rewards[s, :i], rewards[s, i + 1:]]).mean()
            assert loo[s, i] == pytest.approx(float(rewards[s, i] - others))
    with pytest.raises(ValueError, match="baseline"):
        policy.advantage(batch, {"baseline": "running"})


def test_policy_gradient_uses_the_advantage():
    outputs = torch.randn(1, 4, 10, dtype=torch.float64)
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0]], dtype=torch.float64)
    actions = torch.tensor([[1, 2, 3, 4]])
    batch = runs.Batch(actions, actions, rewards, torch.ones_like(rewards))
    plain = policy_gradient.loss(outputs, batch, {})
    shifted = policy_gradient.loss(outputs, batch, {"baseline": 0.5})
    log_pi = torch.log_softmax(outputs, -1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    assert torch.allclose(plain, -rewards * log_pi)
    assert torch.allclose(shifted, -(rewards - 0.5) * log_pi)


def test_batch_reuse_takes_k_updates_on_one_collected_minibatch(monkeypatch):
    seen = spy_batches(monkeypatch, policy_gradient)
    k = 4
    train(policy_gradient.METHOD, {**BASE, "behaviour_eps": 0.0, "batch_reuse": k})
    assert len(seen) == BASE["steps"]
    for t, batch in enumerate(seen):
        first = seen[t - t % k]
        for field in ("labels", "actions", "rewards", "behaviour_prob"):
            assert torch.equal(getattr(batch, field), getattr(first, field)), (t, field)
    assert not torch.equal(seen[0].labels, seen[k].labels)  # a new minibatch every k updates


def test_batch_reuse_one_is_the_default_exactly():
    plain, plain_params = train(policy_gradient.METHOD, BASE)
    once, once_params = train(policy_gradient.METHOD, {**BASE, "batch_reuse": 1})
    assert once == {**plain, "wall_time_s": once["wall_time_s"]}
    for key in plain_params:
        assert torch.equal(plain_params[key], once_params[key])
    with pytest.raises(ValueError, match="batch_reuse"):
        train(policy_gradient.METHOD, {**BASE, "batch_reuse": 0})


def first_update(cfg):
    init = model.init_params([0], DATA["dim"], BASE["hidden"], 10)
    _, params = train(policy_gradient.METHOD, {**cfg, "steps": 1, "eval_every": 1})
    return {k: params[k] - init[k].detach() for k in params}


def test_sgd_steps_scale_with_the_reward_and_adam_steps_do_not():
    """Plain SGD moves by lr * gradient, so doubling the rewards doubles the step; Adam's
    first step is lr * g / (|g| + tiny), the same for any scale of the loss."""
    # (Adam's eps = 1e-8 makes entries whose gradient is near 1e-8 scale a little: atol)
    for name, factor, atol in (("sgd", 2.0, 1e-7), ("adam", 1.0, 2e-5)):
        cfg = {**BASE, "optimizer": name, "lr": 1e-3}
        one = first_update(cfg)
        two = first_update({**cfg, "reward": [-2.0, 2.0]})
        for key in one:
            assert torch.allclose(two[key], factor * one[key], rtol=1e-4, atol=atol), (name, key)
        assert max(v.abs().max() for v in one.values()) > 1e-5  # it moved
    with pytest.raises(ValueError, match="optimizer"):
        train(policy_gradient.METHOD, {**BASE, "optimizer": "rmsprop"})
    keys = {group_key(lane) for name in ("adam", "sgd")
            for lane in runs.lanes(policy_gradient.METHOD, {**BASE, "optimizer": name}, [0])}
    assert len(keys) == 2  # one optimiser per model: they never fuse


def test_expected_reward_is_the_policy_probability_of_the_label():
    from experiments import data as datasets
    cfg = {**BASE, "behaviour_eps": 0.0}
    out, params = train(policy_gradient.METHOD, cfg, seeds=(0, 1))
    d = datasets.load(DATA, "cpu")
    y = datasets.task_labels(d.y_eval, "categorical")
    probs = torch.softmax(model.forward(params, d.x_eval), -1)
    by_hand = probs.gather(-1, y.expand(2, -1).unsqueeze(-1)).squeeze(-1).mean(1)
    assert [s[-1] for s in out["expected_reward"]] == pytest.approx(by_hand.tolist(), abs=1e-6)
    # a greedy (Q-value) policy's expected reward is its accuracy
    q_out, _ = train(q_regression.METHOD, BASE, seeds=(0, 1))
    assert q_out["expected_reward"] == q_out["accuracy"]


def test_merged_payload_carries_the_expected_reward():
    cfg = {**BASE, "seeds": [0, 1]}
    payload = policy_gradient.merge(cfg, [policy_gradient.run(cfg, [0, 1], "cpu")])
    final = payload["final_expected_reward"]
    assert final["per_seed"] == [s[-1] for s in payload["expected_reward"]["per_seed"]]
    assert final["lo"] <= final["mean"] <= final["hi"] and 0.0 < final["mean"] < 1.0
    dial = policy_gradient.merge({**cfg, "dial_eps": [0.0, 1.0]},
                                 [policy_gradient.run({**cfg, "dial_eps": [0.0, 1.0]}, [0, 1],
                                                      "cpu")])
    assert len(dial["final_expected_reward"]["mean"]) == 2


@pytest.mark.parametrize("task,n_q,n_logits", [("binary", 2, 1), ("categorical", 10, 10)])
def test_critic_actor_loss_gradients(task, n_q, n_logits):
    gen = torch.Generator().manual_seed(1)
    outputs = torch.randn(2, 5, n_q + n_logits, generator=gen, dtype=torch.float64)
    assert critic_actor.n_outputs(task) == n_q + n_logits
    actions = torch.randint(n_q, (2, 5), generator=gen)
    rewards = torch.where(actions == 0, 1.0, -1.0).double()
    batch = runs.Batch(actions, actions, rewards, torch.full_like(rewards, 0.5))
    outputs.requires_grad_()
    (grad,) = torch.autograd.grad(critic_actor.loss(outputs, batch, {}).sum(), outputs)
    q, logits = outputs.detach()[..., :n_q], outputs.detach()[..., n_q:]
    # critic: 2 (Q(x, a) - r) on the taken action only; the actor sends nothing into Q
    q_grad = torch.zeros_like(q)
    q_grad.scatter_(-1, actions.unsqueeze(-1),
                    (2 * (q.gather(-1, actions.unsqueeze(-1)).squeeze(-1) - rewards)).unsqueeze(-1))
    assert torch.allclose(grad[..., :n_q], q_grad)
    # actor: d/dlogits of -sum_a pi(a) Q(a) = -pi (Q - V), for softmax logits
    if n_logits == 1:
        p1 = torch.sigmoid(logits[..., 0])
        expected = -(p1 * (1 - p1) * (q[..., 1] - q[..., 0])).unsqueeze(-1)
    else:
        pi = torch.softmax(logits, -1)
        expected = -pi * (q - (pi * q).sum(-1, keepdim=True))
    assert torch.allclose(grad[..., n_q:], expected)
    assert torch.equal(critic_actor.policy_head(outputs.detach()), logits)


def test_critic_actor_learns_from_uniform_actions_and_reports_its_policy_head():
    cfg = {**BASE, "task": "binary", "steps": 300, "eval_every": 100, "lr": 1e-3}
    out, params = train(critic_actor.METHOD, cfg, seeds=(0, 1))
    assert out["first_nonfinite_step"] == [None, None]
    assert min(s[-1] for s in out["accuracy"]) > 0.8  # chance is about 0.5
    from experiments import data as datasets
    d = datasets.load(DATA, "cpu")
    logits = critic_actor.policy_head(model.forward(params, d.x_eval))
    assert [s[-1] for s in out["logit_abs_max"]] == pytest.approx(
        logits.abs().flatten(1).amax(1).tolist(), rel=1e-5)


def test_the_batch_mean_baseline_ignores_a_shift_of_the_rewards():
    """{-1, +1} = 2 {0, 1} - 1: with the leave-one-out baseline the shift cancels exactly, so
    the two reward sets give advantages in the ratio 2 (which Adam's step hardly sees)."""
    gen = torch.Generator().manual_seed(2)
    hits = torch.rand(3, 16, generator=gen) < 0.3
    batch = lambda r: runs.Batch(hits.long(), hits.long(), r, torch.ones_like(r))  # noqa: E731
    zero_one = policy.advantage(batch(hits.float()), {"baseline": "batch_mean"})
    plus_minus = policy.advantage(batch(2 * hits.float() - 1), {"baseline": "batch_mean"})
    assert torch.allclose(plus_minus, 2 * zero_one)
