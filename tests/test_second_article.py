"""A second article proves the engine knows no article: tests/fixtures/second_article/ brings
its own experiment row with its own entry module (tally.py, plain Python), payload schema and
file-backed dataset (points.csv), a fact in its prose and a figure, and builds next to the
real article, from the real site_src/ and the frozen results, with onpolicy/ as it is.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from onpolicy import pipeline
from onpolicy.config import ROOT, BuildConfig
from onpolicy.render.templating import percent
from tests.site_snapshot import GOLDEN, snapshot

FIXTURE = ROOT / "tests" / "fixtures" / "second_article"
ARTICLE_PAGE = "why-policy-gradients-are-on-policy/index.html"

ROW = "tally-centroids"


def test_one_changed_byte_of_its_dataset_makes_its_result_stale(tmp_path):
    """The freeze hash covers a file-backed dataset's bytes, not only its config."""
    from onpolicy import freeze
    from onpolicy.contract import Experiment, load_suite
    from tests.fixtures.second_article import suite as tally_suite, tally

    data = tmp_path / "points.csv"
    shutil.copy(FIXTURE / "points.csv", data)
    row = Experiment(ROW, tally_suite.ENTRY, {**tally_suite.TALLY.config,
                                               "data": {"name": "points", "file": str(data)}})
    suite = load_suite("tests.fixtures.second_article.suite")
    store = tmp_path / "results"
    inputs = freeze.inputs_for(row, ROOT, suite=suite)
    config = inputs["config"]
    payload = tally.merge(config, [tally.run(config, config["seeds"], "cpu")])
    freeze.write_result(store, row, inputs, payload, {}, suite.payload_schema(row, config))
    assert freeze.check(row, ROOT, store, suite=suite).fresh
    raw = bytearray(data.read_bytes())
    raw[raw.index(b"3")] = ord("4")  # one digit of one coordinate
    data.write_bytes(bytes(raw))
    status = freeze.check(row, ROOT, store, suite=suite)
    assert status.state == "stale" and status.reasons == ["data: points.csv changed"]
    assert "tests/fixtures/second_article/tally.py" in inputs["sources"]
    assert not any(path.startswith("experiments/") for path in inputs["sources"])


def test_its_payload_is_checked_against_its_own_schema(tmp_path):
    from onpolicy import freeze
    from onpolicy.contract import load_suite
    from tests.fixtures.second_article import suite as tally_suite

    suite = load_suite("tests.fixtures.second_article.suite")
    row = tally_suite.TALLY
    inputs = freeze.inputs_for(row, ROOT, suite=suite)
    with pytest.raises(freeze.ResultError, match="'points' is a required property"):
        freeze.write_result(tmp_path, row, inputs, {"steps": []}, {},
                            suite.payload_schema(row, inputs["config"]))


@pytest.fixture(scope="module")
def two_articles(tmp_path_factory) -> tuple[Path, pipeline.BuildReport, Path]:
    """(public/, the build's report, results/) of the real site plus the tally article."""
    work = tmp_path_factory.mktemp("two-articles")
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "site_src", work / "site_src", ignore=skip)
    shutil.copytree(FIXTURE / "site_src" / "tally", work / "site_src" / "tally", ignore=skip)
    shutil.copytree(ROOT / "results", work / "results")   # the frozen results stay untouched
    cfg = BuildConfig(src_dir=work / "site_src", results_dir=work / "results",
                      out_dir=work / "public", suite="tests.fixtures.second_article.suite",
                      device="cpu", threads=1, cache_dir=ROOT / ".cache")
    report = pipeline.build(cfg, log=lambda message: None)
    return work / "public", report, work / "results"


@pytest.mark.slow
def test_only_the_new_row_trains(two_articles):
    """The tally row trains; no row with a fresh frozen result does (a row the user added
    with `build.py new` and has not frozen yet may train too)."""
    _, report, results = two_articles
    assert ROW in report.trained
    frozen = pipeline.statuses(BuildConfig(), every=True)
    assert not {s.name for s in frozen if s.fresh} & set(report.trained), report.trained
    assert (results / f"{ROW}.json").is_file()
    assert not (ROOT / "results" / f"{ROW}.json").exists()


@pytest.mark.slow
def test_the_second_article_quotes_its_fact_and_draws_its_figure(two_articles):
    public, _, results = two_articles
    payload = json.loads((results / f"{ROW}.json").read_text())["result"]
    html = (public / "a-tally" / "index.html").read_text()
    final = percent(payload["final_accuracy"]["mean"])
    assert f"It finished with {final}\nof the held-out points" in html
    assert f"for {payload['steps'][-1]} points, 3 times over" in html
    chart = json.loads((public / "data" / "charts" / "tally-accuracy.json").read_text())
    mean = next(t for t in chart["data"] if t["name"] == "accuracy")
    assert mean["x"] == payload["steps"]
    # chart specs keep 4 significant digits (render/figures.py)
    assert mean["y"] == pytest.approx(payload["accuracy"]["mean"], rel=5e-4)
    assert f'href="../data/results/{ROW}.json"' in html


@pytest.mark.slow
def test_the_real_article_is_unchanged_beside_it(two_articles):
    public, _, _ = two_articles
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    now = snapshot(public)
    assert now["pages"][ARTICLE_PAGE] == golden["pages"][ARTICLE_PAGE]
    assert "tally-accuracy" in now["charts"]
    assert {k: now["charts"].get(k) for k in golden["charts"]} == golden["charts"]
    home = (public / "index.html").read_text()
    assert "a-tally/" in home and "why-policy-gradients-are-on-policy/" in home
