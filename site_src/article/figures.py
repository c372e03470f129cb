"""The article's figures: each @figure function turns result payloads into a Plotly figure.

Pages place them with {{ chart("<id>", caption=..., alt=...) }}; the shared helpers (bands,
surfaces, the base layout, the palette) come from onpolicy.render.figkit.
"""
from __future__ import annotations

import math

from collections.abc import Callable

import plotly.graph_objects as go

from onpolicy.render.figkit import (PALETTE, MissingResult, Results, band, base_figure,
                                    figure, need, rgba, surface_figure, zoom_panel)
# imported for their @explorable_data registration: the explorable figures' data
from .explorable_data import bandit_digits, bandit_frozen, dial_curves  # noqa: F401
from . import science_figures  # the cliff, dropped digits, bias, estimators, PPO's clip
from . import second_round_figures  # reward sign, critic + actor, batch reuse, optimiser
from .style import ACCURACY_TITLE, METHOD_COLOURS, METHOD_DASHES, METHOD_LABELS

METHODS = ["supervised", "q_random", "pg_random", "pg_random_stable", "pg_onpolicy",
           "ppo_random", "is_random"]
ZOOM_STEP = 0.01   # the zoomed band's edges, in accuracy, are multiples of this
LOGIT_METHODS = ["pg_random_stable", "pg_onpolicy", "ppo_random", "is_random", "supervised"]


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
                           yaxis=dict(title=dict(text=ACCURACY_TITLE), tickformat=".0%",
                                      range=[0, 1.02]))
        for method in METHODS:
            payload = need(results, f"{task}-{method}")
            steps, acc = payload["steps"], payload["accuracy"]
            label, colour = METHOD_LABELS[method], METHOD_COLOURS[method]
            band(fig, steps, acc["lo"], acc["hi"], colour, method, label)
            fig.add_trace(go.Scatter(
                x=steps, y=acc["mean"], mode="lines", name=label, legendgroup=method,
                line=dict(color=colour, width=2, dash=METHOD_DASHES[method]),
                hovertemplate="step %{x}: %{y:.1%}<extra>" + label + "</extra>"))
            died = [(seed, step) for seed, step in
                    zip(payload["seeds"], payload["first_nonfinite_step"]) if step is not None]
            if died:
                per_seed = acc.get("per_seed") or [acc["mean"]] * len(payload["seeds"])
                index = {seed: i for i, seed in enumerate(payload["seeds"])}
                # seeds that stopped at the same step and accuracy share one marker
                stops: dict[tuple, list[int]] = {}
                for seed, step in died:
                    y = _value_before(steps, per_seed[index[seed]], step) or 0.0
                    stops.setdefault((step, round(y, 3)), []).append(seed)
                fig.add_trace(go.Scatter(
                    x=[step for step, _ in stops], y=[y for _, y in stops], mode="markers",
                    legendgroup=method, name=f"{label}: seed went non-finite", showlegend=False,
                    marker=dict(symbol="x-thin", size=[8 + 3 * len(s) for s in stops.values()],
                                color=colour, line=dict(width=2, color=colour)),
                    text=[f"seed{'s' if len(s) > 1 else ''} {', '.join(map(str, s))}: first "
                          f"non-finite value at step {step}"
                          for (step, _), s in stops.items()],
                    hovertemplate="%{text}<extra>" + label + "</extra>"))
        lo, hi = _crowd_band(results, task)
        return zoom_panel(fig, [lo, hi], f"zoom: {lo:.0%}–{hi:.0%}")
    return build


def _crowd_band(results: Results, task: str) -> tuple[float, float]:
    """The accuracy band the methods that learn crowd into over the second half of training
    (those ending within 15 points of the best), with a little room, for the zoomed panel."""
    finals = {m: need(results, f"{task}-{m}")["final_accuracy"]["mean"] for m in METHODS}
    best = max(v for v in finals.values() if v is not None)
    values = []
    for method, final in finals.items():
        if final is None or final < best - 0.15:
            continue
        acc = need(results, f"{task}-{method}")["accuracy"]
        half = len(acc["mean"]) // 2
        values += [v for v in acc["mean"][half:] + [final] if v is not None]
    lo = max(0.0, math.floor((min(values) - ZOOM_STEP) / ZOOM_STEP) * ZOOM_STEP)
    hi = min(1.0, math.ceil((max(values) + ZOOM_STEP / 2) / ZOOM_STEP) * ZOOM_STEP)
    return round(lo, 4), round(hi, 4)


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
                line=dict(color=METHOD_COLOURS[method], width=2, dash=METHOD_DASHES[method]),
                hovertemplate="step %{x}: %{y:.3g}<extra>" + label + "</extra>"))
        return fig
    return build


