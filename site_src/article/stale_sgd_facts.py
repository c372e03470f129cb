"""Facts of the last two experiments of the second round: stale snapshots on both tasks, and
the eps dial under plain SGD beside Adam's. Called by facts.compute after the other facts; the
same rules hold (plain values, a key only when its inputs are).

Stale snapshots ("<task>-<m>_lag<k>", m in pg, is, ppo; science_facts.stale_facts has the
finals and logits), per task when every stale row and "<task>-pg_onpolicy" are there:
  <task>_stale_n_seeds        seeds per stale row (the smallest, if they differ)
  <task>_stale_<m>_ers        final expected reward per lag
  <task>_stale_<m>_fails      seeds whose largest |logit| passed LOGIT_FAIL (or went
                              non-finite), per lag
  <task>_stale_<m>_welch      per lag, Welch's test of the final accuracy against the same
                              method at the smallest lag (same seeds; "diff" = this lag minus
                              that one): what staleness alone changes; None at the smallest
  <task>_stale_<m>_below      per lag: lower than at the smallest lag by that test (p < ALPHA)
  <task>_stale_<m>_broken     per lag: below DIAL_DROP_FRACTION of on-policy PG's accuracy, or
                              some seed failed (the dial's meaning of "breaks")
  <task>_stale_<m>_broken_lag the smallest lag at which it broke (absent if none)
  <task>_stale_rows           the rows these facts read (for the article's same-data guard)
  <task>_stale_unchanged      the methods that neither broke at any lag nor end at the largest
                              lag distinguishably from the smallest
The dial under plain SGD ("dial-pg_sgd"; payload_facts.dial_facts and
science_facts.dial_cliff_facts give it the usual dial_pg_sgd_* keys), and for both dials
p in (dial_pg, dial_pg_sgd):
  <p>_welch_vs_onpolicy       per eps, Welch's test of the final accuracy against eps = 0
  <p>_first_below_eps         the smallest eps > 0 whose accuracy is lower than at eps = 0 by
                              that test (absent if none), and <p>_first_below_welch its test
  <p>_last_level_eps          the largest eps before it (absent if it is the first eps > 0)
  <p>_first_fail_eps          the smallest eps > 0 at which some seed ran away (absent if none)
  <p>_all_fail_from           the smallest eps > 0 from which on every seed at every eps ran
                              away (None if the largest eps has a seed that did not)
"""
from __future__ import annotations

import math
from typing import Any

from .science_facts import STALE_LAGS, STALE_METHODS, fail_step
from .stat_tests import welch

DIALS = {"dial_pg": "dial-pg", "dial_pg_sgd": "dial-pg_sgd"}


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _per_seed(stat: dict | None) -> list[float]:
    return [v for v in ((stat or {}).get("per_seed") or []) if _finite(v)]


def _fail_seeds(payload: dict) -> int:
    series = (payload.get("logit_abs_max") or {}).get("per_seed") or []
    return sum(fail_step(payload["steps"], s, nf) is not None
               for s, nf in zip(series, payload["first_nonfinite_step"]))


def _test(a: list[float], b: list[float]) -> dict | None:
    return welch(a, b) if len(a) >= 2 and len(b) >= 2 else None


def stale_tests(task: str, results: dict, facts: dict, alpha: float,
                drop_fraction: float) -> dict:
    rows = {(m, k): results.get(f"{task}-{m}_lag{k}") for m in STALE_METHODS for k in STALE_LAGS}
    on = results.get(f"{task}-pg_onpolicy")
    if any(not isinstance(r, dict) for r in rows.values()) or not isinstance(on, dict):
        return {}
    on_mean = facts.get(f"{task}_pg_onpolicy_final")
    f: dict[str, Any] = {f"{task}_stale_n_seeds": min(len(r["seeds"]) for r in rows.values()),
                         f"{task}_stale_rows": [f"{task}-{m}_lag{k}" for m, k in rows]}
    unchanged = []
    for m in STALE_METHODS:
        runs = [rows[m, k] for k in STALE_LAGS]
        first = _per_seed(runs[0]["final_accuracy"])
        tests = [None] + [_test(_per_seed(r["final_accuracy"]), first) for r in runs[1:]]
        fails = [_fail_seeds(r) for r in runs]
        f[f"{task}_stale_{m}_ers"] = [(r.get("final_expected_reward") or {}).get("mean")
                                      for r in runs]
        f[f"{task}_stale_{m}_fails"] = fails
        f[f"{task}_stale_{m}_welch"] = tests
        f[f"{task}_stale_{m}_below"] = [t is not None and t["p"] < alpha and t["diff"] < 0
                                        for t in tests]
        if _finite(on_mean):
            f[f"{task}_stale_{m}_broken"] = [
                not _finite(r["final_accuracy"]["mean"])
                or r["final_accuracy"]["mean"] < drop_fraction * on_mean or n > 0
                for r, n in zip(runs, fails)]
            if any(f[f"{task}_stale_{m}_broken"]):
                f[f"{task}_stale_{m}_broken_lag"] = \
                    STALE_LAGS[f[f"{task}_stale_{m}_broken"].index(True)]
            last = tests[-1]
            if not any(f[f"{task}_stale_{m}_broken"]) and last is not None \
                    and last["p"] >= alpha:
                unchanged.append(m)
    f[f"{task}_stale_unchanged"] = unchanged
    return f


def dial_tests(p: str, payload: dict, alpha: float) -> dict:
    eps, runs = payload.get("eps") or [], payload.get("runs") or []
    if 0.0 not in eps or len(runs) != len(eps):
        return {}
    on = _per_seed(runs[eps.index(0.0)]["final_accuracy"])
    tests = [_test(_per_seed(r["final_accuracy"]), on) for r in runs]
    f: dict[str, Any] = {f"{p}_welch_vs_onpolicy": tests}
    order = sorted((e, i) for i, e in enumerate(eps) if e > 0)
    fails = [(e, _fail_seeds(runs[i]), len(runs[i]["seeds"])) for e, i in order]
    failed = [e for e, n, _ in fails if n > 0]
    if failed:
        f[f"{p}_first_fail_eps"] = failed[0]
        f[f"{p}_all_fail_from"] = None
        for e, n, total in reversed(fails):
            if n < total:
                break
            f[f"{p}_all_fail_from"] = e
    for n, (e, i) in enumerate(order):
        t = tests[i]
        # a seed that went non-finite has no accuracy to test: it counts as below
        dead = (payload.get("nonfinite_seeds") or [0] * len(eps))[i]
        if dead or (t is not None and t["p"] < alpha and t["diff"] < 0):
            f[f"{p}_first_below_eps"] = e
            f[f"{p}_first_below_welch"] = t
            if n > 0:
                f[f"{p}_last_level_eps"] = order[n - 1][0]
            break
    return f


def compute(results: dict, facts: dict, alpha: float, drop_fraction: float) -> dict:
    f: dict[str, Any] = {}
    for task in ("binary", "categorical"):
        f.update(stale_tests(task, results, facts, alpha, drop_fraction))
    for p, name in DIALS.items():
        payload = results.get(name)
        if isinstance(payload, dict) and "runs" in payload:
            f.update(dial_tests(p, payload, alpha))
    return f
