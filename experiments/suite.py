"""The experiment table: every result on the site comes from one row here.

This module is torch-free on purpose: `build.py status` and every render-only build read it
without importing PyTorch. Each row's config is hashed into its freeze key, so editing one row
makes exactly that experiment stale.
"""
from __future__ import annotations

import ast
import copy
import importlib.util
import math
from pathlib import Path

from onpolicy import file_digests
from onpolicy.contract import Experiment, effective_config, sha256

from experiments import data_sources, mnist_files, payloads
from experiments.fusion_plan import PLAN as FUSION
from experiments.mnist_files import DataError

# -- shared settings (copied into each row, so a row's hash holds all it depends on) ---------

# The official MNIST test split (10,000 digits), split once with a fixed seed into train/eval.
# Set "split": "full" to train on the 60k training set and evaluate on the 10k test set.
DATA = {
    "name": "mnist",
    "split": "test10k",  # "test10k" (offline default) or "full"
    "n_eval": 2000,      # test10k only: digits held out for evaluation
    "split_seed": 0,     # test10k only: seed of the one-off train/eval split
}

TRAIN = {
    "hidden": 128,          # MLP 784-hidden-out
    "lr": 1e-3,             # Adam learning rate
    "batch_size": 64,       # contexts per step, per seed
    "steps": 3000,          # optimiser steps per seed
    "eval_every": 50,       # greedy accuracy on the eval set every N steps
    "seeds": [0, 1, 2, 3, 4],
    "behaviour_eps": 1.0,   # behaviour = (1-eps)*pi + eps*uniform; 1.0 = uniform random actions
    "quick": {"steps": 300, "eval_every": 25, "seeds": [0, 1]},
}

# method name -> (entry module, method-specific settings)
METHODS = {
    "supervised":       ("experiments.methods.supervised", {}),
    "q_random":         ("experiments.methods.q_regression", {}),
    "pg_random":        ("experiments.methods.policy_gradient", {"log_prob": "naive"}),
    "pg_random_stable": ("experiments.methods.policy_gradient", {"log_prob": "stable"}),
    "pg_onpolicy":      ("experiments.methods.policy_gradient",
                         {"log_prob": "stable", "behaviour_eps": 0.0}),
    "ppo_random":       ("experiments.methods.ppo", {"clip_eps": 0.2}),
    "is_random":        ("experiments.methods.importance", {}),
}

TASKS = ("binary", "categorical")  # binary: digit >= 5 ; categorical: which digit

# Categorical runs can end in two clusters (a seed that never outputs some digit, and the
# rest), so they use enough seeds to count how often that happens.
CATEGORICAL_SEEDS = list(range(20))

# Rows added for the article's deeper questions (name suffix -> entry, settings).
SCIENCE_METHODS = {
    # the bias control: vanilla PG's expected loss under uniform actions, computed exactly
    "pg_expected": ("experiments.methods.expected_pg", {}),
    # remedies for on-policy PG dropping a class (categorical only): the usual entropy bonus,
    # and a log barrier (KL from uniform), whose push does not fade for a ruled-out digit
    "pg_onpolicy_entropy": ("experiments.methods.policy_gradient",
                            {"log_prob": "stable", "behaviour_eps": 0.0,
                             "entropy_bonus": 0.01}),
    "pg_onpolicy_barrier": ("experiments.methods.policy_gradient",
                            {"log_prob": "stable", "behaviour_eps": 0.0, "log_barrier": 0.01}),
}
REMEDIES = ("pg_onpolicy_entropy", "pg_onpolicy_barrier")
# PPO's clip width, swept on uniform actions (0.2 is ppo_random; no clip is is_random):
# method label (clip width in hundredths) -> clip width
PPO_CLIPS = {f"ppo_clip{round(clip * 100):02d}": clip for clip in (0.05, 0.1, 0.4)}

