"""The batched MLP: S independent networks (one per seed) in one set of tensors.

Every weight has a leading seed dimension, so one matmul trains all seeds at once and a
batched run equals S separate runs. Also here: how the network's outputs are read as a policy.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def init_params(seeds: list[int], n_in: int, hidden: int, n_out: int,
                device="cpu", dtype=torch.float32) -> dict[str, torch.Tensor]:
    """784-hidden-out MLP weights for each seed, drawn like nn.Linear's default init
    (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases), each seed from its own
    torch.Generator on the CPU so CPU and CUDA runs start from the same weights."""
    per_seed = []
    for seed in seeds:
        gen = torch.Generator().manual_seed(int(seed))
        bound1, bound2 = 1 / math.sqrt(n_in), 1 / math.sqrt(hidden)
        per_seed.append({
            "W1": (torch.rand(n_in, hidden, generator=gen, dtype=dtype) * 2 - 1) * bound1,
            "b1": (torch.rand(hidden, generator=gen, dtype=dtype) * 2 - 1) * bound1,
            "W2": (torch.rand(hidden, n_out, generator=gen, dtype=dtype) * 2 - 1) * bound2,
            "b2": (torch.rand(n_out, generator=gen, dtype=dtype) * 2 - 1) * bound2,
        })
    return {name: torch.stack([p[name] for p in per_seed]).to(device).requires_grad_()
            for name in ("W1", "b1", "W2", "b2")}


def forward(params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """x: (S, B, n_in) per-seed minibatches, or (B, n_in) shared by all seeds -> (S, B, n_out)."""
    if x.dim() == 2:
        x = x.expand(params["W1"].shape[0], *x.shape)
    h = torch.relu(torch.baddbmm(params["b1"].unsqueeze(1), x, params["W1"]))
    return torch.baddbmm(params["b2"].unsqueeze(1), h, params["W2"])


# -- outputs read as a policy over actions -------------------------------------------------
# Binary task with one output: a logit x, pi(1|x) = sigmoid(x). Otherwise one logit per action.

def action_log_probs(outputs: torch.Tensor) -> torch.Tensor:
    """Numerically stable log pi(. | x): (S, B, n_out) -> (S, B, n_actions)."""
    if outputs.shape[-1] == 1:
        x = outputs[..., 0]
        return torch.stack([F.logsigmoid(-x), F.logsigmoid(x)], dim=-1)
    return torch.log_softmax(outputs, dim=-1)


def action_probs(outputs: torch.Tensor) -> torch.Tensor:
    if outputs.shape[-1] == 1:
        p1 = torch.sigmoid(outputs[..., 0])
        return torch.stack([1 - p1, p1], dim=-1)
    return torch.softmax(outputs, dim=-1)


def greedy_action(outputs: torch.Tensor) -> torch.Tensor:
    """The most likely action (or the largest Q): logit > 0 for one output, argmax otherwise."""
    if outputs.shape[-1] == 1:
        return (outputs[..., 0] > 0).long()
    return outputs.argmax(dim=-1)
