"""How run units become the slots of one fused model (experiments/training.py trains them).

A *lane* is one training run of one method: a method, its config (one behaviour eps) and its
seeds; a dial unit is one lane per eps. Lanes that can share a model (same task, network
shape, step count, minibatch, learning rate, eval schedule and data: `group_key`) train
together: every weight has a leading slot dimension (lane x seed). Slots are ordered so that
lanes sharing a loss function and its settings are adjacent (`layout`: one `LossCall` each),
and `SlotSettings` holds what each slot does its own way (behaviour eps, lag, rewards, ...).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from experiments.policy import Method, reward_values

# Settings every lane of a group must share: they shape the model or the step schedule.
SHARED_KEYS = ("task", "hidden", "steps", "batch_size", "lr", "eval_every", "data")
# Settings a method's loss never reads: lanes differing only in these share one loss call.
NOT_LOSS_KEYS = frozenset({"behaviour_eps", "behaviour_lag", "method", "seeds", "seed_batch",
                           "dial_eps", "quick", "batch_reuse", "optimizer"})


@dataclass(frozen=True)
class Lane:
    method: Method
    config: dict             # the run's config with one behaviour_eps (a dial is many lanes)
    seeds: tuple[int, ...]


def group_key(lane: Lane) -> str:
    """Lanes with equal keys can train as one model."""
    config, method = lane.config, lane.method
    shared = {k: config[k] for k in SHARED_KEYS}
    head = method.policy_head
    # the optimiser and the policy head are one per model; the defaults keep the old keys
    extra = {"optimizer": config["optimizer"]} if config.get("optimizer", "adam") != "adam" else {}
    if head is not None:
        extra["policy_head"] = f"{head.__module__}.{head.__qualname__}"
    return json.dumps({**shared, **extra, "n_outputs": method.n_outputs(config["task"])},
                      sort_keys=True)


def loss_key(lane: Lane) -> str:
    """Lanes with equal keys share one loss call (the loss function and its settings)."""
    loss = lane.method.loss
    settings = {k: v for k, v in lane.config.items() if k not in NOT_LOSS_KEYS}
    return f"{loss.__module__}.{loss.__qualname__}:{json.dumps(settings, sort_keys=True)}"


@dataclass(frozen=True)
class LossCall:
    """Consecutive slots whose lanes share one loss call (one loss function and settings):
    slots [start, stop)."""
    start: int
    stop: int
    method: Method
    config: dict


def layout(lanes: list[Lane]) -> tuple[list[int], list[LossCall]]:
    """Slot order (lanes sorted by loss, so equal losses are adjacent) and the loss_calls."""
    order = sorted(range(len(lanes)), key=lambda i: loss_key(lanes[i]))
    loss_calls, slot = [], 0
    for i in order:
        lane, n = lanes[i], len(lanes[i].seeds)
        if loss_calls and loss_key(lane) == loss_key(lanes[loss_calls[-1][0]]):
            loss_calls[-1][1] += n
        else:
            loss_calls.append([i, n])
    out = []
    for first, n in loss_calls:
        out.append(LossCall(slot, slot + n, lanes[first].method, lanes[first].config))
        slot += n
    return order, out


@dataclass(frozen=True)
class SlotSettings:
    """What each slot (lane x seed, in slot order) of a fused model does its own way."""
    seeds: list[int]
    eps: list[float]                    # behaviour = (1 - eps) pi + eps uniform
    lag: list[int]                      # act from a snapshot refreshed every lag updates (0: pi)
    rewards: list[tuple[float, float]]  # (miss, hit)
    reuse: list[int]                    # updates taken on each collected minibatch
    q_values: list[bool]                # outputs are Q-values: the policy is greedy

    @classmethod
    def of(cls, lanes: list[Lane], order: list[int]) -> "SlotSettings":
        per_slot = lambda get: [get(lanes[i]) for i in order for _ in lanes[i].seeds]  # noqa
        settings = cls(
            seeds=[s for i in order for s in lanes[i].seeds],
            eps=per_slot(lambda lane: float(lane.config.get("behaviour_eps", 1.0))),
            lag=per_slot(lambda lane: int(lane.config.get("behaviour_lag", 0))),
            rewards=per_slot(lambda lane: reward_values(lane.config)),
            reuse=per_slot(lambda lane: int(lane.config.get("batch_reuse", 1))),
            q_values=per_slot(lambda lane: lane.method.outputs_are_q_values))
        if min(settings.lag) < 0:
            raise ValueError(f"behaviour_lag must be >= 0, not {min(settings.lag)}")
        if min(settings.reuse) < 1:
            raise ValueError(f"batch_reuse must be >= 1, not {min(settings.reuse)}")
        return settings

