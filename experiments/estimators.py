"""Measure the gradient estimators against the exact policy gradient.

The bandit's reward is known from the label, r(x, a) = +1 if a is the right action else -1,
so the objective J(theta) = E_x sum_a pi(a|x) r(x, a) and its gradient are computed exactly on
the whole training split. Along one training trajectory (on-policy PG, the learner that works),
at each checkpoint the same weights are handed to every estimator: each draws
`n_minibatches` minibatches the way its method does in training (contexts, then actions from
its behaviour policy) and we record, per seed,

  cos_minibatch  mean over minibatches of cos(-g, grad J)  (g: gradient of the method's loss)
  cos_mean       cos(-mean g, grad J): the direction the estimator follows on average
  rel_variance   E||g - mean g||^2 / ||grad J||^2: one minibatch's noise, relative to the signal
  rel_bias       ||E[-g] - grad J|| / ||grad J||, with ||mean g + grad J||^2 corrected by the
                 variance of the mean (can come out slightly below 0 when squared: clamped)

and, exactly, `offpolicy_expected_cos`: cos between grad J and the expected gradient of
vanilla PG under uniform actions (experiments/methods/expected_pg.py), i.e. its pure bias.
"""
from __future__ import annotations

import time

import torch

from experiments import data as datasets
from experiments import trainer
from experiments.methods import expected_pg, importance, policy_gradient, ppo
from experiments.model import action_probs, forward, greedy_action, init_params

LOSSES = {"pg": policy_gradient.loss, "is": importance.loss, "ppo": ppo.loss}
CONTEXT_SEED_OFFSET, ACTION_SEED_OFFSET = 3_000_017, 4_000_037
MEASURE_SEED_OFFSET = 5_000_011
METRICS = ("cos_minibatch", "cos_mean", "rel_variance", "rel_bias")


