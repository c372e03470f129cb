"""The article's numbers are the results' numbers.

* facts.compute is checked against values recomputed here, independently, from the payloads.
* site_src/article/ and site_src/reproduce.md are rendered through the real renderer
  (onpolicy.render.render_site), and strings formatted straight from the payloads (first
  non-finite steps, final accuracies as percentages, ...) must appear in the HTML.
* A require() guard must fail the build when a claim stops being true.

Two sources of results: schema-shaped fake results built here (always run, so the article is
exercised before any real training), and the frozen results in results/ (skipped, with the
reason, only while results/ holds none).
"""
from __future__ import annotations

import html as html_lib
import json
import math
import re
import shutil
import statistics
from html.parser import HTMLParser
from pathlib import Path

import pytest

from experiments.mnist_files import dataset_identity
from experiments.suite import (BY_NAME, EXPERIMENTS, effective_config, examples,
                               payload_schema)
from onpolicy import schema
from onpolicy.config import ROOT, BuildConfig
from onpolicy.render.content import import_folder
from tests.fixtures_science import science_results, second_round_results

ARTICLE_DIR = ROOT / "site_src" / "article"   # the page, its facts.py and its figures.py
facts_module = {file.name: module for file, module in import_folder(ARTICLE_DIR)}["facts.py"]
REPRODUCE = ROOT / "site_src" / "reproduce.md"
TASKS = ("binary", "categorical")
METHODS = ("supervised", "q_random", "pg_random", "pg_random_stable", "pg_onpolicy",
           "ppo_random", "is_random")


# -- fake results: schema-shaped, with the outcomes the article describes --------------------

def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _stat(per_seed: list[list]) -> dict:
    cols = list(zip(*per_seed))
    mean, lo, hi, n = [], [], [], []
    for col in cols:
        xs = [v for v in col if v is not None]
        if xs:
            m = sum(xs) / len(xs)
            mean.append(m), lo.append(m - 0.01), hi.append(m + 0.01)
        else:
            mean.append(None), lo.append(None), hi.append(None)
        n.append(len(xs))
    return {"per_seed": per_seed, "mean": mean, "lo": lo, "hi": hi, "n": n}


def _final(values: list) -> dict:
    xs = [v for v in values if v is not None]
    mean = sum(xs) / len(xs) if xs else None
    return {"per_seed": values, "mean": mean, "lo": None if mean is None else mean - 0.01,
            "hi": None if mean is None else mean + 0.01, "n": len(xs)}


def fake_training(task: str, method: str, *, steps_total: int = 3000, eval_every: int = 50,
                  seeds=(0, 1, 2, 3, 4), final: float = 0.95, nonfinite=None,
                  logit_end: float = 12.0, collapse: float | None = None,
                  behaviour_eps: float = 1.0, dropped: dict[int, int] | None = None,
                  er_gap: float = 0.01) -> dict:
    """One training payload. nonfinite: per-seed first non-finite step (None = never).
    collapse: share of eval inputs that seed s sends to action s % K at the end.
    dropped: {seed: digit} that seed stops choosing from the first third of training on.
    er_gap: how far the policy's expected reward stays below its greedy accuracy."""
    k = 2 if task == "binary" else 10
    steps = list(range(0, steps_total + 1, eval_every))
    nonfinite = list(nonfinite or [None] * len(seeds))
    start_acc = 1 / k
    acc, lmax, lmean, shares = [], [], [], []
    for si, seed in enumerate(seeds):
        a_row, m_row, mm_row, s_row = [], [], [], []
        for step in steps:
            t = step / steps_total
            dead = nonfinite[si] is not None and step >= nonfinite[si]
            if dead:
                a_row.append(None), m_row.append(None), mm_row.append(None)
                s_row.append([None] * k)  # as the trainer writes a dead seed's shares
                continue
            top = final + 0.001 * seed - (0.09 if dropped and seed in dropped else 0.0)
            a_row.append(start_acc + (top - start_acc) * min(1.0, 3 * t))
            m_row.append(0.1 + (logit_end - 0.1) * t)
            mm_row.append(0.05 + 0.4 * (logit_end - 0.1) * t)
            if collapse is None:
                share = [1 / k] * k
            else:
                top = 1 / k + (collapse - 1 / k) * t
                share = [(1 - top) / (k - 1)] * k
                share[seed % k] = top
            if dropped and seed in dropped and t > 1 / 3:
                lost = dropped[seed]
                share = [v + share[lost] / (k - 1) for v in share]
                share[lost] = 0.0
            s_row.append(share)
        acc.append(a_row), lmax.append(m_row), lmean.append(mm_row), shares.append(s_row)
    share_mean = []
    for i in range(len(steps)):
        rows = [s[i] for s in shares if s[i][0] is not None]
        share_mean.append([sum(r[j] for r in rows) / len(rows) if rows else None
                           for j in range(k)])
    er = [[None if v is None else max(0.0, v - er_gap) for v in row] for row in acc]
    finals = [row[-1] for row in acc]
    fin = [v for v in finals if v is not None]
    fmean = sum(fin) / len(fin) if fin else None
    return {
        "task": task, "method": method, "n_actions": k, "seeds": list(seeds), "steps": steps,
        "accuracy": _stat(acc), "logit_abs_max": _stat(lmax), "logit_abs_mean": _stat(lmean),
        "action_share": {"mean": share_mean, "per_seed": shares},
        "first_nonfinite_step": nonfinite,
        "expected_reward": _stat(er),
        "final_expected_reward": _final([row[-1] for row in er]),
        "final_accuracy": {"per_seed": finals, "mean": fmean,
                           "lo": None if fmean is None else fmean - 0.01,
                           "hi": None if fmean is None else fmean + 0.01, "n": len(fin)},
        "behaviour_eps": behaviour_eps, "wall_time_s": 12.5,
    }


