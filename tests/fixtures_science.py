"""Fake payloads, with the outcomes the article describes, for the science rows: the dense
dial on both tasks (and the binary one under plain SGD), the bias control, the remedies, the
PPO clip sweep, stale snapshots on both tasks and the estimators.

`science_results(fake_training)` takes the caller's training-payload maker (test_article's
fake_training) so both files describe one set of fake runs.
"""
from __future__ import annotations

import base64
import hashlib

DENSE_EPS = (0.0, 0.002, 0.01, 0.02, 0.1, 0.5, 1.0)
CHECKPOINTS = [0, 100, 300, 1000, 3000]
ESTIMATORS = ("pg_onpolicy", "pg_offpolicy", "is", "ppo")


def _stat(per_seed: list[list]) -> dict:
    cols = list(zip(*per_seed))
    mean = [sum(c) / len(c) for c in cols]
    return {"per_seed": per_seed, "mean": mean, "lo": [m - 0.01 for m in mean],
            "hi": [m + 0.01 for m in mean], "n": [len(c) for c in cols]}


def dial(fake_training, task: str, method: str, eps=DENSE_EPS) -> dict:
    """Vanilla PG breaks from eps = 0.02 on (logits past 1,000, accuracy down); IS and PPO
    hold everywhere."""
    runs = []
    for e in eps:
        broken = method == "pg" and e >= 0.02
        drift = 2 * e if method == "pg" else 0.0  # below the cliff: slower, not absent
        runs.append(fake_training(task, method, final=0.76 if broken else 0.95 - drift,
                                  logit_end=2000 + 1e5 * e if broken else 30 + 3000 * drift,
                                  behaviour_eps=e))
    return {"task": task, "method": method, "eps": list(eps), "runs": runs,
            "final_accuracy": {key: [r["final_accuracy"][key] for r in runs]
                               for key in ("mean", "lo", "hi")},
            "nonfinite_seeds": [sum(s is not None for s in r["first_nonfinite_step"])
                                for r in runs]}


def estimators(task: str, seeds=(0, 1, 2)) -> dict:
    """On-policy PG and IS along grad J (IS noisier), vanilla off-policy PG off it."""
    shape = {"pg_onpolicy": (0.3, 0.95, 5.0, 0.1), "pg_offpolicy": (0.05, 0.2, 90.0, 30.0),
             "is": (0.2, 0.9, 40.0, 0.2), "ppo": (0.2, 0.6, 8.0, 0.7)}
    out = {}
    for name, (cos_one, cos_avg, variance, bias) in shape.items():
        out[name] = {metric: _stat([[value * (1 + 0.01 * s)] * len(CHECKPOINTS) for s in seeds])
                     for metric, value in (("cos_minibatch", cos_one), ("cos_mean", cos_avg),
                                           ("rel_variance", variance), ("rel_bias", bias))}
    return {"task": task, "seeds": list(seeds), "checkpoints": list(CHECKPOINTS),
            "n_minibatches": 256, "batch_size": 64, "estimators": out,
            "offpolicy_expected_cos": _stat([[0.2] * len(CHECKPOINTS) for _ in seeds]),
            "accuracy": _stat([[0.1 + 0.2 * i for i in range(len(CHECKPOINTS))] for _ in seeds]),
            "wall_time_s": 30.0}


