"""The data of the article's explorable figures (static/js/explore-*.js), each an
@explorable_data function: results -> a JSON-able dict, written to data/explorables/<id>.js
and loaded only when the reader comes near the figure. figures.py imports this module, which
registers them."""
from __future__ import annotations

import math

from onpolicy.render.figkit import Results, explorable_data, need

from .science_facts import LOGIT_FAIL
from .science_figures import DIAL_LABELS


def _short(values: list) -> list:
    """4 significant digits: the curves are drawn, not quoted (the results keep every bit)."""
    return [None if v is None or not math.isfinite(v) else float(f"{v:.4g}") for v in values]


def _band(stat: dict) -> dict:
    return {k: _short(stat[k]) for k in ("mean", "lo", "hi")} | {"n": list(stat["n"])}


@explorable_data("dial-curves")
def dial_curves(results: Results) -> dict:
    """Per method and per eps of the binary dial: greedy accuracy and largest |logit| over
    steps (mean and 95% band over the seeds still finite), and how many seeds went
    non-finite."""
    methods, eps, steps = [], None, None
    for method, (label, colour, dash) in DIAL_LABELS.items():
        payload = need(results, f"dial-{method}")
        if eps is None:
            eps, steps = payload["eps"], payload["runs"][0]["steps"]
        if payload["eps"] != eps or any(run["steps"] != steps for run in payload["runs"]):
            raise ValueError(f"dial-{method}: its eps grid or eval steps differ from "
                             "the other dial rows'")
        methods.append({"key": method, "label": label, "colour": colour, "dash": dash,
                        "runs": [{"accuracy": _band(run["accuracy"]),
                                  "logit_abs_max": _band(run["logit_abs_max"]),
                                  "n_seeds": len(run["seeds"]),
                                  "nonfinite": sum(s is not None
                                                   for s in run["first_nonfinite_step"])}
                                 for run in payload["runs"]]})
    return {"task": "binary", "eps": eps, "steps": steps, "logit_fail": LOGIT_FAIL,
            "methods": methods}


@explorable_data("bandit-digits")
def bandit_digits(results: Results) -> dict:
    """The digit subset the live bandit trains on (experiments/digit_subset.py), loaded by the
    page only when the reader presses Run."""
    payload = need(results, "bandit-digits")
    return {k: payload[k] for k in ("side", "levels", "source", "train", "eval")}


# the live bandit's methods -> (result, eps it was trained at or None for the dial's grid)
BANDIT_FROZEN = {"q": ("binary-q_random", 1.0), "pg_naive": ("binary-pg_random", 1.0),
                 "pg_stable": ("dial-pg", None), "ppo": ("dial-ppo", None),
                 "is": ("dial-is", None)}


@explorable_data("bandit-frozen")
def bandit_frozen(results: Results) -> dict:
    """The frozen results the live bandit draws faintly behind its own curves: per method and
    eps, the mean over seeds of greedy accuracy and largest |logit| at each eval step."""
    runs = {}
    for method, (name, eps) in BANDIT_FROZEN.items():
        payload = need(results, name)
        pairs = zip(payload["eps"], payload["runs"]) if eps is None else [(eps, payload)]
        for e, run in pairs:
            runs[f"{method}@{e:g}"] = {
                "steps": run["steps"], "accuracy": _short(run["accuracy"]["mean"]),
                "logit_abs_max": _short(run["logit_abs_max"]["mean"]),
                "nonfinite": sum(s is not None for s in run["first_nonfinite_step"]),
                "n_seeds": len(run["seeds"])}
    digits = need(results, "bandit-digits")
    steps = need(results, "dial-pg")["runs"][0]["steps"]
    return {"runs": runs, "steps": steps[-1], "eval_every": steps[1] - steps[0],
            "digits": {"n_train": digits["train"]["n"], "n_eval": digits["eval"]["n"],
                       "side": digits["side"], "pool": digits.get("pool", 2),
                       "levels": digits["levels"], "source": digits["source"]}}
