"""Figures of the article's deeper sections: the cliff on a log-eps dial, per-seed outcomes of
categorical on-policy PG, the bias control, the estimator measurements and PPO's clip width.
figures.py imports them, which registers them."""
from __future__ import annotations

import math
from collections.abc import Callable

import plotly.graph_objects as go

from onpolicy.render.figkit import Results, band, base_figure, figure, need, zoom_panel

from .science_facts import (CLIP_ROWS, LOGIT_FAIL, STALE_LAGS, STALE_METHODS, dropped_digits,
                            fail_step)

from .style import ACCURACY_TITLE as ACCURACY
from .style import DIAL_LABELS, ESTIMATOR_LABELS, METHOD_COLOURS

TASK_DASH = {"binary": "solid", "categorical": "dash"}
EPS_AXIS = dict(title=dict(text="ε: share of uniform actions in the behaviour policy "
                                "(log scale)"), type="log")
ZOOM_STEP = 0.005   # the dial's zoomed band: edges on multiples of this
# marker shapes per estimator, so that no two differ by colour alone
ESTIMATOR_SYMBOLS = {"pg_onpolicy": "circle", "pg_offpolicy": "x", "is": "square",
                     "ppo": "cross", "expected": "circle-open"}


def _dial_name(task: str, method: str) -> str:
    return f"dial-{method}" if task == "binary" else f"dial-{task}-{method}"


def _cliff(task: str) -> Callable[[Results], go.Figure]:
    """Final accuracy against eps > 0 on a log axis, a tick at every eps of the grid; eps = 0
    (on-policy) as a dotted level; a zoomed panel gives the methods that hold their own scale."""
    def build(results: Results) -> go.Figure:
        grid = sorted(e for e in need(results, _dial_name(task, "pg"))["eps"] if e > 0)
        ticks = [e for e in grid if e <= 0.5 * grid[-1]] + grid[-1:]   # room for both ends
        fig = base_figure(xaxis=dict(EPS_AXIS, tickvals=ticks),
                          yaxis=dict(title=dict(text=f"final {ACCURACY}"), tickformat=".0%",
                                     range=[0, 1.02]))
        held: list[float] = []   # what the zoomed panel must show: the methods that hold
        for method, (label, colour, dash) in DIAL_LABELS.items():
            payload = need(results, _dial_name(task, method))
            eps, final = payload["eps"], payload["final_accuracy"]
            keep = [i for i, e in enumerate(eps) if e > 0]
            pick = lambda values: [values[i] for i in keep]  # noqa: E731
            band(fig, pick(eps), pick(final["lo"]), pick(final["hi"]), colour, method, label)
            fig.add_trace(go.Scatter(
                x=pick(eps), y=pick(final["mean"]), mode="lines+markers", name=label,
                legendgroup=method, line=dict(color=colour, width=2, dash=dash),
                marker=dict(size=7),
                hovertemplate="ε = %{x}: %{y:.1%}<extra>" + label + "</extra>"))
            if 0.0 in eps:
                on = final["mean"][eps.index(0.0)]
                fig.add_trace(go.Scatter(
                    x=[min(pick(eps)), max(pick(eps))], y=[on, on], mode="lines",
                    name=f"{label}, on-policy (ε = 0)", legendgroup=method,
                    line=dict(color=colour, width=1, dash="dot"),
                    hovertemplate="ε = 0: %{y:.1%}<extra>" + label + "</extra>"))
                held.append(on)
            if method != "pg":
                held += [v for v in pick(final["lo"]) + pick(final["hi"]) if v is not None]
        lo = math.floor((min(held) - ZOOM_STEP) / ZOOM_STEP) * ZOOM_STEP
        hi = min(1.0, math.ceil((max(held) + ZOOM_STEP) / ZOOM_STEP) * ZOOM_STEP)
        fig = zoom_panel(fig, [round(lo, 4), round(hi, 4)],
                         f"zoom: {lo:.1%}–{hi:.1%}".replace(".0%", "%"))
        fig.update_layout(yaxis2=dict(tickformat=".1%"))
        return fig
    return build


