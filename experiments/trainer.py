"""The batched multi-seed training loop for MNIST as a contextual bandit.

One run trains S seeds at once: every weight has a leading seed dimension (model.py), each
seed draws its own minibatches and actions from its own generator, and the total loss is the
sum of the seeds' mean losses, so (Adam being elementwise) a batched run equals S separate
runs. Read `train` top to bottom; `merge` turns per-seed runs into the result payload.

Steps count optimiser updates: the eval at step k sees the weights after k updates. If the
loss or a gradient of seed s is non-finite at update t, first_nonfinite_step[s] = t, the seed
stops there (its weights stay those after t - 1 updates) and its evals from step t on are null.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import torch

from experiments import data as datasets
from experiments.model import action_probs, forward, greedy_action, init_params

# Seed s draws contexts and actions from generators of their own, apart from its init.
CONTEXT_SEED_OFFSET, ACTION_SEED_OFFSET = 1_000_003, 2_000_003
PROGRESS_EVERY = 50


@dataclass(frozen=True)
class Batch:
    labels: torch.Tensor          # (S, B) task label (class probabilities in gradient grids)
    actions: torch.Tensor         # (S, B) int64 action taken by the behaviour policy
    rewards: torch.Tensor         # (S, B) +1 right action, -1 wrong
    behaviour_prob: torch.Tensor  # (S, B) b(a|x) of the taken action, recorded when sampled


@dataclass(frozen=True)
class Method:
    loss: Callable[[torch.Tensor, Batch, dict], torch.Tensor]  # -> (S, B) per-sample loss
    n_outputs: Callable[[str], int]                            # task -> network outputs
    outputs_are_q_values: bool = False  # Q(x, a): its policy is greedy; |Q| is reported


def policy_probs(method: Method, outputs: torch.Tensor) -> torch.Tensor:
    """pi(. | x) of the current network, (S, B, n_actions)."""
    if method.outputs_are_q_values:
        return torch.nn.functional.one_hot(outputs.argmax(-1), outputs.shape[-1]).to(outputs)
    return action_probs(outputs)


def sample_actions(behaviour: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF sampling: one uniform number per context picks an action from b(.|x)."""
    cdf = behaviour.cumsum(-1)
    return (cdf <= uniform.unsqueeze(-1)).sum(-1).clamp(max=behaviour.shape[-1] - 1)