# Stale data: the behaviour policy is the policy's own snapshot, refreshed every k updates (a
# lag of 1..k updates; experiments/training.py), with no random actions; each step still draws
# fresh samples (PPO's own regime, one batch reused for K epochs, is REUSE_METHODS below).
# Method label "<method>_lag<k>".
STALE_LAGS = [1, 10, 100]
STALE_METHODS = {
    f"{method}_lag{lag}": (entry, {**extra, "behaviour_eps": 0.0, "behaviour_lag": lag})
    for lag in STALE_LAGS
    for method, (entry, extra) in {
        "pg": ("experiments.methods.policy_gradient", {"log_prob": "stable"}),
        "is": ("experiments.methods.importance", {}),
        "ppo": ("experiments.methods.ppo", {"clip_eps": 0.2}),
    }.items()
}

# Rows of the second round of questions (issue 21). Categorical rows here use 10 seeds: they
# compare means and counts of runaways, not the rarer dropped digits the 20-seed rows count.
SECOND_ROUND_CATEGORICAL_SEEDS = list(range(10))
_PG = "experiments.methods.policy_gradient"
# The reward's sign: rewards {0, 1} instead of {-1, +1}, with and without a baseline (the
# leave-one-out minibatch mean: it removes any constant shift of the rewards, so {-1, +1}
# with it gives twice the advantages {0, 1} with it does), off- and on-policy.
SIGN_METHODS = {
    f"pg_{who}_r01{suffix}": (_PG, {"log_prob": "stable", "reward": [0.0, 1.0],
                                    "behaviour_eps": eps, **extra})
    for who, eps in (("random", 1.0), ("onpolicy", 0.0))
    for suffix, extra in (("", {}), ("_baseline", {"baseline": "batch_mean"}))
}
# A critic learned by regression from uniform random actions, and an actor trained on it with
# the exact expectation over its own actions (experiments/methods/critic_actor.py).
CRITIC_METHODS = {"critic_actor_random": ("experiments.methods.critic_actor", {})}
# PPO's own regime: one minibatch, collected by the policy of the moment, reused for K updates
# (the last of them with actions of a policy K - 1 updates old). K is the dial.
REUSE_KS = {"binary": [4, 32], "categorical": [32]}
REUSE_METHODS = {
    f"{method}_reuse{k}": (entry, {**extra, "behaviour_eps": 0.0, "batch_reuse": k})
    for k in sorted({k for ks in REUSE_KS.values() for k in ks})
    for method, (entry, extra) in {
        "pg": (_PG, {"log_prob": "stable"}),
        "is": ("experiments.methods.importance", {}),
        "ppo": ("experiments.methods.ppo", {"clip_eps": 0.2}),
    }.items()
}
# The optimiser: plain SGD (its step is lr * gradient, not normalised as Adam's is), off- and
# on-policy; and the smallest eps of the dial run four times longer.
SGD_LR = 0.1
OPTIMIZER_METHODS = {
    "pg_random_sgd": (_PG, {"log_prob": "stable", "optimizer": "sgd", "lr": SGD_LR}),
    "pg_onpolicy_sgd": (_PG, {"log_prob": "stable", "optimizer": "sgd", "lr": SGD_LR,
                              "behaviour_eps": 0.0}),
    "pg_eps0002_long": (_PG, {"log_prob": "stable", "behaviour_eps": 0.002, "steps": 12000}),
}
SECOND_ROUND_TASKS = {name: TASKS for name in {**SIGN_METHODS, **CRITIC_METHODS}}
SECOND_ROUND_TASKS.update({f"{m}_reuse{k}": tuple(t for t in TASKS if k in REUSE_KS[t])
                           for m in ("pg", "is", "ppo") for k in REUSE_KS["binary"]
                           + REUSE_KS["categorical"]})
SECOND_ROUND_TASKS.update({name: ("binary",) for name in OPTIMIZER_METHODS})
SECOND_ROUND = {**SIGN_METHODS, **CRITIC_METHODS, **REUSE_METHODS, **OPTIMIZER_METHODS}

