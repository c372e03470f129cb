"""What the page's 2D renderer draws of a plotly figure (static/js/chart-2d.js, Chart.js), so that
a figure using anything else fails the build instead of silently losing it in the browser.

The figures stay plotly figures (the spec, validated by plotly.py; 3D surfaces are drawn by
plotly.js itself). A 2D figure (no surface or scatter3d trace) may only use the properties
below; each entry is a set of allowed values, a pattern, ANY, or a nested mapping.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

# The chart contract (formats, dashes, symbols): one file, static/js/chart-contract.js, which the
# page loads and this module parses (the JSON object it assigns).
CONTRACT_JS = Path(__file__).resolve().parents[2] / "static" / "js" / "chart-contract.js"


def read_contract(path: Path = CONTRACT_JS) -> dict:
    text = path.read_text(encoding="utf-8")
    return json.loads(text[text.index("{", text.index("=")):text.rindex("}") + 1])


CONTRACT = read_contract()
ANY = object()
FORMAT = re.compile(CONTRACT["formats"])   # the d3-format subset chart-layout.js reads
DASH = re.compile("|".join([*(re.escape(name) for name in CONTRACT["dashes"]),
                            CONTRACT["dash_lengths"].strip("^$")]))
PLACEHOLDER = re.compile(r"%\{([^}:]*)(?::([^}]*))?\}")

AXIS = {
    "title": {"text": ANY},
    "type": {"linear", "log", "category", "-"},
    "range": ANY, "tickformat": FORMAT, "exponentformat": {"power"},
    "tickvals": ANY,   # the ticks, exactly (a log axis labelled at both ends)
    # the zoomed panel's axes (figkit.zoom_panel): panel placement, drawn as a second canvas
    "domain": ANY, "anchor": ANY, "matches": ANY,
}
TRACE = {
    "type": {"scatter"}, "x": ANY, "y": ANY, "name": ANY, "text": ANY,
    "mode": {"lines", "markers", "lines+markers", "markers+text", "lines+markers+text"},
    "textposition": ANY,
    "line": {"color": ANY, "width": ANY, "dash": DASH},
    "marker": {"symbol": set(CONTRACT["symbols"]),
               "size": ANY, "color": ANY, "opacity": ANY,
               "line": {"color": ANY, "width": ANY}},
    "fill": {"none", "tonexty", "tozeroy"}, "fillcolor": ANY, "stackgroup": ANY,
    "legendgroup": ANY, "showlegend": ANY, "visible": {True, False, "legendonly"},
    "hovertemplate": ANY, "hoverinfo": {"skip", "none"}, "meta": ANY,
    "xaxis": re.compile(r"x\d*"), "yaxis": re.compile(r"y\d*"),
}
# layout keys the page decides itself at draw time (sizes, legend placement, hover) are accepted
# and ignored; everything else would be lost.
LAYOUT = {"margin": ANY, "hovermode": ANY, "legend": ANY, "showlegend": ANY, "meta": ANY}
AXIS_KEY = re.compile(r"[xy]axis\d*")
TEXT_POSITIONS = {"top center", "top left", "top right"}
HOVER_FIELDS = {"x", "y", "text"}


def _allowed(rule, value) -> bool:
    if rule is ANY:
        return True
    if isinstance(rule, re.Pattern):
        return isinstance(value, str) and rule.fullmatch(value) is not None
    if isinstance(rule, set):
        return isinstance(value, (str, bool)) and value in rule
    return False


def _walk(spec: dict, node: dict, path: str, problems: list[str]) -> None:
    for key, value in node.items():
        where = f"{path}.{key}" if path else key
        rule = spec.get(key)
        if rule is None:
            problems.append(f"{where} (not drawn by the 2D renderer)")
        elif isinstance(rule, dict):
            if isinstance(value, dict):
                _walk(rule, value, where, problems)
            else:
                problems.append(f"{where} = {value!r} (expected an object)")
        elif not _allowed(rule, value):
            problems.append(f"{where} = {value!r} (not supported by the 2D renderer)")


def _hover_problems(template: str, where: str) -> list[str]:
    problems = []
    for field, spec in PLACEHOLDER.findall(template):
        if field not in HOVER_FIELDS:
            problems.append(f"{where}: %{{{field}}} (only %{{x}}, %{{y}} and %{{text}} are filled)")
        elif spec and not FORMAT.fullmatch(spec):
            problems.append(f"{where}: format {spec!r} "
                            "(supported: ',', '.Nf', '.N%', '.Ng', '.Ne')")
    return problems


def unsupported_2d(data: dict) -> list[str]:
    """Properties of a figure (plotly JSON) that the 2D renderer would not draw, as readable
    'data[2].marker.symbol = ...' lines; [] for a 3D figure (plotly.js draws those itself)."""
    traces = data.get("data") or []
    if any(t.get("type") in ("surface", "scatter3d") for t in traces):
        return []
    problems: list[str] = []
    for n, trace in enumerate(traces):
        where = f"data[{n}]" + (f" ({trace['name']!r})" if trace.get("name") else "")
        found: list[str] = []
        _walk(TRACE, {"type": "scatter", **trace}, "", found)
        colour = (trace.get("marker") or {}).get("color")
        if isinstance(colour, list):
            found.append("marker.color as a list (one colour per trace)")
        positions = trace.get("textposition")
        if positions is not None and not set(
                positions if isinstance(positions, list) else [positions]) <= TEXT_POSITIONS:
            found.append(f"textposition = {positions!r} (supported: {sorted(TEXT_POSITIONS)})")
        problems += [f"{where}.{p}" for p in found]
        if isinstance(trace.get("hovertemplate"), str):
            problems += _hover_problems(trace["hovertemplate"], f"{where}.hovertemplate")
    layout = data.get("layout") or {}
    for key, value in layout.items():
        if AXIS_KEY.fullmatch(key):
            found = []
            _walk(AXIS, value if isinstance(value, dict) else {}, "", found)
            problems += [f"layout.{key}.{p}" for p in found]
        elif key not in LAYOUT:
            problems.append(f"layout.{key} (not drawn by the 2D renderer)")
    return problems