def _per_seed(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return mask.view(-1, *([1] * (like.dim() - 1)))


def train(method: Method, config: dict, seeds: list[int], device: str,
          progress=None, progress_done: int = 0, progress_total: int | None = None) -> dict:
    """Train one seed batch; returns per-seed eval series (None where non-finite)."""
    start = time.perf_counter()
    task, steps = config["task"], int(config["steps"])
    batch_size, eval_every = int(config["batch_size"]), int(config["eval_every"])
    eps = float(config.get("behaviour_eps", 1.0))
    progress_total = progress_total or steps

    # -- data, resident on the device ------------------------------------------------------
    data = datasets.load(config["data"], device)
    y_train = datasets.task_labels(data.y_train, task)
    y_eval = datasets.task_labels(data.y_eval, task)
    n_act, n_train = datasets.n_actions(task), len(y_train)

    # -- S networks, one Adam ----------------------------------------------------------------
    params = init_params(seeds, data.x_train.shape[1], int(config["hidden"]),
                         method.n_outputs(task), device)
    optimizer = torch.optim.Adam(params.values(), lr=float(config["lr"]), fused=True)
    context_generators = [torch.Generator().manual_seed(int(s) + CONTEXT_SEED_OFFSET)
                          for s in seeds]
    action_generators = [torch.Generator().manual_seed(int(s) + ACTION_SEED_OFFSET)
                         for s in seeds]
    alive = torch.ones(len(seeds), dtype=torch.bool, device=device)
    device_type = alive.device.type
    first_nonfinite = torch.full((len(seeds),), -1, dtype=torch.long, device=device)
    evals = []

    def evaluate(step: int) -> None:
        with torch.no_grad():
            outputs = forward(params, data.x_eval)
            greedy = greedy_action(outputs)
            valid = alive & outputs.isfinite().flatten(1).all(1)
            nan = torch.tensor(float("nan"), device=device)
            shares = torch.nn.functional.one_hot(greedy, n_act).float().mean(1)
            evals.append((step, *(torch.where(_per_seed(valid, t), t, nan) for t in (
                (greedy == y_eval).float().mean(1),
                outputs.abs().flatten(1).amax(1),
                outputs.abs().flatten(1).mean(1),
                shares))))

    # CPU generators, then copied to the device: CPU and CUDA runs see the same samples.
    def draw_contexts_and_uniforms(n_steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.stack([torch.randint(n_train, (n_steps, batch_size), generator=g)
                           for g in context_generators], dim=1)
        uniform = torch.stack([torch.rand(n_steps, batch_size, generator=g)
                               for g in action_generators], dim=1)
        return idx.to(device), uniform.to(device)

    evaluate(0)
    for chunk_start in range(0, steps, eval_every):
        n_chunk = min(eval_every, steps - chunk_start)
        if not alive.any():  # one host sync per eval: every seed has stopped, skip ahead
            evaluate(chunk_start + n_chunk)
            continue
        chunk_idx, chunk_uniform = draw_contexts_and_uniforms(n_chunk)
        for i in range(n_chunk):
            step = chunk_start + i + 1  # this is the step-th optimiser update
            idx = chunk_idx[i]          # (S, B)
            x, labels = data.x_train[idx], y_train[idx]

            # ALGO LOGIC: act with the behaviour policy b = (1-eps) pi + eps uniform
            outputs = forward(params, x)
            with torch.no_grad():
                behaviour = (1 - eps) * policy_probs(method, outputs) + eps / n_act
                actions = sample_actions(behaviour, chunk_uniform[i])
                behaviour_prob = behaviour.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
                rewards = torch.where(actions == labels, 1.0, -1.0)

            # ALGO LOGIC: the method's loss, mean over the minibatch, summed over seeds
            batch = Batch(labels, actions, rewards, behaviour_prob)
            seed_losses = method.loss(outputs, batch, config).mean(dim=1)
            optimizer.zero_grad()
            seed_losses.sum().backward()

            # A seed whose loss or gradients are non-finite stops here, for good: its gradients
            # and Adam's first moment are zeroed, which makes Adam's update exactly zero, so
            # its weights stay at their last finite values. (A per-seed sum is non-finite when
            # any element is; tensor ops only, so no host sync in the loop.)
            finite = seed_losses.isfinite()
            for p in params.values():
                finite &= p.grad.flatten(1).sum(1).isfinite()
            first_nonfinite = torch.where(alive & ~finite, step, first_nonfinite)
            alive &= finite
            # (Reading `alive` on the host is free on the CPU but would stall a CUDA queue.)
            if device_type != "cpu" or not alive.all():
                for p in params.values():
                    p.grad.masked_fill_(_per_seed(~alive, p), 0.0)
                    if "exp_avg" in optimizer.state[p]:
                        optimizer.state[p]["exp_avg"].masked_fill_(_per_seed(~alive, p), 0.0)
            optimizer.step()

            if progress and step % PROGRESS_EVERY == 0:
                progress(progress_done + step, progress_total)
        evaluate(chunk_start + n_chunk)
    if progress:
        progress(progress_done + steps, progress_total)

    # -- one host sync: the series back to plain Python ---------------------------------------
    def series(k: int) -> list:
        values = torch.stack([e[k] for e in evals], dim=1).cpu().tolist()  # (S, E[, K])
        return _nan_to_none(values)

    return {
        "seeds": list(seeds),
        "steps": [e[0] for e in evals],
        "accuracy": series(1), "logit_abs_max": series(2), "logit_abs_mean": series(3),
        "action_share": series(4),
        "first_nonfinite_step": [s if s >= 0 else None for s in first_nonfinite.cpu().tolist()],
        "wall_time_s": time.perf_counter() - start,
    }


def run(method: Method, config: dict, seeds: list[int], device: str, progress=None) -> dict:
    """One run unit; with config["dial_eps"], one training per behaviour eps."""
    if "dial_eps" not in config:
        return train(method, config, seeds, device, progress)
    total = int(config["steps"]) * len(config["dial_eps"])
    return {"dial": [train(method, {**config, "behaviour_eps": eps}, seeds, device, progress,
                           i * int(config["steps"]), total)
                     for i, eps in enumerate(config["dial_eps"])]}


# -- merge: seed batches -> result payload -------------------------------------------------

T_975 = [12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
         2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
         2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423]


def t_quantile_975(df: int) -> float:
    """t(0.975, df): a table up to df 30, then the Cornish-Fisher expansion (error < 1e-4)."""
    if df <= len(T_975):
        return T_975[df - 1]
    z = 1.959963984540054
    return (z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3))


def mean_interval(values: list) -> tuple[float | None, float | None, float | None, int]:
    """Mean and 95% t-interval over the finite values: (mean, lo, hi, n)."""
    xs = [v for v in values if v is not None and math.isfinite(v)]
    n = len(xs)
    if n == 0:
        return None, None, None, 0
    mean = sum(xs) / n
    if n == 1:
        return mean, mean, mean, 1
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = t_quantile_975(n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half, n


def _nan_to_none(values):
    if isinstance(values, list):
        return [_nan_to_none(v) for v in values]
    return None if values is None or not math.isfinite(values) else float(values)


def _stat(per_seed: list[list]) -> dict:
    columns = [mean_interval(list(col)) for col in zip(*per_seed)]
    return {"per_seed": per_seed, **{key: [c[i] for c in columns]
                                     for i, key in enumerate(("mean", "lo", "hi", "n"))}}


def merge_training(config: dict, parts: list[dict]) -> dict:
    joined = {k: [v for part in parts for v in part[k]]
              for k in ("seeds", "accuracy", "logit_abs_max", "logit_abs_mean", "action_share",
                        "first_nonfinite_step")}
    share_mean = [[mean_interval([seed[i][k] if seed[i] is not None else None
                                  for seed in joined["action_share"]])[0]
                   for k in range(datasets.n_actions(config["task"]))]
                  for i in range(len(parts[0]["steps"]))]
    final = [series[-1] for series in joined["accuracy"]]
    mean, lo, hi, n = mean_interval(final)
    return {
        "task": config["task"], "method": config["method"],
        "n_actions": datasets.n_actions(config["task"]),
        "seeds": joined["seeds"], "steps": parts[0]["steps"],
        "accuracy": _stat(joined["accuracy"]),
        "logit_abs_max": _stat(joined["logit_abs_max"]),
        "logit_abs_mean": _stat(joined["logit_abs_mean"]),
        "action_share": {"mean": share_mean, "per_seed": joined["action_share"]},
        "first_nonfinite_step": joined["first_nonfinite_step"],
        "final_accuracy": {"per_seed": final, "mean": mean, "lo": lo, "hi": hi, "n": n},
        "behaviour_eps": float(config.get("behaviour_eps", 1.0)),
        "wall_time_s": sum(part["wall_time_s"] for part in parts),
    }


def merge(config: dict, parts: list[dict]) -> dict:
    """Seed-batch parts -> the training payload, or the dial payload (docs/ARCHITECTURE.md)."""
    if "dial_eps" not in config:
        return merge_training(config, parts)
    runs = [merge_training({**config, "behaviour_eps": eps}, [p["dial"][i] for p in parts])
            for i, eps in enumerate(config["dial_eps"])]
    return {
        "task": config["task"], "method": config["method"], "eps": list(config["dial_eps"]),
        "runs": runs,
        "final_accuracy": {k: [r["final_accuracy"][k] for r in runs]
                           for k in ("mean", "lo", "hi", "n")},
        "nonfinite_seeds": [sum(s is not None for s in r["first_nonfinite_step"]) for r in runs],
        "wall_time_s": sum(r["wall_time_s"] for r in runs),
    }