# The off-policy dial: the same methods under behaviour (1-eps)*pi + eps*uniform, on a grid
# dense near zero, where vanilla PG breaks.
# (0.75 and 0.9 were dropped on 2026-12-05: every Adam dial's finals at 0.5, 0.75, 0.9 and 1.0
# agreed within 0.3 points, and the seven dials are a third of the suite's CPU time, which
# must stay under 20 minutes on a 2-core CPU.)
DIAL_EPS = [0.0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0]
DIAL_METHODS = {
    "pg": ("experiments.methods.policy_gradient", {"log_prob": "stable"}),
    "ppo": ("experiments.methods.ppo", {"clip_eps": 0.2}),
    "is": ("experiments.methods.importance", {}),
}
# The dial with plain SGD instead of Adam (binary task, vanilla PG only): does the runaway at
# small eps need Adam's normalised steps? Row "dial-<method>".
SGD_DIAL_METHODS = {
    "pg_sgd": (_PG, {"log_prob": "stable", "optimizer": "sgd", "lr": SGD_LR}),
}


# The estimator measurement (experiments/estimators.py): along an on-policy PG trajectory,
# each estimator's minibatch gradients against the exact policy gradient.
ESTIMATORS = {
    "hidden": TRAIN["hidden"], "lr": TRAIN["lr"], "batch_size": TRAIN["batch_size"],
    "seeds": [0, 1, 2, 3, 4],
    "checkpoints": [0, 100, 300, 1000, 3000],
    "n_minibatches": 256,   # minibatch gradients per estimator and checkpoint
    "estimators": {
        "pg_onpolicy": {"method": "pg", "behaviour_eps": 0.0, "log_prob": "stable"},
        "pg_offpolicy": {"method": "pg", "behaviour_eps": 1.0, "log_prob": "stable"},
        "is": {"method": "is", "behaviour_eps": 1.0},
        "ppo": {"method": "ppo", "behaviour_eps": 1.0, "clip_eps": 0.2},
    },
    "quick": {"checkpoints": [0, 50, 200], "n_minibatches": 32, "seeds": [0, 1]},
}


def _training_row(name: str, entry: str, task: str, method: str, extra: dict) -> Experiment:
    config = {**copy.deepcopy(TRAIN), "task": task, "method": method,
              "data": dict(DATA), **copy.deepcopy(extra)}
    if task == "categorical":
        config["seeds"] = list(CATEGORICAL_SEEDS)
    return Experiment(name, entry, config)


def _build() -> list[Experiment]:
    rows = [Experiment("gradients", "experiments.gradients", {
        "x_range": [-8.0, 8.0], "n_x": 81, "n_r": 41, "n_y": 21,
        "n_actions_categorical": 10, "seeds": [0], "quick": {"n_x": 21, "n_r": 11, "n_y": 6},
    })]
    for task in TASKS:
        for method, (entry, extra) in METHODS.items():
            rows.append(_training_row(f"{task}-{method}", entry, task, method, extra))
    for task in TASKS:
        for method, (entry, extra) in SCIENCE_METHODS.items():
            if method in REMEDIES and task == "binary":
                continue  # the binary task drops no class: nothing to remedy
            rows.append(_training_row(f"{task}-{method}", entry, task, method, extra))
        for method, (entry, extra) in STALE_METHODS.items():
            row = _training_row(f"{task}-{method}", entry, task, method, extra)
            if task == "categorical":
                # 10 seeds, not 20: these rows compare mean finals per lag, not rare dropped
                # digits, and the whole suite must still retrain in under 20 minutes on a
                # 2-core CPU
                row.config["seeds"] = list(SECOND_ROUND_CATEGORICAL_SEEDS)
            rows.append(row)
        for method, clip in PPO_CLIPS.items():
            rows.append(_training_row(f"{task}-{method}", "experiments.methods.ppo", task,
                                      method, {"clip_eps": clip}))
    for task in TASKS:
        for method, (entry, extra) in SECOND_ROUND.items():
            if task in SECOND_ROUND_TASKS[method]:
                row = _training_row(f"{task}-{method}", entry, task, method, extra)
                if task == "categorical":
                    row.config["seeds"] = list(SECOND_ROUND_CATEGORICAL_SEEDS)
                rows.append(row)
    # dial-<method> is the binary task (its name predates the categorical dial)
    for task in TASKS:
        for method, (entry, extra) in DIAL_METHODS.items():
            name = f"dial-{method}" if task == "binary" else f"dial-{task}-{method}"
            row = _training_row(name, entry, task, method,
                                {**extra, "dial_eps": list(DIAL_EPS),
                                 "quick": {**TRAIN["quick"], "dial_eps": [0.0, 0.02, 1.0]}})
            row.config["seeds"] = list(TRAIN["seeds"])  # 12 trainings per seed: 5 seeds
            rows.append(row)
    for method, (entry, extra) in SGD_DIAL_METHODS.items():
        row = _training_row(f"dial-{method}", entry, "binary", method,
                            {**extra, "dial_eps": list(DIAL_EPS),
                             "quick": {**TRAIN["quick"], "dial_eps": [0.0, 0.02, 1.0]}})
        row.config["seeds"] = list(TRAIN["seeds"])
        rows.append(row)
    for task in TASKS:
        rows.append(Experiment(f"estimators-{task}", "experiments.estimators",
                               {**copy.deepcopy(ESTIMATORS), "task": task, "data": dict(DATA)}))
    # the digits the article's live bandit trains on in the browser (experiments/digit_subset.py)
    rows.append(Experiment("bandit-digits", "experiments.digit_subset", {
        "data": dict(DATA), "n_train": 2000, "n_eval": 500, "pool": 2, "levels": 16,
        "seeds": [0], "quick": {"n_train": 200, "n_eval": 100}}))
    return rows


