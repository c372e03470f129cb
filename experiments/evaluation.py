"""Evaluation of the fused model on the held-out set, and its outputs split back per lane.

Slots that have stopped (a non-finite step) are not evaluated: their entries are NaN (null in
the result) without running their networks, and a chunk where every slot has stopped costs
nothing at all.
"""
from __future__ import annotations

import math

import torch

from experiments.model import action_probs, forward, greedy_action

# Slots evaluated per forward pass: the eval set is broadcast to every slot, so a fused group
# of a hundred slots at once would hold ~0.7 GB of copies of it.
EVAL_SLOTS = 32


def evaluate(evals: list, step: int, params: dict, x_eval: torch.Tensor, y_eval: torch.Tensor,
             n_act: int, alive: torch.Tensor, q_slots: torch.Tensor | None = None,
             head=None) -> None:
    """Append (step, accuracy, |logit| max, |logit| mean, action shares, expected reward),
    CPU tensors with one row per slot, NaN for stopped slots.

    The expected reward is E_{a ~ pi}[1{a = y}] = pi(y|x) averaged over the eval set: how often
    the stochastic policy itself acts right (greedy accuracy is how often its argmax is right).
    Slots flagged in q_slots (bool per slot) have Q-value outputs: their policy is greedy.
    head maps the outputs to the policy's logits (a network with a critic head beside it)."""
    n_slots = alive.shape[0]
    live = alive.cpu().nonzero().flatten()  # one host sync per eval
    metrics = [torch.full((n_slots,), math.nan), torch.full((n_slots,), math.nan),
               torch.full((n_slots,), math.nan), torch.full((n_slots, n_act), math.nan),
               torch.full((n_slots,), math.nan)]
    for first in range(0, len(live), EVAL_SLOTS):
        chunk = live[first:first + EVAL_SLOTS]
        with torch.no_grad():
            subset = params if len(chunk) == n_slots else {
                k: v.index_select(0, chunk.to(v.device)) for k, v in params.items()}
            outputs = forward(subset, x_eval)
            if head is not None:
                outputs = head(outputs)
            greedy = greedy_action(outputs)
            finite = outputs.isfinite().flatten(1).all(1)
            shares = (greedy.unsqueeze(-1) == torch.arange(n_act, device=greedy.device))
            hit = greedy == y_eval
            if outputs.shape[-1] == n_act or outputs.shape[-1] == 1:
                right = action_probs(outputs).gather(
                    -1, y_eval.expand(outputs.shape[0], -1).unsqueeze(-1)).squeeze(-1)
            else:
                right = hit.to(outputs.dtype)
            if q_slots is not None:
                is_q = q_slots.index_select(0, chunk.to(q_slots.device)).view(-1, 1)
                right = torch.where(is_q.to(right.device), hit.to(right.dtype), right)
            values = (hit.float().mean(1), outputs.abs().flatten(1).amax(1),
                      outputs.abs().flatten(1).mean(1), shares.float().mean(1),
                      right.float().mean(1))
            for full, value in zip(metrics, values):
                value = torch.where(finite.view(-1, *([1] * (value.dim() - 1))), value,
                                    math.nan)
                full[chunk] = value.cpu()
    evals.append((step, *metrics))


def _nan_to_none(values):
    if isinstance(values, list):
        return [_nan_to_none(v) for v in values]
    return None if values is None or not math.isfinite(values) else float(values)


def split_outputs(lanes: list, order: list[int], evals: list, first_nonfinite: torch.Tensor,
                  wall_time_s: float) -> list[dict]:
    """One output per lane (in the lanes' order) from the slot-ordered evals. Each lane's
    wall_time_s is its share (by seeds) of the fused run's wall time."""
    series = [torch.stack([e[k] for e in evals], dim=1).tolist() for k in range(1, 6)]
    first = first_nonfinite.cpu().tolist()
    n_slots = len(first)
    outputs: list = [None] * len(lanes)
    slot = 0
    for i in order:
        n = len(lanes[i].seeds)
        rows = slice(slot, slot + n)
        outputs[i] = {
            "seeds": list(lanes[i].seeds),
            "steps": [e[0] for e in evals],
            "accuracy": _nan_to_none(series[0][rows]),
            "logit_abs_max": _nan_to_none(series[1][rows]),
            "logit_abs_mean": _nan_to_none(series[2][rows]),
            "action_share": _nan_to_none(series[3][rows]),
            "expected_reward": _nan_to_none(series[4][rows]),
            "first_nonfinite_step": [s if s >= 0 else None for s in first[rows]],
            "wall_time_s": wall_time_s * n / n_slots,
        }
        slot += n
    return outputs
