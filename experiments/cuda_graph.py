"""The fused step captured once in a CUDA graph and replayed (CUDA only).

Capture records the kernels of one call of `training.Step` (forward, every lane's loss,
backward, non-finite masking, Adam with capturable=True) with their memory addresses; a
replay reruns them with no Python and no host synchronisation. The step reads its inputs
from tensors it owns (the chunk of contexts and uniforms, the position in the chunk, the step
number), so replays see new data without new arguments.

Capture needs warm-up calls (they allocate Adam's state and the autograd buffers); those
calls train, so every piece of state is saved first and restored after: the first replay
starts from exactly the state an eager run would start from.
"""
from __future__ import annotations

from typing import Callable

import torch


def warm_up_and_reset(step, warmup: int = 3) -> None:
    """Run `warmup` steps (allocating Adam's state and autograd's buffers), then put every
    piece of state back as it was before them. Device-independent: tested on the CPU."""
    initial = {k: p.detach().clone() for k, p in step.params.items()}
    for _ in range(min(warmup, step.chunk_idx.shape[0])):
        step.optimizer.zero_grad(set_to_none=True)
        step()
    with torch.no_grad():
        for k, p in step.params.items():
            p.copy_(initial[k])
            for value in step.optimizer.state[p].values():
                if torch.is_tensor(value):
                    value.zero_()
        if step.snapshot is not None:
            for k, value in step.snapshot.items():
                value.copy_(initial[k])
        step.step.zero_()
        step.position.zero_()
        step.alive.fill_(True)
        step.first_nonfinite.fill_(-1)


def capture_step(step, warmup: int = 3) -> Callable[[], None]:
    """Warm up on a side stream, restore, capture; returns `replay()` (one optimiser update
    per call, reading the chunk loaded with step.load_chunk)."""
    if step.params["W1"].device.type != "cuda":
        raise ValueError("CUDA graphs need the model on a CUDA device")
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        warm_up_and_reset(step, warmup)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    step.optimizer.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        step()
    return graph.replay