EXPERIMENTS: list[Experiment] = _build()
BY_NAME: dict[str, Experiment] = {e.name: e for e in EXPERIMENTS}


# -- what the engine asks of this package (onpolicy/contract.py) ---------------------------

DATA_ENV = mnist_files.ENV_VAR      # --data-dir (alias --mnist-dir) sets it: the IDX files
ERRORS = (DataError,)               # missing or corrupt data: one line, exit 1
dataset = data_sources.data_source   # MNIST by its official checksums; synthetic by its config
examples = data_sources.examples     # digits in the official files a dataset identity names


def payload_schema(row: Experiment, config: dict) -> dict:
    return payloads.schema_for(row.entry, config)


# -- row validation (the pipeline calls validate_rows when it loads the table) ---------------

class SuiteError(ValueError):
    """A row of the experiment table that cannot be trained as written."""


# which method labels each entry module trains (a label naming another module's method is a typo)
ENTRY_METHODS: dict[str, set[str]] = {}
for _table in (METHODS, DIAL_METHODS, SCIENCE_METHODS, STALE_METHODS, SECOND_ROUND,
               SGD_DIAL_METHODS):
    for _method, (_entry, _) in _table.items():
        ENTRY_METHODS.setdefault(_entry, set()).add(_method)
ENTRY_METHODS["experiments.methods.ppo"].update(PPO_CLIPS)


