"""Experiment rows for tests/test_ray_executor.py (entry: tests/ray_entry.py). Torch-free.

`row(name, **overrides)` makes one; the module-level table is the default pair used with
`--suite tests.ray_suite`.
"""
from experiments.suite import DATA_ENV, dataset  # noqa: F401 - MNIST rows: this package's
from onpolicy.contract import Experiment

BASE = {"seeds": [0, 1, 2], "seed_batch": 1, "steps": 15, "hidden": 16, "n_sum": 3_000_000,
        "data": {"name": "synthetic", "n_train": 256, "n_eval": 64, "dim": 32,
                 "n_classes": 10, "seed": 0}}


def row(name: str, **overrides) -> Experiment:
    return Experiment(name, "tests.ray_entry", {**BASE, **overrides})


EXPERIMENTS = [row("ray-a"), row("ray-b", seeds=[3, 4], seed_batch=2)]
