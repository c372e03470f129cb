"""The article's figures: each @figure function turns result payloads into a Plotly figure.

Pages place them with {{ chart("<id>", caption=..., alt=...) }}; the shared helpers (bands,
surfaces, the base layout, the palette) come from onpolicy.render.figkit.
"""
from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go

from onpolicy.render.figkit import (PALETTE, MissingResult, Results, band, base_figure,
                                    figure, need, rgba, surface_figure)

METHODS = ["supervised", "q_random", "pg_random", "pg_random_stable", "pg_onpolicy",
           "ppo_random", "is_random"]
METHOD_LABELS = {
    "supervised": "supervised (cross-entropy on labels)",
    "q_random": "Q-regression, random actions",
    "pg_random": "policy gradient, random actions (naive log-prob)",
    "pg_random_stable": "policy gradient, random actions",
    "pg_onpolicy": "policy gradient, on-policy",
    "ppo_random": "PPO, random actions",
    "is_random": "importance-weighted PG, random actions",
}
# Okabe-Ito hues (colour-blind safe) that read on both light and dark backgrounds
METHOD_COLOURS = {
    "supervised": "#999999", "q_random": "#56B4E9", "pg_random": "#D55E00",
    "pg_random_stable": "#E69F00", "pg_onpolicy": "#009E73", "ppo_random": "#CC79A7",
    "is_random": "#3A8FD0",
}
LOGIT_METHODS = ["pg_random_stable", "pg_onpolicy", "ppo_random", "is_random", "supervised"]
DIAL_LABELS = {"pg": ("policy gradient", "#E69F00"), "ppo": ("PPO", "#CC79A7"),
               "is": ("importance-weighted PG", "#3A8FD0")}


def _value_before(steps: list, values: list, step: int) -> float | None:
    """The last finite value at an eval step before `step` (where a diverging seed stopped)."""
    best = None
    for s, v in zip(steps, values):
        if s < step and v is not None:
            best = v
    return best


def _curves(task: str) -> Callable[[Results], go.Figure]:
    def build(results: Results) -> go.Figure:
        fig = base_figure(xaxis=dict(title=dict(text="training step")),
                           yaxis=dict(title=dict(text="eval accuracy"), tickformat=".0%",
                                      range=[0, 1.02]))
        for method in METHODS:
            payload = need(results, f"{task}-{method}")
            steps, acc = payload["steps"], payload["accuracy"]
            label, colour = METHOD_LABELS[method], METHOD_COLOURS[method]
            band(fig, steps, acc["lo"], acc["hi"], colour, method, label)
            fig.add_trace(go.Scatter(
                x=steps, y=acc["mean"], mode="lines", name=label, legendgroup=method,
                line=dict(color=colour, width=2, dash="dash" if method == "supervised" else None),
                hovertemplate="step %{x}: %{y:.1%}<extra>" + label + "</extra>"))
            died = [(seed, step) for seed, step in
                    zip(payload["seeds"], payload["first_nonfinite_step"]) if step is not None]
            if died:
                per_seed = acc.get("per_seed") or [acc["mean"]] * len(payload["seeds"])
                index = {seed: i for i, seed in enumerate(payload["seeds"])}
                ys = [_value_before(steps, per_seed[index[seed]], step) or 0.0
                      for seed, step in died]
                fig.add_trace(go.Scatter(
                    x=[step for _, step in died], y=ys, mode="markers", legendgroup=method,
                    name=f"{label}: seed went non-finite", showlegend=False,
                    marker=dict(symbol="x", size=10, color=colour, line=dict(width=2)),
                    text=[f"seed {seed}: first non-finite value at step {step}"
                          for seed, step in died],
                    hovertemplate="%{text}<extra>" + label + "</extra>"))
        return fig
    return build


def _logits(task: str) -> Callable[[Results], go.Figure]:
    def build(results: Results) -> go.Figure:
        fig = base_figure(xaxis=dict(title=dict(text="training step")),
                           yaxis=dict(title=dict(text="max |logit| on the eval set"), type="log",
                                      exponentformat="power"))
        for method in LOGIT_METHODS:
            payload = need(results, f"{task}-{method}")
            label = METHOD_LABELS[method]
            fig.add_trace(go.Scatter(
                x=payload["steps"], y=payload["logit_abs_max"]["mean"], mode="lines", name=label,
                line=dict(color=METHOD_COLOURS[method], width=2,
                          dash="dash" if method == "supervised" else None),
                hovertemplate="step %{x}: %{y:.3g}<extra>" + label + "</extra>"))
        return fig
    return build


def _action_names(task: str, n_actions: int) -> list[str]:
    if task == "binary" and n_actions == 2:
        return ["action 0 (says < 5)", "action 1 (says ≥ 5)"]
    return [f"action {k} (says {k})" for k in range(n_actions)]


