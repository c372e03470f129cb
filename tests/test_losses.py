"""Each method's loss: its gradient wrt the network outputs equals the closed form."""
from __future__ import annotations

import math

import pytest
import torch

from experiments import gradients, runs
from experiments.methods import importance, policy_gradient, ppo, q_regression, supervised
from experiments.suite import BY_NAME, effective_config

TOL = 1e-6  # float64 throughout
GEN = torch.Generator().manual_seed(0)
S, B, K = 2, 7, 10


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def grad_of(loss_fn, outputs, batch, config=None):
    outputs = outputs.clone().requires_grad_()
    loss = loss_fn(outputs, batch, config or {})
    assert loss.shape == outputs.shape[:2], "losses are per sample: (S, B)"
    (grad,) = torch.autograd.grad(loss.sum(), outputs)
    return grad


def random_batch(n_actions: int, behaviour_prob=None):
    actions = torch.randint(n_actions, (S, B), generator=GEN)
    labels = torch.randint(n_actions, (S, B), generator=GEN)
    rewards = torch.where(actions == labels, 1.0, -1.0).double()
    if behaviour_prob is None:
        behaviour_prob = 0.05 + 0.9 * torch.rand(S, B, generator=GEN, dtype=torch.float64)
    return runs.Batch(labels, actions, rewards, behaviour_prob)


def logits(n_out: int) -> torch.Tensor:
    return 3 * torch.randn(S, B, n_out, generator=GEN, dtype=torch.float64)


def onehot(a, k):
    return torch.nn.functional.one_hot(a, k).double()


def test_supervised_binary_and_categorical():
    batch, x = random_batch(2), logits(1)
    expected = torch.sigmoid(x[..., 0]) - batch.labels
    assert (grad_of(supervised.loss, x, batch)[..., 0] - expected).abs().max() < TOL
    batch, z = random_batch(K), logits(K)
    expected = torch.softmax(z, -1) - onehot(batch.labels, K)
    assert (grad_of(supervised.loss, z, batch) - expected).abs().max() < TOL


@pytest.mark.parametrize("n_actions", [2, K])
def test_q_regression_only_the_taken_action(n_actions):
    batch, q = random_batch(n_actions), logits(n_actions)
    q_taken = q.gather(-1, batch.actions.unsqueeze(-1)).squeeze(-1)
    expected = (2 * (q_taken - batch.rewards)).unsqueeze(-1) * onehot(batch.actions, n_actions)
    assert (grad_of(q_regression.loss, q, batch) - expected).abs().max() < TOL


@pytest.mark.parametrize("mode", ["naive", "stable"])
def test_policy_gradient(mode):
    batch, x = random_batch(2), logits(1)
    r, a = batch.rewards, batch.actions.double()
    expected = r * torch.sigmoid(x[..., 0]) - r * a  # pg_a1: r sigma - r ; pg_a0: r sigma
    got = grad_of(policy_gradient.loss, x, batch, {"log_prob": mode})[..., 0]
    assert (got - expected).abs().max() < TOL
    batch, z = random_batch(K), logits(K)
    expected = batch.rewards.unsqueeze(-1) * (torch.softmax(z, -1) - onehot(batch.actions, K))
    got = grad_of(policy_gradient.loss, z, batch, {"log_prob": mode})
    assert (got - expected).abs().max() < TOL


def test_naive_log_prob_saturates_to_non_finite_and_stable_does_not():
    x = torch.tensor([[[40.0], [-120.0]]])  # float32: sigmoid rounds to 1 and to 0
    batch = runs.Batch(None, torch.tensor([[0, 1]]), torch.tensor([[-1.0, -1.0]]), None)
    naive = policy_gradient.loss(x, batch, {"log_prob": "naive"})
    stable = policy_gradient.loss(x, batch, {"log_prob": "stable"})
    assert not naive.isfinite().any()
    assert stable.isfinite().all()
    assert torch.allclose(stable, torch.tensor([[-40.0, -120.0]]))  # -r log pi = log pi


def test_importance_ratio_is_differentiated():
    batch, x = random_batch(2), logits(1)
    r, b, sigma = batch.rewards, batch.behaviour_prob, torch.sigmoid(x[..., 0])
    dpi_dx = torch.where(batch.actions == 1, 1.0, -1.0) * sigma * (1 - sigma)
    got = grad_of(importance.loss, x, batch)[..., 0]
    assert (got - (-(r / b) * dpi_dx)).abs().max() < TOL
    batch, z = random_batch(K), logits(K)
    p = torch.softmax(z, -1)
    p_a = p.gather(-1, batch.actions.unsqueeze(-1))
    dpi_dz = p_a * (onehot(batch.actions, K) - p)
    expected = -(batch.rewards / batch.behaviour_prob).unsqueeze(-1) * dpi_dz
    assert (grad_of(importance.loss, z, batch) - expected).abs().max() < TOL


