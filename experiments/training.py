"""The training loop: the seeds of many run units trained as one batched (fused) model.

The lanes of one group (experiments/lanes.py) train together: every weight has a leading slot
dimension (lane x seed), each slot keeps its own method loss, behaviour eps, behaviour lag,
generator streams and non-finite bookkeeping, and the outputs are split back into one result
per lane.

One optimiser step is `Step.__call__`: forward, behaviour policy, sampled actions, every
lane's loss, backward, non-finite masking, Adam. It reads its step number and the chunk's
contexts and action-uniforms from tensors, so the same code runs eagerly (CPU, and the CUDA
reference) or is captured once in a CUDA graph and replayed (experiments/cuda_graph.py).

A fused run equals each lane run alone up to float reordering only: see experiments/runs.py
for what is exact and what is not, and tests/test_fused.py for the tolerance.
"""
from __future__ import annotations

import os
import time

import torch

from experiments import data as datasets
from experiments.evaluation import evaluate, split_outputs
from experiments.lanes import Lane, SlotSettings, group_key, layout
from experiments.model import forward, init_params
from experiments.policy import Batch, policy_probs, sample_actions

# Seed s draws contexts and actions from generators of their own, apart from its init.
CONTEXT_SEED_OFFSET, ACTION_SEED_OFFSET = 1_000_003, 2_000_003
PROGRESS_EVERY = 50
OPTIMIZERS = ("adam", "sgd")


