"""Facts of the second round of questions: the reward's sign, a critic + actor, one minibatch
reused for K updates (PPO's regime), plain SGD against Adam, a long run at the dial's smallest
eps, and the tests behind every comparison of two results. Called by facts.compute after the
other facts, whose keys it may read; the same rules hold (a key only when its inputs are).

Every training row "<task>-<m>" (prefix p) with a recorded expected reward (the stochastic
policy's chance of acting right, E_{a~pi}[1{a = y}]) also gets
  <p>_er_final, <p>_er_final_lo, <p>_er_final_hi   its final mean and 95% interval
  <p>_fail_seeds / <p>_fail_all   seeds whose largest |logit| passed LOGIT_FAIL or that went
                                  non-finite at any step / all of them
Welch tests "<a>_vs_<b>" between two rows (final greedy accuracy per seed) are
  welch_<a>_vs_<b> = {"p", "diff", "t", "df"}, and er_welch_<a>_vs_<b> on expected reward.
The reward's sign (per task): <task>_sign_rows (label -> row name), <task>_sign_off_fail
  {label: failing seeds} ... (see sign_facts).
"""
from __future__ import annotations

import math
from typing import Any

from .science_facts import DROP_SHARE, LOGIT_FAIL, fail_step
from .stat_tests import fisher_exact, welch

ALPHA = 0.05  # the level at which the prose calls a difference a difference
TASKS = ("binary", "categorical")
# the reward's sign: label -> method (off-policy = uniform actions, on-policy = eps 0)
SIGN_ROWS = {
    "off_pm1": "pg_random_stable", "off_01": "pg_random_r01",
    "off_01_baseline": "pg_random_r01_baseline",
    "on_pm1": "pg_onpolicy", "on_01": "pg_onpolicy_r01",
    "on_01_baseline": "pg_onpolicy_r01_baseline",
}
REUSE_METHODS = ("pg", "is", "ppo")


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _training(payload: Any) -> bool:
    return isinstance(payload, dict) and "final_accuracy" in payload and "runs" not in payload


def row_facts(p: str, payload: dict) -> dict:
    f: dict[str, Any] = {}
    er = payload.get("final_expected_reward") or {}
    for key, name in (("mean", "er_final"), ("lo", "er_final_lo"), ("hi", "er_final_hi")):
        if _finite(er.get(key)):
            f[f"{p}_{name}"] = float(er[key])
    logit = (payload.get("logit_abs_max") or {}).get("per_seed")
    if logit is not None:
        fails = [fail_step(payload["steps"], series, nf)
                 for series, nf in zip(logit, payload["first_nonfinite_step"])]
        f[f"{p}_fail_seeds"] = sum(s is not None for s in fails)
        f[f"{p}_fail_all"] = bool(fails) and all(s is not None for s in fails)
    return f


def _per_seed(payload: dict, key: str) -> list:
    return [v for v in ((payload.get(key) or {}).get("per_seed") or []) if _finite(v)]


def compare(results: dict, a: str, b: str) -> dict:
    """Welch tests of two rows' final accuracy and (when both have it) expected reward."""
    f: dict[str, Any] = {}
    pa, pb = results.get(a), results.get(b)
    if not (_training(pa) and _training(pb)):
        return f
    name = f"{a}_vs_{b}".replace("-", "_")
    xa, xb = _per_seed(pa, "final_accuracy"), _per_seed(pb, "final_accuracy")
    if len(xa) >= 2 and len(xb) >= 2:
        f[f"welch_{name}"] = welch(xa, xb)
    ea, eb = _per_seed(pa, "final_expected_reward"), _per_seed(pb, "final_expected_reward")
    if len(ea) >= 2 and len(eb) >= 2:
        f[f"er_welch_{name}"] = welch(ea, eb)
    return f


