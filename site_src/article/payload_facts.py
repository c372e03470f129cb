"""Facts of one result payload each: a training run, an off-policy dial, the gradient grids.
facts.py calls these for every result and adds the facts that span experiments; the keys
are listed in its docstring."""
from __future__ import annotations

import math
import statistics
from typing import Any


def finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _clean_num(v: float) -> int | float:
    """Integral floats (a median of step numbers) become ints, so they print as steps."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _last_finite(values: list) -> tuple[int, float] | None:
    for i in range(len(values) - 1, -1, -1):
        if finite(values[i]):
            return i, values[i]
    return None


def _first_finite(values: list) -> tuple[int, float] | None:
    for i, v in enumerate(values):
        if finite(v):
            return i, v
    return None


def is_training(payload: dict) -> bool:
    return isinstance(payload, dict) and "final_accuracy" in payload and "runs" not in payload \
        and "task" in payload and "method" in payload


def is_dial(payload: dict) -> bool:
    return isinstance(payload, dict) and "eps" in payload and "runs" in payload


def is_estimators(payload: dict) -> bool:
    return isinstance(payload, dict) and "estimators" in payload


def _majority_share(rows: list) -> float | None:
    """rows: one eval step's shares, [n_actions] -> share of the most common action."""
    # Result files hold no NaN or infinity (they are stored as null), so None is the only gap.
    return max(rows) if rows and None not in rows else None


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


def training_facts(p: str, payload: dict) -> dict:
    f: dict[str, Any] = {}
    seeds = payload.get("seeds") or []
    f[f"{p}_n_seeds"] = len(seeds)
    steps = payload.get("steps") or []
    if steps:
        f[f"{p}_steps_total"] = steps[-1]

    final = payload.get("final_accuracy") or {}
    for key, name in (("mean", "final"), ("lo", "final_lo"), ("hi", "final_hi")):
        if finite(final.get(key)):
            f[f"{p}_{name}"] = float(final[key])
    if final.get("n") is not None:
        f[f"{p}_final_n"] = int(final["n"])
    per_seed_final = [v for v in (final.get("per_seed") or []) if finite(v)]
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
    finite_acc = [(v, i) for i, v in enumerate(acc_mean) if finite(v)]
    if finite_acc:
        best, idx = max(finite_acc, key=lambda t: (t[0], -t[1]))
        f[f"{p}_peak_acc"] = best
        if idx < len(steps):
            f[f"{p}_peak_acc_step"] = steps[idx]
        counts = (payload.get("accuracy") or {}).get("n") or []
        if idx < len(counts):
            f[f"{p}_peak_acc_n"] = counts[idx]  # seeds still finite at that step

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
            if finite(lmax[idx]) and idx < last[0]:
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
            f[f"{p}_collapse_share_peak"] = max(v for v in series if finite(v))

    if finite(payload.get("wall_time_s")):
        f[f"{p}_wall_s"] = float(payload["wall_time_s"])
    return f


def dial_facts(p: str, payload: dict, drop_fraction: float) -> dict:
    """drop_fraction: the share of the on-policy accuracy below which an eps counts as broken."""
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
    finite_means = [m for m in means if finite(m)]
    if finite_means:
        f[f"{p}_min_final"] = min(finite_means)
    by_eps = dict(zip(eps, means))
    on = by_eps.get(0.0, by_eps.get(0))
    if finite(on):
        f[f"{p}_onpolicy_final"] = on
    uni = by_eps.get(1.0, by_eps.get(1))
    if finite(uni):
        f[f"{p}_uniform_final"] = uni
    if finite(on):
        threshold = drop_fraction * on
        f[f"{p}_drop_threshold"] = threshold
        drop = None
        for i, (e, m) in enumerate(zip(eps, means)):
            broken = (not finite(m)) or m < threshold or (i < len(nonfinite) and nonfinite[i])
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
            if finite(by_eps_logit.get(e)):
                f[f"{p}_logit_max_{key}"] = by_eps_logit[e]
    walls = [r.get("wall_time_s") for r in runs if isinstance(r, dict)]
    if finite(payload.get("wall_time_s")):
        f[f"{p}_wall_s"] = float(payload["wall_time_s"])
    elif walls and all(finite(w) for w in walls):
        f[f"{p}_wall_s"] = float(sum(walls))
    return f


def _max_abs_errors(node: Any) -> list[float]:
    found: list[float] = []
    if isinstance(node, dict):
        if finite(node.get("max_abs_error")):
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
    return float(z) if finite(z) else None


def gradient_facts(payload: dict) -> dict:
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
            zs = [abs(z) for row in (grid.get("z") or []) for z in row if finite(z)]
            if zs:
                f[f"grad_{gid}_max_abs"] = max(zs)
    return f
