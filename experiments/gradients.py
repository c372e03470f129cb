"""The "gradients" experiment: dL/d(logit) of each loss over a grid of logits and rewards,
computed with autograd through the methods' own loss functions (float64) and checked
against the closed forms the article derives."""
from __future__ import annotations

import time

import torch

from experiments.methods import importance, policy_gradient, supervised
from experiments.runs import Batch

DTYPE = torch.float64
SAMPLED, OTHER = 0, 1  # categorical slices: the sampled (or labelled) action, another action


def _autograd(loss_fn, outputs: torch.Tensor, batch: Batch, config: dict) -> torch.Tensor:
    """Per-sample dL/d(outputs): each sample's loss depends on its own outputs only."""
    outputs = outputs.detach().requires_grad_()
    (grad,) = torch.autograd.grad(loss_fn(outputs, batch, config).sum(), outputs)
    return grad


def _grid(xs: torch.Tensor, ys: torch.Tensor, autograd_z: torch.Tensor,
          closed_z: torch.Tensor, **labels) -> dict:
    return {"x": xs.tolist(), "y": ys.tolist(), "z": autograd_z.tolist(), **labels,
            "max_abs_error": float((autograd_z - closed_z).abs().max())}


def binary_grids(xs: torch.Tensor, rs: torch.Tensor, label_ys: torch.Tensor) -> dict:
    grids = {}
    # supervised BCE: z[j][i] at logit xs[i], label label_ys[j]
    y, x = torch.meshgrid(label_ys, xs, indexing="ij")
    batch = Batch(labels=y.reshape(1, -1), actions=None, rewards=None, behaviour_prob=None)
    z = _autograd(supervised.loss, x.reshape(1, -1, 1), batch, {})[..., 0].reshape(x.shape)
    grids["bce"] = _grid(xs, label_ys, z, torch.sigmoid(x) - y, x_label="logit x",
                         y_label="label y", z_label="dL/dx",
                         title="Supervised (binary cross-entropy)")

    r, x = torch.meshgrid(rs, xs, indexing="ij")
    sigma = torch.sigmoid(x)
    b = torch.full_like(x, 0.5)  # uniform behaviour policy over 2 actions
    for action in (1, 0):
        batch = Batch(labels=None, actions=torch.full(x.shape, action).reshape(1, -1),
                      rewards=r.reshape(1, -1), behaviour_prob=b.reshape(1, -1))
        pg = _autograd(policy_gradient.loss, x.reshape(1, -1, 1), batch,
                       {"log_prob": "stable"})[..., 0].reshape(x.shape)
        is_ = _autograd(importance.loss, x.reshape(1, -1, 1), batch, {})[..., 0].reshape(x.shape)
        # -r log pi(a|x): r*sigma - r for a = 1, r*sigma for a = 0.
        # -(pi(a|x)/b) r: pi' = +-sigma(1 - sigma), so dL/dx = -+(r/b) sigma (1 - sigma).
        pg_closed = r * sigma - r if action == 1 else r * sigma
        sign = 1 if action == 1 else -1
        is_closed = -sign * (r / b) * sigma * (1 - sigma)
        grids[f"pg_a{action}"] = _grid(xs, rs, pg, pg_closed, x_label="logit x",
                                       y_label="reward r", z_label="dL/dx",
                                       title=f"Vanilla policy gradient, action {action}")
        grids[f"is_a{action}"] = _grid(xs, rs, is_, is_closed, x_label="logit x",
                                       y_label="reward r", z_label="dL/dx",
                                       title=f"Importance-weighted (b = 1/2), action {action}")
    return grids


def categorical_grids(xs: torch.Tensor, rs: torch.Tensor, label_ys: torch.Tensor,
                      n_actions: int) -> dict:
    """Slices of the K-logit losses: one logit varies along x, every other logit is 0."""
    grids = {}

    def logits_with(column: int, x: torch.Tensor) -> torch.Tensor:
        z = torch.zeros(1, x.numel(), n_actions, dtype=DTYPE)
        z[0, :, column] = x.reshape(-1)
        return z

    # cross-entropy against a soft label: weight y on the label, (1-y)/(K-1) on each other
    y, x = torch.meshgrid(label_ys, xs, indexing="ij")
    target = ((1 - y) / (n_actions - 1)).reshape(1, -1, 1).repeat(1, 1, n_actions)
    target[0, :, SAMPLED] = y.reshape(-1)
    outputs = logits_with(SAMPLED, x)
    z = _autograd(supervised.loss, outputs, Batch(target, None, None, None), {})
    p = torch.softmax(outputs, -1)
    grids["ce_label"] = _grid(
        xs, label_ys, z[0, :, SAMPLED].reshape(x.shape),
        (p[0, :, SAMPLED] - target[0, :, SAMPLED]).reshape(x.shape),
        x_label="logit of the label", y_label="label weight y", z_label="dL/dz_label",
        title=f"Cross-entropy, K = {n_actions}")

    r, x = torch.meshgrid(rs, xs, indexing="ij")
    batch = Batch(labels=None, actions=torch.full((1, x.numel()), SAMPLED),
                  rewards=r.reshape(1, -1), behaviour_prob=None)
    for gid, column, is_sampled in (("pg_cat_sampled", SAMPLED, True),
                                    ("pg_cat_other", OTHER, False)):
        outputs = logits_with(column, x)
        z = _autograd(policy_gradient.loss, outputs, batch, {"log_prob": "stable"})
        p_k = torch.softmax(outputs, -1)[0, :, column].reshape(x.shape)
        closed = r * (p_k - (1.0 if is_sampled else 0.0))  # r * (p_k - 1[k = a])
        which = "sampled action a" if is_sampled else "another action k != a"
        grids[gid] = _grid(xs, rs, z[0, :, column].reshape(x.shape), closed,
                           x_label=f"logit of the {which}", y_label="reward r",
                           z_label="dL/dz", title=f"Vanilla policy gradient, {which}")
    return grids


def run(config: dict, seeds: list[int], device: str, progress=None) -> dict:
    """Computed on the CPU in float64 whatever `device` is: the grids are tiny."""
    start = time.perf_counter()
    lo, hi = config["x_range"]
    xs = torch.linspace(lo, hi, int(config["n_x"]), dtype=DTYPE)
    rs = torch.linspace(-1, 1, int(config["n_r"]), dtype=DTYPE)
    label_ys = torch.linspace(0, 1, int(config["n_y"]), dtype=DTYPE)
    n_actions = int(config.get("n_actions_categorical", 10))
    grids = {**binary_grids(xs, rs, label_ys),
             **categorical_grids(xs, rs, label_ys, n_actions)}
    if progress:
        progress(1, 1)
    return {
        "grids": grids,
        "categorical": {"n_actions": n_actions, "other_logits": 0.0,
                        "grids": ["ce_label", "pg_cat_sampled", "pg_cat_other"]},
        "wall_time_s": time.perf_counter() - start,
    }


def merge(config: dict, parts: list[dict]) -> dict:
    return parts[0]  # one deterministic computation: nothing to average