def _collapse(task: str) -> Callable[[Results], go.Figure]:
    def build(results: Results) -> go.Figure:
        payload = need(results, f"{task}-pg_random_stable")
        shares = payload["action_share"]["mean"]  # steps x actions
        fig = base_figure(xaxis=dict(title=dict(text="training step")),
                           yaxis=dict(title=dict(text="share of greedy actions"),
                                      tickformat=".0%",
                                      range=[0, 1]))
        for k, name in enumerate(_action_names(task, payload["n_actions"])):
            colour = PALETTE[k % len(PALETTE)]
            fig.add_trace(go.Scatter(
                x=payload["steps"], y=[row[k] if row else None for row in shares], name=name,
                mode="lines", stackgroup="share", line=dict(width=0.5, color=colour),
                fillcolor=rgba(colour, 0.75),
                hovertemplate="step %{x}: %{y:.1%}<extra>" + name + "</extra>"))
        return fig
    return build


def _grid(results: Results, grid_id: str) -> dict:
    grid = need(results, "gradients").get("grids", {}).get(grid_id)
    if grid is None:
        raise MissingResult(f"gradients (grid {grid_id!r})")
    return grid


def _surface(grid_id: str) -> Callable[[Results], go.Figure]:
    def build(results: Results) -> go.Figure:
        grid = _grid(results, grid_id)
        return surface_figure(grid, grid.get("title", grid_id))
    return build


# (grid, rows to draw as lines: the y values nearest these, colour)
SLICE_GRIDS = [("ce_label", [1.0, 0.5, 0.0], "#999999"),
               ("pg_cat_sampled", [1.0, 0.5, -0.5, -1.0], "#E69F00"),
               ("pg_cat_other", [1.0, 0.5, -0.5, -1.0], "#3A8FD0")]
SLICE_DASHES = ["solid", "dash", "dot", "dashdot"]


@figure("slices-categorical")
def slices_categorical(results: Results) -> go.Figure:
    """Categorical slices as lines: cross-entropy at a few label weights, and the policy
    gradient for the sampled and for another action at a few rewards."""
    fig = base_figure(xaxis=dict(title=dict(text="the logit that varies (all others are 0)")),
                       yaxis=dict(title=dict(text="gradient of the loss w.r.t. that logit")))
    for grid_id, wanted, colour in SLICE_GRIDS:
        grid = _grid(results, grid_id)
        rows = sorted({min(range(len(grid["y"])), key=lambda i: abs(grid["y"][i] - target))
                       for target in wanted}, key=lambda i: -grid["y"][i])
        signed = "+g" if min(grid["y"]) < 0 else "g"
        for n, j in enumerate(rows):
            name = (f"{grid.get('title') or grid_id}, "
                    f"{grid.get('y_label', 'y')} = {grid['y'][j]:{signed}}")
            fig.add_trace(go.Scatter(
                x=grid["x"], y=grid["z"][j], mode="lines", name=name, legendgroup=grid_id,
                line=dict(color=colour, width=2, dash=SLICE_DASHES[n % len(SLICE_DASHES)]),
                hovertemplate="%{x:.2f}: %{y:.3g}<extra>" + name + "</extra>"))
    return fig


@figure("dial")
def dial(results: Results) -> go.Figure:
    fig = base_figure(xaxis=dict(title=dict(text="ε: share of uniform actions in the behaviour "
                                                  "policy (0 = on-policy)"), range=[-0.03, 1.03]),
                       yaxis=dict(title=dict(text="final eval accuracy"), tickformat=".0%",
                                  range=[0, 1.02]))
    for method, (label, colour) in DIAL_LABELS.items():
        payload = need(results, f"dial-{method}")
        final = payload["final_accuracy"]
        band(fig, payload["eps"], final["lo"], final["hi"], colour, method, label)
        nonfinite = payload.get("nonfinite_seeds") or [0] * len(payload["eps"])
        fig.add_trace(go.Scatter(
            x=payload["eps"], y=final["mean"], mode="lines+markers", name=label,
            legendgroup=method, line=dict(color=colour, width=2), marker=dict(size=7),
            customdata=nonfinite,
            hovertemplate=("ε = %{x}: %{y:.1%}<br>%{customdata} seed(s) non-finite<extra>"
                           + label + "</extra>")))
    return fig


curves_binary = figure("curves-binary")(_curves("binary"))
curves_categorical = figure("curves-categorical")(_curves("categorical"))
logits_binary = figure("logits-binary")(_logits("binary"))
logits_categorical = figure("logits-categorical")(_logits("categorical"))
collapse_binary = figure("collapse-binary")(_collapse("binary"))
collapse_categorical = figure("collapse-categorical")(_collapse("categorical"))
surface_bce = figure("surface-bce")(_surface("bce"))
surface_pg_a1 = figure("surface-pg-a1")(_surface("pg_a1"))
surface_pg_a0 = figure("surface-pg-a0")(_surface("pg_a0"))
surface_is_a1 = figure("surface-is-a1")(_surface("is_a1"))
surface_is_a0 = figure("surface-is-a0")(_surface("is_a0"))
