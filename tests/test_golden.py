"""Readers see the same site: the prose of every page and the data of every chart, built from
the frozen results, equal the committed snapshot tests/golden/site.json.

A refactor must leave this green. A deliberate change of the article, a figure or results/
regenerates the snapshot: `.venv/bin/python -m tests.site_snapshot` (see that module).
"""
from __future__ import annotations

import difflib
import json

from tests.site_snapshot import GOLDEN, snapshot

REGENERATE = "if the change is intended: .venv/bin/python -m tests.site_snapshot"


def test_snapshot_sees_prose_math_and_figures(built_site):
    pages = snapshot(built_site)["pages"]
    article = next(lines for path, lines in pages.items() if path.startswith("why-"))
    assert any(line.startswith("[figure dial] Figure 1.") for line in article)
    assert any("$\\pi_\\theta(a \\mid s)$" in line for line in article)
    assert not any("<span" in line or line.endswith(" #") for line in article)  # no markup


def test_site_matches_golden_snapshot(built_site):
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    now = snapshot(built_site)
    added, gone = sorted(set(now["pages"]) - set(golden["pages"])), \
        sorted(set(golden["pages"]) - set(now["pages"]))
    assert not added and not gone, f"pages new: {added}, gone: {gone}; {REGENERATE}"
    for path, lines in golden["pages"].items():
        if now["pages"][path] != lines:
            diff = "\n".join(list(difflib.unified_diff(lines, now["pages"][path], "golden",
                                                       "built", n=1, lineterm=""))[:40])
            raise AssertionError(f"{path}: the prose changed:\n{diff}\n{REGENERATE}")
    assert sorted(now["charts"]) == sorted(golden["charts"]), REGENERATE
    for chart_id, expected in golden["charts"].items():
        got = now["charts"][chart_id]
        for n, (want, have) in enumerate(zip(expected["traces"], got["traces"])):
            assert have == want, f"chart {chart_id!r}, trace {n}: {have} != {want}. {REGENERATE}"
        assert got == expected, f"chart {chart_id!r} (layout or trace count) changed. {REGENERATE}"