def _positive(value, integer: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        return False
    return math.isfinite(value) and value > 0


def _number(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _fraction(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and 0.0 <= value <= 1.0)


# Sizes that decide how much memory a run allocates: bounded, so that a typo (hidden: 10**9)
# is named here instead of failing deep inside the allocator mid-build.
SIZE_LIMITS = {"hidden": 16384, "batch_size": 65536, "seed_batch": 1024, "n_x": 10001,
               "n_r": 10001, "n_y": 10001, "n_minibatches": 65536}


def config_problems(config: dict, entry: str) -> list[str]:
    """What is wrong with one effective config (empty: it can be trained)."""
    found = []
    for key in ("steps", "eval_every", "batch_size", "hidden", "seed_batch", "n_x", "n_r", "n_y",
                "batch_reuse", "n_minibatches"):
        if key in config and not _positive(config[key], integer=True):
            found.append(f"{key} must be a whole number > 0 (got {config[key]!r})")
        elif key in SIZE_LIMITS and config.get(key, 0) > SIZE_LIMITS[key]:
            found.append(f"{key} must be at most {SIZE_LIMITS[key]} (got {config[key]!r}): "
                         "more does not fit in memory")
    if "lr" in config and not _positive(config["lr"], integer=False):
        found.append(f"lr must be a number > 0 (got {config['lr']!r})")
    seeds = config.get("seeds", [0])  # the runner's default when a row names none
    if (not isinstance(seeds, list) or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)):
        found.append(f"seeds must be a non-empty list of whole numbers >= 0 (got {seeds!r})")
    elif len(set(seeds)) != len(seeds):
        found.append(f"seeds has duplicates (got {seeds!r})")
    for key in ("behaviour_eps", "clip_eps"):
        if key in config and not _fraction(config[key]):
            found.append(f"{key} must be a number in [0, 1] (got {config[key]!r})")
    if "dial_eps" in config and (not isinstance(config["dial_eps"], list) or not config["dial_eps"]
                                 or not all(_fraction(e) for e in config["dial_eps"])):
        found.append(f"dial_eps must be a non-empty list of numbers in [0, 1] "
                     f"(got {config['dial_eps']!r})")
    if "optimizer" in config and config["optimizer"] not in ("adam", "sgd"):
        found.append(f"optimizer must be 'adam' or 'sgd' (got {config['optimizer']!r})")
    reward = config.get("reward", [-1.0, 1.0])
    if (not isinstance(reward, list) or len(reward) != 2
            or not all(_number(r) for r in reward) or reward[0] >= reward[1]):
        found.append(f"reward must be [miss, hit], two numbers with miss < hit (got {reward!r})")
    baseline = config.get("baseline", 0.0)
    if baseline != "batch_mean" and not _number(baseline):
        found.append(f"baseline must be a number or 'batch_mean' (got {baseline!r})")
    if "log_prob" in config and config["log_prob"] not in ("naive", "stable"):
        found.append(f"log_prob must be 'naive' or 'stable' (got {config['log_prob']!r})")
    if "task" in config:
        if config["task"] not in TASKS:
            found.append(f"unknown task {config['task']!r} (known: {', '.join(TASKS)})")
        method, known = config.get("method"), ENTRY_METHODS.get(entry)
        if known is not None and method not in known:
            found.append(f"method {method!r} is not what {entry} trains "
                         f"(known: {', '.join(sorted(known))})")
        data = config.get("data")
        if not isinstance(data, dict) or data.get("name") not in ("mnist", "synthetic"):
            found.append("data must be a mapping with name 'mnist' or 'synthetic' "
                         f"(got {data!r})")
    return found


def entry_problems(entry) -> list[str]:
    """An entry module must exist and define run() and merge() (its source is read, not
    imported: checking the table needs no torch)."""
    try:
        spec = importlib.util.find_spec(entry) if isinstance(entry, str) else None
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return [f"entry module {entry!r} not found"]
    try:
        defined = _top_level_names(Path(spec.origin))
    except (SyntaxError, ValueError, OSError) as err:
        return [f"entry module {entry} cannot be read: {err}"]
    missing = [f"{name}()" for name in ("run", "merge") if name not in defined]
    return [f"entry module {entry} defines no {' and no '.join(missing)} (an entry module "
            "defines run(config, seeds, device, progress) and merge(config, parts))"
            ] if missing else []


def _top_level_names(path: Path) -> set[str]:
    """The names a module defines at its top level, kept by the sha256 of its text in the
    build's file-digest cache (onpolicy/file_digests.py): a build parses no unchanged entry."""
    root = Path(__file__).resolve().parents[1]  # where the build keeps .cache/
    text = path.read_text(encoding="utf-8")
    key = f"entry-names\0{sha256(text)}"
    known = file_digests.recall(root, key)
    if isinstance(known, list):
        return set(known)
    tree = ast.parse(text)
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    defined |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
                if isinstance(t, ast.Name)}
    defined |= {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom)
                for a in n.names}
    file_digests.remember(root, key, sorted(defined))
    return defined


def validate_rows(rows: list[Experiment]) -> None:
    """Raise SuiteError naming the first row whose config cannot be trained, and everything
    wrong with it (names, duplicates and types: the engine's contract.check_rows, first)."""
    entries: dict = {}
    for row in rows:
        label = f"row {row.name!r}"
        if repr(row.entry) not in entries:
            entries[repr(row.entry)] = entry_problems(row.entry)
        problems = entries[repr(row.entry)] + config_problems(effective_config(row), row.entry)
        quick = row.config.get("quick", {})
        if isinstance(quick, dict) and quick:
            problems += [f"quick: {p}" for p in config_problems(effective_config(row, True),
                                                               row.entry)
                         if p not in problems]
        if problems:
            raise SuiteError(f"{label}: " + "; ".join(problems))
