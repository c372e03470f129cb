"""The science experiments: the bias control's exact expected loss, the entropy bonus, and the
estimator measurements against the exact policy gradient (synthetic data, seconds)."""
from __future__ import annotations

import math

import pytest
import torch

from experiments import estimators, runs
from experiments.methods import expected_pg, policy_gradient
from experiments.model import action_probs, init_params

TOL = 1e-9
GEN = torch.Generator().manual_seed(1)
S, B, K = 2, 9, 10

pytestmark = pytest.mark.usefixtures("torch_one_thread")

DATA = {"name": "synthetic", "n_train": 512, "n_eval": 128, "dim": 32, "n_classes": 10,
        "seed": 0}
ESTIMATORS = {"pg_onpolicy": {"method": "pg", "behaviour_eps": 0.0, "log_prob": "stable"},
              "pg_offpolicy": {"method": "pg", "behaviour_eps": 1.0, "log_prob": "stable"},
              "is": {"method": "is", "behaviour_eps": 1.0},
              "ppo": {"method": "ppo", "behaviour_eps": 1.0, "clip_eps": 0.2}}


def grad_of(loss_fn, outputs, batch, config):
    outputs = outputs.clone().requires_grad_()
    (grad,) = torch.autograd.grad(loss_fn(outputs, batch, config).sum(), outputs)
    return grad


def labelled_batch(n_actions):
    labels = torch.randint(n_actions, (S, B), generator=GEN)
    actions = torch.randint(n_actions, (S, B), generator=GEN)
    rewards = torch.where(actions == labels, 1.0, -1.0).double()
    return runs.Batch(labels, actions, rewards, torch.full((S, B), 1.0 / n_actions))


def test_expected_pg_binary_is_linear_in_the_logit():
    batch = labelled_batch(2)
    x = 5 * torch.randn(S, B, 1, generator=GEN, dtype=torch.float64)
    got = grad_of(expected_pg.loss, x, batch, {})[..., 0]
    # L = -(1/2)(2y - 1) x: a constant slope, whatever the logit
    assert (got - (-(2 * batch.labels.double() - 1) / 2)).abs().max() < TOL


def test_expected_pg_categorical_closed_form_and_equals_average_over_actions():
    batch = labelled_batch(K)
    z = 3 * torch.randn(S, B, K, generator=GEN, dtype=torch.float64)
    p = torch.softmax(z, -1)
    e_y = torch.nn.functional.one_hot(batch.labels, K).double()
    got = grad_of(expected_pg.loss, z, batch, {})
    assert (got - (1 - 2 * e_y - (K - 2) * p) / K).abs().max() < TOL
    # the same as the sampled vanilla-PG loss averaged over every action, uniformly
    sampled = torch.zeros(S, B, dtype=torch.float64)
    for a in range(K):
        actions = torch.full((S, B), a)
        rewards = torch.where(actions == batch.labels, 1.0, -1.0).double()
        sampled += policy_gradient.loss(z, runs.Batch(batch.labels, actions, rewards, None),
                                        {}) / K
    assert (expected_pg.loss(z, batch, {}) - sampled).abs().max() < TOL


def test_entropy_bonus_off_by_default_and_its_gradient():
    batch = labelled_batch(K)
    z = 2 * torch.randn(S, B, K, generator=GEN, dtype=torch.float64)
    plain = grad_of(policy_gradient.loss, z, batch, {})
    assert torch.equal(plain, grad_of(policy_gradient.loss, z, batch, {"entropy_bonus": 0.0}))
    beta = 0.05
    p = torch.softmax(z, -1)
    h = -(p * p.log()).sum(-1, keepdim=True)
    d_entropy = -p * (p.log() + h)  # dH/dz_j = -p_j (log p_j + H)
    got = grad_of(policy_gradient.loss, z, batch, {"entropy_bonus": beta})
    assert (got - (plain - beta * d_entropy)).abs().max() < TOL


