"""The link check's scans kept on disk (render/links.py StoredScans): an unchanged page is not
scanned again, an edited one always is, and a damaged cache is ignored."""
from __future__ import annotations

import json
from pathlib import Path

from onpolicy.config import BuildConfig
from onpolicy.render import links
from onpolicy.render.links import broken_links

ROOT = Path(__file__).resolve().parent.parent


def site(tmp_path: Path, target_body: str) -> tuple[BuildConfig, Path]:
    out = tmp_path / "public"
    (out / "b").mkdir(parents=True, exist_ok=True)
    (out / "index.html").write_text('<a href="b/#part">to b</a>', encoding="utf-8")
    (out / "b" / "index.html").write_text(target_body, encoding="utf-8")
    (tmp_path / "src").mkdir(exist_ok=True)
    return BuildConfig(root=tmp_path, out_dir=out, src_dir=tmp_path / "src",
                       cache_dir=tmp_path / ".cache", templates_dir=ROOT / "templates"), out


def scans(monkeypatch) -> list[str]:
    seen: list[str] = []
    real = links._scan.__wrapped__

    def counting(text: str):
        seen.append(text)
        return real(text)
    monkeypatch.setattr(links, "_scan", counting)
    return seen


def test_unchanged_pages_are_not_scanned_again(tmp_path, monkeypatch):
    cfg, out = site(tmp_path, '<h2 id="part">B</h2>')
    assert broken_links(cfg, out) == []
    seen = scans(monkeypatch)
    assert broken_links(cfg, out) == []
    assert seen == []  # both pages from .cache/link-scans.json


def test_an_edited_page_is_scanned_again(tmp_path, monkeypatch):
    cfg, out = site(tmp_path, '<h2 id="part">B</h2>')
    assert broken_links(cfg, out) == []
    seen = scans(monkeypatch)
    site(tmp_path, '<h2 id="other">B</h2>')  # the anchor is gone
    problems = broken_links(cfg, out)
    assert len(problems) == 1 and "no anchor #part on b/index.html" in problems[0]
    assert seen == ['<h2 id="other">B</h2>']
    site(tmp_path, '<h2 id="part">B</h2>')   # and back: the old scan is no longer kept
    assert broken_links(cfg, out) == []
    assert len(seen) == 2


def test_a_damaged_cache_is_ignored(tmp_path):
    cfg, out = site(tmp_path, '<h2 id="other">B</h2>')
    before = broken_links(cfg, out)
    cache = tmp_path / ".cache" / "link-scans.json"
    stored = json.loads(cache.read_text())
    for entry in stored.values():
        entry["ids"] = [1, 2]  # not text: not a scan
    cache.write_text(json.dumps(stored))
    assert broken_links(cfg, out) == before
    cache.write_text("{not json")
    assert broken_links(cfg, out) == before
