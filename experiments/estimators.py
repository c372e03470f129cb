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
from experiments import runs
from experiments.methods import expected_pg, importance, policy_gradient, ppo
from experiments.model import action_probs, forward, greedy_action, init_params

LOSSES = {"pg": policy_gradient.loss, "is": importance.loss, "ppo": ppo.loss}
CONTEXT_SEED_OFFSET, ACTION_SEED_OFFSET = 3_000_017, 4_000_037
MEASURE_SEED_OFFSET = 5_000_011
METRICS = ("cos_minibatch", "cos_mean", "rel_variance", "rel_bias", "bias")
COS_EPS = 1e-8  # torch.nn.functional.cosine_similarity's eps
# Replicated weights per chunk of minibatch gradients, in floats (their gradients take as
# many again, the float64 copies twice that). CPU: chunks of a few minibatches, the fastest
# in a sweep of 0.5M-32M (larger chunks spill the cache and run slower, docs/BENCHMARKS.md
# 4c). GPU: the suite's 256 minibatches x 5 seeds in one chunk (about 3 GB in all).
REPLICA_FLOATS = {"cpu": 2_000_000, "accelerator": 160_000_000}


def exact_objective(params: dict, x: torch.Tensor, labels: torch.Tensor,
                    outputs: torch.Tensor | None = None) -> torch.Tensor:
    """J per seed, (S,): mean over x of sum_a pi(a|x) r(x, a) (outputs: forward(params, x),
    when already computed)."""
    probs = action_probs(forward(params, x) if outputs is None else outputs)
    rewards = expected_pg.all_action_rewards(labels.expand(probs.shape[:2]), probs.shape[-1])
    return (probs * rewards).sum(-1).mean(-1)


def flat_grad(value: torch.Tensor, params: dict, retain_graph: bool = False) -> torch.Tensor:
    """d value.sum() / d params, flattened per seed: (S, D) in float64."""
    grads = torch.autograd.grad(value.sum(), list(params.values()), retain_graph=retain_graph)
    return torch.cat([g.flatten(1) for g in grads], dim=1).double()


def _cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cosine_similarity(a, b, dim=-1)