@figure("cliff-time")
def cliff_time(results: Results) -> go.Figure:
    """Vanilla PG: the median step at which the largest logit passes LOGIT_FAIL, per eps."""
    fig = base_figure(xaxis=EPS_AXIS, yaxis=dict(title=dict(
        text=f"step at which the largest |logit| passes {LOGIT_FAIL:,.0f} (median over seeds)")))
    for task in ("binary", "categorical"):
        payload = need(results, _dial_name(task, "pg"))
        xs, ys = [], []
        for e, run in zip(payload["eps"], payload["runs"]):
            steps = sorted(s for s in (fail_step(run["steps"], series, nf) for series, nf in zip(
                run["logit_abs_max"]["per_seed"], run["first_nonfinite_step"])) if s is not None)
            if e > 0 and 2 * len(steps) >= len(run["seeds"]):
                xs.append(e)
                ys.append(steps[len(steps) // 2] if len(steps) % 2 else
                          (steps[len(steps) // 2 - 1] + steps[len(steps) // 2]) / 2)
        name = f"vanilla PG, {task} task"
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=name,
                                 line=dict(color=METHOD_COLOURS["pg_random_stable"], width=2,
                                           dash=TASK_DASH[task]),
                                 hovertemplate="ε = %{x}: step %{y}<extra>" + name + "</extra>"))
    return fig


@figure("seeds-categorical")
def seeds_categorical(results: Results) -> go.Figure:
    """Every seed's accuracy curve, categorical on-policy PG and the log-barrier remedy; seeds
    that end up never choosing some digit are drawn in red."""
    fig = base_figure(xaxis=dict(title=dict(text="training step")),
                      yaxis=dict(title=dict(text=ACCURACY), tickformat=".0%",
                                 range=[0, 1.02]))
    for row, label, width in (("categorical-pg_onpolicy", "vanilla PG, on-policy", 1.5),
                              ("categorical-pg_onpolicy_barrier", "with a log barrier", 1.0)):
        payload = need(results, row)
        dropped = dropped_digits(payload)
        shown = set()
        for seed, series, lost in zip(payload["seeds"], payload["accuracy"]["per_seed"], dropped):
            kind = f"{label}: seed dropped digit(s)" if lost else f"{label}: seed kept all ten"
            colour = "#D55E00" if lost else ("#009E73" if "barrier" not in row else "#56B4E9")
            fig.add_trace(go.Scatter(
                x=payload["steps"], y=series, mode="lines", name=kind, legendgroup=kind,
                showlegend=kind not in shown,
                line=dict(color=colour, width=width, dash="dot" if "barrier" in row else None),
                hovertemplate=(f"seed {seed}" + (f", never outputs {lost}" if lost else "")
                               + ": step %{x}, %{y:.1%}<extra>" + label + "</extra>")))
            shown.add(kind)
    return fig


DROP_METHODS = [("pg_onpolicy", "vanilla PG, on-policy"), ("pg_onpolicy_entropy", "+ entropy bonus"),
                ("pg_onpolicy_barrier", "+ log barrier"), ("is_random", "importance-weighted PG, random actions"),
                ("ppo_random", "PPO, random actions"), ("supervised", "supervised")]


@figure("dropped-categorical")
def dropped_categorical(results: Results) -> go.Figure:
    """Each seed's final accuracy as a dot per method; orange when it dropped a digit."""
    fig = base_figure(xaxis=dict(title=dict(text="method (categorical task)")),
                      yaxis=dict(title=dict(text=f"final {ACCURACY}, one dot per seed"),
                                 tickformat=".0%"))
    for lost_kind, colour in ((False, "#009E73"), (True, "#D55E00")):
        xs, ys, text = [], [], []
        for method, label in DROP_METHODS:
            payload = need(results, f"categorical-{method}")
            for seed, acc, lost in zip(payload["seeds"], payload["final_accuracy"]["per_seed"],
                                       dropped_digits(payload)):
                if bool(lost) == lost_kind and acc is not None:
                    xs.append(label)
                    ys.append(acc)
                    text.append(f"seed {seed}" + (f", never outputs {lost}" if lost else ""))
        name = "seed that dropped a digit" if lost_kind else "seed that kept all ten digits"
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="markers", name=name, text=text,
                                 marker=dict(color=colour, size=7, opacity=0.75),
                                 hovertemplate="%{text}: %{y:.1%}<extra>%{x}</extra>"))
    return fig


