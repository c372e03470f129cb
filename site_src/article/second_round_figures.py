"""Figures of the second round: the reward's sign, a critic + actor from uniform actions, one
minibatch reused for K updates, and the optimiser and the long run at the smallest eps.
figures.py imports them, which registers them. The y axis of the training curves is the
policy's expected reward E_{a~pi}[1{a = y}] (how often the stochastic policy itself acts right),
the number greedy accuracy can hide."""
from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go

from onpolicy.render.figkit import Results, band, base_figure, figure, need

from .science_facts import fail_step
from .second_round_facts import SIGN_ROWS

EXPECTED = "expected reward: the policy's chance of acting right"
TASK_DASH = {"binary": "solid", "categorical": "dash"}
# label -> (legend text, colour, dash): orange on uniform actions, green on-policy, and a line
# style of its own for every run, so that no two runs differ by colour alone
SIGN_STYLE = {
    "off_pm1": ("rewards ±1, uniform actions", "#E69F00", "solid"),
    "off_01": ("rewards {0, 1}, uniform actions", "#E69F00", "dash"),
    "off_01_baseline": ("rewards {0, 1} − minibatch mean, uniform actions", "#E69F00", "dot"),
    "on_pm1": ("rewards ±1, on-policy", "#009E73", "longdash"),
    "on_01": ("rewards {0, 1}, on-policy", "#009E73", "dashdot"),
    "on_01_baseline": ("rewards {0, 1} − minibatch mean, on-policy", "#009E73",
                       "longdashdot"),
}
# a colour and a line style per method; the task is the line's width (binary thick)
CRITIC_STYLE = {
    "critic_actor_random": ("critic + actor, uniform actions", "#009E73", "solid"),
    "pg_random_stable": ("vanilla PG, uniform actions", "#E69F00", "dot"),
    "ppo_random": ("PPO, uniform actions", "#D55E00", "longdash"),
    "pg_onpolicy": ("vanilla PG, on-policy", "#8c8c8c", "dashdot"),
}
TASK_WIDTH = {"binary": 2.5, "categorical": 1.2}
REUSE_STYLE = {"pg": ("vanilla PG", "#E69F00"), "ppo": ("PPO", "#D55E00"),
               "is": ("importance-weighted PG", "#0072B2")}


def _expected_curve(fig: go.Figure, payload: dict, name: str, colour: str, dash: str,
                    width: float = 2) -> None:
    stat = payload["expected_reward"]
    band(fig, payload["steps"], stat["lo"], stat["hi"], colour, name, name)
    fig.add_trace(go.Scatter(x=payload["steps"], y=stat["mean"], mode="lines", name=name,
                             legendgroup=name, line=dict(color=colour, width=width, dash=dash),
                             hovertemplate="step %{x}: %{y:.1%}<extra>" + name + "</extra>"))


def _curves_figure() -> go.Figure:
    return base_figure(xaxis=dict(title=dict(text="training step")),
                       yaxis=dict(title=dict(text=EXPECTED), tickformat=".0%", range=[0, 1.02]))


def _sign(task: str) -> Callable[[Results], go.Figure]:
    def build(results: Results) -> go.Figure:
        fig = _curves_figure()
        for label, method in SIGN_ROWS.items():
            text, colour, dash = SIGN_STYLE[label]
            _expected_curve(fig, need(results, f"{task}-{method}"), text, colour, dash)
        return fig
    return build


@figure("critic-actor")
def critic_actor(results: Results) -> go.Figure:
    fig = _curves_figure()
    for task in ("binary", "categorical"):
        for method, (text, colour, dash) in CRITIC_STYLE.items():
            _expected_curve(fig, need(results, f"{task}-{method}"), f"{text}, {task}", colour,
                            dash, TASK_WIDTH[task])
    return fig


@figure("reuse")
def reuse(results: Results) -> go.Figure:
    """Final greedy accuracy against K, the updates taken on each collected minibatch; K = 1
    is the dial's on-policy run (fresh data at every update)."""
    fig = base_figure(xaxis=dict(title=dict(text="K: updates on each collected minibatch "
                                                 "(log scale)"), type="log"),
                      yaxis=dict(title=dict(text="final greedy accuracy"), tickformat=".0%"))
    for task in ("binary", "categorical"):
        dial = (lambda m: need(results, f"dial-{m}" if task == "binary"
                               else f"dial-{task}-{m}"))
        ks = sorted({int(n.rsplit("reuse", 1)[1]) for n in results
                     if n.startswith(f"{task}-pg_reuse")})
        for method, (text, colour) in REUSE_STYLE.items():
            d = dial(method)
            runs = [d["runs"][d["eps"].index(0.0)]] + [need(results, f"{task}-{method}_reuse{k}")
                                                       for k in ks]
            finals = [r["final_accuracy"] for r in runs]
            name = f"{text}, {task}"
            band(fig, [1] + ks, [f["lo"] for f in finals], [f["hi"] for f in finals], colour,
                 name, name)
            fig.add_trace(go.Scatter(
                x=[1] + ks, y=[f["mean"] for f in finals], mode="lines+markers", name=name,
                legendgroup=name, marker=dict(size=7),
                line=dict(color=colour, width=2, dash=TASK_DASH[task]),
                hovertemplate="K = %{x}: %{y:.1%}<extra>" + name + "</extra>"))
    return fig


