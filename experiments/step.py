"""What a method sees of one training step: the Batch, the Method, and how the network's
outputs become a policy and sampled actions. Shared by the trainer and every method module."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from experiments.model import action_probs


@dataclass(frozen=True)
class Batch:
    labels: torch.Tensor          # (S, B) task label (class probabilities in gradient grids)
    actions: torch.Tensor         # (S, B) int64 action taken by the behaviour policy
    rewards: torch.Tensor         # (S, B) +1 right action, -1 wrong
    behaviour_prob: torch.Tensor  # (S, B) b(a|x) of the taken action, recorded when sampled


def policy_outputs(task: str) -> int:
    """Outputs of a policy network: binary, one logit (pi(a=1|x) = sigmoid); else one per
    action."""
    return 1 if task == "binary" else 10


@dataclass(frozen=True)
class Method:
    loss: Callable[[torch.Tensor, Batch, dict], torch.Tensor]  # -> (S, B) per-sample loss
    n_outputs: Callable[[str], int] = policy_outputs           # task -> network outputs
    outputs_are_q_values: bool = False  # Q(x, a): its policy is greedy; |Q| is reported


def policy_probs(method: Method, outputs: torch.Tensor) -> torch.Tensor:
    """pi(. | x) of the current network, (S, B, n_actions)."""
    if method.outputs_are_q_values:
        # one-hot of the argmax by comparison: F.one_hot checks its input on the host
        best = outputs.argmax(-1, keepdim=True)
        return (best == torch.arange(outputs.shape[-1], device=outputs.device)).to(outputs)
    return action_probs(outputs)


def sample_actions(behaviour: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF sampling: one uniform number per context picks an action from b(.|x)."""
    cdf = behaviour.cumsum(-1)
    return (cdf <= uniform.unsqueeze(-1)).sum(-1).clamp(max=behaviour.shape[-1] - 1)