def sign_facts(task: str, results: dict) -> dict:
    rows = {label: results.get(f"{task}-{m}") for label, m in SIGN_ROWS.items()}
    if not all(_training(r) for r in rows.values()):
        return {}
    f: dict[str, Any] = {f"{task}_sign_rows": {k: f"{task}-{m}" for k, m in SIGN_ROWS.items()}}
    for a, b in (("off_01", "off_pm1"), ("off_01_baseline", "off_01"), ("on_01", "on_pm1"),
                 ("on_01_baseline", "on_01"), ("off_01", "on_01")):
        f.update(compare(results, f"{task}-{SIGN_ROWS[a]}", f"{task}-{SIGN_ROWS[b]}"))
    return f


def critic_facts(task: str, results: dict) -> dict:
    f: dict[str, Any] = {}
    for other in ("pg_random_stable", "q_random", "supervised", "ppo_random", "is_random"):
        f.update(compare(results, f"{task}-critic_actor_random", f"{task}-{other}"))
    return f


def reuse_facts(task: str, results: dict) -> dict:
    """<task>_reuse_ks: the K of the task's rows, 1 first (from the dial's eps = 0 run: fresh
    on-policy data every update); per method m, <task>_reuse_<m>_finals / _ers / _fails /
    _logits, one entry per K (None where not recorded)."""
    dial = (lambda m: results.get(f"dial-{m}" if task == "binary" else f"dial-{task}-{m}"))
    ks = sorted({int(n.rsplit("reuse", 1)[1]) for n in results
                 if n.startswith(f"{task}-pg_reuse")})
    if not ks or any(dial(m) is None or 0.0 not in dial(m).get("eps", []) for m in
                     REUSE_METHODS):
        return {}
    f: dict[str, Any] = {f"{task}_reuse_ks": [1] + ks}
    for m in REUSE_METHODS:
        d = dial(m)
        runs = [d["runs"][d["eps"].index(0.0)]] + [results.get(f"{task}-{m}_reuse{k}")
                                                   for k in ks]
        if any(r is None for r in runs):
            return {}
        f[f"{task}_reuse_{m}_finals"] = [r["final_accuracy"]["mean"] for r in runs]
        f[f"{task}_reuse_{m}_ers"] = [(r.get("final_expected_reward") or {}).get("mean")
                                      for r in runs]
        f[f"{task}_reuse_{m}_fails"] = [row_facts("x", r)["x_fail_seeds"] for r in runs]
        f[f"{task}_reuse_{m}_logits"] = [r["logit_abs_max"]["mean"][-1] for r in runs]
        f[f"{task}_reuse_{m}_n_seeds"] = [len(r["seeds"]) for r in runs]
    return f


def optimizer_facts(results: dict) -> dict:
    f: dict[str, Any] = {}
    f.update(compare(results, "binary-pg_onpolicy_sgd", "binary-pg_onpolicy"))
    f.update(compare(results, "binary-pg_random_sgd", "binary-pg_random_stable"))
    sgd, adam = results.get("binary-pg_random_sgd"), results.get("binary-pg_random_stable")
    if _training(sgd) and _training(adam):
        # the two optimisers' largest logits at the last eval step where every SGD seed was
        # still finite (both runs share the eval schedule)
        n_alive = sgd["logit_abs_max"].get("n") or [len(sgd["seeds"])] * len(sgd["steps"])
        last = max((i for i, n in enumerate(n_alive) if n == len(sgd["seeds"])), default=None)
        if last is not None and sgd["steps"] == adam["steps"]:
            f["sgd_compare_step"] = sgd["steps"][last]
            f["sgd_logit_at_compare"] = sgd["logit_abs_max"]["mean"][last]
            f["adam_logit_at_compare"] = adam["logit_abs_max"]["mean"][last]
    long, dial = results.get("binary-pg_eps0002_long"), results.get("dial-pg")
    if _training(long) and dial and 0.002 in dial.get("eps", []):
        short = dial["runs"][dial["eps"].index(0.002)]
        on = dial["runs"][dial["eps"].index(0.0)] if 0.0 in dial["eps"] else None
        f["long_eps"] = 0.002
        f["long_short_steps"] = short["steps"][-1]
        f["long_short_fail_seeds"] = row_facts("x", short)["x_fail_seeds"]
        f["long_short_final"] = short["final_accuracy"]["mean"]
        if on is not None:
            f["long_vs_onpolicy"] = welch(_per_seed(long, "final_accuracy"),
                                          _per_seed(on, "final_accuracy"))
            f["long_short_vs_onpolicy"] = welch(_per_seed(short, "final_accuracy"),
                                                _per_seed(on, "final_accuracy"))
        # the long run's accuracy at the short run's last step, to see what the extra steps did
        steps = long["steps"]
        if short["steps"][-1] in steps:
            f["long_final_at_short"] = long["accuracy"]["mean"][steps.index(short["steps"][-1])]
    return f