@pytest.mark.parametrize("n_actions", [2, K])
def test_ppo_clipped_surrogate(n_actions):
    clip = 0.2
    z = logits(1 if n_actions == 2 else K)
    probs = torch.softmax(z, -1) if n_actions == K else torch.cat(
        [1 - torch.sigmoid(z), torch.sigmoid(z)], -1)
    batch = random_batch(n_actions)
    pi_a = probs.gather(-1, batch.actions.unsqueeze(-1)).squeeze(-1)
    # behaviour probabilities near pi, so both clipped and unclipped samples occur
    b = pi_a * torch.exp(0.5 * torch.randn(S, B, generator=GEN, dtype=torch.float64))
    batch = runs.Batch(batch.labels, batch.actions, batch.rewards, b)
    ratio, A = pi_a / b, batch.rewards
    active = ((A > 0) & (ratio < 1 + clip)) | ((A < 0) & (ratio > 1 - clip))
    assert active.any() and (~active).any()
    coef = torch.where(active, -A * ratio, 0.0)  # d(-ratio A)/d log pi = -ratio A
    if n_actions == 2:
        dlogpi = torch.where(batch.actions == 1, 1 - torch.sigmoid(z[..., 0]),
                             -torch.sigmoid(z[..., 0]))
        got = grad_of(ppo.loss, z, batch, {"clip_eps": clip})[..., 0]
        assert (got - coef * dlogpi).abs().max() < TOL
    else:
        dlogpi = onehot(batch.actions, K) - probs
        got = grad_of(ppo.loss, z, batch, {"clip_eps": clip})
        assert (got - coef.unsqueeze(-1) * dlogpi).abs().max() < TOL


def test_ppo_on_policy_first_step_equals_vanilla_pg():
    batch, z = random_batch(K), logits(K)
    b = torch.softmax(z, -1).gather(-1, batch.actions.unsqueeze(-1)).squeeze(-1)
    batch = runs.Batch(batch.labels, batch.actions, batch.rewards, b)
    g_ppo = grad_of(ppo.loss, z, batch, {"clip_eps": 0.2})
    g_pg = grad_of(policy_gradient.loss, z, batch, {"log_prob": "stable"})
    assert (g_ppo - g_pg).abs().max() < TOL


def test_gradient_grids_match_closed_forms():
    config = effective_config(BY_NAME["gradients"], quick=True)
    payload = gradients.merge(config, [gradients.run(config, [0], "cpu")])
    expected = {"bce", "pg_a1", "pg_a0", "is_a1", "is_a0", "ce_label", "pg_cat_sampled",
                "pg_cat_other"}
    assert set(payload["grids"]) == expected
    for gid, grid in payload["grids"].items():
        assert len(grid["z"]) == len(grid["y"]) and len(grid["z"][0]) == len(grid["x"]), gid
        assert grid["max_abs_error"] < 1e-12, gid
        assert all(math.isfinite(v) for row in grid["z"] for v in row), gid
    # the article's point, read off the grids: at r = -1 the vanilla-PG gradient for a = 1
    # does not vanish as pi(1|x) -> 0, while the importance-weighted one does
    pg, is_ = payload["grids"]["pg_a1"], payload["grids"]["is_a1"]
    j = pg["y"].index(-1.0)
    assert pg["z"][j][0] > 0.99 and abs(is_["z"][j][0]) < 1e-3


def test_t_quantiles_and_interval():
    assert abs(runs.t_quantile_975(30) - 2.0423) < 2e-4
    assert abs(runs.t_quantile_975(31) - 2.0395) < 2e-4
    assert abs(runs.t_quantile_975(10_000) - 1.96) < 1e-3
    assert runs.mean_interval([0.5]) == (0.5, 0.5, 0.5, 1)
    assert runs.mean_interval([None, float("nan")]) == (None, None, None, 0)
    mean, lo, hi, n = runs.mean_interval([1.0, 2.0, 3.0, None])
    assert (mean, n) == (2.0, 3) and math.isclose(hi - mean, 4.3027 / math.sqrt(3))
