"""The vectorised estimator measurement (experiments/estimators.py) against the loop it
replaced: one gradient per minibatch, one minibatch at a time. The loop is kept here, as it
was, as the reference; both run on the same small synthetic case."""
from __future__ import annotations

import pytest
import torch

from experiments import data as datasets
from experiments import estimators, runs
from experiments.methods import expected_pg, policy_gradient
from experiments.model import action_probs, forward, greedy_action, init_params
from tests.test_science import DATA, ESTIMATORS  # the small case the science tests train

pytestmark = pytest.mark.usefixtures("torch_one_thread")

# float32 gradients summed in another order, statistics in float64: the metrics agree to
# about 1e-7 relative; rel_bias (a difference of nearly equal squares) gets more room
RTOL, ATOL = 1e-5, 1e-6


def config_for(task: str) -> dict:
    return {"task": task, "data": DATA, "hidden": 16, "lr": 1e-3, "batch_size": 32,
            "checkpoints": [0, 7, 20], "n_minibatches": 9, "estimators": ESTIMATORS}


# -- the loop before vectorisation (experiments/estimators.py as of 2026-11-26) --------------

def old_minibatch_gradient(params, estimator, x_train, y_train, idx, uniform, n_act, config):
    x, labels = x_train[idx], y_train[idx]
    outputs = forward(params, x)
    eps = float(estimator["behaviour_eps"])
    with torch.no_grad():
        behaviour = (1 - eps) * action_probs(outputs) + eps / n_act
        actions = runs.sample_actions(behaviour, uniform)
        behaviour_prob = behaviour.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        rewards = torch.where(actions == labels, 1.0, -1.0)
    batch = runs.Batch(labels, actions, rewards, behaviour_prob)
    loss = estimators.LOSSES[estimator["method"]](outputs, batch, {**config, **estimator})
    return estimators.flat_grad(loss.mean(1), params)


def old_measure(params, config, data, y_train, n_act, seeds, checkpoint):
    cos = lambda a, b: torch.nn.functional.cosine_similarity(a, b, dim=1)  # noqa: E731
    grad_j = estimators.flat_grad(estimators.exact_objective(params, data.x_train, y_train),
                                  params)
    norm_sq = grad_j.pow(2).sum(1)
    expected_loss = expected_pg.loss(forward(params, data.x_train),
                                     runs.Batch(y_train.expand(len(seeds), -1), None, None,
                                                   None), config).mean(1)
    out = {"offpolicy_expected_cos":
           cos(-estimators.flat_grad(expected_loss, params), grad_j).tolist()}
    m, batch_size, n_train = int(config["n_minibatches"]), int(config["batch_size"]), len(y_train)
    for name, estimator in config["estimators"].items():
        gens = [torch.Generator().manual_seed(int(s) * 7919 + checkpoint
                                              + estimators.MEASURE_SEED_OFFSET) for s in seeds]
        total = torch.zeros_like(grad_j)
        total_sq = torch.zeros_like(norm_sq)
        cos_sum = torch.zeros_like(norm_sq)
        for _ in range(m):
            idx = torch.stack([torch.randint(n_train, (batch_size,), generator=g) for g in gens])
            uniform = torch.stack([torch.rand(batch_size, generator=g) for g in gens])
            g = old_minibatch_gradient(params, estimator, data.x_train, y_train, idx, uniform,
                                       n_act, config)
            total += g
            total_sq += g.pow(2).sum(1)
            cos_sum += cos(-g, grad_j)
        mean_g = total / m
        variance = (total_sq - m * mean_g.pow(2).sum(1)) / (m - 1)
        bias_sq = (mean_g + grad_j).pow(2).sum(1) - variance / m
        out[name] = {"cos_minibatch": (cos_sum / m).tolist(),
                     "cos_mean": cos(-mean_g, grad_j).tolist(),
                     "rel_variance": (variance / norm_sq).tolist(),
                     "rel_bias": (bias_sq.clamp(min=0) / norm_sq).sqrt().tolist(),
                     "bias": bias_sq.clamp(min=0).sqrt().tolist()}
    out["grad_j_norm"] = norm_sq.sqrt().tolist()
    return out


def old_run(config, seeds):
    task, checkpoints = config["task"], sorted(int(c) for c in config["checkpoints"])
    data = datasets.load(config["data"], "cpu")
    y_train = datasets.task_labels(data.y_train, task)
    y_eval = datasets.task_labels(data.y_eval, task)
    n_act, n_train, batch_size = datasets.n_actions(task), len(y_train), int(config["batch_size"])
    params = init_params(seeds, data.x_train.shape[1], int(config["hidden"]),
                         runs.policy_outputs(task), "cpu")
    optimizer = torch.optim.Adam(params.values(), lr=float(config["lr"]))
    context_gens = [torch.Generator().manual_seed(int(s) + estimators.CONTEXT_SEED_OFFSET)
                    for s in seeds]
    action_gens = [torch.Generator().manual_seed(int(s) + estimators.ACTION_SEED_OFFSET)
                   for s in seeds]
    trajectory = {"method": "pg", "behaviour_eps": 0.0, "log_prob": "stable"}
    records, accuracy = [], []
    for step in range(checkpoints[-1] + 1):
        if step in checkpoints:
            records.append(old_measure(params, config, data, y_train, n_act, seeds, step))
            with torch.no_grad():
                accuracy.append((greedy_action(forward(params, data.x_eval)) == y_eval)
                                .float().mean(1).tolist())
        if step == checkpoints[-1]:
            break
        idx = torch.stack([torch.randint(n_train, (batch_size,), generator=g)
                           for g in context_gens])
        uniform = torch.stack([torch.rand(batch_size, generator=g) for g in action_gens])
        optimizer.zero_grad()
        x, labels = data.x_train[idx], y_train[idx]
        outputs = forward(params, x)
        with torch.no_grad():
            actions = runs.sample_actions(action_probs(outputs), uniform)
            rewards = torch.where(actions == labels, 1.0, -1.0)
        policy_gradient.loss(outputs, runs.Batch(labels, actions, rewards, None),
                             trajectory).mean(1).sum().backward()
        optimizer.step()
    return records, accuracy


