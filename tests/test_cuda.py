"""The CUDA path: the captured step against the eager reference, and one graph launch per
step. Skipped without a GPU (this project's CI and dev machine have none: bench/gpu_check.sh
runs these on one). Plain functions, no fixtures: gpu_check.sh can call them without pytest."""
from __future__ import annotations

import torch

try:  # gpu_check.sh may run these on a machine without pytest
    import pytest
except ImportError:
    pytest = None

from experiments import runs, training
from experiments.methods import importance, policy_gradient, ppo, q_regression, supervised

if pytest is not None:
    pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

DATA = {"name": "synthetic", "n_train": 512, "n_eval": 256, "dim": 64, "n_classes": 10,
        "seed": 0}
BASE = {"hidden": 32, "lr": 1e-2, "batch_size": 32, "steps": 100, "eval_every": 10,
        "behaviour_eps": 1.0, "data": DATA, "task": "categorical", "method": "m"}
FINAL_ACCURACY_TOL = 0.02


def suite_like_lanes() -> list:
    """Every method, a dial, a lag lane, and a lane that goes non-finite (naive PG)."""
    return (runs.lanes(policy_gradient.METHOD, {**BASE, "log_prob": "naive"}, [0, 1, 2])
            + runs.lanes(supervised.METHOD, BASE, [0, 1])
            + runs.lanes(q_regression.METHOD, BASE, [0, 1])
            + runs.lanes(importance.METHOD, BASE, [0, 1])
            + runs.lanes(ppo.METHOD, {**BASE, "clip_eps": 0.2, "dial_eps": [0.0, 0.9]},
                            [0, 1])
            + runs.lanes(policy_gradient.METHOD, {**BASE, "log_prob": "stable",
                                                     "behaviour_eps": 0.0,
                                                     "behaviour_lag": 4}, [0, 1]))


def _agree(a: list, b: list, weights_a: dict | None = None, weights_b: dict | None = None,
           weight_tol: float | None = None) -> None:
    for i, (x, y) in enumerate(zip(a, b)):
        assert x["first_nonfinite_step"] == y["first_nonfinite_step"], i
        for p, q in zip(x["accuracy"], y["accuracy"]):
            if p[-1] is not None or q[-1] is not None:
                assert abs(p[-1] - q[-1]) <= FINAL_ACCURACY_TOL, (i, p[-1], q[-1])
        if weight_tol is not None:
            for k in weights_a[i]:
                diff = (weights_a[i][k] - weights_b[i][k]).abs().max().item()
                assert diff <= weight_tol, (i, k, diff)


def test_graph_replay_matches_the_eager_cuda_step():
    lanes = suite_like_lanes()
    wa, wb = {}, {}
    graph = training.train_lanes(lanes, "cuda", capture=True, params_out=wa)
    eager = training.train_lanes(lanes, "cuda", capture=False, params_out=wb)
    assert any(s is not None for s in graph[0]["first_nonfinite_step"])
    _agree(graph, eager, wa, wb, weight_tol=1e-4)


def test_cuda_matches_cpu_in_meaning():
    lanes = suite_like_lanes()
    _agree(training.train_lanes(lanes, "cuda"), training.train_lanes(lanes, "cpu"))


def test_one_graph_launch_and_no_kernel_launch_per_replayed_step():
    from torch.profiler import ProfilerActivity, profile

    from experiments import cuda_graph

    lanes = suite_like_lanes()
    captured = {}
    real = cuda_graph.capture_step

    def keep(step, *args, **kwargs):
        captured["step"], captured["replay"] = step, real(step, *args, **kwargs)
        return captured["replay"]

    cuda_graph.capture_step = keep
    try:
        training.train_lanes(lanes, "cuda", capture=True)
    finally:
        cuda_graph.capture_step = real
    step, replay = captured["step"], captured["replay"]
    step.position.zero_()  # ten more steps, within the chunk the buffers hold
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(10):
            replay()
        torch.cuda.synchronize()
    counts = {e.key: e.count for e in prof.key_averages()}
    graph = sum(n for k, n in counts.items() if k.startswith("cudaGraphLaunch"))
    kernels = sum(n for k, n in counts.items() if "LaunchKernel" in k)
    print(f"10 replays: {graph} graph launches, {kernels} kernel launches")
    assert graph == 10 and kernels == 0


def test_vectorised_estimators_on_cuda_match_the_cpu():
    """experiments/estimators.py on CUDA (all minibatches in one chunk) against the CPU (chunks
    of a few): the same trajectory and the same metrics, up to float32 rounding."""
    from experiments import estimators

    config = {"task": "categorical", "data": DATA, "hidden": 16, "lr": 1e-3, "batch_size": 32,
              "checkpoints": [0, 5], "n_minibatches": 16,
              "estimators": {"pg_offpolicy": {"method": "pg", "behaviour_eps": 1.0},
                             "ppo": {"method": "ppo", "behaviour_eps": 1.0, "clip_eps": 0.2}}}
    assert estimators.chunk_size(2, 64 * 16 + 16 + 16 * 10 + 10, "cuda") >= 16  # one chunk
    on_gpu, on_cpu = (estimators.run(config, [0, 1], device) for device in ("cuda", "cpu"))
    for name in config["estimators"]:
        for metric in estimators.METRICS:
            got = torch.tensor(on_gpu["estimators"][name][metric], dtype=torch.float64)
            want = torch.tensor(on_cpu["estimators"][name][metric], dtype=torch.float64)
            assert torch.allclose(got, want, rtol=1e-3, atol=1e-4), (name, metric, got, want)
    for a, b in zip(on_gpu["accuracy"], on_cpu["accuracy"]):
        assert max(abs(x - y) for x, y in zip(a, b)) <= FINAL_ACCURACY_TOL
