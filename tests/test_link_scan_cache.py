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


def test_an_edited_page_scans_only_its_edited_piece(tmp_path, monkeypatch):
    body = "<p>intro</p>" + "".join(f'<h2 id="s{n}">S{n}</h2><p>text {n}</p>' for n in range(5))
    cfg, out = site(tmp_path, body.replace('id="s3"', 'id="part"'))
    assert broken_links(cfg, out) == []
    seen = scans(monkeypatch)
    site(tmp_path, body.replace('id="s3"', 'id="part"').replace("text 1", "text one"))
    assert broken_links(cfg, out) == []
    assert seen == ['<h2 id="s1">S1</h2><p>text one</p>']
    site(tmp_path, body.replace("text 1", "text one"))   # the anchor's piece: its loss is seen
    problems = broken_links(cfg, out)
    assert len(problems) == 1 and "no anchor #part on b/index.html" in problems[0]
    assert seen[-1] == '<h2 id="s3">S3</h2><p>text 3</p>'
    # an unchanged page keeps its pieces: editing it later still scans one piece
    seen.clear()
    site(tmp_path, body.replace("text 1", "text one").replace("text 4", "text four"))
    broken_links(cfg, out)
    assert seen == ['<h2 id="s4">S4</h2><p>text four</p>']