def fake_gradients(x_range=(-8.0, 8.0), n_x=81, n_r=41, n_y=21) -> dict:
    xs = [x_range[0] + (x_range[1] - x_range[0]) * i / (n_x - 1) for i in range(n_x)]
    rs = [-1 + 2 * j / (n_r - 1) for j in range(n_r)]
    ys = [j / (n_y - 1) for j in range(n_y)]

    def grid(y_axis, fn, y_label):
        return {"x": xs, "y": y_axis, "z": [[fn(x, y) for x in xs] for y in y_axis],
                "x_label": "logit x", "y_label": y_label, "z_label": "dL/dx",
                "title": "", "max_abs_error": 3e-8}
    s = _sigmoid
    grids = {
        "bce": grid(ys, lambda x, y: s(x) - y, "label y"),
        "pg_a1": grid(rs, lambda x, r: r * s(x) - r, "reward r"),
        "pg_a0": grid(rs, lambda x, r: r * s(x), "reward r"),
        "is_a1": grid(rs, lambda x, r: -2 * r * s(x) * (1 - s(x)), "reward r"),
        "is_a0": grid(rs, lambda x, r: 2 * r * s(x) * (1 - s(x)), "reward r"),
        "ce_label": grid([0.0], lambda x, _: s(x) - 1, "row"),
        "pg_cat_sampled": grid(rs, lambda x, r: r * (s(x) - 1), "reward r"),
        "pg_cat_other": grid(rs, lambda x, r: r * s(x), "reward r"),
    }
    return {"grids": grids}


def fake_results() -> dict[str, dict]:
    """Every experiment of the suite, with the outcome the article expects."""
    out: dict[str, dict] = {"gradients": fake_gradients()}
    for task in TASKS:
        sup = 0.97 if task == "binary" else 0.93
        out[f"{task}-supervised"] = fake_training(task, "supervised", final=sup, logit_end=15)
        out[f"{task}-q_random"] = fake_training(task, "q_random", final=sup - 0.01, logit_end=1.5)
        out[f"{task}-pg_random"] = fake_training(
            task, "pg_random", final=0.9, logit_end=40,
            nonfinite=[350, 410, None, 520, 385] if task == "binary" else [None] * 5)
        out[f"{task}-pg_random_stable"] = fake_training(
            task, "pg_random_stable", final=0.76 if task == "binary" else 0.3,
            logit_end=2000, collapse=None if task == "binary" else 0.8)
        out[f"{task}-pg_onpolicy"] = fake_training(
            task, "pg_onpolicy", final=sup - 0.012, logit_end=14, behaviour_eps=0.0,
            **({} if task == "binary" else {"seeds": tuple(range(20)),
                                            "dropped": {1: 9, 2: 4, 7: 3}}))
        out[f"{task}-ppo_random"] = fake_training(task, "ppo_random", final=sup - 0.02,
                                                  logit_end=3, er_gap=0.15)
        out[f"{task}-is_random"] = fake_training(task, "is_random", final=sup - 0.015,
                                                 logit_end=9)
    out.update(science_results(fake_training, {"binary": 0.97, "categorical": 0.93}))
    out.update(second_round_results(fake_training, {"binary": 0.97, "categorical": 0.93}))
    return out