def remedy_facts(results: dict, facts: dict) -> dict:
    """Fisher's exact test of dropped-digit counts (barrier and entropy bonus against plain
    on-policy PG), and Welch's test of the barrier's accuracy against the plain seeds that
    dropped nothing (is it a general regulariser?)."""
    f: dict[str, Any] = {}
    base = results.get("categorical-pg_onpolicy")
    if "categorical_pg_onpolicy_dropped_seeds" not in facts or not _training(base):
        return f
    n0 = len(base["seeds"])
    d0 = facts["categorical_pg_onpolicy_dropped_seeds"]
    for remedy in ("barrier", "entropy"):
        key = f"categorical_pg_onpolicy_{remedy}_dropped_seeds"
        row = results.get(f"categorical-pg_onpolicy_{remedy}")
        if key in facts and _training(row):
            f[f"fisher_{remedy}_dropped_p"] = fisher_exact(facts[key], len(row["seeds"]), d0, n0)
    barrier = results.get("categorical-pg_onpolicy_barrier")
    digits = facts.get("categorical_pg_onpolicy_dropped_digits", {})
    kept = [v for seed, v in zip(base["seeds"], base["final_accuracy"]["per_seed"])
            if seed not in digits and _finite(v)]
    if _training(barrier) and len(kept) >= 2:
        f["barrier_vs_kept"] = welch(_per_seed(barrier, "final_accuracy"), kept)
        f["barrier_vs_kept_n"] = len(kept)
    return f


def start_facts(results: dict) -> dict:
    """Categorical on-policy PG at step 0 and later: how many digits each seed's untrained
    network never outputs (greedy share under DROP_SHARE), and how many of those seeds output
    every digit at the end (they recovered)."""
    base = results.get("categorical-pg_onpolicy")
    if not _training(base) or not base["action_share"].get("per_seed"):
        return {}
    per_seed = base["action_share"]["per_seed"]
    missing0 = [sum(1 for v in seed[0] if v is not None and v < DROP_SHARE) for seed in per_seed]
    last = [next((row for row in reversed(seed) if row and all(_finite(v) for v in row)), None)
            for seed in per_seed]
    missing_end = [None if row is None else sum(1 for v in row if v < DROP_SHARE) for row in last]
    with_missing = [i for i, m in enumerate(missing0) if m > 0]
    return {"start_missing_per_seed": missing0,
            "start_seeds_missing": len(with_missing),
            "start_missing_min": min(missing0), "start_missing_max": max(missing0),
            "start_recovered": sum(1 for i in with_missing if missing_end[i] == 0),
            "start_n_seeds": len(per_seed)}


def clip_tests(results: dict) -> dict:
    f: dict[str, Any] = {}
    for task in TASKS:
        f.update(compare(results, f"{task}-ppo_clip40", f"{task}-ppo_clip05"))
    return f


def compute(results: dict, facts: dict) -> dict:
    f: dict[str, Any] = {"alpha": ALPHA}
    for name, payload in sorted(results.items()):
        if _training(payload):
            f.update(row_facts(name.replace("-", "_"), payload))
    for task in TASKS:
        f.update(sign_facts(task, results))
        f.update(critic_facts(task, results))
        f.update(reuse_facts(task, results))
        f.update(compare(results, f"{task}-ppo_random", f"{task}-pg_onpolicy"))
        f.update(compare(results, f"{task}-is_random", f"{task}-pg_onpolicy"))
    f.update(optimizer_facts(results))
    f.update(remedy_facts(results, facts))
    f.update(start_facts(results))
    f.update(clip_tests(results))
    return f