def digit_subset(n_train: int = 6, n_eval: int = 4, side: int = 14) -> dict:
    """A bandit-digits payload (experiments/digit_subset.py) of a few blank-ish digits."""
    def part(n: int) -> dict:
        packed = bytes((i * 37) % 256 for i in range((n * side * side + 1) // 2))
        return {"n": n, "digits": "".join(str(i % 10) for i in range(n)),
                "pixels": base64.b64encode(packed).decode("ascii"),
                "sha256": hashlib.sha256(packed).hexdigest()}
    return {"side": side, "pool": 28 // side, "levels": 16,
            "source": {"dataset": "MNIST", "creators": "Yann LeCun and Corinna Cortes",
                       "url": "http://yann.lecun.com/exdb/mnist/", "licence": "CC BY-SA 3.0"},
            "train": part(n_train), "eval": part(n_eval), "wall_time_s": 0.1}


def science_results(fake_training, sup: dict[str, float]) -> dict[str, dict]:
    """sup: task -> supervised final accuracy of the caller's fakes."""
    out: dict[str, dict] = {}
    for task, top in sup.items():
        out[f"{task}-pg_expected"] = fake_training(
            task, "pg_expected", final=0.75 if task == "binary" else 0.1, logit_end=5e4,
            collapse=None if task == "binary" else 0.99)
        for clip, name in ((0.05, "ppo_clip05"), (0.1, "ppo_clip10"), (0.4, "ppo_clip40")):
            out[f"{task}-{name}"] = fake_training(task, name, final=top - 0.02 - 0.02 * clip,
                                                  logit_end=3 + 10 * clip)
        for method in ("pg", "ppo", "is"):
            name = f"dial-{method}" if task == "binary" else f"dial-{task}-{method}"
            out[name] = dial(fake_training, task, method)
        out[f"estimators-{task}"] = estimators(task)
        # stale snapshots: vanilla PG breaks at k = 100 on the binary task (its logits run
        # away) and collapses onto one digit from k = 10 on on the categorical one; IS and PPO
        # hold
        for method in ("pg", "is", "ppo"):
            for lag in (1, 10, 100):
                kwargs = dict(final=top - 0.01 - 0.0001 * lag,
                              logit_end=12 + (0.2 * lag if method == "pg" else 0.0))
                if method == "pg" and task == "binary" and lag == 100:
                    kwargs = dict(final=0.8, logit_end=2000)
                if method == "pg" and task == "categorical" and lag >= 10:
                    kwargs = dict(final=0.1, logit_end=113, collapse=0.99)
                out[f"{task}-{method}_lag{lag}"] = fake_training(
                    task, f"{method}_lag{lag}", behaviour_eps=0.0,
                    seeds=(0, 1, 2, 3, 4) if task == "binary" else tuple(range(10)), **kwargs)
    seeds = tuple(range(20))
    out["categorical-pg_onpolicy_entropy"] = fake_training(
        "categorical", "pg_onpolicy_entropy", final=sup["categorical"] - 0.02, seeds=seeds,
        logit_end=12, behaviour_eps=0.0, dropped={1: 9, 5: 4})
    out["categorical-pg_onpolicy_barrier"] = fake_training(
        "categorical", "pg_onpolicy_barrier", final=sup["categorical"] - 0.01, seeds=seeds,
        logit_end=8, behaviour_eps=0.0)
    # the binary vanilla-PG dial under plain SGD: the same cliff as Adam's
    out["dial-pg_sgd"] = {**dial(fake_training, "binary", "pg"), "method": "pg_sgd"}
    out["bandit-digits"] = digit_subset()
    return out


def second_round_results(fake_training, sup: dict[str, float]) -> dict[str, dict]:
    """The second round's rows, with the outcomes its prose describes: rewards {0, 1} learn
    off-policy and a baseline brings the runaway back, the critic + actor learns from uniform
    actions, reused batches and plain SGD learn on-policy, the long small-eps run holds."""
    out: dict[str, dict] = {}
    for task, top in sup.items():
        seeds = (0, 1, 2, 3, 4) if task == "binary" else tuple(range(10))
        low = 0.76 if task == "binary" else 0.1
        rows = {
            "pg_random_r01": dict(final=top - 0.01, logit_end=30),
            "pg_random_r01_baseline": dict(final=low, logit_end=5e4),
            "pg_onpolicy_r01": dict(final=top - 0.015, logit_end=25, behaviour_eps=0.0),
            "pg_onpolicy_r01_baseline": dict(final=top - 0.012, logit_end=25,
                                             behaviour_eps=0.0),
            "critic_actor_random": dict(final=top - 0.008, logit_end=20),
        }
        for k in (4, 32) if task == "binary" else (32,):
            for method in ("pg", "is", "ppo"):
                rows[f"{method}_reuse{k}"] = dict(final=top - 0.02 - 0.0005 * k,
                                                  logit_end=10 + k, behaviour_eps=0.0)
        for name, kwargs in rows.items():
            out[f"{task}-{name}"] = fake_training(task, name, seeds=seeds, **kwargs)
    out["binary-pg_random_sgd"] = fake_training("binary", "pg_random_sgd", final=0.76,
                                                logit_end=5e3)
    out["binary-pg_onpolicy_sgd"] = fake_training("binary", "pg_onpolicy_sgd",
                                                  final=sup["binary"] - 0.02, logit_end=10,
                                                  behaviour_eps=0.0)
    out["binary-pg_eps0002_long"] = fake_training("binary", "pg_eps0002_long", steps_total=12000,
                                                  final=sup["binary"] - 0.02, logit_end=60,
                                                  behaviour_eps=0.002)
    return out