def fake_meta(results: dict) -> dict[str, dict]:
    by_name = {e.name: e for e in EXPERIMENTS}
    meta = {}
    for name in results:
        config = effective_config(by_name[name])
        meta[name] = {
            "provenance": {"torch": "2.14.1", "device": "cpu", "git_commit": "0" * 40,
                           "created": "2026-11-26T12:00:00+00:00", "wall_time_s": 12.5,
                           "python": "3.11.7", "platform": "Linux-x86_64"},
            "inputs_hash": "ab" * 32,
            "inputs": {"config": config,
                       "sources": {"experiments/runs.py": "cd" * 32},
                       "data": dataset_identity(config.get("data", {"name": "none"})),
                       "schema": schema.SCHEMA_VERSION},
            "stale": False,
            "examples": examples(dataset_identity(config.get("data", {"name": "none"}))),
        }
    return meta


def test_fake_results_are_schema_shaped():
    for name, payload in fake_results().items():
        row = BY_NAME[name]
        problems = [f"{name}: {p}" for p in schema.problems({
            "schema": schema.SCHEMA_VERSION, "experiment": name, "inputs_hash": "ab" * 32,
            "inputs": {"config": {}, "sources": {}, "data": {}, "schema": 1},
            "provenance": {}, "result_sha256": "cd" * 32, "result": payload,
            "document_sha256": "ef" * 32}, payload_schema(row, effective_config(row)))]
        assert not problems, problems


# -- facts, recomputed independently -----------------------------------------------------------

def _expected_training_facts(payload: dict) -> dict:
    hit = [s for s in payload["first_nonfinite_step"] if s is not None]
    out = {"nonfinite_seeds": len(hit), "n_seeds": len(payload["seeds"]),
           "steps_total": payload["steps"][-1]}
    if hit:
        out["nonfinite_min"], out["nonfinite_max"] = min(hit), max(hit)
        out["nonfinite_median"] = statistics.median(hit)
    if payload["final_accuracy"]["mean"] is not None:
        out["final"] = payload["final_accuracy"]["mean"]
    logits = [v for v in payload["logit_abs_max"]["mean"] if v is not None]
    out["logit_max_initial"], out["logit_max_final"] = logits[0], logits[-1]
    out["logit_growth"] = logits[-1] / logits[0]
    # majority-action share at the last eval step where a seed was alive, averaged over seeds
    per_seed = payload["action_share"]["per_seed"]

    def valid(row) -> bool:  # a dead seed's row is None or a list of None
        return row is not None and all(v is not None for v in row)
    last = max(i for i in range(len(payload["steps"])) if any(valid(s[i]) for s in per_seed))
    tops = [max(s[last]) for s in per_seed if valid(s[last])]
    out["collapse_share"] = sum(tops) / len(tops)
    return out


def check_cliff_facts(prefix: str, payload: dict, facts: dict) -> None:
    """Seeds whose largest logit passed the threshold, per eps, and the first eps where all
    did, recomputed here."""
    threshold = facts["logit_fail"]
    failed = [sum(1 for series, nf in zip(run["logit_abs_max"]["per_seed"],
                                          run["first_nonfinite_step"])
                  if nf is not None or any(v is not None and v > threshold for v in series))
              for run in payload["runs"]]
    assert facts[f"{prefix}_fail_seeds"] == failed
    everyone = [e for e, k, run in zip(payload["eps"], failed, payload["runs"])
                if e > 0 and k == len(run["seeds"])]
    assert facts.get(f"{prefix}_cliff_eps") == (everyone[0] if everyone else None)


