"""Facts for the article's deeper sections: the cliff on the dial, dropped classes, the bias
control, the estimator measurements and PPO's clip width. Called by facts.compute; the same
rules hold (plain values, a key only when its inputs are there).

Dial "dial-<m>" / "dial-categorical-<m>" (prefix p = "dial_<m>" / "dial_categorical_<m>"):
  <p>_fail_seeds       per eps: seeds whose largest logit passed LOGIT_FAIL (or went non-finite)
  <p>_fail_step        per eps: median step at which they did (null if under half the seeds)
  <p>_cliff_eps        the smallest eps > 0 at which every seed failed
  <p>_cliff_prev_eps   the eps before it on the grid, and <p>_cliff_prev_final its accuracy,
                       <p>_cliff_prev_fail_seeds, <p>_cliff_prev_logit_final (mean largest logit)
  <p>_final_at         {eps as text: final accuracy}, e.g. f.dial_pg_final_at["0.02"]
  <p>_cliff_final, <p>_cliff_fail_step, <p>_uniform_fail_step, <p>_fail_total
  <p>_onpolicy_logit_peak  largest logit of any on-policy seed at any step
  crossover_at_2pct    the |logit| past which, at eps = 0.02, the eps-share's constant push
                       outweighs the on-policy gradient (binary); dial_smallest_eps and
                       dial_smallest_crossover: the same at the smallest eps > 0 on the dial
Categorical training rows "categorical-<m>" (prefix p = "categorical_<m>"):
  <p>_dropped_seeds    seeds that, at the end, output some digit for under DROP_SHARE of the
                       eval images (each digit is about a tenth of them)
  <p>_dropped_digits   {seed: [digits]} of those seeds
  <p>_dropped_from_start  of those seeds, how many never chose a dropped digit at any eval,
                       from the untrained network on
  <p>_final_median, <p>_final_q1, <p>_final_q3   median and quartiles over seeds
  <p>_kept_final_min   worst final accuracy among the seeds that dropped nothing
  <p>_dropped_final_max  best final accuracy among those that dropped a digit
Estimators "estimators-<task>" (prefix "est_<task>"): for each estimator e and metric m
  (cos_minibatch, cos_mean, rel_variance, rel_bias): est_<task>_<e>_<m> (mean over seeds, per
  checkpoint) and est_<task>_<e>_<m>_last; est_<task>_checkpoints; est_<task>_expected_cos
  (exact, per checkpoint) and _last; est_<task>_is_var_ratio_last (IS over on-policy
  variance at the last checkpoint); where recorded, est_<task>_grad_j_norm (per checkpoint),
  _first, _last, est_<task>_logit_max (the trajectory's largest |logit|) and _last,
  est_<task>_accuracy_first, and the metric "bias" (absolute, like rel_bias) per estimator.
PPO clip sweep: <task>_clip_widths (0.05 ... 0.4) and <task>_clip_finals (their accuracies).
Stale behaviour ("<task>-<m>_lag<k>", behaviour = the policy's snapshot, 1..k updates old):
<task>_stale_lags and <task>_stale_<m>_finals / _logits for m in pg, is, ppo.
"""
from __future__ import annotations

import math
import statistics
from typing import Any

from experiments import suite

from .payload_facts import is_dial, is_estimators, is_training

LOGIT_FAIL = 1000.0  # "failed": the largest |logit| on the eval set passed this
DROP_SHARE = 0.01    # "dropped digit": greedy output for under 1% of eval images
# the rows of the PPO clip sweep and the stale-data sweep, as the experiment table makes them
CLIP_ROWS = dict(sorted({**{clip: label for label, clip in suite.PPO_CLIPS.items()},
                         suite.METHODS["ppo_random"][1]["clip_eps"]: "ppo_random"}.items()))


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def eps_key(eps: float) -> str:
    """0.02 -> "0.02", 1.0 -> "1": how templates index per-eps facts."""
    return f"{eps:g}"


def fail_step(steps: list, logit_max: list, nonfinite_step) -> int | None:
    """First eval step whose largest |logit| passed LOGIT_FAIL, or the non-finite step."""
    for step, value in zip(steps, logit_max):
        if _finite(value) and value > LOGIT_FAIL:
            return step if nonfinite_step is None else min(step, nonfinite_step)
    return nonfinite_step


