"""Chart files (plotly figure JSON, the chart's spec, + CSV) and the numbered <figure> the
chart() macro puts in a page."""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from html import escape
from pathlib import Path

from .chart_support import unsupported_2d
from .errors import RenderError

CHART_DIR = "data/charts"      # relative to the site root
RESULTS_DIR = "data/results"


@dataclass
class ChartFiles:
    chart_id: str
    used_results: list[str]
    tables: list["DataTable"]  # the figure's numbers, for the disclosure under it
    is_3d: bool


def _rounded(value, digits: int = 4):
    """Floats to 4 significant digits: finer than a chart's pixels or its hover labels (.3g),
    and the page loads every chart's spec up front (to reserve its height), so bytes count."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}") if math.isfinite(value) else None
    if isinstance(value, list):
        return [_rounded(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v, digits) for k, v in value.items()}
    return value


# What the page loads of a surface: thousands of points a reader sees as a shape and reads
# through the .3g hover label, so 3 significant digits (its CSV and JSON downloads keep 4).
SURFACE_DIGITS = 3


def page_spec(data: dict) -> dict:
    return {**data, "data": [_rounded(t, SURFACE_DIGITS) if t.get("type") == "surface" else t
                             for t in data.get("data", [])]}


def figure_dict(figure) -> dict:
    """Plotly JSON without the default template: colours are themed in the browser."""
    data = json.loads(figure.to_json())
    data.get("layout", {}).pop("template", None)
    data["data"] = _rounded(data.get("data", []))
    return data


def _trace_points(trace: dict) -> tuple[list[str], list[list]]:
    """(column names, rows) of one trace; surfaces are flattened to (x, y, z) rows."""
    if trace.get("type") == "surface":
        xs, ys, zs = trace.get("x") or [], trace.get("y") or [], trace.get("z") or []
        rows = [[x, y, z] for j, y in enumerate(ys) for i, x in enumerate(xs)
                for z in [zs[j][i] if j < len(zs) and i < len(zs[j]) else None]]
        return ["x", "y", "z"], rows
    columns = ["x", "y", "z"] if trace.get("type") == "scatter3d" else ["x", "y"]
    values = [trace.get(c) or [] for c in columns]
    return columns, [list(row) for row in zip(*values)]


def figure_csv(data: dict) -> str:
    """Long format: one row per point: series, x, y[, z]."""
    traces = data.get("data", [])
    has_z = any(t.get("type") in ("surface", "scatter3d") for t in traces)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["series", "x", "y"] + (["z"] if has_z else []))
    for n, trace in enumerate(traces):
        name = trace.get("name") or f"trace {n + 1}"
        _, rows = _trace_points(trace)
        for row in rows:
            writer.writerow([name] + ["" if v is None else v for v in row])
    return out.getvalue()


TABLE_ROWS = 12       # rows of a line chart's data table (downsampled; the CSV has them all)
GRID_ROWS, GRID_COLUMNS = 9, 9   # a surface's table: z on a coarse grid of (y, x)
CHART_GLOBAL = "onpolicyCharts"  # window.<this>[id] = figure, set by each chart's .js file


def _pick(n: int, most: int) -> list[int]:
    """Up to `most` indices spread evenly over range(n), first and last included."""
    if n <= most:
        return list(range(n))
    return sorted({round(i * (n - 1) / (most - 1)) for i in range(most)})


def _axis_title(layout: dict, axis: str) -> str:
    title = (layout.get(axis) or {}).get("title")
    text = title.get("text") if isinstance(title, dict) else title
    return str(text or axis[0])


def _number(value, percent: bool = False) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "–" if value is None else str(value)
    if not math.isfinite(value):
        return "–"
    if percent:
        return f"{value:.1%}"
    return f"{value:.3g}" if isinstance(value, float) else f"{value:,}"


@dataclass
class DataTable:
    caption: str
    head: list[str]          # column headings; the first column labels the rows
    rows: list[list[str]]


def _axis_key(trace: dict, letter: str) -> str:
    """The layout key of a trace's axis: "y" -> "yaxis", "y2" -> "yaxis2"."""
    ref = trace.get(f"{letter}axis") or letter
    return f"{letter}axis{ref[1:]}"


