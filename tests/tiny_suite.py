"""A two-row experiment table on synthetic data, for tests that really train (seconds, no MNIST).

Use it with `python build.py --suite tests.tiny_suite`.
"""
# the article's experiment package hooks: its datasets, payload schemas and fusion plan
from experiments.suite import (DATA_ENV, ERRORS, FUSION, dataset, examples,  # noqa: F401
                               payload_schema, validate_rows)
from onpolicy.contract import Experiment

_DATA = {"name": "synthetic", "n_train": 512, "n_eval": 128, "dim": 64, "n_classes": 10, "seed": 0}
_TRAIN = {"hidden": 32, "lr": 1e-3, "batch_size": 32, "steps": 60, "eval_every": 20,
          "seeds": [0, 1, 2], "seed_batch": 2, "behaviour_eps": 1.0, "data": _DATA,
          "quick": {"steps": 20, "eval_every": 10, "seeds": [0, 1]}}

EXPERIMENTS = [
    Experiment("tiny-supervised", "experiments.methods.supervised",
               {**_TRAIN, "task": "binary", "method": "supervised"}),
    Experiment("tiny-pg_random", "experiments.methods.policy_gradient",
               {**_TRAIN, "task": "binary", "method": "pg_random", "log_prob": "naive"}),
]
