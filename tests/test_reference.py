"""The reference loop (experiments/reference.py: one method, one seed, nn.Sequential, Adam, a
plain loop) is the oracle of the fused trainer: every slot of a fused run of many methods,
behaviour eps, lags, rewards, batch reuse, optimisers and seeds follows its own reference run. On CUDA the captured step
(a CUDA-graph replay) must follow it too."""
from __future__ import annotations

import pytest
import torch

from experiments import reference, runs, training
from experiments.lanes import group_key
from experiments.model import init_params
from experiments.methods import (critic_actor, importance, policy_gradient, ppo, q_regression,
                                 supervised)

DATA = {"name": "synthetic", "n_train": 512, "n_eval": 256, "dim": 64, "n_classes": 10,
        "seed": 0}
BASE = {"hidden": 32, "lr": 5e-3, "batch_size": 32, "steps": 100, "eval_every": 10,
        "behaviour_eps": 1.0, "data": DATA, "method": "m"}
# The reference and a fused slot differ in float reordering only (nn.Linear against batched
# matrix products, Adam's single-tensor against its fused kernel): last bits that grow
# slowly, about 1e-7 over 100 steps off-policy. On-policy categorical runs grow them faster
# (an action sampled near a boundary of the inverse CDF can flip): at lr 1e-2 one PPO slot
# reached 1.6e-4 in 100 steps, at lr 5e-3 under 4e-6. The tolerance is test_fused.py's.
WEIGHT_TOL = 1e-4
EVAL_TOL = 1e-3

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def lanes_of(task: str) -> list:
    cfg = {**BASE, "task": task}
    return (runs.lanes(policy_gradient.METHOD, {**cfg, "log_prob": "naive"}, [0, 1, 2])
            + runs.lanes(policy_gradient.METHOD, {**cfg, "log_prob": "stable",
                                                     "behaviour_lag": 10, "behaviour_eps": 0.0},
                            [1])
            + runs.lanes(ppo.METHOD, {**cfg, "clip_eps": 0.2, "dial_eps": [0.0, 0.5]}, [0])
            + runs.lanes(importance.METHOD, cfg, [2])
            + runs.lanes(q_regression.METHOD, cfg, [0])
            + runs.lanes(supervised.METHOD, cfg, [1])
            # the second round's options: rewards {0, 1} less the minibatch mean, one
            # minibatch reused for 4 updates, plain SGD, a critic + actor
            + runs.lanes(policy_gradient.METHOD, {**cfg, "reward": [0.0, 1.0],
                                                     "baseline": "batch_mean"}, [0])
            + runs.lanes(ppo.METHOD, {**cfg, "clip_eps": 0.2, "batch_reuse": 4}, [1])
            + runs.lanes(policy_gradient.METHOD, {**cfg, "optimizer": "sgd", "lr": 0.1},
                            [2])
            + runs.lanes(critic_actor.METHOD, cfg, [0]))


def check_against_reference(lanes: list, device: str, **kwargs) -> None:
    """Each group of lanes (binary Q-regression has two outputs: a group of its own) trained
    fused; every slot against its own reference run."""
    groups: dict[str, list] = {}
    for lane in lanes:
        groups.setdefault(group_key(lane), []).append(lane)
    assert sum(_check_group(group, device, **kwargs) for group in groups.values()), \
        "want a slot that goes non-finite within the steps"


def _check_group(lanes: list, device: str, **kwargs) -> int:
    params: dict = {}
    outputs = training.train_lanes(lanes, device, params_out=params, **kwargs)
    nonfinite = 0
    for i, lane in enumerate(lanes):
        for j, seed in enumerate(lane.seeds):
            ref = reference.train(lane.method, lane.config, seed, device)
            where = (i, lane.config.get("log_prob"), lane.config.get("behaviour_eps"), seed)
            assert outputs[i]["first_nonfinite_step"][j] == ref["first_nonfinite_step"], where
            nonfinite += ref["first_nonfinite_step"] is not None
            assert outputs[i]["steps"] == ref["steps"]
            got = outputs[i]["accuracy"][j]
            assert [v is None for v in got] == [v is None for v in ref["accuracy"]], where
            assert [v for v in got if v is not None] == pytest.approx(
                [v for v in ref["accuracy"] if v is not None], abs=EVAL_TOL), where
            for k, value in ref["weights"].items():
                # relative to the weights' size: plain SGD lets them grow into the hundreds
                diff = (params[i][k][j] - value).abs().max().item()
                assert diff <= WEIGHT_TOL * max(1.0, value.abs().max().item()), (where, k, diff)
    return nonfinite


@pytest.mark.parametrize("task", ["binary", "categorical"])
def test_fused_slots_follow_the_reference_loop(task):
    check_against_reference(lanes_of(task), "cpu")


def test_pixels_blank_in_every_image_are_left_out_and_their_weights_kept():
    """The trainer drops inputs that are 0 in every image (training.train_lanes): the same
    run as the reference's on all inputs, whose weights from those pixels never move."""
    data = {**DATA, "blank_pixels": 16}
    lanes = runs.lanes(policy_gradient.METHOD, {**BASE, "data": data, "task": "categorical",
                                                "log_prob": "stable", "dial_eps": [0.0, 1.0]},
                       [0, 1])
    check_against_reference(lanes + runs.lanes(supervised.METHOD, {**BASE, "data": data,
                                                                   "task": "categorical"}, [0])
                            + runs.lanes(policy_gradient.METHOD,
                                         {**BASE, "data": data, "task": "categorical",
                                          "log_prob": "naive"}, [0, 1, 2]), "cpu")
    params: dict = {}
    training.train_lanes(lanes[:1], "cpu", params_out=params)
    start = init_params([0, 1], 64, BASE["hidden"], 10)["W1"].detach()
    assert torch.equal(params[0]["W1"][:, -16:], start[:, -16:])
    assert not torch.equal(params[0]["W1"][:, :-16], start[:, :-16])


def test_the_oracle_can_fail():
    """A reference run with another learning rate is not the fused slot's."""
    lane = runs.lanes(supervised.METHOD, {**BASE, "task": "binary"}, [0])[0]
    params: dict = {}
    training.train_lanes([lane], "cpu", params_out=params)
    other = reference.train(lane.method, {**lane.config, "lr": 1.1e-2}, 0)
    assert (params[0]["W2"][0] - other["weights"]["W2"]).abs().max().item() > WEIGHT_TOL


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
@pytest.mark.parametrize("capture", [True, False], ids=["captured", "eager"])
def test_cuda_slots_follow_the_reference_loop(capture):
    check_against_reference(lanes_of("categorical"), "cuda", capture=capture)
