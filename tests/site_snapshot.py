"""What a reader of the built site sees, reduced to a comparable snapshot: every page's prose
as text, and every chart's Plotly data, trace by trace (hashed, with names and point counts).

tests/test_golden.py compares the site built from the frozen results with the snapshot in
tests/golden/site.json. When the article, a figure or results/ changes ON PURPOSE, regenerate
it (it builds with --frozen into a temporary directory) and commit the new file:

    .venv/bin/python -m tests.site_snapshot
"""
from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import html5lib

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "site.json"
BREAK = "\x00"  # ends a block of text (newlines inside a paragraph are just spaces)
BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "pre", "dt", "dd", "blockquote",
          "figcaption", "div", "table", "ul", "ol", "dl", "details", "summary", "section"}


def _classes(element) -> set[str]:
    return set((element.get("class") or "").split())


def _walk(element, out: list[str]) -> None:
    """Appends text to out; a BREAK entry ends a block. Math becomes $tex$, a chart becomes
    [figure <id>] followed by its caption (its data table is left out: the charts are
    compared through their JSON)."""
    tag, classes = element.tag, _classes(element)
    if "katex" in classes:
        tex = next((e.text for e in element.iter() if str(e.tag).endswith("annotation")), "")
        out.append(f"${tex}$")
    elif tag == "figure" and "chart-figure" in classes:
        chart = element.find(".//div[@data-chart-id]")
        caption = element.find(".//p[@class='caption']")
        out += [BREAK, f"[figure {chart.get('data-chart-id') if chart is not None else '?'}] "]
        if caption is not None:  # inline, on the [figure] line
            out.append(caption.text or "")
            for child in caption:
                _walk(child, out)
                out.append(child.tail or "")
        out.append(BREAK)
    elif tag in ("script", "style", "noscript") or "headerlink" in classes:
        pass
    else:
        if tag in BLOCKS:
            out.append(BREAK)
        out.append(element.text or "")
        for child in element:
            _walk(child, out)
            out.append(child.tail or "")
        if tag in BLOCKS:
            out.append(BREAK)


def prose_lines(html: str) -> list[str]:
    """The text of the page's <div class="prose"> blocks (an article's opening may stand in
    one of its own, before the contents), one line per block, spaces collapsed."""
    doc = html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False)
    out: list[str] = []
    for prose in (e for e in doc.iter("div") if "prose" in _classes(e)):
        _walk(prose, out)
        out.append(BREAK)
    lines = (re.sub(r"\s+", " ", block).strip() for block in "".join(out).split(BREAK))
    return [line for line in lines if line]


def _digest(value) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def chart_summary(data: dict) -> dict:
    traces = []
    for trace in data.get("data", []):
        points = next((len(trace[k]) for k in ("x", "y", "z") if isinstance(trace.get(k), list)),
                      0)
        traces.append({"name": trace.get("name"), "type": trace.get("type"), "points": points,
                       "sha256": _digest(trace)})
    return {"layout_sha256": _digest(data.get("layout", {})), "traces": traces}


def snapshot(site: Path) -> dict:
    site = Path(site)
    pages = {str(p.relative_to(site)): prose_lines(p.read_text(encoding="utf-8"))
             for p in sorted(site.rglob("*.html")) if "static" not in p.relative_to(site).parts}
    charts = {p.stem: chart_summary(json.loads(p.read_text(encoding="utf-8")))
              for p in sorted((site / "data" / "charts").glob("*.json"))}
    return {"pages": pages, "charts": charts}


def build_frozen(out: Path) -> None:
    cmd = [sys.executable, "build.py", "--frozen", "--out", str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"`build.py --frozen` failed:\n{proc.stderr}")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "public"
        build_frozen(out)
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(snapshot(out), indent=1, ensure_ascii=False) + "\n",
                          encoding="utf-8")
    print(f"wrote {GOLDEN.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
