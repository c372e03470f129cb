"""The numbers the article's prose quotes, computed from the result payloads.

`compute(results)` takes experiment name -> result payload (the "result" object of each
results/<name>.json, see docs/ARCHITECTURE.md) and returns a flat dict of plain Python
values that templates read as `facts.<key>`. No torch, no I/O.

Robustness: a key is only present when its inputs are. A quick build that ran a few
experiments still renders pages that do not quote the missing ones, and a page that does
quote them fails loudly (the templates use StrictUndefined) instead of printing a blank.

Key naming, for a training experiment "<task>-<method>" the prefix is "<task>_<method>"
(e.g. "binary_pg_random"):

  <p>_final, <p>_final_lo, <p>_final_hi   final greedy eval accuracy: mean, 95% interval
  <p>_final_n                              seeds with a finite final accuracy
  <p>_final_min, <p>_final_max             worst / best seed's final accuracy
  <p>_gap_pp                               supervised final accuracy minus this one, in
                                           percentage points (same task)
  <p>_skill                                (final - chance) / (supervised final - chance),
                                           chance = 1 / n_actions: 1 = as good as supervised
  <p>_n_seeds, <p>_steps_total             seeds run; last eval step (= training steps)
  <p>_nonfinite_seeds                      seeds whose training went non-finite
  <p>_nonfinite_all                        every seed went non-finite (bool)
  <p>_nonfinite_steps                      their first non-finite steps, sorted
  <p>_nonfinite_median/_min/_max           ... summarised (only when some seed went)
  <p>_nonfinite_median_frac                median as a fraction of training
  <p>_peak_acc, <p>_peak_acc_step          best mean eval accuracy over training, and when
  <p>_peak_acc_n                           seeds the mean at that step is over (finite ones)
  <p>_logit_max_initial/_final             mean over seeds of max |logit| on the eval set,
  <p>_logit_max_final_step                 at the first / last eval step where it is finite
  <p>_logit_growth                         _final / _initial
  <p>_logit_max_at_75pct                   ... at 3/4 of the way to the last finite step
  <p>_logit_still_rising                   _final > _at_75pct (bool)
  <p>_logit_mean_final                     mean |logit| at the last finite eval step
  <p>_collapse_share                       share of eval inputs given the most common
                                           action at the last eval step (per seed, averaged,
                                           when per-seed shares are stored)
  <p>_collapse_share_peak                  the largest such share over training
  <p>_wall_s                               the payload's wall time

Dial experiments "dial-<m>" (prefix "dial_<m>"): _eps, _final, _final_lo, _final_hi,
_nonfinite (lists, one entry per eps), _onpolicy_final (eps = 0), _uniform_final (eps = 1),
_min_final, _nonfinite_total, _logit_max_final (list: last finite mean max |logit| per eps),
_logit_max_onpolicy / _logit_max_uniform (at eps = 0 / 1), _drop_threshold,
_drop_eps / _last_ok_eps (the first eps whose final accuracy falls below DIAL_DROP_FRACTION
of the on-policy value or has a non-finite seed, and the largest eps before it; present only
if such an eps exists), _drop_found (bool), _wall_s.

Gradient grids ("gradients"): grad_max_abs_error (autograd vs closed form, over every grid),
grad_n_checked, grad_x_min/grad_x_max, and point reads of the surfaces at the ends of the
logit axis (grad_bce_y1_at_xmax, grad_pg_a0_rneg_at_xmax, grad_pg_a1_rneg_at_xmin,
grad_pg_a1_rpos_at_xmax, grad_is_a0_rneg_at_xmax, grad_is_a1_rneg_at_xmin and friends).

Across experiments: <task>_working_max_gap_pp (largest gap to supervised among the methods
expected to work), total_wall_s, and the article's thresholds dial_drop_fraction, near_pp,
learned_skill.
"""
from __future__ import annotations

from typing import Any

from . import science_facts, second_round_facts, stale_sgd_facts
from .payload_facts import dial_facts, finite, gradient_facts, is_dial, is_training, training_facts

# The off-policy dial: "vanilla PG breaks" = final accuracy below this fraction of eps = 0.
DIAL_DROP_FRACTION = 0.9
# The article's meaning of "close to supervised", in percentage points (chooses wording).
NEAR_PP = 5.0
# "It learns": final accuracy closes at least this share of supervised learning's lead over
# chance (1 / n_actions) on the same task. Holds at --quick scale, unlike NEAR_PP.
LEARNED_SKILL = 0.8
# Methods the article presents as working fixes (compared with supervised learning).
WORKING_METHODS = ("q_random", "pg_onpolicy", "ppo_random", "is_random")


def compute(results: dict[str, dict]) -> dict:
    """Experiment name -> payload  =>  flat dict of facts (see the module docstring)."""
    facts: dict[str, Any] = {"dial_drop_fraction": DIAL_DROP_FRACTION, "near_pp": NEAR_PP,
                             "learned_skill": LEARNED_SKILL}
    walls: list[float] = []
    for name, payload in sorted(results.items()):
        prefix = name.replace("-", "_")
        if is_dial(payload):
            facts.update(dial_facts(prefix, payload, DIAL_DROP_FRACTION))
        elif is_training(payload):
            facts.update(training_facts(prefix, payload))
        elif name == "gradients" and isinstance(payload, dict):
            facts.update(gradient_facts(payload))
        if isinstance(payload, dict) and finite(payload.get("wall_time_s")):
            walls.append(float(payload["wall_time_s"]))
        elif is_dial(payload) and finite(facts.get(f"{prefix}_wall_s")):
            walls.append(facts[f"{prefix}_wall_s"])
    if walls:
        facts["total_wall_s"] = sum(walls)

    # Gaps to supervised learning, per task, in percentage points.
    tasks = {n.split("-", 1)[0] for n, pl in results.items() if is_training(pl)}
    for task in sorted(tasks):
        sup = facts.get(f"{task}_supervised_final")
        if sup is None:
            continue
        gaps = []
        for name, payload in results.items():
            if not is_training(payload) or not name.startswith(task + "-"):
                continue
            prefix = name.replace("-", "_")
            mine = facts.get(f"{prefix}_final")
            if mine is not None:
                facts[f"{prefix}_gap_pp"] = (sup - mine) * 100.0
                chance = 1.0 / payload["n_actions"] if payload.get("n_actions") else None
                if chance is not None and sup > chance:
                    facts[f"{prefix}_skill"] = (mine - chance) / (sup - chance)
                if name.split("-", 1)[1] in WORKING_METHODS:
                    gaps.append(facts[f"{prefix}_gap_pp"])
        working = [m for m in WORKING_METHODS if f"{task}-{m}" in results]
        if working and len(gaps) == len(working):
            facts[f"{task}_working_max_gap_pp"] = max(gaps)
    facts.update(science_facts.compute(results))  # the cliff, dropped digits, estimators
    facts.update(second_round_facts.compute(results, facts))  # reward sign, critic, K, tests
    facts.update(stale_sgd_facts.compute(results, facts, second_round_facts.ALPHA,
                                         DIAL_DROP_FRACTION))  # stale data, the SGD dial
    return facts