def _line_tables(traces: list[dict], layout: dict) -> list[DataTable]:
    """Series of one panel that share their x values become one table: x, then one column per
    series; each panel's table is titled with its own axes (an x axis with no title of its
    own, the top one of stacked panels, takes the first titled one's)."""
    groups: dict[tuple, list[dict]] = {}
    for trace in traces:
        key = (_axis_key(trace, "x"), _axis_key(trace, "y"), tuple(trace.get("x") or []))
        groups.setdefault(key, []).append(trace)
    titled = [k for k in sorted(layout) if k.startswith("xaxis")
              and _axis_title(layout, k) != "x"]
    tables = []
    for (x_key, y_key, xs), members in groups.items():
        percent = "%" in str((layout.get(y_key) or {}).get("tickformat", ""))
        x_title = _axis_title(layout, x_key)
        if x_title == "x" and titled:
            x_title = _axis_title(layout, titled[0])
        y_title = _axis_title(layout, y_key)
        picked = _pick(len(xs), TABLE_ROWS)
        head = [x_title] + [m.get("name") or f"series {n + 1}" for n, m in enumerate(members)]
        rows = [[_number(xs[i])] + [_number((m.get("y") or [None] * len(xs))[i], percent)
                                    for m in members] for i in picked]
        shown = f"{len(picked)} of {len(xs)} points" if len(picked) < len(xs) else \
            f"all {len(xs)} points"
        tables.append(DataTable(f"{y_title}: {shown}", head, rows))
    return tables


def _surface_table(trace: dict, layout: dict) -> DataTable:
    scene = layout.get("scene") or {}
    xs, ys, zs = trace.get("x") or [], trace.get("y") or [], trace.get("z") or []
    x_title, y_title, z_title = (_axis_title(scene, a) for a in ("xaxis", "yaxis", "zaxis"))
    columns, rows = _pick(len(xs), GRID_COLUMNS), _pick(len(ys), GRID_ROWS)
    head = [f"{y_title} \\ {x_title}"] + [_number(xs[i]) for i in columns]
    body = [[_number(ys[j])] + [_number(zs[j][i] if j < len(zs) and i < len(zs[j]) else None)
                                for i in columns] for j in rows]
    return DataTable(f"{z_title} on a {len(rows)} × {len(columns)} sample of the "
                     f"{len(ys)} × {len(xs)} grid", head, body)


def _marks_table(traces: list[dict]) -> DataTable:
    rows = [[str(t.get("name") or ""), _number(x), _number(y), _number(z)]
            for t in traces for x, y, z in zip(t.get("x") or [], t.get("y") or [],
                                               t.get("z") or [])]
    return DataTable("marked points", ["point", "x", "y", "z"], rows)


def data_tables(data: dict) -> list[DataTable]:
    """The figure's numbers for readers without the chart (no JavaScript, screen readers):
    line charts downsampled to TABLE_ROWS rows, surfaces on a coarse grid.
    Confidence-band edges, the copies in a zoomed panel (the CSV has them) and legend-only
    entries (meta role "legend": a legend button for a group of lines) are left out."""
    layout = data.get("layout") or {}
    traces = [t for t in data.get("data", [])
              if (t.get("meta") or {}).get("role") not in ("band", "zoom", "legend")]
    tables = [_surface_table(t, layout) for t in traces if t.get("type") == "surface"]
    marks = [t for t in traces if t.get("type") == "scatter3d"]
    if marks:
        tables.append(_marks_table(marks))
    lines = [t for t in traces if t.get("type") not in ("surface", "scatter3d")]
    return tables + (_line_tables(lines, layout) if lines else [])


def chart_script(chart_id: str, data: dict) -> str:
    """The chart as a script: works from file:// too, where fetch() of a JSON file fails."""
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return (f"(window.{CHART_GLOBAL}=window.{CHART_GLOBAL}||{{}})"
            f"[{json.dumps(chart_id)}]={payload};\n")


def check_drawable(chart_id: str, data: dict, where: str = "") -> None:
    """RenderError naming the figure and every property the 2D renderer would not draw."""
    problems = unsupported_2d(data)
    if problems:
        lines = "\n".join(f"  {p}" for p in problems)
        raise RenderError(f"{where + ': ' if where else ''}figure {chart_id!r} uses what the "
                          f"page's 2D charts (Chart.js, static/js/chart-2d.js) do not draw; "
                          f"remove it or extend the renderer and "
                          f"onpolicy/render/chart_support.py:\n{lines}")