def _per_slot(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return mask.view(-1, *([1] * (like.dim() - 1)))


class Step:
    """One optimiser update of every slot; state lives in tensors so it can be captured."""

    def __init__(self, loss_calls, params, optimizer, x_train, y_train, n_act, batch_size,
                 slots: SlotSettings, chunk_len, device, mask_always: bool):
        n_slots = params["W1"].shape[0]
        self.loss_calls, self.params, self.optimizer = loss_calls, params, optimizer
        self.x_train, self.y_train, self.n_act = x_train, y_train, n_act
        # behaviour = keep * pi + spread, computed in float64 on the host as the scalar
        # arithmetic of a lone run would be, then stored in the params' dtype
        self.keep = torch.tensor([1 - e for e in slots.eps], device=device).view(-1, 1, 1)
        self.spread = torch.tensor([e / n_act for e in slots.eps], device=device).view(-1, 1, 1)
        self.lag = torch.tensor(slots.lag, dtype=torch.long, device=device)
        self.lagged = any(k > 0 for k in slots.lag)
        miss, hit = zip(*slots.rewards)
        self.r_miss = torch.tensor(miss, device=device).view(-1, 1)
        self.r_hit = torch.tensor(hit, device=device).view(-1, 1)
        # batch_reuse K > 1: a slot collects a minibatch (contexts, actions, b(a|x)) every K
        # updates and takes K updates on it, the last ones with an older policy's actions
        self.reuse = torch.tensor(slots.reuse, dtype=torch.long, device=device)
        self.reusing = bool((self.reuse > 1).any())
        if self.reusing:
            self.kept_idx = torch.zeros(n_slots, batch_size, dtype=torch.long, device=device)
            self.kept_actions = torch.zeros(n_slots, batch_size, dtype=torch.long, device=device)
            self.kept_prob = torch.ones(n_slots, batch_size, device=device)
        self.snapshot = ({k: v.detach().clone() for k, v in params.items()}
                         if self.lagged else None)
        self.mask_always = mask_always
        self.step = torch.zeros((), dtype=torch.long, device=device)      # updates done
        self.position = torch.zeros(1, dtype=torch.long, device=device)  # index in the chunk
        self.chunk_idx = torch.zeros(chunk_len, n_slots, batch_size, dtype=torch.long,
                                     device=device)
        self.chunk_uniform = torch.zeros(chunk_len, n_slots, batch_size, device=device)
        self.alive = torch.ones(n_slots, dtype=torch.bool, device=device)
        self.first_nonfinite = torch.full((n_slots,), -1, dtype=torch.long, device=device)

    def load_chunk(self, idx: torch.Tensor, uniform: torch.Tensor) -> None:
        self.chunk_idx[:len(idx)].copy_(idx)
        self.chunk_uniform[:len(uniform)].copy_(uniform)
        self.position.zero_()

    def __call__(self) -> None:
        params = self.params
        self.step.add_(1)  # this is the step-th optimiser update
        idx = self.chunk_idx.index_select(0, self.position).squeeze(0)          # (S, B)
        uniform = self.chunk_uniform.index_select(0, self.position).squeeze(0)  # (S, B)
        self.position.add_(1)
        if self.reusing:  # a slot collecting at this update: reuse 1, or update 1, K+1, ...
            collect = ((self.step - 1) % self.reuse == 0).view(-1, 1)
            idx = torch.where(collect, idx, self.kept_idx)
        # (index_select on the flat indices: the same rows as x_train[idx], 5x faster on a CPU)
        x = self.x_train.index_select(0, idx.flatten()).view(*idx.shape, -1)
        labels = self.y_train[idx]

        # ALGO LOGIC: act with the behaviour policy b = (1-eps) pi + eps uniform, where pi is
        # the current network, or (behaviour_lag k > 0) a snapshot refreshed every k updates
        outputs = forward(params, x)
        with torch.no_grad():
            acting = outputs
            if self.lagged:
                lagged = forward(self.snapshot, x)
                acting = torch.where(_per_slot(self.lag > 0, outputs), lagged, outputs)
            behaviour = torch.cat([
                self.keep[s.start:s.stop] * policy_probs(s.method, acting[s.start:s.stop])
                + self.spread[s.start:s.stop] for s in self.loss_calls])
            actions = sample_actions(behaviour, uniform)
            behaviour_prob = behaviour.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
            if self.reusing:
                actions = torch.where(collect, actions, self.kept_actions)
                behaviour_prob = torch.where(collect, behaviour_prob, self.kept_prob)
                self.kept_idx.copy_(idx)
                self.kept_actions.copy_(actions)
                self.kept_prob.copy_(behaviour_prob)
            rewards = torch.where(actions == labels, self.r_hit, self.r_miss)

        # ALGO LOGIC: each lane's loss, mean over its minibatch, summed over slots
        slot_losses = torch.cat([
            s.method.loss(outputs[s.start:s.stop],
                          Batch(labels[s.start:s.stop], actions[s.start:s.stop],
                                rewards[s.start:s.stop], behaviour_prob[s.start:s.stop]),
                          s.config).mean(dim=1)
            for s in self.loss_calls])
        slot_losses.sum().backward()

        # A slot whose loss or gradients are non-finite stops here, for good: its gradients
        # and Adam's first moment are zeroed, which makes Adam's update exactly zero, so its
        # weights stay at their last finite values. (A per-slot sum is non-finite when any
        # element is; tensor ops only, so no host sync.)
        finite = slot_losses.isfinite()
        for p in params.values():
            finite &= p.grad.flatten(1).sum(1).isfinite()
        self.first_nonfinite.copy_(torch.where(self.alive & ~finite, self.step,
                                               self.first_nonfinite))
        self.alive &= finite
        # (Reading `alive` on the host is free on the CPU but would stall a CUDA queue.)
        if self.mask_always or not bool(self.alive.all()):
            dead = ~self.alive
            for p in params.values():
                p.grad.masked_fill_(_per_slot(dead, p), 0.0)
                if "exp_avg" in self.optimizer.state[p]:
                    self.optimizer.state[p]["exp_avg"].masked_fill_(_per_slot(dead, p), 0.0)
        if self.lagged:  # refresh every k updates, before this update: lag 1..k
            with torch.no_grad():
                refresh = (self.lag > 0) & (self.step % self.lag.clamp(min=1) == 0)
                # on the CPU, skip the copy when no slot is due (a CUDA graph cannot branch)
                due = self.mask_always or bool(refresh.any())
                for k, p in (params.items() if due else ()):
                    self.snapshot[k].copy_(torch.where(_per_slot(refresh, p), p,
                                                       self.snapshot[k]))
        self.optimizer.step()


def _draws(seeds: list[int], n_train: int, n_steps: int, batch_size: int,
           context_gens: dict, action_gens: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Contexts and action-uniforms for n_steps, drawn once per distinct seed on the CPU
    generators (so CPU and CUDA runs see the same samples), then spread over the slots."""
    distinct = list(context_gens)
    idx = torch.stack([torch.randint(n_train, (n_steps, batch_size), generator=context_gens[s])
                       for s in distinct], dim=1)
    uniform = torch.stack([torch.rand(n_steps, batch_size, generator=action_gens[s])
                           for s in distinct], dim=1)
    where = torch.tensor([distinct.index(s) for s in seeds])
    return idx[:, where], uniform[:, where]


def use_cuda_graph(device: str) -> bool:
    """CUDA runs replay a captured step unless ONPOLICY_CUDA_GRAPH=0 (the eager reference)."""
    return str(device).startswith("cuda") and os.environ.get("ONPOLICY_CUDA_GRAPH", "1") != "0"


def train_lanes(lanes: list[Lane], device: str, progress=None, capture: bool | None = None,
                params_out: dict | None = None) -> list:
    """Train the lanes (one group_key) as one model; returns one output per lane, in order.
    capture: replay the step from a CUDA graph (default: on CUDA, see use_cuda_graph).
    params_out, when given, receives {lane index: final weights of its seeds} (for tests)."""
    capture = use_cuda_graph(device) if capture is None else capture
    start = time.perf_counter()
    keys = {group_key(lane) for lane in lanes}
    if len(keys) != 1:
        raise ValueError(f"lanes of different groups cannot be fused: {sorted(keys)}")
    config = lanes[0].config
    task, steps = config["task"], int(config["steps"])
    batch_size, eval_every = int(config["batch_size"]), int(config["eval_every"])
    order, loss_calls = layout(lanes)
    slots = SlotSettings.of(lanes, order)
    slot_seeds = slots.seeds
    q_slots = torch.tensor(slots.q_values)

    data = datasets.load(config["data"], device)
    y_train = datasets.task_labels(data.y_train, task)
    y_eval = datasets.task_labels(data.y_eval, task)
    n_act = datasets.n_actions(task)

    distinct = list(dict.fromkeys(slot_seeds))
    init = init_params(distinct, data.x_train.shape[1], int(config["hidden"]),
                       lanes[0].method.n_outputs(task), "cpu")
    where = torch.tensor([distinct.index(s) for s in slot_seeds])
    # A pixel that is 0 in every image (MNIST's borders: 116 of 784) adds nothing to any
    # output and gets an exactly zero gradient, so neither Adam nor SGD ever moves its row of
    # W1: training without those columns is the same run, ~15% fewer multiply-adds.
    used = ((data.x_train != 0).any(0) | (data.x_eval != 0).any(0)).cpu()
    x_train, x_eval = data.x_train[:, used.to(device)], data.x_eval[:, used.to(device)]
    params = {k: (v.detach()[where][:, used] if k == "W1" else v.detach()[where])
              .to(device).requires_grad_() for k, v in init.items()}
    device_type = params["W1"].device.type
    name = config.get("optimizer", "adam")
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, not {name!r}")
    if name == "adam":
        optimizer = torch.optim.Adam(params.values(), lr=float(config["lr"]), fused=True,
                                     capturable=capture)
    else:  # plain SGD, no momentum: the step is the gradient times lr, not normalised
        optimizer = torch.optim.SGD(params.values(), lr=float(config["lr"]))
    step = Step(loss_calls, params, optimizer, x_train, y_train, n_act, batch_size, slots,
                eval_every, device, mask_always=device_type != "cpu")
    head = lanes[0].method.policy_head
    context_gens = {s: torch.Generator().manual_seed(int(s) + CONTEXT_SEED_OFFSET)
                    for s in distinct}
    action_gens = {s: torch.Generator().manual_seed(int(s) + ACTION_SEED_OFFSET)
                   for s in distinct}
    replay = None
    if capture:
        from experiments.cuda_graph import capture_step
        replay = capture_step(step)
    evals: list = []
    total = steps * len(lanes)
    evaluate(evals, 0, params, x_eval, y_eval, n_act, step.alive, q_slots, head)
    for chunk_start in range(0, steps, eval_every):
        n_chunk = min(eval_every, steps - chunk_start)
        if bool(step.alive.any()):  # one host sync per chunk
            step.load_chunk(*(t.to(device) for t in _draws(
                slot_seeds, len(y_train), n_chunk, batch_size, context_gens, action_gens)))
            for i in range(n_chunk):
                if replay is not None:
                    replay()
                else:
                    optimizer.zero_grad(set_to_none=True)
                    step()
                done = chunk_start + i + 1
                if progress and done % PROGRESS_EVERY == 0 and replay is None:
                    progress(done * len(lanes), total)
        else:  # every slot has stopped: skip the chunk (its evals are all null)
            step.step.add_(n_chunk)
        evaluate(evals, chunk_start + n_chunk, params, x_eval, y_eval, n_act, step.alive,
                 q_slots, head)
        if progress and replay is not None:
            progress((chunk_start + n_chunk) * len(lanes), total)
    if progress:
        progress(total, total)

    if params_out is not None:
        slot = 0
        for i in order:
            n = len(lanes[i].seeds)
            params_out[i] = {k: v.detach()[slot:slot + n].cpu().clone() for k, v in params.items()}
            full = init["W1"].detach()[where[slot:slot + n]].clone()  # the unused rows: init
            full[:, used] = params_out[i]["W1"]
            params_out[i]["W1"] = full
            slot += n
    return split_outputs(lanes, order, evals, step.first_nonfinite,
                         time.perf_counter() - start)
