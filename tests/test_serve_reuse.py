"""What a long-lived process (serve) keeps between builds (memo.remember_between_builds):
statuses while no result file or project module changed, typeset formulas and the KaTeX
worker. Builds in such a process equal builds without it, byte for byte, and see a changed
result file at once."""
from __future__ import annotations

import dataclasses
import shutil

import pytest

from onpolicy import incremental, memo, pipeline
from onpolicy.config import ROOT
from onpolicy.render import katex
from tests.test_incremental import ARTICLE, build, contents, site  # noqa: F401 - fixture


@pytest.fixture
def remembering(monkeypatch):
    """This test's process remembers between builds; the others' do not (monkeypatch puts
    the switches and memos back as they were)."""
    for name, empty in (("STATUSES", {}), ("SUITES", {}), ("DATA_FILES", {}),
                        ("REMEMBER", False)):
        monkeypatch.setattr(memo, name, empty)
    monkeypatch.setattr(incremental, "REMEMBER_GIT", False)
    monkeypatch.setattr(incremental, "_GIT_ANSWERS", {})
    memo.remember_between_builds()
    yield
    katex.remember_formulas(False)


@pytest.fixture
def own_results(site, tmp_path):
    """The site with a private copy of results/ (rendered even where they are stale)."""
    shutil.copytree(ROOT / "results", tmp_path / "results")
    return dataclasses.replace(site, results_dir=tmp_path / "results", frozen=False)


def test_repeated_builds_equal_a_fresh_process(own_results, tmp_path, remembering):
    cfg = own_results
    build(cfg)
    page = cfg.src_dir / ARTICLE
    for n in range(2):
        page.write_text(page.read_text() + f"\nSentence {n} of a long-lived process.\n")
        build(cfg)
    memo.REMEMBER = False
    katex.remember_formulas(False)
    fresh = dataclasses.replace(cfg, out_dir=tmp_path / "fresh", cache_dir=tmp_path / "fresh-c")
    shutil.copytree(cfg.cache_dir / "katex", fresh.cache_dir / "katex")
    build(fresh)
    assert contents(cfg.out_dir) == contents(fresh.out_dir)


def test_a_changed_result_file_is_seen_by_the_next_build(own_results, remembering):
    cfg = own_results
    first = pipeline.statuses(cfg, every=True)
    before = {s.name: s.state for s in first}
    assert pipeline.statuses(cfg, every=True) is first     # nothing changed: kept
    victim = sorted(cfg.results_dir.glob("*.json"))[0]
    victim.write_text(victim.read_text().replace('"wall_time_s": ', '"wall_time_s": 9', 1))
    states = {s.name: s.state for s in pipeline.statuses(cfg, every=True)}
    assert states == {**before, victim.stem: "corrupt"}


def test_the_katex_worker_lives_on_between_builds(tmp_path, remembering):
    if shutil.which("node") is None or not (ROOT / "node_modules" / "katex").is_dir():
        pytest.skip("needs node and node_modules/katex (make install)")
    formula = katex.Formula(r"\sum_{k=1}^{n} k^{3} + \tfrac{1}{7}", display=False)
    first = katex.KatexRenderer(ROOT / "node_modules", tmp_path / "a")
    typeset, = first.render_many([formula])
    worker = first._process
    first.close()
    assert worker.poll() is None                           # kept, not ended
    second = katex.KatexRenderer(ROOT / "node_modules", tmp_path / "b")
    assert second._process is worker
    again, = second.render_many([formula])                 # from memory: no file, no node
    assert again.html == typeset.html and second.sent_to_node == 0
    other, = second.render_many([katex.Formula(r"\sqrt{19}", display=True)])
    assert other.html and second.sent_to_node == 1 and second._process is worker
    second.close()
    katex.remember_formulas(False)                         # serve ends: so does the worker
    assert worker.wait(timeout=10) is not None


def test_git_answers_are_kept_until_head_moves(tmp_path, remembering):
    if shutil.which("git") is None:
        pytest.skip("needs git")  # pragma: no cover
    import subprocess

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                       cwd=tmp_path, check=True, capture_output=True)
    git("init", "-q")
    (tmp_path / "a.md").write_text("one\n")
    git("add", "a.md")
    git("commit", "-q", "-m", "one")
    ask = ["log", "-1", "--format=%H", "--", "a.md"]
    first = incremental.git_output(tmp_path, ask)
    assert first and incremental.git_output(tmp_path, ask) == first
    (tmp_path / "a.md").write_text("two\n")
    git("commit", "-q", "-am", "two")
    second = incremental.git_output(tmp_path, ask)
    assert second and second != first