def dial_cliff_facts(p: str, payload: dict) -> dict:
    """Where each eps of a dial broke (|logit| past LOGIT_FAIL or non-finite), seed by seed:
    the cliff. payload_facts.dial_facts holds the dial's accuracy facts."""
    f: dict[str, Any] = {}
    eps, runs = payload.get("eps") or [], payload.get("runs") or []
    if not eps or len(runs) != len(eps):
        return f
    fail_seeds, fail_steps = [], []
    for run in runs:
        per_seed = [fail_step(run["steps"], series, nf) for series, nf in
                    zip(run["logit_abs_max"]["per_seed"], run["first_nonfinite_step"])]
        hit = sorted(s for s in per_seed if s is not None)
        fail_seeds.append(len(hit))
        fail_steps.append(statistics.median(hit) if 2 * len(hit) >= len(per_seed) else None)
    f[f"{p}_fail_seeds"], f[f"{p}_fail_step"] = fail_seeds, fail_steps
    f[f"{p}_n_seeds"] = len(runs[0]["seeds"])
    finals = payload["final_accuracy"]["mean"]
    f[f"{p}_final_at"] = {eps_key(e): m for e, m in zip(eps, finals)}
    f[f"{p}_fail_step_at"] = {eps_key(e): s for e, s in zip(eps, fail_steps)}
    cliff = next((i for i, e in enumerate(eps) if e > 0 and fail_seeds[i] == len(runs[i]["seeds"])),
                 None)
    if cliff is not None:
        f[f"{p}_cliff_eps"] = eps[cliff]
        f[f"{p}_cliff_final"] = finals[cliff]
        f[f"{p}_cliff_fail_step"] = fail_steps[cliff]
        if cliff > 0:
            f[f"{p}_cliff_prev_eps"] = eps[cliff - 1]
            f[f"{p}_cliff_prev_final"] = finals[cliff - 1]
            f[f"{p}_cliff_prev_fail_seeds"] = fail_seeds[cliff - 1]
            prev = runs[cliff - 1]["logit_abs_max"]["mean"]
            if prev and _finite(prev[-1]):
                f[f"{p}_cliff_prev_logit_final"] = prev[-1]
    if 1.0 in eps:
        f[f"{p}_uniform_fail_step"] = fail_steps[eps.index(1.0)]
    f[f"{p}_fail_total"] = sum(fail_seeds)
    if 0.0 in eps:
        on = runs[eps.index(0.0)]["logit_abs_max"]["per_seed"]
        peaks = [v for series in on for v in series if _finite(v)]
        if peaks:
            f[f"{p}_onpolicy_logit_peak"] = max(peaks)
    return f


def crossover_logit(eps: float) -> float:
    """Binary task: the |logit| beyond which the eps-share of the behaviour's average gradient,
    a constant eps/2, outweighs the on-policy part (1 - eps) * 2 sigma (1 - sigma):
    sigma (1 - sigma) = eps / (4 (1 - eps)), solved for the logit."""
    c = eps / (4 * (1 - eps))
    sigma = (1 + math.sqrt(1 - 4 * c)) / 2
    return math.log(sigma / (1 - sigma))


def dropped_digits(payload: dict) -> list[list[int]]:
    """Per seed, the digits it outputs for under DROP_SHARE of eval images at the end."""
    out = []
    per_seed = payload["action_share"].get("per_seed")
    if not per_seed:  # an old payload without per-seed shares: nothing to tell
        return [[] for _ in payload["seeds"]]
    for seed_shares in per_seed:
        final = next((row for row in reversed(seed_shares) if row is not None
                      and all(_finite(v) for v in row)), None)
        out.append([] if final is None else [k for k, v in enumerate(final) if v < DROP_SHARE])
    return out


def categorical_facts(p: str, payload: dict) -> dict:
    f: dict[str, Any] = {}
    if payload.get("n_actions") != 10 or not payload["action_share"].get("per_seed"):
        return f
    dropped = dropped_digits(payload)
    finals = payload["final_accuracy"]["per_seed"]
    f[f"{p}_dropped_seeds"] = sum(1 for d in dropped if d)
    f[f"{p}_dropped_digits"] = {seed: d for seed, d in zip(payload["seeds"], dropped) if d}
    xs = sorted(v for v in finals if _finite(v))
    if len(xs) >= 2:
        q1, median, q3 = statistics.quantiles(xs, n=4, method="inclusive")
        f[f"{p}_final_median"], f[f"{p}_final_q1"], f[f"{p}_final_q3"] = median, q1, q3
    f[f"{p}_dropped_from_start"] = sum(
        1 for seed_shares, digits in zip(payload["action_share"]["per_seed"], dropped) if digits
        and all(row is None or any(row[k] is None or row[k] < DROP_SHARE for k in digits)
                for row in seed_shares))
    kept = [v for v, d in zip(finals, dropped) if not d and _finite(v)]
    lost = [v for v, d in zip(finals, dropped) if d and _finite(v)]
    if kept:
        f[f"{p}_kept_final_min"] = min(kept)
    if lost:
        f[f"{p}_dropped_final_max"] = max(lost)
    return f