@figure("bias-control")
def bias_control(results: Results) -> go.Figure:
    """Sampled vanilla PG on uniform actions against its exact expectation (no sampling)."""
    fig = base_figure(xaxis=dict(title=dict(text="training step")),
                      yaxis=dict(title=dict(text=ACCURACY), tickformat=".0%",
                                 range=[0, 1.02]))
    for task in ("binary", "categorical"):
        for method, label, colour in (
                ("pg_random_stable", "vanilla PG, random actions (sampled)",
                 METHOD_COLOURS["pg_random_stable"]),
                ("pg_expected", "its exact expectation over actions (no sampling)", "#0072B2"),
                ("pg_onpolicy", "vanilla PG, on-policy (reference)", METHOD_COLOURS["pg_onpolicy"])):
            payload = need(results, f"{task}-{method}")
            name = f"{label}, {task}"
            acc = payload["accuracy"]
            band(fig, payload["steps"], acc["lo"], acc["hi"], colour, name, name)
            fig.add_trace(go.Scatter(
                x=payload["steps"], y=acc["mean"], mode="lines", name=name, legendgroup=name,
                line=dict(color=colour, width=2, dash=TASK_DASH[task]),
                hovertemplate="step %{x}: %{y:.1%}<extra>" + name + "</extra>"))
    return fig


def _estimators(metric: str, title: str, log: bool) -> Callable[[Results], go.Figure]:
    """One line per estimator and task over the checkpoints, which are categories (they are
    spread over three decades, 0 among them); cos_mean adds the exact expectation's cosine."""
    def build(results: Results) -> go.Figure:
        fig = base_figure(xaxis=dict(title=dict(text="training step of the on-policy vanilla PG "
                                                     "run the gradients are taken at")),
                          yaxis=dict(title=dict(text=title), type="log" if log else None))
        for task in ("binary", "categorical"):
            payload = need(results, f"estimators-{task}")
            steps = [f"{c:,}" for c in payload["checkpoints"]]
            series = [(name, label, colour, payload["estimators"][name][metric]["mean"])
                      for name, (label, colour) in ESTIMATOR_LABELS.items()]
            if metric == "cos_mean" and "offpolicy_expected_cos" in payload:
                series.append(("expected", "vanilla PG, random actions: exact expectation",
                               "#E69F00", payload["offpolicy_expected_cos"]["mean"]))
            for name, label, colour, values in series:
                trace = f"{label}, {task}"
                fig.add_trace(go.Scatter(
                    x=steps, y=values, mode="lines+markers", name=trace,
                    line=dict(color=colour, width=1.5 if name == "expected" else 2,
                              dash="dot" if name == "expected" else TASK_DASH[task]),
                    marker=dict(symbol=ESTIMATOR_SYMBOLS[name], size=8,
                                line=dict(color=colour, width=2)),
                    hovertemplate="step %{x}: %{y:.3g}<extra>" + trace + "</extra>"))
        return fig
    return build


@figure("ppo-clip")
def ppo_clip(results: Results) -> go.Figure:
    """Final accuracy against PPO's clip width on uniform actions; no clip = importance
    weights, drawn as a dotted level."""
    fig = base_figure(xaxis=dict(title=dict(text="clip width δ (log scale)"), type="log"),
                      yaxis=dict(title=dict(text=f"final {ACCURACY}"), tickformat=".0%"))
    for task in ("binary", "categorical"):
        widths = sorted(CLIP_ROWS)
        finals = [need(results, f"{task}-{CLIP_ROWS[w]}")["final_accuracy"] for w in widths]
        name = f"PPO, {task}"
        band(fig, widths, [f["lo"] for f in finals], [f["hi"] for f in finals],
             METHOD_COLOURS["ppo_random"],
             name, name)
        fig.add_trace(go.Scatter(x=widths, y=[f["mean"] for f in finals], mode="lines+markers",
                                 name=name, legendgroup=name,
                                 line=dict(color=METHOD_COLOURS["ppo_random"], width=2,
                                           dash=TASK_DASH[task]),
                                 hovertemplate="clip %{x}: %{y:.1%}<extra>" + name + "</extra>"))
        is_final = need(results, f"{task}-is_random")["final_accuracy"]["mean"]
        fig.add_trace(go.Scatter(x=[widths[0], widths[-1]], y=[is_final, is_final],
                                 mode="lines", name=f"no clip (importance-weighted PG), {task}",
                                 line=dict(color=METHOD_COLOURS["is_random"], width=1.5,
                                           dash="dot" if task == "binary" else "dashdot"),
                                 hovertemplate="%{y:.1%}<extra>no clip</extra>"))
    return fig


