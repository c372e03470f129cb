"""Stale snapshots on both tasks and the dial under plain SGD: the facts (Welch tests, where a
method breaks, where a dial first falls below its on-policy run) from fake payloads whose
answers are known, and the two figures' panels."""
from __future__ import annotations

import pytest

from tests.test_second_round import _load, training

stat_tests = _load("stat_tests")
stale_sgd = _load("stale_sgd_facts")
science_figures = _load("science_figures")
second_figures = _load("second_round_figures")

GOOD, WORSE, BAD = [0.95, 0.96, 0.94], [0.90, 0.91, 0.89], [0.70, 0.72, 0.71]


def stale_results(task="binary"):
    results = {f"{task}-pg_onpolicy": training([0.95, 0.96, 0.95, 0.94], task=task)}
    for m in ("pg", "is", "ppo"):
        for k in (1, 10, 100):
            finals, logit = GOOD, 5.0
            if m == "pg" and k == 100:
                finals, logit = BAD, 5e4
            if m == "is" and k == 100:
                finals = WORSE
            results[f"{task}-{m}_lag{k}"] = training(finals, [v - 0.01 for v in finals],
                                                     logit_end=logit, task=task)
    return results


def test_stale_tests_say_where_each_method_breaks_and_test_against_the_smallest_lag():
    results = stale_results()
    facts = {"binary_pg_onpolicy_final": 0.95}
    f = stale_sgd.stale_tests("binary", results, facts, alpha=0.05, drop_fraction=0.9)
    assert f["binary_stale_n_seeds"] == 3
    assert f["binary_stale_pg_broken"] == [False, False, True]
    assert f["binary_stale_pg_broken_lag"] == 100
    assert f["binary_stale_pg_fails"] == [0, 0, 3]
    assert "binary_stale_is_broken_lag" not in f and "binary_stale_ppo_broken_lag" not in f
    assert f["binary_stale_is_welch"][0] is None
    assert f["binary_stale_is_welch"][2] == stat_tests.welch(WORSE, GOOD)
    assert f["binary_stale_is_below"] == [False, False, True]
    # IS fell (by the test) and PG broke: only PPO is unchanged
    assert f["binary_stale_unchanged"] == ["ppo"]
    assert f["binary_stale_ppo_ers"][0] == pytest.approx(sum(GOOD) / 3 - 0.01)
    assert "binary-ppo_lag100" in f["binary_stale_rows"] and len(f["binary_stale_rows"]) == 9


def test_stale_tests_need_every_row():
    results = stale_results("categorical")
    del results["categorical-ppo_lag10"]
    assert stale_sgd.stale_tests("categorical", results, {}, 0.05, 0.9) == {}


def dial(per_eps: dict, nonfinite=None):
    """A dial payload: eps -> per-seed finals (and a runaway logit where the finals are bad)."""
    eps = list(per_eps)
    runs = [training(v, logit_end=5e4 if max(v) < 0.8 else 5.0) for v in per_eps.values()]
    return {"eps": eps, "runs": runs, "nonfinite_seeds": nonfinite or [0] * len(eps),
            "final_accuracy": {"mean": [sum(v) / len(v) for v in per_eps.values()]}}


def test_dial_tests_find_the_first_eps_below_the_on_policy_run():
    payload = dial({0.0: GOOD, 0.002: [0.95, 0.94, 0.96], 0.02: WORSE, 1.0: BAD})
    f = stale_sgd.dial_tests("dial_pg_sgd", payload, alpha=0.05)
    assert f["dial_pg_sgd_first_below_eps"] == 0.02
    assert f["dial_pg_sgd_last_level_eps"] == 0.002
    assert f["dial_pg_sgd_first_below_welch"] == stat_tests.welch(WORSE, GOOD)
    assert f["dial_pg_sgd_first_fail_eps"] == 1.0
    assert f["dial_pg_sgd_welch_vs_onpolicy"][1]["p"] > 0.05


