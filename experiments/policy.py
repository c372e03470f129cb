"""What a method sees of one training step: the Batch, the Method, and how the network's
outputs become a policy and sampled actions. Shared by the trainer and every method module."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from experiments.model import action_probs

# The bandit's reward for a wrong and a right action: config["reward"] = [miss, hit].
DEFAULT_REWARD = (-1.0, 1.0)


@dataclass(frozen=True)
class Batch:
    labels: torch.Tensor          # (S, B) task label (class probabilities in gradient grids)
    actions: torch.Tensor         # (S, B) int64 action taken by the behaviour policy
    rewards: torch.Tensor         # (S, B) reward of the taken action: hit / miss (default +-1)
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
    # outputs -> the policy's logits, for a network with more than a policy head (e.g. a
    # critic's Q head beside it); None: the outputs are the policy's logits
    policy_head: Callable[[torch.Tensor], torch.Tensor] | None = None


def reward_values(config: dict) -> tuple[float, float]:
    """(miss, hit) rewards of a run: config["reward"] = [miss, hit], default [-1, +1]."""
    miss, hit = config.get("reward", DEFAULT_REWARD)
    return float(miss), float(hit)


def advantage(batch: Batch, config: dict) -> torch.Tensor:
    """The reward minus config["baseline"]: a number (a constant baseline), or "batch_mean",
    the mean reward of the rest of the minibatch (leave-one-out, so it does not depend on the
    sample it is subtracted from and the gradient stays unbiased). Default: no baseline."""
    baseline = config.get("baseline", 0.0)
    rewards = batch.rewards
    if baseline == "batch_mean":
        n = rewards.shape[-1]
        return rewards - (rewards.sum(-1, keepdim=True) - rewards) / max(n - 1, 1)
    if isinstance(baseline, str):
        raise ValueError(f"baseline must be a number or 'batch_mean', not {baseline!r}")
    return rewards - float(baseline)


def policy_logits(method: Method, outputs: torch.Tensor) -> torch.Tensor:
    """The outputs of the network's policy head (all of them unless the method has others)."""
    return outputs if method.policy_head is None else method.policy_head(outputs)


def policy_probs(method: Method, outputs: torch.Tensor) -> torch.Tensor:
    """pi(. | x) of the current network, (S, B, n_actions)."""
    if method.outputs_are_q_values:
        # one-hot of the argmax by comparison: F.one_hot checks its input on the host
        best = outputs.argmax(-1, keepdim=True)
        return (best == torch.arange(outputs.shape[-1], device=outputs.device)).to(outputs)
    return action_probs(policy_logits(method, outputs))


def sample_actions(behaviour: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF sampling: one uniform number per context picks an action from b(.|x)."""
    cdf = behaviour.cumsum(-1)
    return (cdf <= uniform.unsqueeze(-1)).sum(-1).clamp(max=behaviour.shape[-1] - 1)
