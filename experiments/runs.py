"""What every method module calls: `run` trains one run unit (its seeds; a dial unit: one
lane per behaviour eps) with the training loop of experiments/training.py, which is also what
the build uses to train many run units as one model; `merge` turns the run units' outputs
into the result payload (means and 95% intervals over seeds).

Steps count optimiser updates: the eval at step k sees the weights after k updates. If the
loss or a gradient of seed s is non-finite at update t, first_nonfinite_step[s] = t, the seed
stops there (its weights stay those after t - 1 updates) and its evals from step t on are null.

A batched run (many seeds, or many run units fused) equals the separate runs only up to float
reordering. Exact: each seed's data, actions, initial weights and generator streams, its loss
being its own minibatch mean (the gradient of the summed loss is 1 for every seed), and Adam,
which is elementwise. Not exact: kernels whose blocking or vector path depends on how many
seeds share a tensor (batched matrix products, softmax and exp on the CPU) may round the last
bit differently, and training amplifies that slowly. tests/test_fused.py states the tolerance
(weights within 1e-4 after 100 steps, the same first non-finite steps); CPU and CUDA runs of
one row agree only in meaning (the same non-finite steps, close final accuracies).
"""
from __future__ import annotations

import math

from experiments import data as datasets
from experiments import training
from experiments.lanes import Lane
from experiments.policy import Batch, Method, policy_outputs, policy_probs, sample_actions

__all__ = ["Batch", "Method", "Lane", "policy_outputs", "policy_probs", "sample_actions",
           "lanes", "assemble", "run", "merge"]


def lanes(method: Method, config: dict, seeds) -> list[Lane]:
    """A run unit's lanes: one, or with config["dial_eps"] one per behaviour eps."""
    if "dial_eps" not in config:
        return [Lane(method, config, tuple(seeds))]
    return [Lane(method, {**config, "behaviour_eps": eps}, tuple(seeds))
            for eps in config["dial_eps"]]


def assemble(config: dict, outputs: list[dict]) -> dict:
    """The lanes' outputs (in `lanes` order) -> the run unit's part, as `merge` expects."""
    return outputs[0] if "dial_eps" not in config else {"dial": list(outputs)}


def run(method: Method, config: dict, seeds: list[int], device: str, progress=None) -> dict:
    """One run unit on its own (its dial lanes fused); progress counts lane-steps."""
    return assemble(config, training.train_lanes(lanes(method, config, seeds), device, progress))


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


def _stat(per_seed: list[list]) -> dict:
    columns = [mean_interval(list(col)) for col in zip(*per_seed)]
    return {"per_seed": per_seed, **{key: [c[i] for c in columns]
                                     for i, key in enumerate(("mean", "lo", "hi", "n"))}}


def merge_training(config: dict, parts: list[dict]) -> dict:
    joined = {k: [v for part in parts for v in part[k]]
              for k in ("seeds", "accuracy", "logit_abs_max", "logit_abs_mean", "action_share",
                        "expected_reward", "first_nonfinite_step")}
    share_mean = [[mean_interval([seed[i][k] if seed[i] is not None else None
                                  for seed in joined["action_share"]])[0]
                   for k in range(datasets.n_actions(config["task"]))]
                  for i in range(len(parts[0]["steps"]))]
    final = [series[-1] for series in joined["accuracy"]]
    mean, lo, hi, n = mean_interval(final)
    final_expected = [series[-1] for series in joined["expected_reward"]]
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
        "expected_reward": _stat(joined["expected_reward"]),
        "final_expected_reward": dict(zip(("mean", "lo", "hi", "n"),
                                          mean_interval(final_expected)),
                                      per_seed=final_expected),
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
        "final_expected_reward": {k: [r["final_expected_reward"][k] for r in runs]
                                  for k in ("mean", "lo", "hi", "n")},
        "nonfinite_seeds": [sum(s is not None for s in r["first_nonfinite_step"]) for r in runs],
        "wall_time_s": sum(r["wall_time_s"] for r in runs),
    }
