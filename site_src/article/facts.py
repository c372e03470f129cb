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

import math
import statistics
from typing import Any

# The off-policy dial: "vanilla PG breaks" = final accuracy below this fraction of eps = 0.
DIAL_DROP_FRACTION = 0.9
# The article's meaning of "close to supervised", in percentage points (chooses wording).
NEAR_PP = 5.0
# "It learns": final accuracy closes at least this share of supervised learning's lead over
# chance (1 / n_actions) on the same task. Holds at --quick scale, unlike NEAR_PP.
LEARNED_SKILL = 0.8
# Methods the article presents as working fixes (compared with supervised learning).
WORKING_METHODS = ("q_random", "pg_onpolicy", "ppo_random", "is_random")


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _clean_num(v: float) -> int | float:
    """Integral floats (a median of step numbers) become ints, so they print as steps."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _last_finite(values: list) -> tuple[int, float] | None:
    for i in range(len(values) - 1, -1, -1):
        if _finite(values[i]):
            return i, values[i]
    return None


def _first_finite(values: list) -> tuple[int, float] | None:
    for i, v in enumerate(values):
        if _finite(v):
            return i, v
    return None


def _is_training(payload: dict) -> bool:
    return isinstance(payload, dict) and "final_accuracy" in payload and "runs" not in payload \
        and "task" in payload and "method" in payload


def _is_dial(payload: dict) -> bool:
    return isinstance(payload, dict) and "eps" in payload and "runs" in payload


def _majority_share(rows: list) -> float | None:
    """rows: one eval step's shares, [n_actions] -> share of the most common action."""
    vals = [v for v in rows if _finite(v)]
    return max(vals) if vals and len(vals) == len(rows) else None


def _collapse_series(action_share: dict) -> list[float | None]:
    """Majority-action share at each eval step, per-seed averaged when possible."""
    per_seed = action_share.get("per_seed")
    if per_seed:
        # per_seed: seeds x steps x n_actions
        n_steps = max(len(s) for s in per_seed)
        out: list[float | None] = []
        for i in range(n_steps):
            shares = [_majority_share(s[i]) for s in per_seed if i < len(s) and s[i]]
            shares = [v for v in shares if v is not None]
            out.append(sum(shares) / len(shares) if shares else None)
        return out
    mean = action_share.get("mean") or []
    return [_majority_share(row) if row else None for row in mean]


def _training_facts(p: str, payload: dict) -> dict:
    f: dict[str, Any] = {}
    seeds = payload.get("seeds") or []
    f[f"{p}_n_seeds"] = len(seeds)
    steps = payload.get("steps") or []
    if steps:
        f[f"{p}_steps_total"] = steps[-1]

    final = payload.get("final_accuracy") or {}
    for key, name in (("mean", "final"), ("lo", "final_lo"), ("hi", "final_hi")):
        if _finite(final.get(key)):
            f[f"{p}_{name}"] = float(final[key])
    if final.get("n") is not None:
        f[f"{p}_final_n"] = int(final["n"])
    per_seed_final = [v for v in (final.get("per_seed") or []) if _finite(v)]
    if per_seed_final:
        f[f"{p}_final_min"] = min(per_seed_final)
        f[f"{p}_final_max"] = max(per_seed_final)

    nonfinite = payload.get("first_nonfinite_step")
    if nonfinite is not None:
        hit = sorted(int(s) for s in nonfinite if s is not None)
        f[f"{p}_nonfinite_seeds"] = len(hit)
        f[f"{p}_nonfinite_all"] = bool(seeds) and len(hit) == len(nonfinite)
        f[f"{p}_nonfinite_steps"] = hit
        if hit:
            med = _clean_num(float(statistics.median(hit)))
            f[f"{p}_nonfinite_median"] = med
            f[f"{p}_nonfinite_min"] = hit[0]
            f[f"{p}_nonfinite_max"] = hit[-1]
            if steps and steps[-1]:
                f[f"{p}_nonfinite_median_frac"] = med / steps[-1]

    acc_mean = (payload.get("accuracy") or {}).get("mean") or []
    finite_acc = [(v, i) for i, v in enumerate(acc_mean) if _finite(v)]
    if finite_acc:
        best, idx = max(finite_acc, key=lambda t: (t[0], -t[1]))
        f[f"{p}_peak_acc"] = best
        if idx < len(steps):
            f[f"{p}_peak_acc_step"] = steps[idx]

    lmax = (payload.get("logit_abs_max") or {}).get("mean") or []
    first, last = _first_finite(lmax), _last_finite(lmax)
    if first and last:
        f[f"{p}_logit_max_initial"] = first[1]
        f[f"{p}_logit_max_final"] = last[1]
        if last[0] < len(steps):
            f[f"{p}_logit_max_final_step"] = steps[last[0]]
        if first[1] > 0:
            f[f"{p}_logit_growth"] = last[1] / first[1]
        # "still rising": the last finite value exceeds the one at 3/4 of the way there.
        if steps and last[0] < len(steps):
            target = steps[0] + 0.75 * (steps[last[0]] - steps[0])
            idx = min(range(last[0] + 1), key=lambda i: abs(steps[i] - target))
            if _finite(lmax[idx]) and idx < last[0]:
                f[f"{p}_logit_max_at_75pct"] = lmax[idx]
                f[f"{p}_logit_still_rising"] = last[1] > lmax[idx]
    lmean = _last_finite((payload.get("logit_abs_mean") or {}).get("mean") or [])
    if lmean:
        f[f"{p}_logit_mean_final"] = lmean[1]

    share = payload.get("action_share")
    if isinstance(share, dict):
        series = _collapse_series(share)
        last_share = _last_finite(series)
        if last_share:
            f[f"{p}_collapse_share"] = last_share[1]
            f[f"{p}_collapse_share_peak"] = max(v for v in series if _finite(v))

    if _finite(payload.get("wall_time_s")):
        f[f"{p}_wall_s"] = float(payload["wall_time_s"])
    return f