def write_chart(chart_id: str, figure, used: list[str], out_dir: Path,
                where: str = "") -> ChartFiles:
    """Write a plotly figure as <id>.json, <id>.js (what the page loads) and <id>.csv under
    out_dir/data/charts/. used: the names of the results it was drawn from; where: the
    builder's file:line, for the message when the figure uses what the page cannot draw."""
    data = figure_dict(figure)
    check_drawable(chart_id, data, where)
    folder = out_dir / CHART_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{chart_id}.json").write_text(json.dumps(data, separators=(",", ":")),
                                             encoding="utf-8")
    (folder / f"{chart_id}.js").write_text(chart_script(chart_id, page_spec(data)),
                                           encoding="utf-8")
    (folder / f"{chart_id}.csv").write_text(figure_csv(data), encoding="utf-8")
    return describe_chart(chart_id, data, used)


def describe_chart(chart_id: str, data: dict, used: list[str]) -> ChartFiles:
    """What a page needs to know of a written chart (also for one reused from the last build)."""
    is_3d = any(t.get("type") in ("surface", "scatter3d") for t in data.get("data", []))
    return ChartFiles(chart_id, used, data_tables(data), is_3d)


# Reused charts described by this process, by (chart id, unit key): the key covers all that
# the chart's file depends on, so a process that builds again (serve) reads each file once.
_DESCRIBED: dict[tuple[str, str], ChartFiles] = {}


def files_under(folder: Path, out_dir: Path) -> list[str]:
    return [str(p.relative_to(out_dir)) for p in sorted(folder.rglob("*")) if p.is_file()]


class _Reused(ChartFiles):
    """describe_chart of a reused chart file, read only when a figure is rendered from it
    (a page or section replayed from the last build needs none of its tables). Read while
    this build's directory is there; kept in _DESCRIBED only once read."""

    def __init__(self, path: Path, chart_id: str, key: str, used: list[str]):  # noqa: no super
        self.chart_id, self.used_results, self._path, self._key = chart_id, used, path, key

    def _described(self) -> ChartFiles:
        if (self.chart_id, self._key) not in _DESCRIBED:
            if len(_DESCRIBED) > 200:
                _DESCRIBED.clear()
            _DESCRIBED[self.chart_id, self._key] = describe_chart(
                self.chart_id, json.loads(self._path.read_bytes()), self.used_results)
        return _DESCRIBED[self.chart_id, self._key]

    tables = property(lambda self: self._described().tables)
    is_3d = property(lambda self: self._described().is_3d)


def describe_reused(out_dir: Path, chart_id: str, key: str, used: list[str]) -> ChartFiles:
    """describe_chart of a chart file the build reused (out_dir/CHART_DIR/<id>.json)."""
    return _DESCRIBED.get((chart_id, key)) or _Reused(
        Path(out_dir) / CHART_DIR / f"{chart_id}.json", chart_id, key, used)


def table_html(table: DataTable) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in table.head)
    body = "".join("<tr>" + "".join(
        (f'<th scope="row">{escape(cell)}</th>' if n == 0 else f"<td>{escape(cell)}</td>")
        for n, cell in enumerate(row)) + "</tr>" for row in table.rows)
    return (f'<table class="chart-table"><caption>{escape(table.caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def figure_html(files: ChartFiles, number: int, anchor: str, caption_html: str, alt: str,
                root: str) -> str:
    """The placeholder the browser script fills in, with caption and a data disclosure.

    root: the relative path from the page to the site root ("", "../").
    """
    base = f"{root}{CHART_DIR}/{files.chart_id}"
    raw = ", ".join(f'<a href="{root}{RESULTS_DIR}/{escape(name)}.json">{escape(name)}</a>'
                    for name in files.used_results)
    kind = "3d" if files.is_3d else "2d"
    tables = "".join(table_html(t) for t in files.tables)
    return (
        f'<figure class="chart-figure chart-{kind}" id="{anchor}">'
        # role=group, not img: the drawn chart holds buttons (legend, views, toolbar)
        f'<div class="chart" data-chart-src="{base}.js" data-chart-id="{files.chart_id}" '
        f'role="group" aria-label="{escape(alt)}" aria-describedby="{anchor}-caption">'
        f'<noscript><p class="chart-noscript">This interactive chart needs JavaScript; '
        f'its numbers are in the Data section below.</p></noscript></div>'
        f'<figcaption><p class="caption" id="{anchor}-caption">'
        f'<span class="figure-number">Figure {number}.</span> {caption_html}</p>'
        # inside the figcaption: a figure may only have its caption first or last
        f'<details class="chart-data"><summary>Data</summary>{tables}'
        f'<p class="chart-downloads">Every point: <a href="{base}.csv" download>CSV</a> · '
        f'<a href="{base}.json" download>JSON (plotly figure)</a>'
        + (f" · raw results: {raw}" if raw else "") +
        "</p></details></figcaption></figure>"
    )

