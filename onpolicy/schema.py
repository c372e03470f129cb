"""JSON Schemas of the result files (checked on every write and every load).

Bump SCHEMA_VERSION when a payload's shape changes: every frozen result then reads as stale
("schema version 1 -> 2") and is re-run, instead of feeding old shapes to the templates.
"""
from __future__ import annotations


SCHEMA_VERSION = 1

_num = {"type": ["number", "null"]}
_series = {"type": "array", "items": _num}
_stat = {  # a statistic over seeds, one value per eval step
    "type": "object",
    "required": ["mean", "lo", "hi"],
    "properties": {"per_seed": {"type": "array", "items": _series},
                   "mean": _series, "lo": _series, "hi": _series,
                   "n": {"type": "array", "items": {"type": "integer"}}},
}
_final = {
    "type": "object",
    "required": ["mean", "lo", "hi"],
    "properties": {"per_seed": _series, "mean": _num, "lo": _num, "hi": _num,
                   "n": {"type": "integer"}},
}
TRAINING = {
    "type": "object",
    "required": ["task", "method", "n_actions", "seeds", "steps", "accuracy", "logit_abs_max",
                 "logit_abs_mean", "action_share", "first_nonfinite_step", "final_accuracy"],
    "properties": {
        "task": {"enum": ["binary", "categorical"]},
        "method": {"type": "string"},
        "n_actions": {"type": "integer", "minimum": 2},
        "seeds": {"type": "array", "items": {"type": "integer"}},
        "steps": {"type": "array", "items": {"type": "integer"}},
        "accuracy": _stat, "logit_abs_max": _stat, "logit_abs_mean": _stat,
        "action_share": {"type": "object", "required": ["mean"],
                         "properties": {"mean": {"type": "array", "items": _series}}},
        "first_nonfinite_step": {"type": "array", "items": {"type": ["integer", "null"]}},
        "final_accuracy": _final,
        "wall_time_s": {"type": "number"},
    },
}
DIAL = {
    "type": "object",
    "required": ["task", "method", "eps", "runs", "final_accuracy"],
    "properties": {
        "eps": {"type": "array", "items": {"type": "number"}},
        "runs": {"type": "array", "items": TRAINING},
        "final_accuracy": {"type": "object", "required": ["mean", "lo", "hi"],
                           "properties": {k: _series for k in ("mean", "lo", "hi")}},
        "nonfinite_seeds": {"type": "array", "items": {"type": "integer"}},
    },
}
_grid = {
    "type": "object",
    "required": ["x", "y", "z"],
    "properties": {"x": _series, "y": _series,
                   "z": {"type": "array", "items": _series},
                   "max_abs_error": {"type": "number"}},
}
GRADIENTS = {
    "type": "object",
    "required": ["grids"],
    "properties": {"grids": {"type": "object", "additionalProperties": _grid}},
}
ESTIMATORS = {  # experiments/estimators.py: metric stats, one value per checkpoint
    "type": "object",
    "required": ["task", "seeds", "checkpoints", "estimators", "offpolicy_expected_cos",
                 "accuracy"],
    "properties": {
        "task": {"enum": ["binary", "categorical"]},
        "seeds": {"type": "array", "items": {"type": "integer"}},
        "checkpoints": {"type": "array", "items": {"type": "integer"}},
        "estimators": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["cos_minibatch", "cos_mean", "rel_variance",
                                           "rel_bias"],
            "additionalProperties": _stat}},
        "offpolicy_expected_cos": _stat, "accuracy": _stat,
        "n_minibatches": {"type": "integer"}, "batch_size": {"type": "integer"},
        "wall_time_s": {"type": "number"},
    },
}
_digits = {"type": "object", "required": ["n", "digits", "pixels", "sha256"],
           "properties": {"n": {"type": "integer", "minimum": 1},
                          "digits": {"type": "string", "pattern": "^[0-9]*$"},
                          "pixels": {"type": "string"},
                          "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}}
DIGIT_SUBSET = {  # experiments/digit_subset.py: digits for a model trained in the page
    "type": "object",
    "required": ["side", "levels", "source", "train", "eval"],
    "properties": {"side": {"type": "integer"}, "levels": {"type": "integer"},
                   "source": {"type": "object"}, "train": _digits, "eval": _digits},
}
FILE = {
    "type": "object",
    "required": ["schema", "experiment", "inputs_hash", "inputs", "provenance",
                 "result_sha256", "result", "document_sha256"],
    "properties": {
        "schema": {"type": "integer"},
        "experiment": {"type": "string"},
        "inputs_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "inputs": {"type": "object", "required": ["config", "sources", "data", "schema"]},
        "provenance": {"type": "object"},
        "result_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "result": {"type": "object"},
        "document_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    },
}


def payload_schema(result: dict) -> dict:
    if "grids" in result:
        return GRADIENTS
    if "runs" in result:
        return DIAL
    if "estimators" in result:
        return ESTIMATORS
    if "source" in result and "train" in result:
        return DIGIT_SUBSET
    return TRAINING


def problems(document: dict, payload: bool = True) -> list[str]:
    """Every schema violation in a result file, as 'where: what' strings (empty = valid).
    payload=False checks the envelope only (the payload is checked when it is written)."""
    found = []
    checks = [(FILE, document, "")]
    if payload:
        checks.append((payload_schema(document.get("result") or {}), document.get("result"),
                       "result"))
    for schema, doc, prefix in checks:
        if doc is None:
            continue
        import jsonschema  # here, not at the top: a build that validates nothing never loads it

        for err in jsonschema.Draft202012Validator(schema).iter_errors(doc):
            where = "/".join(str(p) for p in [prefix, *err.absolute_path] if p != "")
            found.append(f"{where or '(top)'}: {err.message[:200]}")
    return found