def _dial_facts(p: str, payload: dict) -> dict:
    f: dict[str, Any] = {}
    eps = list(payload.get("eps") or [])
    final = payload.get("final_accuracy") or {}
    means = list(final.get("mean") or [None] * len(eps))
    f[f"{p}_eps"] = eps
    f[f"{p}_final"] = means
    f[f"{p}_final_lo"] = list(final.get("lo") or [None] * len(eps))
    f[f"{p}_final_hi"] = list(final.get("hi") or [None] * len(eps))
    nonfinite = list(payload.get("nonfinite_seeds") or [0] * len(eps))
    f[f"{p}_nonfinite"] = nonfinite
    f[f"{p}_nonfinite_total"] = int(sum(n or 0 for n in nonfinite))
    finite_means = [m for m in means if _finite(m)]
    if finite_means:
        f[f"{p}_min_final"] = min(finite_means)
    by_eps = dict(zip(eps, means))
    on = by_eps.get(0.0, by_eps.get(0))
    if _finite(on):
        f[f"{p}_onpolicy_final"] = on
    uni = by_eps.get(1.0, by_eps.get(1))
    if _finite(uni):
        f[f"{p}_uniform_final"] = uni
    if _finite(on):
        threshold = DIAL_DROP_FRACTION * on
        f[f"{p}_drop_threshold"] = threshold
        drop = None
        for i, (e, m) in enumerate(zip(eps, means)):
            broken = (not _finite(m)) or m < threshold or (i < len(nonfinite) and nonfinite[i])
            if broken:
                drop = i
                break
        f[f"{p}_drop_found"] = drop is not None
        if drop is not None:
            f[f"{p}_drop_eps"] = eps[drop]
            if drop > 0:
                f[f"{p}_last_ok_eps"] = eps[drop - 1]
    runs = payload.get("runs") or []
    logit_final = []
    for run in runs:
        last = _last_finite(((run or {}).get("logit_abs_max") or {}).get("mean") or [])
        logit_final.append(last[1] if last else None)
    if runs and len(runs) == len(eps):
        f[f"{p}_logit_max_final"] = logit_final
        by_eps_logit = dict(zip(eps, logit_final))
        for key, e in (("onpolicy", 0.0), ("uniform", 1.0)):
            if _finite(by_eps_logit.get(e)):
                f[f"{p}_logit_max_{key}"] = by_eps_logit[e]
    walls = [r.get("wall_time_s") for r in runs if isinstance(r, dict)]
    if _finite(payload.get("wall_time_s")):
        f[f"{p}_wall_s"] = float(payload["wall_time_s"])
    elif walls and all(_finite(w) for w in walls):
        f[f"{p}_wall_s"] = float(sum(walls))
    return f


def _max_abs_errors(node: Any) -> list[float]:
    found: list[float] = []
    if isinstance(node, dict):
        if _finite(node.get("max_abs_error")):
            found.append(float(node["max_abs_error"]))
        for v in node.values():
            if isinstance(v, (dict, list)):
                found.extend(_max_abs_errors(v))
    elif isinstance(node, list):
        for v in node:
            if isinstance(v, (dict, list)):
                found.extend(_max_abs_errors(v))
    return found