def _action_names(task: str, n_actions: int) -> list[str]:
    if task == "binary" and n_actions == 2:
        return ["action 0 (says < 5)", "action 1 (says ≥ 5)"]
    return [f"action {k} (says {k})" for k in range(n_actions)]


def _top_share(per_seed: list, steps: int) -> tuple[list, list]:
    """Each seed's final most common action, and the share of held-out digits it got at each
    step (None where the seed was dead)."""
    tops, series = [], []
    for rows in per_seed:
        last = next((r for r in reversed(rows) if r and None not in r), None)
        top = max(range(len(last)), key=last.__getitem__) if last else None
        tops.append(top)
        series.append([r[top] if top is not None and r and r[top] is not None else None
                       for r in rows[:steps]])
    return tops, series


def _collapse(task: str) -> Callable[[Results], go.Figure]:
    """Every seed of vanilla PG on random actions (stable log-probability): the share of
    held-out digits given its final most common action, over training (seeds that settle on
    different actions would blur into a mix if averaged); supervised learning's mean
    most-common share as the reference."""
    def build(results: Results) -> go.Figure:
        payload = need(results, f"{task}-pg_random_stable")
        steps = payload["steps"]
        names = _action_names(task, payload["n_actions"])
        fig = base_figure(xaxis=dict(title=dict(text="training step")),
                          yaxis=dict(title=dict(text="share of held-out digits given the "
                                                     "seed's most common action"),
                                     tickformat=".0%", range=[0, 1.02]))
        shares = payload["action_share"]
        per_seed = shares.get("per_seed")   # optional in the schema: else the mean's line
        seeds = payload["seeds"] if per_seed else ["mean over seeds"]
        tops, series = _top_share(per_seed or [shares["mean"]], len(steps))
        label = "vanilla PG, random actions: one line per seed"
        colour = METHOD_COLOURS["pg_random_stable"]
        # the legend's entry for all the seeds' lines (each line has its own name, for the data)
        fig.add_trace(go.Scatter(x=[], y=[], mode="lines", name=label, legendgroup="seeds",
                                 line=dict(color=colour, width=1.2), meta={"role": "legend"}))
        for seed, top, ys in zip(seeds, tops, series):
            answer = names[top] if top is not None else "no action"
            name = f"seed {seed}, {answer}" if per_seed else f"{seed}, {answer}"
            fig.add_trace(go.Scatter(
                x=steps, y=ys, mode="lines", name=name, legendgroup="seeds", showlegend=False,
                line=dict(color=colour, width=1.2),
                hovertemplate="step %{x}: %{y:.1%}<extra>" + name + "</extra>"))
        sup = need(results, f"{task}-supervised")["action_share"]["mean"]
        ref = [max(row) if row and None not in row else None for row in sup]
        name = "supervised: its most common action (shares averaged over seeds)"
        fig.add_trace(go.Scatter(
            x=steps, y=ref, mode="lines", name=name,
            line=dict(color=METHOD_COLOURS["supervised"], width=2, dash="dot"),
            hovertemplate="step %{x}: %{y:.1%}<extra>supervised</extra>"))
        return fig
    return build


def _grid(results: Results, grid_id: str) -> dict:
    grid = need(results, "gradients").get("grids", {}).get(grid_id)
    if grid is None:
        raise MissingResult(f"gradients (grid {grid_id!r})")
    return grid


# Starting cameras: each puts the corners its text argues from in front, the extreme logit's
# edge facing the reader with both marks and their labels in view. PG, a = 1: the
# logit -> -inf edge, where the gradient stays at -r (r > 0 near -1, r < 0 near +1); a = 0
# mirrors it at +inf. Named views: from above (a map of the sign), and each extreme logit's
# edge seen face-on (the gradient against the reward there).
EYE_MINUS_INF = dict(eye=dict(x=-2.0, y=-1.2, z=0.55))
EYE_PLUS_INF = dict(eye=dict(x=1.2, y=-1.9, z=0.8))
VIEW_ABOVE = {"name": "From above", "camera": dict(eye=dict(x=0, y=-0.01, z=2.4),
                                                   up=dict(x=0, y=1, z=0))}
