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
