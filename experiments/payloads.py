"""JSON Schemas of this article's result payloads, and which one a row writes (decided here,
from the row, never guessed from a payload's keys). Torch-free: the build reads it to check a
payload before freezing it (onpolicy/contract.py, `payload_schema`).
"""
from __future__ import annotations

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
KINDS = {"training": TRAINING, "dial": DIAL, "gradients": GRADIENTS, "estimators": ESTIMATORS,
         "digit_subset": DIGIT_SUBSET}
ENTRY_KINDS = {"experiments.gradients": "gradients", "experiments.estimators": "estimators",
               "experiments.digit_subset": "digit_subset"}


def kind(entry: str, config: dict) -> str | None:
    """The payload kind of a row: its entry module's, or for the trainer's methods a training
    run, or a dial when the row sweeps behaviour eps."""
    if entry in ENTRY_KINDS:
        return ENTRY_KINDS[entry]
    if entry.startswith("experiments.methods."):
        return "dial" if "dial_eps" in config else "training"
    return None  # not this package's entry module: its payload is its own


def schema_for(entry: str, config: dict) -> dict:
    found = kind(entry, config)
    return KINDS[found] if found else {"type": "object"}
