"""Vanilla policy gradient (REINFORCE for a one-step bandit): minimise -r * log pi(a|x).

Its gradient is an unbiased estimate of the policy gradient only when a ~ pi (on-policy).
Under another behaviour policy, e.g. uniform random actions, a negative reward keeps pushing
log pi(a|x) of the wrong action down with no floor: with logit x and r = -1, the gradient for
a = 1 is 1 - sigmoid(x), which grows as pi(1|x) shrinks (positive feedback).
"""
from __future__ import annotations

import torch

from experiments import runs
from experiments.model import action_log_probs, action_probs
from experiments.policy import advantage


def naive_log_prob(outputs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """log pi(a|x) computed literally as the log of a probability, as a first implementation
    would: saturating probabilities give log(0) = -inf and then NaN gradients.

    The taken action's probability is selected before the log, so only the sampled action
    can produce -inf (selecting after the log would give NaN gradients through the unused
    branch even when the sampled action is fine)."""
    if outputs.shape[-1] == 1:
        p1 = torch.sigmoid(outputs[..., 0])
        return torch.log(torch.where(actions == 1, p1, 1 - p1))
    probs = torch.softmax(outputs, -1)
    return torch.log(probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1))


def stable_log_prob(outputs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """log pi(a|x) via logsigmoid / log_softmax: finite for any finite logits."""
    return action_log_probs(outputs).gather(-1, actions.unsqueeze(-1)).squeeze(-1)


def entropy(outputs: torch.Tensor) -> torch.Tensor:
    """H(pi(.|x)) = -sum_a pi(a|x) log pi(a|x), per sample."""
    return -(action_probs(outputs) * action_log_probs(outputs)).sum(-1)


def loss(outputs: torch.Tensor, batch: runs.Batch, config: dict) -> torch.Tensor:
    """THE VANILLA POLICY-GRADIENT LOSS, per sample: -A * log pi(a|x), with the advantage
    A = r - baseline (config["baseline"], default 0: A = r; see step.advantage).
    config["log_prob"]: "naive" (torch.log of a probability) or "stable" (default).
    Remedies for a policy that rules an action out for good (both default 0: the loss above,
    exactly):
    config["entropy_bonus"] = beta subtracts beta * H(pi(.|x)); its gradient for action k
      carries a factor pi(k|x), so it fades for an action already ruled out.
    config["log_barrier"] = beta adds -beta * mean_a log pi(a|x) (KL(uniform || pi) up to a
      constant); its gradient beta * (pi(k|x) - 1/K) does not fade as pi(k|x) -> 0."""
    mode = config.get("log_prob", "stable")
    if mode not in ("naive", "stable"):
        raise ValueError(f"log_prob must be 'naive' or 'stable', not {mode!r}")
    log_prob = (naive_log_prob if mode == "naive" else stable_log_prob)(outputs, batch.actions)
    loss = -advantage(batch, config) * log_prob
    entropy_beta = float(config.get("entropy_bonus", 0.0))
    if entropy_beta:
        loss = loss - entropy_beta * entropy(outputs)
    barrier_beta = float(config.get("log_barrier", 0.0))
    if barrier_beta:
        loss = loss - barrier_beta * action_log_probs(outputs).mean(-1)
    return loss


METHOD = runs.Method(loss=loss)


def run(config: dict, seeds: list[int], device: str, progress=None) -> dict:
    return runs.run(METHOD, config, seeds, device, progress)


def merge(config: dict, parts: list[dict]) -> dict:
    return runs.merge(config, parts)