def check_dropped_facts(prefix: str, payload: dict, facts: dict) -> None:
    finals = [next(r for r in reversed(seed) if r is not None and None not in r)
              for seed in payload["action_share"]["per_seed"]]
    dropped = [s for s, row in zip(payload["seeds"], finals)
               if min(row) < facts["drop_share"]]
    assert facts[f"{prefix}_dropped_seeds"] == len(dropped)
    assert sorted(facts[f"{prefix}_dropped_digits"]) == dropped
    xs = sorted(v for v in payload["final_accuracy"]["per_seed"] if v is not None)
    if len(xs) >= 2:  # quartiles need two finite seeds (naive PG's may all go non-finite)
        assert facts[f"{prefix}_final_median"] == pytest.approx(statistics.median(xs))
    else:
        assert f"{prefix}_final_median" not in facts


def check_facts(results: dict, facts: dict) -> None:
    for name, payload in results.items():
        prefix = name.replace("-", "_")
        if "runs" in payload:
            assert facts[f"{prefix}_eps"] == payload["eps"]
            assert facts[f"{prefix}_final"] == payload["final_accuracy"]["mean"]
            if 0.0 in payload["eps"]:
                i0 = payload["eps"].index(0.0)
                assert facts[f"{prefix}_onpolicy_final"] == pytest.approx(
                    payload["final_accuracy"]["mean"][i0])
                on = payload["final_accuracy"]["mean"][i0]
                broken = [e for e, m, n in zip(payload["eps"], payload["final_accuracy"]["mean"],
                                               payload.get("nonfinite_seeds") or
                                               [0] * len(payload["eps"]))
                          if m is None or m < facts_module.DIAL_DROP_FRACTION * on or n]
                assert facts[f"{prefix}_drop_found"] == bool(broken)
                if broken:
                    assert facts[f"{prefix}_drop_eps"] == broken[0]
            check_cliff_facts(prefix, payload, facts)
            continue
        if "estimators" in payload:
            task = payload["task"]
            for est, metrics in payload["estimators"].items():
                for metric, stat in metrics.items():
                    assert facts[f"est_{task}_{est}_{metric}_last"] == stat["mean"][-1]
            continue
        if "grids" in payload:
            errors = [g["max_abs_error"] for g in payload["grids"].values()
                      if g.get("max_abs_error") is not None]
            if errors:
                assert facts["grad_max_abs_error"] == pytest.approx(max(errors))
            continue
        if "source" in payload and "train" in payload:
            continue  # the live bandit's digit subset: no facts
        for key, value in _expected_training_facts(payload).items():
            assert facts[f"{prefix}_{key}"] == pytest.approx(value), (name, key)
        if payload["task"] == "categorical" and payload["action_share"].get("per_seed"):
            check_dropped_facts(prefix, payload, facts)
        task = payload["task"]
        sup = results.get(f"{task}-supervised", {}).get("final_accuracy", {}).get("mean")
        mine = payload["final_accuracy"]["mean"]
        # Gaps are facts of the "<task>-<method>" rows only: another article's row (e.g. the
        # example row of `build.py new`, "my-note-example") gets none.
        if sup is not None and mine is not None and name.startswith(f"{task}-"):
            assert facts[f"{prefix}_gap_pp"] == pytest.approx((sup - mine) * 100)
            chance = 1 / payload["n_actions"]
            assert facts[f"{prefix}_skill"] == pytest.approx((mine - chance) / (sup - chance))


def test_facts_match_fake_payloads():
    results = fake_results()
    facts = facts_module.compute(results)
    check_facts(results, facts)
    # spot checks with hand-known values
    assert facts["binary_pg_random_nonfinite_seeds"] == 4
    assert facts["binary_pg_random_nonfinite_median"] == 397.5
    assert facts["binary_pg_random_nonfinite_min"] == 350
    assert facts["categorical_pg_random_nonfinite_seeds"] == 0
    assert facts["binary_pg_random_stable_logit_still_rising"] is True
    assert facts["categorical_pg_random_stable_collapse_share"] == pytest.approx(0.8)
    assert facts["dial_pg_drop_found"] is True
    assert facts["dial_pg_cliff_eps"] == 0.02 and facts["dial_pg_cliff_prev_eps"] == 0.01
    assert facts["dial_is_fail_seeds"] == [0] * 7
    assert facts["categorical_pg_onpolicy_dropped_seeds"] == 3
    assert facts["categorical_pg_onpolicy_dropped_digits"] == {1: [9], 2: [4], 7: [3]}
    assert facts["categorical_pg_onpolicy_barrier_dropped_seeds"] == 0
    assert facts["categorical_pg_onpolicy_dropped_from_start"] == 0  # dropped at a third
    assert facts["est_binary_is_var_ratio_last"] == pytest.approx(40.0 / 5.0)
    assert facts["binary_clip_widths"] == [0.05, 0.1, 0.2, 0.4]


