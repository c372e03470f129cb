"""The bias control: vanilla off-policy PG's objective with the sampling taken out.

Vanilla PG on uniform random actions minimises, in expectation over the actions,

    L(x) = E_{a ~ U}[-r(x, a) log pi(a|x)] = -(1/K) sum_a r(x, a) log pi(a|x),

and the bandit's reward r(x, a) (+1 for the right action, -1 otherwise) is known from the
label, so this expectation is computed exactly, every action at once, with no sampled action
and hence no sampling noise. If training on it fails like sampled vanilla PG does, the failure
is the objective's (its bias), not the noise of the estimate (its variance).

Binary task: L = -(1/2) (log sigmoid(+-x) - log sigmoid(-+x)) = -(1/2) (2y - 1) x, linear in
the logit x: its gradient never fades, so the logit grows without bound.
"""
from __future__ import annotations

import torch

from experiments import runs
from experiments.model import action_log_probs


def all_action_rewards(labels: torch.Tensor, n_actions: int) -> torch.Tensor:
    """r(x, a) for every action: +1 at the label, -1 elsewhere, (S, B) -> (S, B, K)."""
    return 2.0 * torch.nn.functional.one_hot(labels, n_actions) - 1.0


def loss(outputs: torch.Tensor, batch: runs.Batch, config: dict) -> torch.Tensor:
    """THE EXPECTED VANILLA-PG LOSS UNDER UNIFORM ACTIONS, per sample:
    -(1/K) sum_a r(x, a) log pi(a|x). The sampled actions in `batch` are ignored."""
    log_pi = action_log_probs(outputs)
    rewards = all_action_rewards(batch.labels, log_pi.shape[-1]).to(log_pi.dtype)
    return -(rewards * log_pi).mean(-1)


METHOD = runs.Method(loss=loss)


def run(config: dict, seeds: list[int], device: str, progress=None) -> dict:
    return runs.run(METHOD, config, seeds, device, progress)


def merge(config: dict, parts: list[dict]) -> dict:
    return runs.merge(config, parts)