def test_exact_objective_gradient_is_the_on_policy_expectation():
    """grad J = -sum_a pi(a|x) grad(-r log pi(a|x)): the score-function identity, exactly."""
    torch.manual_seed(0)
    params = {k: v.double().detach().requires_grad_()
              for k, v in init_params([0, 1], 16, 8, K).items()}
    x = torch.randn(20, 16, dtype=torch.float64)
    labels = torch.randint(K, (20,))
    grad_j = estimators.flat_grad(estimators.exact_objective(params, x, labels), params)
    outputs = estimators.forward(params, x)
    probs = action_probs(outputs).detach()
    expected_loss = 0
    for a in range(K):
        actions = torch.full((2, 20), a)
        rewards = torch.where(actions == labels, 1.0, -1.0).double()
        per_sample = policy_gradient.loss(outputs, runs.Batch(labels, actions, rewards, None),
                                          {})
        expected_loss = expected_loss + (probs[..., a] * per_sample).mean(1)
    assert (estimators.flat_grad(expected_loss, params) + grad_j).abs().max() < 1e-12


@pytest.fixture(scope="module")
def measured():
    config = {"task": "categorical", "data": DATA, "hidden": 16, "lr": 1e-3, "batch_size": 32,
              "checkpoints": [0, 20], "n_minibatches": 300, "estimators": ESTIMATORS}
    return estimators.merge(config, [estimators.run(config, [0], "cpu"),
                                     estimators.run(config, [1], "cpu")])


def test_estimator_payload_shape(measured):
    assert measured["seeds"] == [0, 1] and measured["checkpoints"] == [0, 20]
    assert set(measured["estimators"]) == set(ESTIMATORS)
    for metrics in measured["estimators"].values():
        assert set(metrics) == set(estimators.METRICS)
        for stat in metrics.values():
            assert len(stat["per_seed"]) == 2 and len(stat["mean"]) == 2
    assert all(-1 <= c <= 1 for row in measured["offpolicy_expected_cos"]["per_seed"]
               for c in row)


def test_unbiased_estimators_point_along_grad_j_and_vanilla_off_policy_does_not(measured):
    est = measured["estimators"]
    for name in ("pg_onpolicy", "is"):  # unbiased: averaged over minibatches, along grad J
        assert min(est[name]["cos_mean"]["mean"]) > 0.9, name
    # vanilla PG on uniform actions follows its own expected gradient, not grad J
    exact = measured["offpolicy_expected_cos"]["mean"]
    assert max(exact) < 0.9
    for got, want in zip(est["pg_offpolicy"]["cos_mean"]["mean"], exact):
        assert abs(got - want) < 0.1
    # a single minibatch is noisy: its cosine is below that of the average
    for name in ESTIMATORS:
        for one, avg in zip(est[name]["cos_minibatch"]["mean"], est[name]["cos_mean"]["mean"]):
            assert one < avg, name


def test_log_barrier_gradient_does_not_fade_for_a_ruled_out_action():
    batch = labelled_batch(K)
    z = 2 * torch.randn(S, B, K, generator=GEN, dtype=torch.float64)
    z[..., 3] = -60.0  # action 3 ruled out: pi(3|x) ~ 1e-26
    plain = grad_of(policy_gradient.loss, z, batch, {})
    beta = 0.05
    p = torch.softmax(z, -1)
    got = grad_of(policy_gradient.loss, z, batch, {"log_barrier": beta})
    assert (got - (plain + beta * (p - 1.0 / K))).abs().max() < TOL
    # descent raises the ruled-out logit at rate beta / K, however small pi(3|x) is
    assert (got[..., 3] - plain[..., 3] + beta / K).abs().max() < TOL
    entropy_only = grad_of(policy_gradient.loss, z, batch, {"entropy_bonus": beta})
    assert (entropy_only[..., 3] - plain[..., 3]).abs().max() < 1e-20


