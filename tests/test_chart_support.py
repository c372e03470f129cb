"""The build refuses a 2D figure that uses what the page's Chart.js renderer does not draw,
naming the figure, its builder's file:line and each property (onpolicy/render/chart_support.py)."""
from __future__ import annotations

import plotly.graph_objects as go

from onpolicy.render.chart_support import unsupported_2d
from onpolicy.render.figures import figure_dict
from onpolicy.render.content import load_content
from tests.fixtures_results import fake_results
from tests.test_content import DEMO_PAGE, FACTS, FIGURES
from tests.test_render import ROOT, page, render_error


def _problems(fig: go.Figure) -> list[str]:
    return unsupported_2d(figure_dict(fig))


def test_the_supported_subset_passes():
    fig = go.Figure(layout=dict(xaxis=dict(title=dict(text="step"), type="log"),
                                yaxis=dict(tickformat=".0%", range=[0, 1]), hovermode="closest"))
    fig.add_trace(go.Scatter(x=[1, 2], y=[0.1, 0.2], mode="lines", name="a", legendgroup="a",
                             line=dict(color="#0072B2", width=2, dash="longdashdot"),
                             hovertemplate="step %{x}: %{y:.1%}<extra>a</extra>"))
    fig.add_trace(go.Scatter(x=[1, 2], y=[0.2, 0.3], fill="tonexty", fillcolor="rgba(0,0,0,.2)",
                             hoverinfo="skip", showlegend=False, meta={"role": "band"}))
    fig.add_trace(go.Scatter(x=[1], y=[0.5], mode="markers", text=["seed 0"],
                             marker=dict(symbol="x-thin", size=[11], color="#CC79A7",
                                         line=dict(width=2, color="#CC79A7"))))
    assert _problems(fig) == []


def test_unsupported_properties_are_each_named():
    fig = go.Figure(layout=dict(title=dict(text="a title"), xaxis=dict(tickformat="$.2f")))
    fig.add_trace(go.Bar(x=[1, 2], y=[3, 4], name="bars"))
    fig.add_trace(go.Scatter(x=[1], y=[2], name="dots", marker=dict(symbol="diamond"),
                             hovertemplate="%{customdata}", line=dict(shape="spline")))
    fig.add_annotation(x=1, y=2, text="note")
    problems = "\n".join(_problems(fig))
    for expected in ("data[0] ('bars').type = 'bar'", "data[1] ('dots').marker.symbol = 'diamond'",
                     "data[1] ('dots').line.shape", "data[1] ('dots').hovertemplate: %{customdata}",
                     "layout.title", "layout.annotations", "layout.xaxis.tickformat = '$.2f'"):
        assert expected in problems, problems


def test_3d_figures_are_left_to_plotly():
    fig = go.Figure(go.Surface(z=[[0, 1], [1, 0]], colorscale="Viridis"))
    fig.add_trace(go.Scatter3d(x=[0], y=[0], z=[0], marker=dict(symbol="diamond")))
    assert _problems(fig) == []


def test_the_build_fails_naming_figure_builder_and_property(tmp_path):
    broken = FIGURES.replace("go.Scatter(x=[0, 1],", "go.Scatter(marker=dict(symbol='star'), "
                             "x=[0, 1],")
    pages = {"demo/index.md": DEMO_PAGE, "demo/facts.py": FACTS, "demo/figures.py": broken,
             "p.md": page("x\n")}
    message = render_error(tmp_path, pages, article_modules=False)
    assert message.startswith("src/demo/figures.py:"), message
    assert "figure 'demo-bars'" in message and "data[0].marker.symbol = 'star'" in message, message


def test_every_figure_of_the_article_is_drawable():
    content = load_content(ROOT / "site_src", ROOT)
    results = fake_results()
    assert len(content.figures) > 10
    for figure_id in content.figures:
        fig, _ = content.build_figure(figure_id, results)
        assert unsupported_2d(figure_dict(fig)) == [], figure_id
