"""Q-regression: learn the expected reward Q(x, a) of every action by regressing on the
reward of the action actually taken. Off-policy by construction: the behaviour policy only
decides which Q(x, a) gets a training signal. The greedy policy is argmax_a Q(x, a)."""
from __future__ import annotations

import torch

from experiments import runs


def n_outputs(task: str) -> int:
    return 2 if task == "binary" else 10  # one Q-value per action, also for the binary task


def loss(outputs: torch.Tensor, batch: runs.Batch, config: dict) -> torch.Tensor:
    """THE Q-REGRESSION LOSS, per sample: (Q(x, a) - r)^2 on the taken action only."""
    q_taken = outputs.gather(-1, batch.actions.unsqueeze(-1)).squeeze(-1)
    return (q_taken - batch.rewards) ** 2


METHOD = runs.Method(loss=loss, n_outputs=n_outputs, outputs_are_q_values=True)


def run(config: dict, seeds: list[int], device: str, progress=None) -> dict:
    return runs.run(METHOD, config, seeds, device, progress)


def merge(config: dict, parts: list[dict]) -> dict:
    return runs.merge(config, parts)