def _grid_at(grid: dict, x_end: str, y_target: float) -> float | None:
    """z at the smallest/largest x (x_end 'min'/'max') and the y nearest y_target."""
    xs, ys, zs = grid.get("x") or [], grid.get("y") or [], grid.get("z") or []
    if not xs or not ys or not zs:
        return None
    i = xs.index(min(xs)) if x_end == "min" else xs.index(max(xs))
    j = min(range(len(ys)), key=lambda k: abs(ys[k] - y_target))
    try:
        z = zs[j][i]
    except (IndexError, TypeError):
        return None
    return float(z) if _finite(z) else None


def _gradient_facts(payload: dict) -> dict:
    f: dict[str, Any] = {}
    errors = _max_abs_errors(payload)
    if errors:
        f["grad_max_abs_error"] = max(errors)
        f["grad_n_checked"] = len(errors)
    grids = payload.get("grids") or {}
    xs = [x for g in grids.values() if isinstance(g, dict) for x in (g.get("x") or [])]
    if xs:
        f["grad_x_min"] = min(xs)
        f["grad_x_max"] = max(xs)
    reads = {
        "grad_bce_y1_at_xmax": ("bce", "max", 1.0),
        "grad_bce_y0_at_xmin": ("bce", "min", 0.0),
        "grad_bce_y1_at_xmin": ("bce", "min", 1.0),
        "grad_pg_a1_rpos_at_xmax": ("pg_a1", "max", 1.0),
        "grad_pg_a1_rneg_at_xmin": ("pg_a1", "min", -1.0),
        "grad_pg_a1_rneg_at_xmax": ("pg_a1", "max", -1.0),
        "grad_pg_a0_rpos_at_xmin": ("pg_a0", "min", 1.0),
        "grad_pg_a0_rneg_at_xmax": ("pg_a0", "max", -1.0),
        "grad_pg_a0_rneg_at_xmin": ("pg_a0", "min", -1.0),
        "grad_is_a1_rneg_at_xmin": ("is_a1", "min", -1.0),
        "grad_is_a1_rpos_at_xmax": ("is_a1", "max", 1.0),
        "grad_is_a0_rneg_at_xmax": ("is_a0", "max", -1.0),
        "grad_is_a0_rpos_at_xmin": ("is_a0", "min", 1.0),
    }
    for key, (gid, end, y) in reads.items():
        grid = grids.get(gid)
        if isinstance(grid, dict):
            v = _grid_at(grid, end, y)
            if v is not None:
                f[key] = v
    for gid in ("pg_a1", "pg_a0", "is_a1", "is_a0", "bce"):
        grid = grids.get(gid)
        if isinstance(grid, dict):
            zs = [abs(z) for row in (grid.get("z") or []) for z in row if _finite(z)]
            if zs:
                f[f"grad_{gid}_max_abs"] = max(zs)
    return f


def compute(results: dict[str, dict]) -> dict:
    """Experiment name -> payload  =>  flat dict of facts (see the module docstring)."""
    facts: dict[str, Any] = {"dial_drop_fraction": DIAL_DROP_FRACTION, "near_pp": NEAR_PP,
                             "learned_skill": LEARNED_SKILL}
    walls: list[float] = []
    for name, payload in sorted(results.items()):
        prefix = name.replace("-", "_")
        if _is_dial(payload):
            facts.update(_dial_facts(prefix, payload))
        elif _is_training(payload):
            facts.update(_training_facts(prefix, payload))
        elif name == "gradients" and isinstance(payload, dict):
            facts.update(_gradient_facts(payload))
        if isinstance(payload, dict) and _finite(payload.get("wall_time_s")):
            walls.append(float(payload["wall_time_s"]))
        elif _is_dial(payload) and _finite(facts.get(f"{prefix}_wall_s")):
            walls.append(facts[f"{prefix}_wall_s"])
    if walls:
        facts["total_wall_s"] = sum(walls)

    # Gaps to supervised learning, per task, in percentage points.
    tasks = {n.split("-", 1)[0] for n, pl in results.items() if _is_training(pl)}
    for task in sorted(tasks):
        sup = facts.get(f"{task}_supervised_final")
        if sup is None:
            continue
        gaps = []
        for name, payload in results.items():
            if not _is_training(payload) or not name.startswith(task + "-"):
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
    return facts