# -- the tests ------------------------------------------------------------------------------

def assert_close(got: list, want: list, what: str) -> None:
    assert torch.allclose(torch.tensor(got, dtype=torch.float64),
                          torch.tensor(want, dtype=torch.float64), rtol=RTOL, atol=ATOL), \
        f"{what}: {got} != {want}"


@pytest.mark.parametrize("task", ["binary", "categorical"])
@pytest.mark.parametrize("budget", [1, 10**9], ids=["one-minibatch-chunks", "one-chunk"])
def test_vectorised_run_equals_the_minibatch_loop(task, budget, monkeypatch):
    monkeypatch.setitem(estimators.REPLICA_FLOATS, "cpu", budget)
    config, seeds = config_for(task), [0, 3]
    records, accuracy = old_run(config, seeds)
    new = estimators.run(config, seeds, "cpu")
    assert new["checkpoints"] == [0, 7, 20]
    # the same trajectory: the greedy accuracies at each checkpoint are equal
    assert new["accuracy"] == [[a[s] for a in accuracy] for s in range(len(seeds))]
    for k, record in enumerate(records):
        assert_close([new["offpolicy_expected_cos"][s][k] for s in range(len(seeds))],
                     record["offpolicy_expected_cos"], f"offpolicy_expected_cos at {k}")
        assert_close([new["grad_j_norm"][s][k] for s in range(len(seeds))],
                     record["grad_j_norm"], f"grad_j_norm at {k}")
        for name in ESTIMATORS:
            for metric in estimators.METRICS:
                assert_close([new["estimators"][name][metric][s][k] for s in range(len(seeds))],
                             record[name][metric], f"{name} {metric} at checkpoint {k}")


def test_chunk_gradients_equal_one_minibatch_at_a_time():
    config = config_for("categorical")
    data = datasets.load(DATA, "cpu")
    y_train = datasets.task_labels(data.y_train, "categorical")
    params = init_params([0, 1, 2], 32, 16, 10)
    idx, uniform = estimators.measure_draws([0, 1, 2], 5, 4, 32, len(y_train))
    assert idx.shape == (4, 3, 32) and uniform.shape == (4, 3, 32)
    for estimator in ESTIMATORS.values():
        chunk = estimators.minibatch_gradients(params, estimator, data.x_train, y_train,
                                               idx, uniform, 10, config)
        assert chunk.shape == (4, 3, sum(v[0].numel() for v in params.values()))
        for c in range(4):
            one = old_minibatch_gradient(params, estimator, data.x_train, y_train, idx[c],
                                         uniform[c], 10, config)
            assert torch.allclose(chunk[c], one, rtol=1e-5, atol=1e-7)


def test_one_backward_per_chunk_not_per_minibatch(monkeypatch):
    """The point of the vectorisation: the number of autograd calls at a checkpoint depends on
    the chunks, not on n_minibatches."""
    calls = []
    real = torch.autograd.grad
    monkeypatch.setattr(torch.autograd, "grad", lambda *a, **k: calls.append(1) or real(*a, **k))
    config = {**config_for("binary"), "n_minibatches": 40}
    data = datasets.load(DATA, "cpu")
    y_train = datasets.task_labels(data.y_train, "binary")
    params = init_params([0, 1], 32, 16, 1)
    n_params = sum(v[0].numel() for v in params.values())
    monkeypatch.setitem(estimators.REPLICA_FLOATS, "cpu", 2 * n_params * 40)  # one chunk
    estimators.measure(params, config, data, y_train, 2, [0, 1], 0)
    assert len(calls) == 2 + len(ESTIMATORS)  # grad J, the expected gradient, one per estimator
    calls.clear()
    monkeypatch.setitem(estimators.REPLICA_FLOATS, "cpu", 2 * n_params * 10)  # chunks of 10
    estimators.measure(params, config, data, y_train, 2, [0, 1], 0)
    assert len(calls) == 2 + 4 * len(ESTIMATORS)


def test_chunk_size_bounds_the_replicated_weights():
    assert estimators.chunk_size(5, 100_000, "cpu") * 5 * 100_000 \
        <= estimators.REPLICA_FLOATS["cpu"]
    assert estimators.chunk_size(5, 10**9, "cpu") == 1  # never zero
    assert estimators.chunk_size(5, 100_000, "cuda") >= 256  # the suite's row: one chunk
