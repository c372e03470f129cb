"""Importance-weighted policy gradient: minimise -(pi(a|x) / b(a|x)) * r.

Differentiating the ratio itself (not detached) gives -(r / b) * grad pi(a|x), whose
expectation under b is the true policy gradient, and grad pi is bounded where grad log pi
is not: a wrong action's probability is pushed down ever more gently as it nears zero.
"""
from __future__ import annotations

import torch

from experiments import runs
from experiments.model import action_probs


def loss(outputs: torch.Tensor, batch: runs.Batch, config: dict) -> torch.Tensor:
    """THE IMPORTANCE-WEIGHTED LOSS, per sample: -(pi(a|x) / b(a|x)) * r, the ratio not
    detached; b(a|x) is the behaviour probability recorded when the action was sampled."""
    pi_taken = action_probs(outputs).gather(-1, batch.actions.unsqueeze(-1)).squeeze(-1)
    return -(pi_taken / batch.behaviour_prob) * batch.rewards


METHOD = runs.Method(loss=loss)


def run(config: dict, seeds: list[int], device: str, progress=None) -> dict:
    return runs.run(METHOD, config, seeds, device, progress)


def merge(config: dict, parts: list[dict]) -> dict:
    return runs.merge(config, parts)