def test_facts_skip_missing_inputs():
    """A partial (quick) build: facts only has keys for the experiments that ran."""
    results = {"binary-pg_random": fake_results()["binary-pg_random"]}
    facts = facts_module.compute(results)
    assert facts["binary_pg_random_nonfinite_seeds"] == 4
    assert "binary_pg_random_gap_pp" not in facts          # no supervised result
    constants = {"dial_drop_fraction": facts_module.DIAL_DROP_FRACTION,
                 "near_pp": facts_module.NEAR_PP, "learned_skill": facts_module.LEARNED_SKILL,
                 "logit_fail": 1000.0, "drop_share": 0.01, "alpha": 0.05}
    assert not any(k.startswith(("dial_", "grad_", "categorical_")) for k in facts
                   if k not in constants)
    assert facts_module.compute({}) == constants


def test_facts_all_seeds_nonfinite():
    payload = fake_training("binary", "pg_random", nonfinite=[100, 200, 300, 400, 500])
    facts = facts_module.compute({"binary-pg_random": payload})
    assert "binary_pg_random_final" not in facts
    assert facts["binary_pg_random_nonfinite_all"] is True
    assert facts["binary_pg_random_nonfinite_median"] == 300


# -- rendering the real pages -----------------------------------------------------------------

def render_pages(tmp_path: Path, results: dict, meta: dict) -> dict[str, str]:
    """Render the article and reproduce.md alone with the real renderer and templates."""
    from onpolicy.render import render_site

    src = tmp_path / "site_src"
    src.mkdir()
    shutil.copytree(ARTICLE_DIR, src / ARTICLE_DIR.name,
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPRODUCE, src / REPRODUCE.name)
    settings = ROOT / "site_src" / "_site.yaml"
    if settings.is_file():
        shutil.copy(settings, src / settings.name)
    out = tmp_path / "out"
    out.mkdir()
    cfg = BuildConfig(src_dir=src, out_dir=out, cache_dir=ROOT / ".cache")
    render_site(cfg, results, meta, out)
    return {name: (out / name / "index.html").read_text(encoding="utf-8")
            for name in ("why-policy-gradients-are-on-policy", "reproduce")}


def text_of(page_html: str) -> str:
    """Visible text, with KaTeX's MathML annotations and tags dropped, whitespace collapsed."""
    body = re.sub(r"<annotation[^>]*>.*?</annotation>", " ", page_html, flags=re.S)
    body = re.sub(r"<[^>]+>", " ", body)
    return re.sub(r"\s+", " ", html_lib.unescape(body))


def big(v: float) -> str:
    """The article's rounding of logit sizes and growth factors (its big() macro)."""
    from onpolicy.render.templating import num

    return num(v, 0 if v >= 100 else 1 if v >= 10 else 2)


