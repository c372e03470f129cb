"""What an article's figures.py imports: the @figure decorator, need(), and the Plotly helpers
every article shares (base layout, 95% bands, surfaces, the palette).

    from onpolicy.render.figkit import figure, need, base_figure, band

    @figure("accuracy")                       # the id pages use: {{ chart("accuracy", ...) }}
    def accuracy(results):                    # experiment name -> result payload
        payload = need(results, "my-row")     # MissingResult if it was not loaded
        fig = base_figure(yaxis=dict(title=dict(text="accuracy")))
        ...
        return fig

Only scatter, scatter3d and surface traces: the site ships plotly.js's gl3d partial bundle.
Layouts stay minimal; the page's JavaScript applies light/dark colours from CSS variables.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import plotly.graph_objects as go

Results = Mapping[str, dict]  # experiment name -> result payload
FigureBuilder = Callable[[Results], go.Figure]
FIGURE_ID = "figure_id"       # the attribute @figure sets; the engine collects these
BAND = {"role": "band"}       # trace meta: a confidence band edge (not summarised in data tables)
# Okabe-Ito hues and a few more (colour-blind safe), readable on light and dark backgrounds
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#999999", "#8C564B", "#17BECF"]


def figure(figure_id: str) -> Callable[[FigureBuilder], FigureBuilder]:
    """Register a function results -> plotly Figure under an id, unique across the site.
    Also works on a builder made by a factory: `curves = figure("curves")(make_curves(...))`."""
    def register(build: FigureBuilder) -> FigureBuilder:
        setattr(build, FIGURE_ID, figure_id)
        return build
    return register


class MissingResult(KeyError):
    """A figure needs a result that was not loaded."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


class ResultsUsed(Mapping):
    """Results, recording which ones a figure read (its data links name them)."""

    def __init__(self, results: Results):
        self._results = results
        self.used: list[str] = []

    def __getitem__(self, name: str) -> dict:
        value = self._results[name]
        if name not in self.used:
            self.used.append(name)
        return value

    def __iter__(self):
        return iter(self._results)

    def __len__(self) -> int:
        return len(self._results)


def need(results: Results, name: str) -> dict:
    """results[name], or MissingResult (the page names the chart and the missing result)."""
    try:
        return results[name]
    except KeyError:
        raise MissingResult(name) from None


def rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def base_figure(**layout) -> go.Figure:
    """A figure with the site's margins, hover mode and legend below the plot."""
    base = dict(margin=dict(l=60, r=20, t=20, b=50), hovermode="closest",
                legend=dict(orientation="h", yanchor="top", y=-0.18, x=0))
    base.update(layout)
    return go.Figure(layout=base)


def band(fig: go.Figure, x, lo, hi, colour: str, group: str, name: str) -> None:
    """A 95% interval as a filled area between lo and hi (gaps where they are null)."""
    fig.add_trace(go.Scatter(x=x, y=lo, mode="lines", line=dict(width=0), legendgroup=group,
                             showlegend=False, hoverinfo="skip", name=f"{name} (95% CI low)",
                             meta=BAND))
    fig.add_trace(go.Scatter(x=x, y=hi, mode="lines", line=dict(width=0), fill="tonexty",
                             fillcolor=rgba(colour, 0.18), legendgroup=group, showlegend=False,
                             hoverinfo="skip", name=f"{name} (95% CI high)", meta=BAND))


def surface_figure(grid: dict, name: str) -> go.Figure:
    """A 3D surface of a grid {x, y, z (z[j][i] at x[i], y[j]), x_label, y_label, z_label},
    diverging colours centred on 0."""
    labels = {axis: grid.get(f"{axis}_label", axis) for axis in "xyz"}
    fig = base_figure(margin=dict(l=0, r=0, t=10, b=0),
                      scene=dict(xaxis=dict(title=dict(text=labels["x"])),
                                 yaxis=dict(title=dict(text=labels["y"])),
                                 zaxis=dict(title=dict(text=labels["z"])),
                                 camera=dict(eye=dict(x=1.6, y=-1.6, z=0.9))))
    fig.add_trace(go.Surface(
        x=grid["x"], y=grid["y"], z=grid["z"], name=name,
        colorscale="RdBu", reversescale=True, cmid=0,
        colorbar=dict(title=dict(text=labels["z"]), len=0.7, thickness=14),
        hovertemplate=(f"{labels['x']} %{{x:.2f}}<br>{labels['y']} %{{y:.2f}}<br>"
                       f"{labels['z']} %{{z:.3g}}<extra></extra>")))
    return fig
