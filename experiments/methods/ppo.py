"""PPO's clipped surrogate objective on a one-step bandit (advantage A = reward r).

The ratio pi(a|x) / b(a|x) corrects for the behaviour policy b that chose the action; the
clip stops the update once the ratio has moved past 1 +- eps in the direction of A, so a
negative reward can no longer drive pi(a|x) all the way to zero.
"""
from __future__ import annotations

import torch

from experiments import runs
from experiments.model import action_log_probs


def loss(outputs: torch.Tensor, batch: runs.Batch, config: dict) -> torch.Tensor:
    """THE PPO LOSS, per sample: -min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A), with
    ratio = pi(a|x) / b(a|x), b recorded when the action was sampled, A = r,
    eps = config["clip_eps"]."""
    clip_eps = float(config["clip_eps"])
    log_pi = action_log_probs(outputs).gather(-1, batch.actions.unsqueeze(-1)).squeeze(-1)
    ratio = torch.exp(log_pi - torch.log(batch.behaviour_prob))
    advantage = batch.rewards
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps)
    return -torch.min(ratio * advantage, clipped * advantage)


METHOD = runs.Method(loss=loss)


def run(config: dict, seeds: list[int], device: str, progress=None) -> dict:
    return runs.run(METHOD, config, seeds, device, progress)


def merge(config: dict, parts: list[dict]) -> dict:
    return runs.merge(config, parts)