def exact_objective(params: dict, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """J per seed, (S,): mean over x of sum_a pi(a|x) r(x, a)."""
    probs = action_probs(forward(params, x))
    rewards = expected_pg.all_action_rewards(labels.expand(probs.shape[:2]), probs.shape[-1])
    return (probs * rewards).sum(-1).mean(-1)


def flat_grad(value: torch.Tensor, params: dict) -> torch.Tensor:
    """d value.sum() / d params, flattened per seed: (S, D) in float64."""
    grads = torch.autograd.grad(value.sum(), list(params.values()))
    return torch.cat([g.flatten(1) for g in grads], dim=1).double()


def _cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cosine_similarity(a, b, dim=1)


def minibatch_gradient(params: dict, estimator: dict, x_train, y_train, idx, uniform,
                       n_act: int, config: dict) -> torch.Tensor:
    """One minibatch gradient of an estimator's loss, (S, D): sampled as in training."""
    x, labels = x_train[idx], y_train[idx]
    outputs = forward(params, x)
    eps = float(estimator["behaviour_eps"])
    with torch.no_grad():
        behaviour = (1 - eps) * action_probs(outputs) + eps / n_act
        actions = trainer.sample_actions(behaviour, uniform)
        behaviour_prob = behaviour.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        rewards = torch.where(actions == labels, 1.0, -1.0)
    batch = trainer.Batch(labels, actions, rewards, behaviour_prob)
    loss = LOSSES[estimator["method"]](outputs, batch, {**config, **estimator})
    return flat_grad(loss.mean(1), params)


def measure(params: dict, config: dict, data, y_train, n_act: int, seeds: list[int],
            checkpoint: int) -> dict:
    """Every estimator's metrics at the current weights: name -> metric -> (S,) list."""
    grad_j = flat_grad(exact_objective(params, data.x_train, y_train), params)
    norm_sq = grad_j.pow(2).sum(1)
    expected_loss = expected_pg.loss(forward(params, data.x_train),
                                     trainer.Batch(y_train.expand(len(seeds), -1), None, None,
                                                   None), config).mean(1)
    out = {"offpolicy_expected_cos": _cos(-flat_grad(expected_loss, params), grad_j).tolist()}
    m, batch_size, n_train = int(config["n_minibatches"]), int(config["batch_size"]), len(y_train)
    for name, estimator in config["estimators"].items():
        # the same contexts and uniforms for every estimator at a checkpoint: paired comparison
        gens = [torch.Generator().manual_seed(int(s) * 7919 + checkpoint + MEASURE_SEED_OFFSET)
                for s in seeds]
        total = torch.zeros_like(grad_j)
        total_sq = torch.zeros_like(norm_sq)
        cos_sum = torch.zeros_like(norm_sq)
        for _ in range(m):
            idx = torch.stack([torch.randint(n_train, (batch_size,), generator=g) for g in gens])
            uniform = torch.stack([torch.rand(batch_size, generator=g) for g in gens])
            g = minibatch_gradient(params, estimator, data.x_train, y_train,
                                   idx.to(grad_j.device), uniform.to(grad_j.device), n_act,
                                   config)
            total += g
            total_sq += g.pow(2).sum(1)
            cos_sum += _cos(-g, grad_j)
        mean_g = total / m
        variance = (total_sq - m * mean_g.pow(2).sum(1)) / (m - 1)  # E||g - mean g||^2
        bias_sq = (mean_g + grad_j).pow(2).sum(1) - variance / m
        out[name] = {"cos_minibatch": (cos_sum / m).tolist(),
                     "cos_mean": _cos(-mean_g, grad_j).tolist(),
                     "rel_variance": (variance / norm_sq).tolist(),
                     "rel_bias": (bias_sq.clamp(min=0) / norm_sq).sqrt().tolist()}
    return out


def run(config: dict, seeds: list[int], device: str, progress=None) -> dict:
    """Train on-policy PG, measuring every estimator at each checkpoint."""
    start = time.perf_counter()
    task, checkpoints = config["task"], sorted(int(c) for c in config["checkpoints"])
    data = datasets.load(config["data"], device)
    y_train = datasets.task_labels(data.y_train, task)
    y_eval = datasets.task_labels(data.y_eval, task)
    n_act, n_train, batch_size = datasets.n_actions(task), len(y_train), int(config["batch_size"])
    params = init_params(seeds, data.x_train.shape[1], int(config["hidden"]),
                         policy_gradient.n_outputs(task), device)
    optimizer = torch.optim.Adam(params.values(), lr=float(config["lr"]))
    context_gens = [torch.Generator().manual_seed(int(s) + CONTEXT_SEED_OFFSET) for s in seeds]
    action_gens = [torch.Generator().manual_seed(int(s) + ACTION_SEED_OFFSET) for s in seeds]
    trajectory = {"method": "pg", "behaviour_eps": 0.0, "log_prob": "stable"}
    records, accuracy = [], []
    for step in range(checkpoints[-1] + 1):
        if step in checkpoints:
            records.append(measure(params, config, data, y_train, n_act, seeds, step))
            with torch.no_grad():
                greedy = greedy_action(forward(params, data.x_eval))
                accuracy.append((greedy == y_eval).float().mean(1).tolist())
            if progress:
                progress(step, checkpoints[-1])
        if step == checkpoints[-1]:
            break
        idx = torch.stack([torch.randint(n_train, (batch_size,), generator=g)
                           for g in context_gens]).to(device)
        uniform = torch.stack([torch.rand(batch_size, generator=g) for g in action_gens])
        optimizer.zero_grad()
        x, labels = data.x_train[idx], y_train[idx]
        outputs = forward(params, x)
        with torch.no_grad():
            actions = trainer.sample_actions(action_probs(outputs), uniform.to(device))
            rewards = torch.where(actions == labels, 1.0, -1.0)
        batch = trainer.Batch(labels, actions, rewards, None)
        policy_gradient.loss(outputs, batch, trajectory).mean(1).sum().backward()
        optimizer.step()
    # records: checkpoints x {name: {metric: (S,)}} -> name -> metric -> per seed x checkpoints
    names = list(config["estimators"])
    per_seed = {name: {metric: [[r[name][metric][s] for r in records] for s in range(len(seeds))]
                       for metric in METRICS} for name in names}
    return {"seeds": list(seeds), "checkpoints": checkpoints, "estimators": per_seed,
            "offpolicy_expected_cos": [[r["offpolicy_expected_cos"][s] for r in records]
                                       for s in range(len(seeds))],
            "accuracy": [[a[s] for a in accuracy] for s in range(len(seeds))],
            "wall_time_s": time.perf_counter() - start}


def _stat(per_seed: list[list]) -> dict:
    columns = [trainer.mean_interval(list(col)) for col in zip(*per_seed)]
    return {"per_seed": per_seed, **{key: [c[i] for c in columns]
                                     for i, key in enumerate(("mean", "lo", "hi", "n"))}}


def merge(config: dict, parts: list[dict]) -> dict:
    """Seed batches -> {task, checkpoints, estimators: name -> metric -> stats, ...}."""
    joined = lambda get: [row for part in parts for row in get(part)]  # noqa: E731
    return {
        "task": config["task"], "seeds": joined(lambda p: p["seeds"]),
        "checkpoints": parts[0]["checkpoints"],
        "n_minibatches": int(config["n_minibatches"]), "batch_size": int(config["batch_size"]),
        "estimators": {name: {metric: _stat(joined(lambda p: p["estimators"][name][metric]))
                              for metric in METRICS} for name in config["estimators"]},
        "offpolicy_expected_cos": _stat(joined(lambda p: p["offpolicy_expected_cos"])),
        "accuracy": _stat(joined(lambda p: p["accuracy"])),
        "wall_time_s": sum(p["wall_time_s"] for p in parts),
    }