OPTIMIZER_ROWS = {
    "pg_random_stable": ("Adam, uniform actions", "#E69F00", "solid"),
    "pg_random_sgd": ("plain SGD, uniform actions", "#E69F00", "dot"),
    "pg_onpolicy": ("Adam, on-policy", "#009E73", "dash"),
    "pg_onpolicy_sgd": ("plain SGD, on-policy", "#009E73", "dashdot"),
    "pg_eps0002_long": ("Adam, ε = 0.002, four times longer", "#0072B2", "longdash"),
}


@figure("optimizer")
def optimizer(results: Results) -> go.Figure:
    """Largest |logit| on the eval set over training, binary task: vanilla PG under Adam and
    plain SGD, off- and on-policy, and the long run at the dial's smallest eps."""
    fig = base_figure(xaxis=dict(title=dict(text="training step")),
                      yaxis=dict(title=dict(text="max |logit| on the eval set (log scale)"),
                                 type="log", exponentformat="power"))
    for method, (text, colour, dash) in OPTIMIZER_ROWS.items():
        payload = need(results, f"binary-{method}")
        fig.add_trace(go.Scatter(
            x=payload["steps"], y=payload["logit_abs_max"]["mean"], mode="lines", name=text,
            line=dict(color=colour, width=2, dash=dash),
            hovertemplate="step %{x}: %{y:.3g}<extra>" + text + "</extra>"))
    return fig


reward_sign_binary = figure("reward-sign-binary")(_sign("binary"))
reward_sign_categorical = figure("reward-sign-categorical")(_sign("categorical"))


# the dial under Adam and under plain SGD (vanilla PG, binary): row -> (legend text, colour, dash)
SGD_DIAL_ROWS = {"dial-pg": ("vanilla PG, Adam", "#E69F00", "solid"),
                 "dial-pg_sgd": ("vanilla PG, plain SGD", "#CC79A7", "dash")}
# where the two coincide (the runaway panel), SGD's squares, drawn over Adam's circles, let
# both show: the line's gaps show Adam's
SGD_DIAL_MARKERS = {"dial-pg": ("circle", 7), "dial-pg_sgd": ("square", 8)}


@figure("dial-sgd")
def dial_sgd(results: Results) -> go.Figure:
    """The binary dial for vanilla PG under Adam and under plain SGD: final greedy accuracy
    against eps > 0 (the eps = 0 runs as dotted levels) above, and below the share of seeds
    that ran away (largest |logit| past LOGIT_FAIL, or non-finite) at each eps."""
    grid = sorted(e for e in need(results, "dial-pg")["eps"] if e > 0)
    ticks = [e for e in grid if e <= 0.5 * grid[-1]] + grid[-1:]
    eps_title = "ε: share of uniform actions in the behaviour policy (log scale)"
    fig = base_figure(
        xaxis=dict(type="log", tickvals=ticks, anchor="y", title=dict(text=None)),
        yaxis=dict(title=dict(text="final greedy accuracy"), tickformat=".0%",
                   domain=[0.42, 1.0]),
        xaxis2=dict(type="log", tickvals=ticks, matches="x", anchor="y2",
                    title=dict(text=eps_title)),
        yaxis2=dict(title=dict(text="seeds that ran away"), tickformat=".0%", range=[0, 1.05],
                    domain=[0.0, 0.3], anchor="x2"))
    shares = []
    for row, (text, colour, dash) in SGD_DIAL_ROWS.items():
        payload = need(results, row)
        keep = [i for i, e in enumerate(payload["eps"]) if e > 0]
        eps = [payload["eps"][i] for i in keep]
        final = payload["final_accuracy"]
        band(fig, eps, [final["lo"][i] for i in keep], [final["hi"][i] for i in keep], colour,
             text, text)
        fig.add_trace(go.Scatter(
            x=eps, y=[final["mean"][i] for i in keep], mode="lines+markers", name=text,
            legendgroup=text, marker=dict(size=SGD_DIAL_MARKERS[row][1],
                                          symbol=SGD_DIAL_MARKERS[row][0]),
            line=dict(color=colour, width=2, dash=dash),
            hovertemplate="ε = %{x}: %{y:.1%}<extra>" + text + "</extra>"))
        if 0.0 in payload["eps"]:
            on = final["mean"][payload["eps"].index(0.0)]
            fig.add_trace(go.Scatter(
                x=[eps[0], eps[-1]], y=[on, on], mode="lines", name=f"{text}, on-policy (ε = 0)",
                legendgroup=text, line=dict(color=colour, width=1, dash="dot"),
                hovertemplate="ε = 0: %{y:.1%}<extra>" + text + "</extra>"))
        runs = [payload["runs"][i] for i in keep]
        share = [sum(fail_step(r["steps"], s, nf) is not None for s, nf in
                     zip(r["logit_abs_max"]["per_seed"], r["first_nonfinite_step"]))
                 / len(r["seeds"]) for r in runs]
        symbol, size = SGD_DIAL_MARKERS[row]
        shares.append(go.Scatter(
            x=eps, y=share, mode="lines+markers", name=f"{text}: seeds that ran away",
            legendgroup=text, showlegend=False, xaxis="x2", yaxis="y2",
            marker=dict(size=size, symbol=symbol), line=dict(color=colour, width=2, dash=dash),
            hovertemplate="ε = %{x}: %{y:.0%} of seeds<extra>" + text + "</extra>"))
    for trace in reversed(shares):   # the first trace is drawn on top: SGD's
        fig.add_trace(trace)
    return fig