def estimator_facts(task: str, payload: dict) -> dict:
    f: dict[str, Any] = {}
    p = f"est_{task}"
    f[f"{p}_checkpoints"] = payload["checkpoints"]
    f[f"{p}_n_minibatches"] = payload["n_minibatches"]
    f[f"{p}_batch_size"] = payload["batch_size"]
    for name, metrics in payload["estimators"].items():
        for metric, stat in metrics.items():
            f[f"{p}_{name}_{metric}"] = stat["mean"]
            f[f"{p}_{name}_{metric}_last"] = stat["mean"][-1]
    f[f"{p}_expected_cos"] = payload["offpolicy_expected_cos"]["mean"]
    f[f"{p}_expected_cos_last"] = payload["offpolicy_expected_cos"]["mean"][-1]
    f[f"{p}_accuracy_last"] = payload["accuracy"]["mean"][-1]
    # recorded since the second round: |grad J|, each estimator's absolute bias, the logits
    if "grad_j_norm" in payload:
        norms = payload["grad_j_norm"]["mean"]
        f[f"{p}_grad_j_norm"] = norms
        f[f"{p}_grad_j_norm_first"], f[f"{p}_grad_j_norm_last"] = norms[0], norms[-1]
        f[f"{p}_logit_max"] = payload["logit_abs_max"]["mean"]
        f[f"{p}_logit_max_last"] = payload["logit_abs_max"]["mean"][-1]
        f[f"{p}_accuracy_first"] = payload["accuracy"]["mean"][0]
        f[f"{p}_accuracy"] = payload["accuracy"]["mean"]
    on = f.get(f"{p}_pg_onpolicy_rel_variance_last")
    if _finite(on) and on > 0 and _finite(f.get(f"{p}_is_rel_variance_last")):
        f[f"{p}_is_var_ratio_last"] = f[f"{p}_is_rel_variance_last"] / on
    return f


def clip_facts(task: str, results: dict) -> dict:
    rows = [(w, results.get(f"{task}-{name}")) for w, name in CLIP_ROWS.items()]
    if not all(r is not None for _, r in rows):
        return {}
    return {f"{task}_clip_widths": [w for w, _ in rows],
            f"{task}_clip_finals": [r["final_accuracy"]["mean"] for _, r in rows]}


STALE_LAGS = tuple(suite.STALE_LAGS)
STALE_METHODS = tuple(dict.fromkeys(label.rsplit("_lag", 1)[0] for label in suite.STALE_METHODS))


def stale_facts(task: str, results: dict) -> dict:
    """<task>_stale_lags and, per method m, <task>_stale_<m>_finals / _logits (one per lag),
    only when every stale row of the task is there."""
    rows = {(m, k): results.get(f"{task}-{m}_lag{k}") for m in STALE_METHODS for k in STALE_LAGS}
    if any(r is None for r in rows.values()):
        return {}
    f: dict[str, Any] = {f"{task}_stale_lags": list(STALE_LAGS)}
    for m in STALE_METHODS:
        f[f"{task}_stale_{m}_finals"] = [rows[m, k]["final_accuracy"]["mean"] for k in STALE_LAGS]
        f[f"{task}_stale_{m}_logits"] = [rows[m, k]["logit_abs_max"]["mean"][-1]
                                         for k in STALE_LAGS]
    return f


def compute(results: dict[str, dict]) -> dict:
    f: dict[str, Any] = {"logit_fail": LOGIT_FAIL, "drop_share": DROP_SHARE}
    for name, payload in sorted(results.items()):
        if not isinstance(payload, dict):
            continue
        prefix = name.replace("-", "_")
        if name.startswith("dial-") and is_dial(payload):
            f.update(dial_cliff_facts(prefix, payload))
        elif name.startswith("categorical-") and is_training(payload):
            f.update(categorical_facts(prefix, payload))
        elif name.startswith("estimators-") and is_estimators(payload):
            f.update(estimator_facts(name.split("-", 1)[1], payload))
    for task in ("binary", "categorical"):
        f.update(clip_facts(task, results))
        f.update(stale_facts(task, results))
    eps = results.get("dial-pg", {}).get("eps") or []
    small = [e for e in eps if e > 0]
    if small:
        f["crossover_at_2pct"] = crossover_logit(0.02)
        f["dial_smallest_eps"] = small[0]
        f["dial_smallest_crossover"] = crossover_logit(small[0])
    return f
