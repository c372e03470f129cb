"""Supervised learning on the true labels: the ceiling the bandit methods are compared with.
Actions and rewards are ignored."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from experiments import runs


def loss(outputs: torch.Tensor, batch: runs.Batch, config: dict) -> torch.Tensor:
    """THE SUPERVISED LOSS, per sample: binary cross-entropy with logits (binary task) or
    cross-entropy (categorical). Labels may be class probabilities (S, B, K) instead of class
    indices (the gradient grids use soft labels)."""
    if outputs.shape[-1] == 1:
        return F.binary_cross_entropy_with_logits(
            outputs[..., 0], batch.labels.to(outputs.dtype), reduction="none")
    target = batch.labels.movedim(-1, 1) if batch.labels.is_floating_point() else batch.labels
    return F.cross_entropy(outputs.movedim(-1, 1), target, reduction="none")


METHOD = runs.Method(loss=loss)


def run(config: dict, seeds: list[int], device: str, progress=None) -> dict:
    return runs.run(METHOD, config, seeds, device, progress)


def merge(config: dict, parts: list[dict]) -> dict:
    return runs.merge(config, parts)
