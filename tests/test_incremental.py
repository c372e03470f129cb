"""Incremental render (onpolicy/incremental.py): a build whose inputs did not change writes
nothing, a prose edit re-renders that one page, a chart is rebuilt only when its results or
its builder changed, and whatever is reused equals what a full render writes. The atomic swap
still guards public/: a failed build leaves it (and the manifest) as they were."""
from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from onpolicy import freeze, incremental, pipeline
from onpolicy.config import ROOT, BuildConfig
from onpolicy.render import RenderError

ARTICLE = "article/index.md"
ARTICLE_PAGE = "page:why-policy-gradients-are-on-policy/index.html"


def tree(path: Path) -> dict[str, tuple[int, int, bytes]]:
    """relative path -> (inode, mtime_ns, bytes) of every file: 'written' means any changes."""
    return {str(p.relative_to(path)): (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture
def site(tmp_path) -> BuildConfig:
    """A private copy of site_src/ rendered from the frozen results into tmp_path/public."""
    shutil.copytree(ROOT / "site_src", tmp_path / "site_src",
                    ignore=shutil.ignore_patterns("__pycache__"))
    if (ROOT / ".cache" / "katex").is_dir():  # typeset formulas: no Node start needed
        shutil.copytree(ROOT / ".cache" / "katex", tmp_path / "cache" / "katex")
    return BuildConfig(src_dir=tmp_path / "site_src", out_dir=tmp_path / "public",
                       cache_dir=tmp_path / "cache", frozen=True, train=False)


def build(cfg: BuildConfig) -> pipeline.BuildReport:
    return pipeline.build(cfg, log=lambda message: None)


def full_render(cfg: BuildConfig, tmp_path: Path) -> Path:
    """The same site rendered with no manifest: the reference for reused output."""
    fresh = dataclasses.replace(cfg, out_dir=tmp_path / "fresh", cache_dir=tmp_path / "fresh-cache")
    shutil.copytree(cfg.cache_dir / "katex", fresh.cache_dir / "katex", dirs_exist_ok=True)
    report = build(fresh)
    assert not report.site_unchanged
    return fresh.out_dir


def contents(path: Path) -> dict[str, bytes]:
    return {rel: data for rel, (_, _, data) in tree(path).items()}


def test_unchanged_inputs_write_nothing(site):
    first = build(site)
    assert not first.site_unchanged and ARTICLE_PAGE in first.rendered
    before = tree(site.out_dir)
    manifest = incremental.manifest_path(site)
    manifest_stat = manifest.stat().st_mtime_ns
    second = build(site)
    assert second.site_unchanged and second.rendered == []
    assert tree(site.out_dir) == before                       # same inodes, mtimes, bytes
    assert manifest.stat().st_mtime_ns == manifest_stat
    assert not [p for p in site.out_dir.parent.iterdir() if p.name.startswith("public.")]
    assert second.warnings == first.warnings                   # still said every time


def test_a_no_op_build_never_loads_the_renderer(site):
    """`build.py --no-train` through cli.main, in a fresh interpreter, on this copy."""
    build(site)
    probe = f"""
import dataclasses, sys
from onpolicy import cli
parsed = cli.config_from
cli.config_from = lambda args: dataclasses.replace(
    parsed(args), src_dir=cli.Path({str(site.src_dir)!r}), cache_dir=cli.Path({str(site.cache_dir)!r}))
code = cli.main(["--no-train", "--out", {str(site.out_dir)!r}])
print(code, "onpolicy.render" in sys.modules, "plotly" in sys.modules, "markdown" in sys.modules)
"""
    proc = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, text=True,
                          capture_output=True, timeout=120)
    assert proc.stdout.split() == ["0", "False", "False", "False"], proc.stderr
    assert "is up to date: nothing rendered" in proc.stderr


def test_prose_edit_rerenders_that_page_only(site, tmp_path):
    build(site)
    before = tree(site.out_dir)
    page = site.src_dir / ARTICLE
    page.write_text(page.read_text() + "\nOne more sentence, for the test.\n")
    report = build(site)
    assert report.rendered == [ARTICLE_PAGE]
    after = tree(site.out_dir)
    changed = {rel for rel in after if before.get(rel, (0, 0, b""))[1:] != after[rel][1:]}
    every_build = {".nojekyll", ".onpolicy-site"}   # tiny files each new tree gets
    assert changed <= {"why-policy-gradients-are-on-policy/index.html"} | every_build, changed
    assert b"One more sentence, for the test." in after[
        "why-policy-gradients-are-on-policy/index.html"][2]
    assert contents(site.out_dir) == contents(full_render(site, tmp_path))


def test_charts_rebuild_when_their_builder_changes_not_for_prose(site, tmp_path):
    build(site)
    figures = site.src_dir / "article" / "figures.py"
    figures.write_text(figures.read_text().replace('name=f"{label}: seed went non-finite"',
                                                   'name=f"{label}: seed stopped"'))
    report = build(site)
    charts = sorted(u for u in report.rendered if u.startswith("chart:"))
    assert "chart:curves-binary" in charts and "chart:dial" in charts
    assert b"seed stopped" in (site.out_dir / "data/charts/curves-binary.json").read_bytes()
    assert contents(site.out_dir) == contents(full_render(site, tmp_path))


def test_a_changed_result_rebuilds_only_the_charts_drawn_from_it(site, tmp_path):
    shutil.copytree(ROOT / "results", tmp_path / "results")
    site = dataclasses.replace(site, results_dir=tmp_path / "results")
    build(site)
    path = site.results_dir / "dial-pg.json"      # as if retrained: new provenance
    document = json.loads(path.read_text())
    document["provenance"]["created"] = "2030-01-01T00:00:00+00:00"
    path.write_text(json.dumps(freeze.seal(document)))
    report = build(site)
    charts = {u for u in report.rendered if u.startswith("chart:")}
    all_charts = {f"chart:{p.stem}" for p in (site.out_dir / "data/charts").glob("*.json")}
    # dial-pg feeds the dial, the cliff-time, the reuse and the SGD-dial figures; nothing else
    # may be redrawn
    assert "chart:dial" in charts and len(charts) <= 4, charts
    assert not charts & {"chart:curves-binary", "chart:curves-categorical", "chart:ppo-clip"}
    assert len(all_charts) > 10
    assert "results" in report.rendered                     # data/results/*.json again
    assert contents(site.out_dir) == contents(full_render(site, tmp_path))


def test_a_tampered_output_file_is_rendered_again(site):
    build(site)
    target = site.out_dir / "reproduce" / "index.html"
    size = target.stat().st_size  # the same size: a changed size is refused (test_out_guard)
    target.write_text("tampered".ljust(size))
    report = build(site)
    assert not report.site_unchanged and report.rendered == ["page:reproduce/index.html"]
    assert "tampered" not in target.read_text()


def test_a_failed_incremental_build_leaves_site_and_manifest(site):
    build(site)
    before = tree(site.out_dir)
    manifest = incremental.manifest_path(site).read_bytes()
    page = site.src_dir / ARTICLE
    good = page.read_text()
    page.write_text(good + "\n{{ facts.no_such_fact }}\n")
    with pytest.raises(RenderError, match="no fact named 'no_such_fact'"):
        build(site)
    assert tree(site.out_dir) == before
    assert incremental.manifest_path(site).read_bytes() == manifest
    page.write_text(good)
    assert build(site).site_unchanged                          # back to the built inputs