@figure("stale")
def stale(results: Results) -> go.Figure:
    """Final accuracy against the behaviour's staleness k (a snapshot refreshed every k
    updates), per method, one panel per task (binary above, categorical below, sharing the k
    axis); on-policy PG (k = 0) as a dotted level. One legend button per method shows or hides
    it in both panels."""
    x_title = "k: the behaviour policy is the policy's own snapshot, refreshed every k updates " \
              "(log scale)"
    fig = base_figure(
        xaxis=dict(type="log", anchor="y", title=dict(text=None), tickvals=list(STALE_LAGS)),
        yaxis=dict(title=dict(text=f"binary: final {ACCURACY}"), tickformat=".0%",
                   domain=[0.56, 1.0]),
        xaxis2=dict(type="log", matches="x", anchor="y2", title=dict(text=x_title),
                    tickvals=list(STALE_LAGS)),
        yaxis2=dict(title=dict(text=f"categorical: final {ACCURACY}"), tickformat=".0%",
                    domain=[0.0, 0.44], anchor="x2"))
    on_label = "vanilla PG, on-policy (k = 0)"
    legend = [(m, *DIAL_LABELS[m]) for m in STALE_METHODS]
    legend.append(("onpolicy", on_label, METHOD_COLOURS["pg_onpolicy"], "dot"))
    for group, label, colour, dash in legend:  # the buttons; the lines carry task-named names
        fig.add_trace(go.Scatter(x=[], y=[], mode="lines+markers" if group != "onpolicy"
                                 else "lines", name=label, legendgroup=group,
                                 line=dict(color=colour, width=2, dash=dash),
                                 meta={"role": "legend"}))
    for task, (xa, ya) in (("binary", ("x", "y")), ("categorical", ("x2", "y2"))):
        for method in STALE_METHODS:
            label, colour, dash = DIAL_LABELS[method]
            name = f"{label}, {task}"
            finals = [need(results, f"{task}-{method}_lag{k}")["final_accuracy"]
                      for k in STALE_LAGS]
            before = len(fig.data)
            band(fig, list(STALE_LAGS), [f["lo"] for f in finals], [f["hi"] for f in finals],
                 colour, method, name)
            fig.add_trace(go.Scatter(
                x=list(STALE_LAGS), y=[f["mean"] for f in finals], mode="lines+markers",
                name=name, legendgroup=method, showlegend=False, marker=dict(size=7),
                line=dict(color=colour, width=2, dash=dash),
                hovertemplate="k = %{x}: %{y:.1%}<extra>" + name + "</extra>"))
            for trace in fig.data[before:]:
                trace.update(xaxis=xa, yaxis=ya)
        on = need(results, f"{task}-pg_onpolicy")["final_accuracy"]["mean"]
        fig.add_trace(go.Scatter(x=[STALE_LAGS[0], STALE_LAGS[-1]], y=[on, on], mode="lines",
                                 name=f"{on_label}, {task}", legendgroup="onpolicy",
                                 showlegend=False, xaxis=xa, yaxis=ya,
                                 line=dict(color=METHOD_COLOURS["pg_onpolicy"], width=1.5,
                                           dash="dot"),
                                 hovertemplate="%{y:.1%}<extra>on-policy</extra>"))
    return fig


dial = figure("dial")(_cliff("binary"))
dial_categorical = figure("dial-categorical")(_cliff("categorical"))
estimators_cos = figure("estimators-cos")(_estimators(
    "cos_mean", "cosine between the average step and the exact ∇J", False))
estimators_variance = figure("estimators-variance")(_estimators(
    "rel_variance", "minibatch gradient variance / |∇J|² (log scale)", True))

FIGURES = [dial, dial_categorical, cliff_time, seeds_categorical, dropped_categorical,
           bias_control, estimators_cos, estimators_variance, ppo_clip, stale]