VIEW_MINUS_INF = {"name": "Edge at logit −8", "camera": dict(eye=dict(x=-2.4, y=0, z=0.35))}
VIEW_PLUS_INF = {"name": "Edge at logit +8", "camera": dict(eye=dict(x=2.4, y=0, z=0.35))}
VIEW_R_MINUS = {"name": "Edge at r = −1", "camera": dict(eye=dict(x=0, y=-2.4, z=0.35))}
SURFACES = {  # grid id: (camera, views, marks as (x, y, label))
    "bce": (dict(eye=dict(x=1.5, y=-1.7, z=0.95)), [VIEW_ABOVE, VIEW_MINUS_INF, VIEW_PLUS_INF],
            []),
    "pg_a1": (EYE_MINUS_INF, [VIEW_ABOVE, VIEW_MINUS_INF, VIEW_R_MINUS],
              [(-8, -1, "r = −1: still pushing at x = −8"), (-8, 1, "r = +1")]),
    "pg_a0": (EYE_PLUS_INF, [VIEW_ABOVE, VIEW_PLUS_INF, VIEW_R_MINUS],
              [(8, -1, "false negative at x = +8")]),
    "is_a1": (EYE_MINUS_INF, [VIEW_ABOVE, VIEW_MINUS_INF, VIEW_R_MINUS], []),
    "is_a0": (EYE_PLUS_INF, [VIEW_ABOVE, VIEW_PLUS_INF, VIEW_R_MINUS],
              [(8, -1, "false negative at x = +8")]),
}


def _surface(grid_id: str) -> Callable[[Results], go.Figure]:
    def build(results: Results) -> go.Figure:
        grid = _grid(results, grid_id)
        camera, views, marks = SURFACES[grid_id]
        x_lo, x_hi = min(grid["x"]), max(grid["x"])
        named = [dict(v, name=v["name"].replace("−8", f"{x_lo:g}".replace("-", "−"))
                      .replace("+8", f"+{x_hi:g}")) for v in views]
        placed = [{"x": min(max(x, x_lo), x_hi), "y": y,
                   "label": label.replace("−8", f"{x_lo:g}".replace("-", "−"))
                   .replace("+8", f"+{x_hi:g}")} for x, y, label in marks]
        return surface_figure(grid, grid.get("title", grid_id), camera, named, placed)
    return build


# One panel per gradient (small multiples: the policy gradient at r = +1 would otherwise hide
# under the cross-entropy line it equals): (grid, rows drawn as lines: the y values nearest
# these, colour, the panel's title)
SLICE_GRIDS = [("ce_label", [1.0, 0.5, 0.0], "#8c8c8c", "cross-entropy: label's logit"),
               ("pg_cat_sampled", [1.0, 0.5, -0.5, -1.0], "#E69F00", "PG: sampled action"),
               ("pg_cat_other", [1.0, 0.5, -0.5, -1.0], "#0072B2", "PG: another action")]
SLICE_DASHES = ["solid", "dash", "dot", "dashdot"]
SLICE_DOMAINS = [[0.72, 1.0], [0.36, 0.64], [0.0, 0.28]]


@figure("slices-categorical")
def slices_categorical(results: Results) -> go.Figure:
    """Categorical slices as lines, one panel each: cross-entropy at a few label weights, and
    the policy gradient for the sampled and for another action at a few rewards."""
    fig = base_figure()
    for n, (grid_id, wanted, colour, title) in enumerate(SLICE_GRIDS):
        grid = _grid(results, grid_id)
        rows = sorted({min(range(len(grid["y"])), key=lambda i: abs(grid["y"][i] - target))
                       for target in wanted}, key=lambda i: -grid["y"][i])
        signed = "+g" if min(grid["y"]) < 0 else "g"
        suffix = "" if n == 0 else str(n + 1)
        symbol = str(grid.get("y_label", "y")).split()[-1]   # "reward r" -> "r"
        for k, j in enumerate(rows):
            value = f"{grid['y'][j]:{signed}}".replace("-", "−")
            name = f"{title.split(':')[0]}, {symbol} = {value}"
            fig.add_trace(go.Scatter(
                x=grid["x"], y=grid["z"][j], mode="lines", name=name, legendgroup=grid_id,
                xaxis=f"x{suffix}", yaxis=f"y{suffix}",
                line=dict(color=colour, width=2, dash=SLICE_DASHES[k % len(SLICE_DASHES)]),
                hovertemplate="%{x:.2f}: %{y:.3g}<extra>" + name + "</extra>"))
        last = n == len(SLICE_GRIDS) - 1
        x_title = "the logit that varies (all others are 0)" if last else None
        fig.update_layout({
            f"xaxis{suffix}": dict(title=dict(text=x_title), anchor=f"y{suffix}",
                                   **({"matches": "x"} if n else {})),
            f"yaxis{suffix}": dict(title=dict(text=title), domain=SLICE_DOMAINS[n],
                                   anchor=f"x{suffix}")})
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


# Every figure the article can place (the build fails on a figure defined and not listed here).
FIGURES = [slices_categorical, curves_binary, curves_categorical, logits_binary,
           logits_categorical, collapse_binary, collapse_categorical, surface_bce, surface_pg_a1,
           surface_pg_a0, surface_is_a1, surface_is_a0, *science_figures.FIGURES,
           second_round_figures.critic_actor, second_round_figures.reuse,
           second_round_figures.optimizer, second_round_figures.reward_sign_binary,
           second_round_figures.reward_sign_categorical, second_round_figures.dial_sgd]
