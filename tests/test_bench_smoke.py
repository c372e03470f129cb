"""The issue-#24 benchmarks still run against the code they measure (a rename in the trainer
once broke bench/suite_profile unnoticed): a few steps of one row, and the floor's count."""
import json
import os
import subprocess
import sys
from pathlib import Path

from bench.suite_floor import count
from experiments import mnist_files
from tests.test_data import real_mnist_dir

ROOT = Path(__file__).resolve().parent.parent


def test_suite_profile_times_each_kind_of_work():
    folder = real_mnist_dir(mnist_files.TEST_FILES)
    run = subprocess.run([sys.executable, "-m", "bench.suite_profile", "--rows",
                          "binary-ppo_lag10", "--steps", "10", "--repeats", "1"], cwd=ROOT,
                         env={**os.environ, "MNIST_DIR": str(folder)}, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    kinds = {line.split("  ")[0] for line in run.stdout.splitlines()}
    assert {"forward (training)", "forward (lagged snapshot)", "backward", "Adam step",
            "evaluation"} <= kinds


def test_suite_floor_counts_every_trained_seed_step():
    groups, estimator_s = count(668)
    expected = 0
    for path in (ROOT / "results").glob("*.json"):
        config = json.loads(path.read_text())["inputs"]["config"]
        if "steps" in config:
            expected += len(config["seeds"]) * len(config.get("dial_eps", [0])) * config["steps"]
    assert sum(g[0] for g in groups.values()) == expected > 0
    assert all(g[2] > 0 for g in groups.values()) and estimator_s > 0
