"""The page's number and hover formats (static/js/chart-layout.js), run in Node: every format
the build lets a 2D figure use (onpolicy/render/chart_support.py) gives what plotly would show."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from onpolicy.render.chart_support import FORMAT

ROOT = Path(__file__).resolve().parent.parent
LAYOUT_JS = ROOT / "static" / "js" / "chart-layout.js"
CONTRACT_JS = ROOT / "static" / "js" / "chart-contract.js"  # what the page loads before it

CASES = [  # (value, d3 format, expected text)
    (0.9491, ".1%", "94.9%"), (1.0, ".0%", "100%"), (0.123456, ".3g", "0.123"),
    (1234567.0, ".3g", "1.23e+6"), (-0.5, ".2f", "\u22120.50"), (1400, ",", "1,400"),
    (1400, None, "1,400"), (0.30000000000000004, None, "0.3"), (None, ".1%", ""),
    (2.5e-7, ".2e", "2.50e\u22127"),
]


def _node(script: str):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not found (it is needed for KaTeX too: install Node.js 20)")
    prelude = (f"globalThis.window = globalThis;\nrequire({json.dumps(str(CONTRACT_JS))});\n"
               f"require({json.dumps(str(LAYOUT_JS))});\n")
    proc = subprocess.run([node, "-e", prelude + script], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_number_formats():
    got = _node(f"console.log(JSON.stringify({json.dumps(CASES)}.map(c => "
                "window.onpolicyChartFormat.format(c[0], c[1]))))")
    assert got == [expected for _, _, expected in CASES]
    assert all(FORMAT.fullmatch(spec) for _, spec, _ in CASES if spec)


def test_hover_template_lines():
    trace = {"x": [0, 1400], "y": [0.5, 0.9491], "text": ["a", "seed 3: first non-finite"],
             "name": "PG", "hovertemplate": "step %{x}: %{y:.1%}<extra>PG, on-policy</extra>"}
    plain = dict(trace, hovertemplate=None)
    text = dict(trace, hovertemplate="%{text}<br>at %{x}<extra></extra>")
    got = _node(f"const F = window.onpolicyChartFormat;\n"
                f"console.log(JSON.stringify([F.hoverLines({json.dumps(trace)}, 1), "
                f"F.hoverLines({json.dumps(plain)}, 1), F.hoverLines({json.dumps(text)}, 1)]))")
    assert got == [["PG, on-policy", "step 1,400: 94.9%"], ["PG", "1,400: 0.9491"],
                   ["seed 3: first non-finite", "at 1,400"]]


def test_legend_never_over_a_third_of_the_chart():
    """Panel heights grow with a tall legend (eleven entries, one per line on a phone)."""
    panels = [{"x": "x", "y": "y", "domain": [0, 1], "traces": []}]
    got = _node(f"const L = window.onpolicyChartLayout;\n"
                f"console.log(JSON.stringify([390, 1280].map(w => "
                f"L.panelHeights({json.dumps(panels)}, {{}}, w, 220))))")
    for heights in got:
        assert 220 <= (sum(heights) + 220) / 3, heights


def test_the_page_and_the_build_read_one_chart_contract():
    """chart-contract.js, as the browser evaluates it, is the object chart_support.py parsed."""
    from onpolicy.render.chart_support import CONTRACT

    assert _node("console.log(JSON.stringify(window.onpolicyChartContract))") == CONTRACT
