"""The rebuild caches (onpolicy/render/render_cache.py, onpolicy/verified_results.py): a no-op
build parses no result file, a prose edit reads the facts and compiled templates from .cache/,
a damaged or stale entry is ignored and written again, and a build from the caches equals a
build without them byte for byte."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest

from onpolicy import freeze, verified_results
from onpolicy.config import ROOT
from onpolicy.render import render_cache
from onpolicy.render.content import Content
from tests.test_incremental import ARTICLE, build, contents, site, tree  # noqa: F401 - fixture

ARTICLE_HTML = "why-policy-gradients-are-on-policy/index.html"


@pytest.fixture
def verified_dir(tmp_path, monkeypatch) -> Path:
    """The verified-results cache of this test, empty at first (not the checkout's)."""
    folder = tmp_path / "verified"
    monkeypatch.setattr(verified_results, "VERIFIED_DIR", folder)
    return folder


def uncached_build(cfg, tmp_path: Path, monkeypatch) -> Path:
    """The same site built with no cache at all: no manifest, facts, templates or verified
    results (only KaTeX's formulas, which would need Node). The reference output."""
    monkeypatch.setattr(verified_results, "VERIFIED_DIR", tmp_path / "verified-none")
    fresh = dataclasses.replace(cfg, out_dir=tmp_path / "uncached",
                                cache_dir=tmp_path / "uncached-cache")
    shutil.copytree(cfg.cache_dir / "katex", fresh.cache_dir / "katex")
    report = build(fresh)
    assert not report.site_unchanged
    return fresh.out_dir


def result_texts() -> set[bytes]:
    return {path.read_bytes() for path in (ROOT / "results").glob("*.json")}


def recording_json(monkeypatch) -> list[bytes]:
    """Every text json.loads / json.load parses from now on, as bytes."""
    parsed: list[bytes] = []
    loads = json.loads

    def recorded(text, *args, **kwargs):
        parsed.append(text.encode() if isinstance(text, str) else bytes(text))
        return loads(text, *args, **kwargs)
    monkeypatch.setattr(json, "loads", recorded)
    monkeypatch.setattr(json, "load", lambda f, *a, **k: recorded(f.read(), *a, **k))
    return parsed


def test_a_no_op_build_parses_no_result_file(site, verified_dir, monkeypatch):
    build(site)
    assert len(list(verified_dir.glob("*.json"))) == len(result_texts())
    caches = {folder: tree(folder) for folder in (site.cache_dir, verified_dir)}
    parsed = recording_json(monkeypatch)
    report = build(site)
    assert report.site_unchanged
    assert {folder: tree(folder) for folder in caches} == caches   # no cache written either
    results = result_texts()
    assert not [text for text in parsed if text in results]
    assert sum(map(len, parsed)) < sum(map(len, results)) / 20   # headers and the manifest


def test_a_prose_edit_reads_facts_and_templates_from_the_cache(site, verified_dir, tmp_path,
                                                               monkeypatch):
    build(site)
    assert len(list((site.cache_dir / "facts").glob("*.json"))) == 1
    templates = sorted((site.cache_dir / "jinja").glob("*.cache"))
    assert len(templates) >= 4                      # every page body and layout
    page = site.src_dir / ARTICLE
    page.write_text(page.read_text() + "\nA sentence added by the cache test.\n")

    def no_facts(self, results):
        raise AssertionError("facts were computed, not read from the cache")
    monkeypatch.setattr(Content, "compute_facts", no_facts)
    parsed = recording_json(monkeypatch)
    report = build(site)
    assert report.rendered == [f"page:{ARTICLE_HTML}"]
    # the article quotes one payload directly (results["categorical-is_random"]); no other
    # result file is parsed
    assert len([text for text in parsed if text in result_texts()]) <= 1
    monkeypatch.undo()
    assert contents(site.out_dir) == contents(uncached_build(site, tmp_path, monkeypatch))


def damage(folder: Path, pattern: str, subtle: tuple[bytes, bytes]) -> int:
    """Damage every entry in one of four ways, the last a subtle one that leaves the entry
    well-formed (a replaced text in compiled code, a digit in JSON); how many there were."""
    entries = sorted(folder.glob(pattern))
    for n, path in enumerate(entries):
        data = path.read_bytes()
        kind = n % 4
        if kind == 0:
            path.write_bytes(b"")
        elif kind == 1:
            path.write_bytes(data[: len(data) // 2])
        elif kind == 2:
            path.write_bytes(b"\x80\x04garbage" * 3)
        else:
            old, new = subtle
            at = data.rfind(old)
            assert at > 0, path
            path.write_bytes(data[:at] + new + data[at + len(old):])
    return len(entries)


def test_damaged_cache_entries_are_ignored_and_written_again(site, verified_dir, tmp_path,
                                                            monkeypatch):
    build(site)
    damaged = (damage(site.cache_dir / "facts", "*.json", (b"1", b"2"))
               + damage(site.cache_dir / "jinja", "*.cache", (b"the", b"THE"))
               + damage(verified_dir, "*.json", (b"1", b"2")))
    assert damaged > 40
    page = site.src_dir / ARTICLE
    page.write_text(page.read_text() + "\nA sentence after the caches were damaged.\n")
    report = build(site)
    assert not report.site_unchanged
    assert contents(site.out_dir) == contents(uncached_build(site, tmp_path, monkeypatch))
    for path in verified_dir.glob("*.json"):   # verified again, entries written again
        assert verified_results.verified_header(ROOT, path.stem) is not None, path
    facts_cache = render_cache.FactsCache(site.cache_dir)
    assert [facts_cache.load(p.stem) for p in (site.cache_dir / "facts").glob("*.json")
            if facts_cache.load(p.stem) is not None]


def test_stale_facts_are_not_reused(site, verified_dir):
    """A changed facts module is another key: its new fact is computed and quoted."""
    build(site)
    facts = site.src_dir / "article" / "facts.py"
    facts.write_text(facts.read_text() + "\n\n_compute = compute\n\n\ndef compute(results):\n"
                     "    return {**_compute(results), 'cache_test_fact': 4321}\n")
    page = site.src_dir / ARTICLE
    page.write_text(page.read_text() + "\nThe fact is {{ facts.cache_test_fact | num }}.\n")
    build(site)
    assert "The fact is 4,321." in (site.out_dir / ARTICLE_HTML).read_text()
    assert len(list((site.cache_dir / "facts").glob("*.json"))) == 2


def test_facts_round_trip_with_their_types(tmp_path):
    cache = render_cache.FactsCache(tmp_path)
    facts = {"digits": {2: [0.1, -0.0, 1e300]}, "pair": (1, "x"), "flag": True, "none": None,
             "big": 10 ** 30, "nested": [{"a": (2.5,)}]}
    assert cache.store("k", facts)
    back = cache.load("k")
    assert back == facts and type(back["pair"]) is tuple and type(back["nested"][0]["a"]) is tuple
    assert list(back["digits"]) == [2] and str(back["digits"][2][1]) == "-0.0"
    assert cache.load("other") is None
    assert not cache.store("s", {"a set": {1, 2}})          # not storable exactly: recomputed
    assert cache.load("s") is None


def test_a_result_file_changed_after_its_check_is_refused(tmp_path, verified_dir):
    path = tmp_path / "binary-supervised.json"
    shutil.copy(ROOT / "results" / "binary-supervised.json", path)
    found = freeze.open_result(path, ROOT)
    assert found.parsed is not None                    # first sight: parsed and verified
    again = freeze.open_result(path, ROOT)
    assert again.parsed is None and again.header == found.header   # from the verified cache
    path.write_bytes(path.read_bytes() + b"\n")
    with pytest.raises(freeze.ResultError, match="changed during the build"):
        again.document()


def test_the_verified_cache_keeps_only_the_newest_entries(tmp_path, verified_dir, monkeypatch):
    monkeypatch.setattr(verified_results, "VERIFIED_KEPT", 3)
    path = tmp_path / "binary-supervised.json"
    original = (ROOT / "results" / "binary-supervised.json").read_bytes()
    keys = []
    for version in range(5):                      # five edits of one result file
        path.write_bytes(original + b"\n" * version)
        found = freeze.open_result(path, ROOT)
        assert found.parsed is not None           # new bytes: verified, then remembered
        keys.append(found.key)
        entry = verified_results.verified_path(ROOT, found.key)
        os.utime(entry, ns=(version * 10**9, version * 10**9))   # apart, whatever the clock
    kept = {p.stem for p in (ROOT / verified_dir).glob("*.json")}
    assert kept == set(keys[-3:])
    assert freeze.open_result(path, ROOT).parsed is None     # the newest is still used


def test_well_formed_but_altered_entries_are_not_used(site, verified_dir, tmp_path,
                                                      monkeypatch):
    """Each entry still parses (a text replaced inside compiled code, a digit inside JSON):
    only the entries' own checksums can tell, and the output must not change."""
    build(site)
    every_digit = (lambda data: data[:data.index(b'"facts": "')]
                   + data[data.index(b'"facts": "'):].replace(b"1", b"7"))
    for folder, pattern, alter in (
            (site.cache_dir / "jinja", "*.cache", lambda data: data.replace(b"the", b"THE")),
            (site.cache_dir / "facts", "*.json", every_digit),
            (verified_dir, "*.json", lambda data: data.replace(b'"device": "', b'"device": "X'))):
        altered = 0
        for path in folder.glob(pattern):
            data = path.read_bytes()
            altered += alter(data) != data
            path.write_bytes(alter(data))
        assert altered, folder
    page = site.src_dir / ARTICLE
    page.write_text(page.read_text() + "\nA sentence after the caches were altered.\n")
    build(site)
    assert contents(site.out_dir) == contents(uncached_build(site, tmp_path, monkeypatch))


def test_the_template_line_lookup_equals_jinjas():
    """templating._template_line memoises Template.get_corresponding_lineno's line map."""
    from onpolicy.render.pages import load_pages
    from onpolicy.render.templating import _template_line, body_environment, compile_body

    article = next(p for p in load_pages(ROOT / "site_src", ROOT, False) if p.is_article)
    template = compile_body(body_environment(), article.body, article.display_path)
    last = max(code for _, code in template.debug_info) + 3
    assert len(template.debug_info) > 100
    assert [_template_line(template, n) for n in range(last)] == \
        [template.get_corresponding_lineno(n) for n in range(last)]