def test_a_non_finite_seed_counts_as_below_and_no_drop_gives_no_key():
    payload = dial({0.0: GOOD, 0.002: GOOD, 0.02: GOOD}, nonfinite=[0, 1, 0])
    f = stale_sgd.dial_tests("d", payload, alpha=0.05)
    assert f["d_first_below_eps"] == 0.002 and "d_last_level_eps" not in f
    f = stale_sgd.dial_tests("d", dial({0.0: GOOD, 0.02: GOOD}), alpha=0.05)
    assert "d_first_below_eps" not in f and "d_first_fail_eps" not in f


def test_the_stale_figure_draws_one_panel_per_task_with_one_legend_button_per_method():
    results = {**stale_results("binary"), **stale_results("categorical")}
    for name, payload in results.items():
        payload["final_accuracy"].update(lo=0.0, hi=1.0)
    fig = science_figures.stale(results)
    buttons = [t for t in fig.data if (t.meta or {}).get("role") == "legend"]
    assert [t.name for t in buttons] == ["vanilla PG", "importance-weighted PG", "PPO",
                                         "vanilla PG, on-policy (k = 0)"]
    lower = [t for t in fig.data if t.yaxis == "y2"]
    assert lower and all("categorical" in t.name for t in lower)
    assert all("binary" in t.name for t in fig.data
               if t.yaxis in (None, "y") and (t.meta or {}).get("role") != "legend")
    assert fig.layout.yaxis.domain[0] > fig.layout.yaxis2.domain[1]


def test_the_sgd_dial_figure_counts_runaway_seeds_per_eps():
    results = {}
    for name in ("dial-pg", "dial-pg_sgd"):
        payload = dial({0.0: GOOD, 0.02: WORSE, 1.0: BAD})
        payload["final_accuracy"].update(lo=[0.0] * 3, hi=[1.0] * 3)
        results[name] = payload
    fig = second_figures.dial_sgd(results)
    shares = [t for t in fig.data if t.yaxis == "y2"]
    assert len(shares) == 2
    assert all(list(t.x) == [0.02, 1.0] and list(t.y) == [0.0, 1.0] for t in shares)


def test_a_two_panel_chart_gets_one_data_table_per_panel_titled_by_its_axes():
    from onpolicy.render.figures import data_tables
    data = {"layout": {"xaxis": {"title": {"text": None}},
                       "yaxis": {"title": {"text": "accuracy"}, "tickformat": ".0%"},
                       "xaxis2": {"title": {"text": "eps"}},
                       "yaxis2": {"title": {"text": "largest logit"}}},
            "data": [{"type": "scatter", "name": "top", "x": [1, 2], "y": [0.5, 0.25]},
                     {"type": "scatter", "name": "bottom", "x": [1, 2], "y": [3.0, 4.0],
                      "xaxis": "x2", "yaxis": "y2"}]}
    top, bottom = data_tables(data)
    assert top.caption.startswith("accuracy") and top.head == ["eps", "top"]
    assert top.rows[0] == ["1", "50.0%"]
    assert bottom.caption.startswith("largest logit") and bottom.head == ["eps", "bottom"]
    assert "%" not in bottom.rows[0][1]


def test_all_fail_from_is_where_every_larger_eps_lost_every_seed():
    one_dead = training(GOOD, nonfinite=[1500, None, None])   # one seed of three went non-finite
    payload = dial({0.0: GOOD, 0.01: GOOD, 0.02: BAD, 0.5: GOOD, 1.0: BAD})
    payload["runs"][1] = one_dead
    f = stale_sgd.dial_tests("d", payload, alpha=0.05)
    assert f["d_first_fail_eps"] == 0.01 and f["d_all_fail_from"] == 1.0
    payload["runs"][-1] = one_dead
    assert stale_sgd.dial_tests("d", payload, alpha=0.05)["d_all_fail_from"] is None
