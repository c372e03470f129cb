"""Chart files (Plotly JSON + CSV) and the numbered <figure> the chart() macro puts in a page."""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from html import escape
from pathlib import Path

CHART_DIR = "data/charts"      # relative to the site root
RESULTS_DIR = "data/results"


@dataclass
class ChartFiles:
    chart_id: str
    used_results: list[str]
    summary: list[dict]        # one row per data series, for the disclosure table
    is_3d: bool


def _rounded(value):
    """Floats to 6 significant digits: plenty for a chart, half the bytes of repr()."""
    if isinstance(value, float):
        return float(f"{value:.6g}") if math.isfinite(value) else None
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


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


def _span(values: list) -> str:
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not finite:
        return "–"
    lo, hi = min(finite), max(finite)
    return f"{lo:.3g}" if lo == hi else f"{lo:.3g} to {hi:.3g}"


def summarise(data: dict) -> list[dict]:
    """Per data series: points and value ranges (confidence-band edges are left out)."""
    rows = []
    for n, trace in enumerate(data.get("data", [])):
        if (trace.get("meta") or {}).get("role") == "band":
            continue
        columns, points = _trace_points(trace)
        row = {"series": trace.get("name") or f"trace {n + 1}", "points": len(points)}
        for i, column in enumerate(columns):
            row[column] = _span([p[i] for p in points])
        rows.append(row)
    return rows


def write_chart(chart_id: str, figure, used: list[str], out_dir: Path) -> ChartFiles:
    """Write a plotly figure as <id>.json and <id>.csv under out_dir/data/charts/.
    used: the names of the results it was drawn from."""
    data = figure_dict(figure)
    folder = out_dir / CHART_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{chart_id}.json").write_text(json.dumps(data, separators=(",", ":")),
                                             encoding="utf-8")
    (folder / f"{chart_id}.csv").write_text(figure_csv(data), encoding="utf-8")
    is_3d = any(t.get("type") in ("surface", "scatter3d") for t in data.get("data", []))
    return ChartFiles(chart_id, used, summarise(data), is_3d)


def summary_table(rows: list[dict]) -> str:
    columns = ["series", "points"] + [c for c in ("x", "y", "z") if any(c in r for r in rows)]
    heads = {"series": "Series", "points": "Points", "x": "x range", "y": "y range",
             "z": "z range"}
    head = "".join(f'<th scope="col">{heads[c]}</th>' for c in columns)
    body = "".join("<tr>" + "".join(
        (f'<th scope="row">{escape(str(r[c]))}</th>' if c == "series"
         else f"<td>{escape(str(r.get(c, '')))}</td>") for c in columns) + "</tr>" for r in rows)
    return (f'<table class="chart-summary"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def figure_html(files: ChartFiles, number: int, anchor: str, caption_html: str, alt: str,
                root: str) -> str:
    """The placeholder the browser script fills in, with caption and a data disclosure.

    root: the relative path from the page to the site root ("", "../").
    """
    base = f"{root}{CHART_DIR}/{files.chart_id}"
    raw = ", ".join(f'<a href="{root}{RESULTS_DIR}/{escape(name)}.json">{escape(name)}</a>'
                    for name in files.used_results)
    kind = "3d" if files.is_3d else "2d"
    return (
        f'<figure class="chart-figure chart-{kind}" id="{anchor}">'
        f'<div class="chart" data-chart-src="{base}.json" data-chart-id="{files.chart_id}" '
        f'role="img" aria-label="{escape(alt)}" aria-describedby="{anchor}-caption">'
        f'<noscript><p class="chart-noscript">This interactive chart needs JavaScript; '
        f'the data is in the table below.</p></noscript></div>'
        f'<figcaption><p class="caption" id="{anchor}-caption">'
        f'<span class="figure-number">Figure {number}.</span> {caption_html}</p>'
        # inside the figcaption: a figure may only have its caption first or last
        f'<details class="chart-data"><summary>Data</summary>{summary_table(files.summary)}'
        f'<p class="chart-downloads">Download: <a href="{base}.csv" download>CSV</a> · '
        f'<a href="{base}.json" download>Plotly JSON</a>'
        + (f" · raw results: {raw}" if raw else "") +
        "</p></details></figcaption></figure>"
    )