def check_article_numbers(article: str, results: dict, meta: dict) -> None:
    from onpolicy.render.templating import num, percent

    text = text_of(article)

    def has(s: str, what: str) -> None:
        assert s in text, f"{what}: {s!r} not in the rendered article"

    for task in TASKS:
        for method in METHODS:
            final = results[f"{task}-{method}"]["final_accuracy"]
            if final["mean"] is not None:
                has(percent(final["mean"]), f"{task}-{method} final accuracy")
                has(f"{percent(final['lo'])} – {percent(final['hi'])}",
                    f"{task}-{method} interval")
            hit = [s for s in results[f"{task}-{method}"]["first_nonfinite_step"]
                   if s is not None]
            has(f"{len(hit)} of {len(results[f'{task}-{method}']['seeds'])}",
                f"{task}-{method} non-finite seed count")

    pg = results["binary-pg_random"]
    hit = sorted(s for s in pg["first_nonfinite_step"] if s is not None)
    has(f"step {num(min(hit))}", "first non-finite step")
    if len(hit) > 1:
        median = statistics.median(hit)
        has(f"median step of {num(median, 0 if float(median).is_integer() else 1)}",
            "median non-finite step")
    has(percent(statistics.median(hit) / pg["steps"][-1]), "median non-finite fraction")

    sup = results["binary-supervised"]["final_accuracy"]["mean"]
    for method in ("q_random", "pg_onpolicy", "is_random", "ppo_random"):
        gap = (sup - results[f"binary-{method}"]["final_accuracy"]["mean"]) * 100
        has(f"{num(abs(gap))} percentage points", f"binary-{method} gap to supervised")

    stable = results["binary-pg_random_stable"]["logit_abs_max"]["mean"]
    finite = [v for v in stable if v is not None]
    has(f"a factor of {big(finite[-1] / finite[0])}", "stable PG logit growth factor")
    has(f"to {big(finite[-1])} after", "stable PG final max |logit|")

    config = meta["binary-pg_random"]["inputs"]["config"]
    has(f"for {num(config['steps'])} Adam steps", "training steps from the config")
    has(f"learning rate {config['lr']}", "learning rate from the config")
    has(f"{len(config['seeds'])} independently initialised networks", "seed count")

    dial = results["dial-pg"]
    on = dial["final_accuracy"]["mean"][dial["eps"].index(0.0)]
    has(f"On-policy, vanilla PG ends at {percent(on)}", "dial on-policy accuracy")

    for url in ("http://karpathy.github.io/2016/05/31/rl/",):
        assert url in article
    assert "1707.06347" in text and "Machine Learning" in text


# about 19 minutes at the 220 words a minute of the reading time (3,500 before issue 21 added
# the reward-sign and critic sections, the answer the article now leads with, to the main line)
MAIN_LINE_WORDS = 4250


