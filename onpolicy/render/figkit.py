"""What an article's figures.py imports: the @figure decorator, need(), and the Plotly helpers
every article shares (base layout, 95% bands, surfaces, the palette).

    from onpolicy.render.figkit import figure, need, base_figure, band

    @figure("accuracy")                       # the id pages use: {{ chart("accuracy", ...) }}
    def accuracy(results):                    # experiment name -> result payload
        payload = need(results, "my-row")     # MissingResult if it was not loaded
        fig = base_figure(yaxis=dict(title=dict(text="accuracy")))
        ...
        return fig

The plotly figure is the chart's spec. 2D charts are drawn in the page with Chart.js, from the
subset of plotly's scatter trace and axes listed in onpolicy/render/chart_support.py (the build
fails, naming the figure and the property, when a 2D figure uses anything else); surfaces and
their scatter3d marks are drawn with plotly.js's gl3d bundle. Layouts stay minimal: the page's
JavaScript decides sizes, legend placement and light/dark colours at draw time. A surface figure may carry named camera views
and marked points (see surface_figure); a line chart may add a zoomed second panel (zoom_panel).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import plotly.graph_objects as go

from .errors import MissingResult  # noqa: F401 - figures.py files import it from here

Results = Mapping[str, dict]  # experiment name -> result payload
FigureBuilder = Callable[[Results], go.Figure]
FIGURE_ID = "figure_id"       # the attribute @figure sets; the engine collects these
EXPLORABLE_DATA_ID = "explorable_data_id"  # the attribute @explorable_data sets
BAND = {"role": "band"}       # trace meta: a confidence band edge (not summarised in data tables)
ZOOM = {"role": "zoom"}       # trace meta: a copy drawn in the zoomed panel (not in data tables)
# Diverging, blue (negative) to orange (positive) through a mid grey, never white: flat parts
# stay visible on the light page and do not glare on the dark one.
SURFACE_COLOURS = [[0.0, "#08306b"], [0.22, "#2c7fb8"], [0.5, "#9a9a9a"], [0.78, "#e6832d"],
                   [1.0, "#7f2704"]]
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


def explorable_data(data_id: str) -> Callable[[Callable[[Results], dict]], Callable]:
    """Register a function results -> JSON-able dict: the data of an explorable figure, which
    a page places with {{ explorable("id", script="js/x.js", data="data_id", ...) }}. Same
    namespace rules as figure ids; written to data/explorables/<data_id>.js."""
    def register(build: Callable[[Results], dict]) -> Callable[[Results], dict]:
        setattr(build, EXPLORABLE_DATA_ID, data_id)
        return build
    return register


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


def surface_figure(grid: dict, name: str, camera: dict | None = None,
                   views: list[dict] | None = None, marks: list[dict] | None = None) -> go.Figure:
    """A 3D surface of a grid {x, y, z (z[j][i] at x[i], y[j]), x_label, y_label, z_label},
    coloured by SURFACE_COLOURS centred on 0.

    camera: plotly scene camera of the starting view (chosen per surface so that the corners
    the text discusses face the reader). views: [{"name": "From above", "camera": {...}}], the
    buttons a reader can switch to (layout.meta.views). marks: [{"x", "y", "label"}], points of
    the surface the text talks about; z is read off the grid at the nearest grid point."""
    labels = {axis: grid.get(f"{axis}_label", axis) for axis in "xyz"}
    scene = dict(xaxis=dict(title=dict(text=labels["x"])),
                 yaxis=dict(title=dict(text=labels["y"])),
                 zaxis=dict(title=dict(text=labels["z"])),
                 camera=camera or dict(eye=dict(x=1.6, y=-1.6, z=0.9)))
    fig = base_figure(margin=dict(l=0, r=0, t=10, b=0), scene=scene,
                      meta=dict(views=views or []))
    fig.add_trace(go.Surface(
        x=grid["x"], y=grid["y"], z=grid["z"], name=name,
        colorscale=SURFACE_COLOURS, cmid=0,
        colorbar=dict(title=dict(text=labels["z"]), len=0.7, thickness=14),
        hovertemplate=(f"{labels['x']} %{{x:.2f}}<br>{labels['y']} %{{y:.2f}}<br>"
                       f"{labels['z']} %{{z:.3g}}<extra></extra>")))
    if marks:
        points = [_grid_point(grid, m["x"], m["y"]) for m in marks]
        fig.add_trace(go.Scatter3d(
            x=[p[0] for p in points], y=[p[1] for p in points], z=[p[2] for p in points],
            text=[m["label"] for m in marks], name="marked points", mode="markers+text",
            textposition="top center", showlegend=False,
            marker=dict(size=5, color="#111111", line=dict(color="#ffffff", width=2)),
            hovertemplate="%{text}<br>z = %{z:.3g}<extra></extra>"))
    return fig


def _grid_point(grid: dict, x: float, y: float) -> tuple[float, float, float]:
    i = min(range(len(grid["x"])), key=lambda n: abs(grid["x"][n] - x))
    j = min(range(len(grid["y"])), key=lambda n: abs(grid["y"][n] - y))
    return grid["x"][i], grid["y"][j], grid["z"][j][i]


def zoom_panel(fig: go.Figure, y_range: list[float], title: str) -> go.Figure:
    """A second panel under the chart showing the band y_range of the same lines (the
    interesting part when several lines crowd near the top), sharing the x axis."""
    main = fig.layout
    for trace in list(fig.data):
        copy = go.Scatter(trace)
        copy.update(xaxis="x2", yaxis="y2", showlegend=False,
                    meta=BAND if (trace.meta or {}) == BAND else ZOOM)
        fig.add_trace(copy)
    x_title = main.xaxis.title.text if main.xaxis.title else None
    fig.update_layout(
        yaxis=dict(domain=[0.42, 1.0]),
        xaxis=dict(title=dict(text=None), anchor="y"),
        yaxis2=dict(domain=[0.0, 0.3], range=y_range, anchor="x2",
                    tickformat=main.yaxis.tickformat, title=dict(text=title)),
        xaxis2=dict(matches="x", anchor="y2", title=dict(text=x_title)))
    return fig
