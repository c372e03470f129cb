"""Fake but schema-shaped results for every experiment the charts read (no torch, no training).

    fake_results() -> {experiment name: result payload}
    fake_results_meta() -> {experiment name: {"provenance", "inputs_hash", "inputs", "stale"}}
"""
from __future__ import annotations

import math
import statistics

from tests.fixtures_science import science_results, second_round_results

METHODS = ["supervised", "q_random", "pg_random", "pg_random_stable", "pg_onpolicy",
           "ppo_random", "is_random"]
TASKS = ["binary", "categorical"]
DIAL_METHODS = ["pg", "ppo", "is"]
GRID_IDS = ["bce", "pg_a1", "pg_a0", "is_a1", "is_a0", "ce_label", "pg_cat_sampled",
            "pg_cat_other"]
STEPS = list(range(0, 301, 50))
SEEDS = [0, 1, 2]


def _stat(per_seed: list[list]) -> dict:
    """mean and a t-interval over the finite seeds at each step, as the trainer stores them."""
    mean, lo, hi, n = [], [], [], []
    for column in zip(*per_seed):
        finite = [v for v in column if v is not None]
        n.append(len(finite))
        if not finite:
            mean.append(None), lo.append(None), hi.append(None)
            continue
        m = statistics.fmean(finite)
        half = 2.0 * statistics.stdev(finite) / math.sqrt(len(finite)) if len(finite) > 1 else 0.0
        mean.append(m), lo.append(m - half), hi.append(m + half)
    return {"per_seed": per_seed, "mean": mean, "lo": lo, "hi": hi, "n": n}


def training_payload(task: str, method: str, diverge_at: dict[int, int] | None = None,
                     skill: float = 0.9) -> dict:
    """diverge_at: {seed: step}; from that step the seed's values are null."""
    diverge_at = diverge_at or {}
    n_actions = 2 if task == "binary" else 10
    chance = 1.0 / n_actions
    accuracy, logits = [], []
    for seed in SEEDS:
        stop = diverge_at.get(seed)
        acc_row, logit_row = [], []
        for step in STEPS:
            if stop is not None and step >= stop:
                acc_row.append(None), logit_row.append(None)
                continue
            progress = 1.0 - math.exp(-step / 80.0)
            acc_row.append(chance + (skill - chance) * progress + 0.01 * (seed - 1))
            logit_row.append(0.5 + 3.0 * progress * (1 + seed) + step / 40.0)
        accuracy.append(acc_row), logits.append(logit_row)
    shares = []
    for step in STEPS:
        top = chance + (0.9 - chance) * (1.0 - math.exp(-step / 100.0))
        rest = (1.0 - top) / (n_actions - 1)
        shares.append([top] + [rest] * (n_actions - 1))
    finals = [next((v for v in reversed(row) if v is not None), None) for row in accuracy]
    final_stat = _stat([[v] for v in finals])
    return {
        "task": task, "method": method, "n_actions": n_actions, "seeds": list(SEEDS),
        "steps": list(STEPS),
        "accuracy": _stat(accuracy),
        "expected_reward": _stat([[None if v is None else 0.98 * v for v in row]
                                  for row in accuracy]),
        "logit_abs_max": _stat(logits),
        "logit_abs_mean": _stat([[None if v is None else v / 3 for v in row] for row in logits]),
        "action_share": {"mean": shares},
        "first_nonfinite_step": [diverge_at.get(seed) for seed in SEEDS],
        "final_accuracy": {"per_seed": finals, "mean": final_stat["mean"][0],
                           "lo": final_stat["lo"][0], "hi": final_stat["hi"][0],
                           "n": final_stat["n"][0]},
        "wall_time_s": 1.5,
    }


def dial_payload(method: str) -> dict:
    eps = [0.0, 0.5, 1.0]
    runs = [training_payload("binary", method, skill=0.95 - 0.3 * e,
                             diverge_at={2: 250} if e == 1.0 and method == "pg" else None)
            for e in eps]
    final = {k: [run["final_accuracy"][k] for run in runs] for k in ("mean", "lo", "hi")}
    return {"task": "binary", "method": method, "eps": eps, "runs": runs, "final_accuracy": final,
            "nonfinite_seeds": [sum(s is not None for s in run["first_nonfinite_step"])
                                for run in runs]}


def grid(grid_id: str) -> dict:
    xs = [-4.0 + i for i in range(9)]
    ys = [0.0, 0.25, 0.5, 0.75, 1.0] if grid_id == "bce" else [-1.0, -0.5, 0.0, 0.5, 1.0]
    z = [[round(y * (1.0 / (1.0 + math.exp(-x)) - 0.5), 6) for x in xs] for y in ys]
    return {"x": xs, "y": ys, "z": z, "x_label": "logit x", "y_label": "reward r",
            "z_label": "dL/dx", "title": f"gradient grid {grid_id}", "max_abs_error": 1e-9}


def fake_results() -> dict[str, dict]:
    results = {}
    for task in TASKS:
        for method in METHODS:
            diverge = {1: 180} if method == "pg_random" else None
            results[f"{task}-{method}"] = training_payload(task, method, diverge)
    for method in DIAL_METHODS:
        results[f"dial-{method}"] = dial_payload(method)
    results["gradients"] = {"grids": {g: grid(g) for g in GRID_IDS}}

    def science_training(task, method, final=0.9, logit_end=None, **_):
        payload = training_payload(task, method, skill=final)
        if logit_end is not None:  # the dial's broken runs need logits past the threshold
            top = max(v for row in payload["logit_abs_max"]["per_seed"] for v in row if v)
            payload["logit_abs_max"] = _stat([[None if v is None else v * logit_end / top
                                               for v in row]
                                              for row in payload["logit_abs_max"]["per_seed"]])
        return payload

    results.update(science_results(science_training, {"binary": 0.97, "categorical": 0.93}))
    results.update(second_round_results(science_training, {"binary": 0.97, "categorical": 0.93}))
    return results


def fake_results_meta(results: dict[str, dict] | None = None) -> dict[str, dict]:
    names = results if results is not None else fake_results()
    return {name: {"provenance": {"torch": "0.0-fake", "device": "cpu", "git_commit": "f" * 40,
                                  "created": "2025-01-01T00:00:00Z", "wall_time_s": 1.0},
                   "inputs_hash": f"{i:064x}",
                   "inputs": {"config": {}, "sources": {}, "data": {}, "schema": 1},
                   "stale": False}
            for i, name in enumerate(sorted(names))}
