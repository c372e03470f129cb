"""Entry module for tests/test_ray_executor.py (see tests/ray_suite.py): a small torch run
whose numbers depend on the intra-op thread count, plus switches to fail, to be slow, and to
leave a line in a marker file each time a unit runs.

`run` trains a tiny MLP per seed (experiments.model, so the freeze hash covers project
modules of two packages) and sums a few million random numbers: torch splits such a sum over
its threads, so 1 and 2 threads give different last bits.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from experiments import model
from experiments.data import make_synthetic


def run(config: dict, seeds: list[int], device: str, progress=None) -> dict:
    if config.get("sleep_s"):
        time.sleep(config["sleep_s"])
    if config.get("marker_dir"):  # one line per execution: shows the test what really ran
        with open(Path(config["marker_dir"], f"seeds-{'-'.join(map(str, seeds))}"), "a") as f:
            f.write("ran\n")
    failing = [s for s in seeds if s in config.get("fail_seeds", [])]
    if failing:
        raise ValueError(f"deliberate failure for seed {failing[0]}")
    data = make_synthetic(config["data"])
    params = model.init_params(seeds, data.x_train.shape[1], config["hidden"], 10, device)
    gen = torch.Generator().manual_seed(1000 + seeds[0])
    x_eval, y_eval = data.x_eval.to(device), data.y_eval.to(device)
    accuracy = []
    for step in range(config["steps"] + 1):
        with torch.no_grad():
            accuracy.append((model.greedy_action(model.forward(params, x_eval)) == y_eval)
                            .float().mean(-1).tolist())
        if step == config["steps"]:
            break
        idx = torch.randint(len(data.x_train), (len(seeds), 32), generator=gen)
        logp = model.action_log_probs(model.forward(params, data.x_train[idx].to(device)))
        loss = -logp.gather(-1, data.y_train[idx].to(device).unsqueeze(-1)).mean()
        grads = torch.autograd.grad(loss, list(params.values()))
        with torch.no_grad():  # plain SGD: torch.optim's first step is slow to import
            for p, g in zip(params.values(), grads):
                p -= 0.5 * g
    sums = []
    for seed in seeds:
        big = torch.randn(config["n_sum"], generator=torch.Generator().manual_seed(seed))
        sums.append([big.sum().item(), (big * big).sum().item()])
    return {"seeds": list(seeds), "accuracy": [list(a) for a in zip(*accuracy)], "sums": sums}


def merge(config: dict, parts: list[dict]) -> dict:
    seeds = [s for p in parts for s in p["seeds"]]
    per_seed = [a for p in parts for a in p["accuracy"]]
    steps = list(range(len(per_seed[0])))
    mean = [sum(col) / len(col) for col in zip(*per_seed)]
    stat = {"per_seed": per_seed, "mean": mean, "lo": mean, "hi": mean,
            "n": [len(seeds)] * len(steps)}
    finals = [a[-1] for a in per_seed]
    return {
        "task": "binary", "method": "ray-test", "n_actions": 10, "seeds": seeds,
        "steps": steps, "accuracy": stat, "logit_abs_max": stat, "logit_abs_mean": stat,
        "action_share": {"mean": [[0.1] * 10 for _ in steps]},
        "first_nonfinite_step": [None] * len(seeds),
        "final_accuracy": {"per_seed": finals, "mean": sum(finals) / len(finals),
                           "lo": min(finals), "hi": max(finals), "n": len(finals)},
        "sums": [s for p in parts for s in p["sums"]],
    }