class _ProseWords(HTMLParser):
    """Words of the article's prose by section, as the reading time counts them: math and
    figures (their captions and data tables) and the contents list are not words. A section
    starts at each h2."""

    VOID = {"br", "img", "hr", "input", "meta", "link", "source", "wbr", "col"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.skipping = 0
        self.sections: list[list] = [["", 0]]   # [h2 id, words]
        self.hrefs: list[list[str]] = [[]]      # internal links of each section

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        skip = (tag in ("figure", "nav") or "katex" in classes
                or "katex-display" in classes)
        self.stack.append(skip)
        self.skipping += skip
        if self.skipping:
            return
        if tag == "h2":
            self.sections.append([a.get("id", ""), 0])
            self.hrefs.append([])
        if tag == "a" and (a.get("href") or "").startswith("#"):
            self.hrefs[-1].append(a["href"][1:])

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.skipping -= self.stack.pop()

    def handle_data(self, data):
        if not self.skipping:
            self.sections[-1][1] += len(data.split())


def main_line(article_html: str) -> tuple[int, list[str], list[str], list[str]]:
    """(words before the first appendix, ids of the main line's h2s, the appendices' ids,
    the in-page links of the main line)."""
    body = article_html[article_html.index('<div class="prose'):]
    parser = _ProseWords()
    parser.feed(body)
    ids = [sid for sid, _ in parser.sections]
    first = next(i for i, sid in enumerate(ids) if sid.startswith("appendix-"))
    words = sum(n for _, n in parser.sections[:first])
    links = [h for hrefs in parser.hrefs[:first] for h in hrefs]
    appendices = [sid for sid in ids[first:] if sid.startswith("appendix-")]
    return words, ids[:first], appendices, links


def check_main_line(article_html: str) -> None:
    """The article opens with a summary and its teaser figure, carries its argument in a main
    line a reader finishes (<= MAIN_LINE_WORDS words of prose) and keeps the deep dives in
    appendices after the conclusion, each linked from the main line."""
    words, main_ids, appendices, links = main_line(article_html)
    assert words <= MAIN_LINE_WORDS, f"the main line has {words} words (> {MAIN_LINE_WORDS})"
    assert words >= 1500, f"the main line has only {words} words: is the appendix marker early?"
    assert main_ids[-1] == "conclusion", f"the main line should end with the conclusion: {main_ids}"
    for required in ("appendix-estimators", "appendix-clip", "appendix-stale",
                     "appendix-dropped-digits", "appendix-remedies", "appendix-dial"):
        assert required in appendices, f"{required} is not an appendix: {appendices}"
        assert required in links, f"the main line never links to {required}"
    # summary and teaser: a figure before the first section heading
    prose = article_html[article_html.index('<div class="prose'):]
    assert prose.find("<figure") < prose.find("<h2"), "no teaser figure above the first section"


def check_reproduce(page: str, results: dict, meta: dict) -> None:
    text = text_of(page)
    for name, m in meta.items():
        assert f'href="../data/results/{name}.json"' in page, name
        assert m["inputs_hash"][:12] in text, name
        for file, md5 in (m["inputs"]["data"].get("files") or {}).items():
            assert file in text and md5 in text, (name, file)
    assert "python build.py --rerun binary-pg_random" in text
    assert "--mnist-dir" in text and "MNIST_DIR" in text


@pytest.mark.slow
def test_article_renders_fake_results(tmp_path):
    results, meta = fake_results(), None
    meta = fake_meta(results)
    pages = render_pages(tmp_path, results, meta)
    check_article_numbers(pages["why-policy-gradients-are-on-policy"], results, meta)
    check_reproduce(pages["reproduce"], results, meta)
    check_main_line(pages["why-policy-gradients-are-on-policy"])
    # the categorical pg_random never went non-finite in the fakes: the prose says so
    assert "did not go non-finite here" in text_of(pages["why-policy-gradients-are-on-policy"])


@pytest.mark.slow
def test_require_guard_fails_the_build(tmp_path):
    """If vanilla PG on random actions stops going non-finite, the article must not build."""
    from onpolicy.render import RenderError

    results = fake_results()
    results["binary-pg_random"] = fake_training("binary", "pg_random", final=0.9)
    with pytest.raises(RenderError, match="require.*naive off-policy PG no longer goes non-finite"):
        render_pages(tmp_path, results, fake_meta(results))


def test_a_sentence_comparing_rows_trained_on_different_data_fails_the_build(tmp_path):
    """A partial rerun on other data must not publish a comparison of two results."""
    from onpolicy.render import RenderError

    results = fake_results()
    meta = fake_meta(results)
    other = dict(meta["categorical-pg_onpolicy_barrier"]["inputs"]["data"], split="full")
    meta["categorical-pg_onpolicy_barrier"]["inputs"]["data"] = other
    with pytest.raises(RenderError, match="pg_onpolicy_barrier were trained on different data"):
        render_pages(tmp_path, results, meta)


def test_the_reward_sign_sentence_needs_its_test(tmp_path):
    """If rewards {0, 1} stop beating -1/+1 off-policy by Welch's test, the build fails."""
    from onpolicy.render import RenderError

    results = fake_results()
    results["binary-pg_random_r01"] = fake_training("binary", "pg_random_r01", final=0.76)
    with pytest.raises(RenderError, match="no longer beat -1/\\+1 off-policy"):
        render_pages(tmp_path, results, fake_meta(results))


# -- the real frozen results ------------------------------------------------------------------

def load_frozen(results_dir: Path) -> tuple[dict, dict]:
    results, meta = {}, {}
    for path in sorted(results_dir.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        results[doc["experiment"]] = doc["result"]
        meta[doc["experiment"]] = {"provenance": doc["provenance"],
                                   "inputs_hash": doc["inputs_hash"],
                                   "inputs": doc["inputs"], "stale": False,
                                   "examples": examples(doc["inputs"]["data"])}
    return results, meta


@pytest.mark.slow
def test_article_matches_frozen_results(tmp_path):
    results_dir = ROOT / "results"
    if not any(results_dir.glob("*.json")):
        pytest.skip("results/ holds no frozen results yet: run `python build.py` (or "
                    "`make site`) and commit results/*.json")
    results, meta = load_frozen(results_dir)
    missing = sorted({e.name for e in EXPERIMENTS} - set(results))
    assert not missing, f"results/ lacks experiments the article uses: {missing}"
    check_facts(results, facts_module.compute(results))
    pages = render_pages(tmp_path, results, meta)
    check_article_numbers(pages["why-policy-gradients-are-on-policy"], results, meta)
    check_reproduce(pages["reproduce"], results, meta)
    check_main_line(pages["why-policy-gradients-are-on-policy"])