def test_suite_has_the_science_rows():
    from experiments.suite import (BY_NAME, EXPERIMENTS, SECOND_ROUND, STALE_METHODS,
                                   effective_config)
    for task in ("binary", "categorical"):
        assert BY_NAME[f"{task}-pg_expected"].entry == "experiments.methods.expected_pg"
        assert BY_NAME[f"estimators-{task}"].entry == "experiments.estimators"
        clips = {BY_NAME[f"{task}-ppo_clip{c}"].config["clip_eps"] for c in ("05", "10", "40")}
        assert clips == {0.05, 0.1, 0.4}
    for exp in EXPERIMENTS:
        if exp.config.get("task") == "categorical" and "method" in exp.config \
                and "dial_eps" not in exp.config:
            # the second round's rows and the stale snapshots compare means: 10 seeds
            second_round = exp.config["method"] in {**SECOND_ROUND, **STALE_METHODS}
            assert len(exp.config["seeds"]) >= (10 if second_round else 20), exp.name
        if "dial_eps" in exp.config:
            eps = exp.config["dial_eps"]
            assert eps[0] == 0.0 and eps[-1] == 1.0 and sum(e <= 0.02 for e in eps) >= 5
    assert BY_NAME["categorical-pg_onpolicy_barrier"].config["log_barrier"] > 0
    for task in ("binary", "categorical"):
        for method in ("pg", "is", "ppo"):
            lags = [BY_NAME[f"{task}-{method}_lag{k}"].config for k in (1, 10, 100)]
            assert [c["behaviour_lag"] for c in lags] == [1, 10, 100]
            assert all(c["behaviour_eps"] == 0.0 for c in lags)
            assert len({len(c["seeds"]) for c in lags}) == 1
    sgd, adam = BY_NAME["dial-pg_sgd"].config, BY_NAME["dial-pg"].config
    assert sgd["optimizer"] == "sgd" and sgd["log_prob"] == "stable" and sgd["task"] == "binary"
    assert sgd["dial_eps"] == adam["dial_eps"] and sgd["seeds"] == adam["seeds"]
    assert sgd["quick"] == adam["quick"] and "optimizer" not in adam
    for task in ("binary", "categorical"):
        off, on = (BY_NAME[f"{task}-pg_{who}_r01"].config for who in ("random", "onpolicy"))
        assert off["reward"] == on["reward"] == [0.0, 1.0]
        assert (off["behaviour_eps"], on["behaviour_eps"]) == (1.0, 0.0)
        assert BY_NAME[f"{task}-pg_random_r01_baseline"].config["baseline"] == "batch_mean"
        assert BY_NAME[f"{task}-critic_actor_random"].config["behaviour_eps"] == 1.0
        for method in ("pg", "is", "ppo"):
            assert BY_NAME[f"{task}-{method}_reuse32"].config["batch_reuse"] == 32
    assert BY_NAME["binary-pg_random_sgd"].config["optimizer"] == "sgd"
    long = BY_NAME["binary-pg_eps0002_long"].config
    assert long["steps"] > BY_NAME["dial-pg"].config["steps"] and long["behaviour_eps"] == 0.002
    quick = effective_config(BY_NAME["estimators-binary"], quick=True)
    assert quick["n_minibatches"] < BY_NAME["estimators-binary"].config["n_minibatches"]


def test_crossover_logit_balances_the_two_parts_of_the_dial_gradient():
    """At the crossover logit the eps-share's constant push eps/2 equals the on-policy part
    (1 - eps) 2 sigma (1 - sigma); past it, the constant push is the larger."""
    import sys
    from pathlib import Path

    from onpolicy.render.content import import_folder

    folder = Path(__file__).resolve().parent.parent / "site_src" / "article"
    package = next(module for _, module in import_folder(folder)).__package__
    science_facts = sys.modules[f"{package}.science_facts"]  # a helper of the folder's package
    for eps in (0.002, 0.02, 0.25):
        x = science_facts.crossover_logit(eps)
        sigma = 1 / (1 + math.exp(-x))
        assert abs((1 - eps) * 2 * sigma * (1 - sigma) - eps / 2) < 1e-12
        sigma = 1 / (1 + math.exp(-(x + 0.5)))
        assert (1 - eps) * 2 * sigma * (1 - sigma) < eps / 2
    assert science_facts.crossover_logit(0.002) > science_facts.crossover_logit(0.02)
