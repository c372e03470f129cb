"""The second round's statistics and facts: Welch's and Fisher's tests against values worked
out by hand, and the facts of the reward-sign, critic, K-reuse and optimiser rows
computed from fake payloads whose answers are known."""
from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

ARTICLE = Path(__file__).resolve().parent.parent / "site_src" / "article"


def _load(name: str):
    """The article's modules as the package the engine loads them as (relative imports)."""
    package = "second_round_article"
    if package not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            package, ARTICLE / "__init__.py", submodule_search_locations=[str(ARTICLE)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[package] = module
    return importlib.import_module(f"{package}.{name}")


stat_tests = _load("stat_tests")
second = _load("second_round_facts")


def test_welch_matches_r():
    # R: t.test(c(1,2,3,4,5), c(2,4,6,8,10)) -> t = -1.8974, df = 5.8824, p-value = 0.1075
    out = stat_tests.welch([1, 2, 3, 4, 5], [2, 4, 6, 8, 10])
    assert out["t"] == pytest.approx(-1.8974, abs=1e-4)
    assert out["df"] == pytest.approx(5.8824, abs=1e-4)
    assert out["p"] == pytest.approx(0.1075, abs=1e-4)
    assert out["diff"] == -3.0
    # by hand: variances of the means 1e-4/3 and (5e-4/3)/4, so t = 0.115 / sqrt(7.5e-5)
    out = stat_tests.welch([0.91, 0.93, 0.92], [0.80, 0.82, 0.79, 0.81])
    assert out["t"] == pytest.approx(0.115 / math.sqrt(7.5e-5), rel=1e-9)
    assert out["df"] == pytest.approx(7.5e-5 ** 2 / ((1e-4 / 3) ** 2 / 2 + (5e-4 / 12) ** 2 / 3),
                                      rel=1e-9)
    assert stat_tests.welch([0.5, 0.5], [0.5, 0.5])["p"] == 1.0
    assert stat_tests.welch([0.5, 0.5], [0.7, 0.7])["p"] == 0.0
    with pytest.raises(ValueError, match="two values"):
        stat_tests.welch([0.5], [0.5, 0.6])


@pytest.mark.parametrize("t,df,p", [(2.0, 10, 0.07339),     # R: 2 * pt(-2, 10)
                                    (1.0, 1, 0.5),          # Cauchy: P(|T| > 1) = 1/2
                                    (1.959964, 1e7, 0.05),  # the normal limit
                                    (0.0, 5, 1.0)])
def test_t_tail(t, df, p):
    assert stat_tests.t_two_sided_p(t, df) == pytest.approx(p, rel=2e-3, abs=1e-12)


def test_fisher_matches_r():
    # the lady tasting tea, 3 of 4 cups right: two-sided p = 34/70
    assert stat_tests.fisher_exact(3, 4, 1, 4) == pytest.approx(34 / 70)
    # 0 of 20 against 2 of 20: the tables with 0 or 2 hits on the first side each have
    # probability C(20, 2) / C(40, 2) = 190/780; two-sided 380/780 (one-sided 190/780 = 0.24)
    assert stat_tests.fisher_exact(0, 20, 2, 20) == pytest.approx(380 / 780)
    assert stat_tests.fisher_exact(3, 10, 3, 10) == 1.0


def training(final_per_seed, er_per_seed=None, logit_end=5.0, task="binary", nonfinite=None):
    n = len(final_per_seed)
    steps = [0, 1500, 3000]
    stat = lambda rows: {"per_seed": rows, "mean": [sum(c) / n for c in zip(*rows)]}  # noqa
    acc = [[0.5, v, v] for v in final_per_seed]
    payload = {
        "task": task, "method": "m", "n_actions": 2 if task == "binary" else 10,
        "seeds": list(range(n)), "steps": steps, "accuracy": stat(acc),
        "logit_abs_max": stat([[0.1, logit_end / 2, logit_end]] * n),
        "action_share": {"mean": [], "per_seed": []},
        "first_nonfinite_step": nonfinite or [None] * n,
        "final_accuracy": {"per_seed": list(final_per_seed),
                           "mean": sum(final_per_seed) / n},
    }
    if er_per_seed is not None:
        payload["final_expected_reward"] = {"per_seed": list(er_per_seed),
                                            "mean": sum(er_per_seed) / n, "lo": 0.0, "hi": 1.0}
    return payload


def test_row_facts_count_runaways_and_read_the_expected_reward():
    f = second.row_facts("x", training([0.9, 0.91], [0.8, 0.82], logit_end=5e4))
    assert f["x_fail_seeds"] == 2 and f["x_fail_all"] is True
    assert f["x_er_final"] == pytest.approx(0.81)
    f = second.row_facts("y", training([0.9, 0.91], logit_end=5.0, nonfinite=[None, 1500]))
    assert f["y_fail_seeds"] == 1 and f["y_fail_all"] is False
    assert "y_er_final" not in f  # not recorded: no key


def test_sign_facts_test_each_pair_of_rows():
    results = {}
    for label, method in second.SIGN_ROWS.items():
        good = label != "off_pm1" and label != "off_01_baseline"
        finals = [0.95, 0.96, 0.94] if good else [0.76, 0.75, 0.77]
        results[f"binary-{method}"] = training(finals, [v - 0.01 for v in finals],
                                               logit_end=5.0 if good else 5e4)
    f = second.compute(results, {})
    pair = f["welch_binary_pg_random_r01_vs_binary_pg_random_stable"]
    assert pair == stat_tests.welch([0.95, 0.96, 0.94], [0.76, 0.75, 0.77])
    assert pair["p"] < 0.001 and pair["diff"] > 0
    assert f["er_welch_binary_pg_random_r01_vs_binary_pg_random_stable"]["p"] < 0.001
    assert f["binary_pg_random_stable_fail_all"] and f["binary_pg_random_r01_fail_seeds"] == 0
    assert f["binary_sign_rows"]["off_01"] == "binary-pg_random_r01"
    del results["binary-pg_onpolicy_r01"]
    assert "binary_sign_rows" not in second.compute(results, {})  # a row missing: no facts


def test_reuse_facts_put_the_on_policy_dial_run_at_k_1():
    results = {}
    for m in second.REUSE_METHODS:
        on = training([0.95, 0.96])
        results[f"dial-{m}"] = {"eps": [0.0, 1.0], "runs": [on, training([0.7, 0.7])]}
        results[f"binary-{m}_reuse32"] = training([0.8, 0.82], [0.7, 0.72])
    f = second.compute(results, {})
    assert f["binary_reuse_ks"] == [1, 32]
    assert f["binary_reuse_pg_finals"] == [pytest.approx(0.955), pytest.approx(0.81)]
    assert f["binary_reuse_pg_ers"] == [None, pytest.approx(0.71)]


def test_remedy_facts_state_fishers_test():
    base = training([0.9] * 20, task="categorical")
    barrier = training([0.93] * 10 + [0.94] * 10, task="categorical")
    results = {"categorical-pg_onpolicy": base, "categorical-pg_onpolicy_barrier": barrier}
    facts = {"categorical_pg_onpolicy_dropped_seeds": 2,
             "categorical_pg_onpolicy_dropped_digits": {3: [4], 7: [1]},
             "categorical_pg_onpolicy_barrier_dropped_seeds": 0}
    f = second.remedy_facts(results, facts)
    assert f["fisher_barrier_dropped_p"] == pytest.approx(0.4872, rel=1e-3)
    assert f["barrier_vs_kept_n"] == 18 and f["barrier_vs_kept"]["diff"] > 0
    assert not math.isnan(f["barrier_vs_kept"]["p"])