def chunk_size(n_seeds: int, n_params: int, device) -> int:
    """Minibatches whose gradients are computed at once: as many as keep the replicated
    weights (minibatch x seed copies) within the device's budget."""
    budget = REPLICA_FLOATS["cpu" if torch.device(device).type == "cpu" else "accelerator"]
    return max(1, budget // (n_seeds * n_params))


def measure_draws(seeds: list[int], checkpoint: int, n_minibatches: int, batch_size: int,
                  n_train: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every minibatch's contexts and action-uniforms at a checkpoint, (M, S, B) each, drawn
    on the CPU from one generator per seed (contexts, then uniforms, minibatch by minibatch):
    the same for every estimator, so they are compared on paired samples."""
    idx = torch.empty(n_minibatches, len(seeds), batch_size, dtype=torch.long)
    uniform = torch.empty(n_minibatches, len(seeds), batch_size)
    for s, seed in enumerate(seeds):
        gen = torch.Generator().manual_seed(int(seed) * 7919 + checkpoint + MEASURE_SEED_OFFSET)
        for i in range(n_minibatches):
            idx[i, s] = torch.randint(n_train, (batch_size,), generator=gen)
            uniform[i, s] = torch.rand(batch_size, generator=gen)
    return idx, uniform


def minibatch_gradients(params: dict, estimator: dict, x_train, y_train, idx, uniform,
                        n_act: int, config: dict) -> torch.Tensor:
    """The gradients of an estimator's loss on C minibatches at once, (C, S, D) in float64:
    idx and uniform are (C, S, B). The weights are replicated C times along the seed
    dimension (copy c * S + s is seed s's network on minibatch c), so one forward and one
    backward of the batched MLP give every minibatch's gradient, each sampled as in training."""
    n_chunk, n_seeds, batch_size = idx.shape
    copies = {k: v.detach().repeat(n_chunk, *([1] * (v.dim() - 1))).requires_grad_()
              for k, v in params.items()}
    flat_idx = idx.reshape(n_chunk * n_seeds, batch_size)
    x, labels = x_train[flat_idx], y_train[flat_idx]
    outputs = forward(copies, x)
    eps = float(estimator["behaviour_eps"])
    with torch.no_grad():
        behaviour = (1 - eps) * action_probs(outputs) + eps / n_act
        actions = runs.sample_actions(behaviour, uniform.reshape(n_chunk * n_seeds, -1))
        behaviour_prob = behaviour.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        rewards = torch.where(actions == labels, 1.0, -1.0)
    batch = runs.Batch(labels, actions, rewards, behaviour_prob)
    loss = LOSSES[estimator["method"]](outputs, batch, {**config, **estimator})
    return flat_grad(loss.mean(1), copies).view(n_chunk, n_seeds, -1)


def measure(params: dict, config: dict, data, y_train, n_act: int, seeds: list[int],
            checkpoint: int) -> dict:
    """Every estimator's metrics at the current weights: name -> metric -> (S,) list."""
    outputs = forward(params, data.x_train)  # the whole training split, every seed
    grad_j = flat_grad(exact_objective(params, data.x_train, y_train, outputs), params,
                       retain_graph=True)
    norm_sq = grad_j.pow(2).sum(1)
    expected_loss = expected_pg.loss(outputs, runs.Batch(y_train.expand(len(seeds), -1),
                                                            None, None, None), config).mean(1)
    out = {"offpolicy_expected_cos": _cos(-flat_grad(expected_loss, params), grad_j).tolist(),
           "grad_j_norm": norm_sq.sqrt().tolist()}
    m, batch_size, n_train = int(config["n_minibatches"]), int(config["batch_size"]), len(y_train)
    idx, uniform = (t.to(grad_j.device) for t in
                    measure_draws(seeds, checkpoint, m, batch_size, n_train))
    chunk = chunk_size(len(seeds), grad_j.shape[1], grad_j.device)
    for name, estimator in config["estimators"].items():
        total = torch.zeros_like(grad_j)
        total_sq = torch.zeros_like(norm_sq)
        cos_sum = torch.zeros_like(norm_sq)
        for first in range(0, m, chunk):
            g = minibatch_gradients(params, estimator, data.x_train, y_train,
                                    idx[first:first + chunk], uniform[first:first + chunk],
                                    n_act, config)
            g_sq = torch.linalg.vector_norm(g, dim=2).pow(2)  # (C, S)
            # cos(-g, grad J) as cosine_similarity computes it, without copies of g
            dot = torch.einsum("csd,sd->cs", g, grad_j)
            cos_sum -= (dot / (g_sq * norm_sq).clamp(min=COS_EPS ** 2).sqrt()).sum(0)
            total += g.sum(0)
            total_sq += g_sq.sum(0)
        mean_g = total / m
        variance = (total_sq - m * mean_g.pow(2).sum(1)) / (m - 1)  # E||g - mean g||^2
        bias_sq = (mean_g + grad_j).pow(2).sum(1) - variance / m
        out[name] = {"cos_minibatch": (cos_sum / m).tolist(),
                     "cos_mean": _cos(-mean_g, grad_j).tolist(),
                     "rel_variance": (variance / norm_sq).tolist(),
                     "rel_bias": (bias_sq.clamp(min=0) / norm_sq).sqrt().tolist(),
                     "bias": bias_sq.clamp(min=0).sqrt().tolist()}
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
                         runs.policy_outputs(task), device)
    optimizer = torch.optim.Adam(params.values(), lr=float(config["lr"]))
    context_gens = [torch.Generator().manual_seed(int(s) + CONTEXT_SEED_OFFSET) for s in seeds]
    action_gens = [torch.Generator().manual_seed(int(s) + ACTION_SEED_OFFSET) for s in seeds]
    trajectory = {"method": "pg", "behaviour_eps": 0.0, "log_prob": "stable"}
    records, accuracy, logit_max, done = [], [], [], 0
    for checkpoint in checkpoints:
        # contexts and uniforms of the steps up to the checkpoint, drawn at once (the same
        # numbers as drawn step by step) and moved to the device in one copy each
        n_steps = checkpoint - done
        all_idx = torch.stack([torch.randint(n_train, (n_steps, batch_size), generator=g)
                               for g in context_gens], dim=1).to(device)
        all_uniform = torch.stack([torch.rand(n_steps, batch_size, generator=g)
                                   for g in action_gens], dim=1).to(device)
        for idx, uniform in zip(all_idx, all_uniform):
            optimizer.zero_grad()
            x, labels = data.x_train[idx], y_train[idx]
            outputs = forward(params, x)
            with torch.no_grad():
                actions = runs.sample_actions(action_probs(outputs), uniform)
                rewards = torch.where(actions == labels, 1.0, -1.0)
            batch = runs.Batch(labels, actions, rewards, None)
            policy_gradient.loss(outputs, batch, trajectory).mean(1).sum().backward()
            optimizer.step()
        done = checkpoint
        records.append(measure(params, config, data, y_train, n_act, seeds, checkpoint))
        with torch.no_grad():
            eval_outputs = forward(params, data.x_eval)
            greedy = greedy_action(eval_outputs)
            accuracy.append((greedy == y_eval).float().mean(1).tolist())
            logit_max.append(eval_outputs.abs().flatten(1).amax(1).tolist())
        if progress:
            progress(checkpoint, checkpoints[-1])
    # records: checkpoints x {name: {metric: (S,)}} -> name -> metric -> per seed x checkpoints
    names = list(config["estimators"])
    per_seed = {name: {metric: [[r[name][metric][s] for r in records] for s in range(len(seeds))]
                       for metric in METRICS} for name in names}
    return {"seeds": list(seeds), "checkpoints": checkpoints, "estimators": per_seed,
            "offpolicy_expected_cos": [[r["offpolicy_expected_cos"][s] for r in records]
                                       for s in range(len(seeds))],
            "accuracy": [[a[s] for a in accuracy] for s in range(len(seeds))],
            "grad_j_norm": [[r["grad_j_norm"][s] for r in records] for s in range(len(seeds))],
            "logit_abs_max": [[v[s] for v in logit_max] for s in range(len(seeds))],
            "wall_time_s": time.perf_counter() - start}


def _stat(per_seed: list[list]) -> dict:
    columns = [runs.mean_interval(list(col)) for col in zip(*per_seed)]
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
        # ||grad J|| at each checkpoint, and the trajectory's largest |logit| on the eval set
        "grad_j_norm": _stat(joined(lambda p: p["grad_j_norm"])),
        "logit_abs_max": _stat(joined(lambda p: p["logit_abs_max"])),
        "wall_time_s": sum(p["wall_time_s"] for p in parts),
    }
