"""A critic and an actor, one network with two heads, learned from any behaviour policy.

The critic head regresses Q(x, a) on the reward of the action actually taken, (Q(x, a) - r)^2,
like q_regression: the behaviour policy only decides which Q(x, a) gets a training signal, and
the regression has a bottom (Q = the expected reward) whatever that policy is.

The actor head is trained against the critic with the exact expectation over its own actions,
    maximise  sum_a pi(a|x) Q(x, a)      (Q held fixed: no gradient into the critic),
a sum over the K discrete actions, so no action is sampled and the behaviour policy never
enters the actor's loss. Its objective is bounded (by max_a Q) and its gradient
pi(a|x) (Q(x, a) - V(x)) fades as the policy settles on the best action. This is the shape
of DQN / DDPG / SAC-style actor-critics that learn from replayed, off-policy data.

Outputs: K Q-values, then the policy's logits (binary task: 2 Q-values and one logit).
"""
from __future__ import annotations

import torch

from experiments import runs
from experiments.model import action_probs


def n_q(task: str) -> int:
    return 2 if task == "binary" else 10


def n_outputs(task: str) -> int:
    return n_q(task) + runs.policy_outputs(task)


def _split(outputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    n = outputs.shape[-1]
    k = 2 if n == 3 else n // 2
    return outputs[..., :k], outputs[..., k:]


def policy_head(outputs: torch.Tensor) -> torch.Tensor:
    """The policy's logits: the outputs after the Q-values."""
    return _split(outputs)[1]


def loss(outputs: torch.Tensor, batch: runs.Batch, config: dict) -> torch.Tensor:
    """THE CRITIC + ACTOR LOSS, per sample: (Q(x, a) - r)^2 on the taken action, plus
    -sum_a pi(a|x) Q(x, a) with Q detached (config["actor_weight"] scales it, default 1)."""
    q, logits = _split(outputs)
    q_taken = q.gather(-1, batch.actions.unsqueeze(-1)).squeeze(-1)
    critic = (q_taken - batch.rewards) ** 2
    actor = -(action_probs(logits) * q.detach()).sum(-1)
    return critic + float(config.get("actor_weight", 1.0)) * actor


METHOD = runs.Method(loss=loss, n_outputs=n_outputs, policy_head=policy_head)


def run(config: dict, seeds: list[int], device: str, progress=None) -> dict:
    return runs.run(METHOD, config, seeds, device, progress)


def merge(config: dict, parts: list[dict]) -> dict:
    return runs.merge(config, parts)
