"""This package's fusion plan (onpolicy.contract.FusionPlan): which runs train as one model.

A row whose entry module has a trainer `METHOD` becomes lanes (runs.lanes: one, or one per
behaviour eps of a dial); lanes with equal `lanes.group_key` train together in
`training.train_lanes`. Everything else (the gradient grids, the estimators) runs alone.
Torch-free until a plan is made: the suite imports this for `build.py status`.
"""
from __future__ import annotations

import importlib


class TrainerFusion:
    def lanes(self, entry: str, config: dict, seeds: tuple) -> list | None:
        from experiments import runs

        method = getattr(importlib.import_module(entry), "METHOD", None)
        if not isinstance(method, runs.Method):
            return None
        return runs.lanes(method, config, seeds)

    def group_key(self, lane) -> str:
        from experiments import lanes

        return lanes.group_key(lane)

    def cpu_bucket(self, lane) -> tuple:
        """Lanes that may share a CPU job: one loss call, and all or none acting from a lagged
        snapshot (a lagged lane makes the step run a second forward and refresh a snapshot of
        every slot in the job)."""
        from experiments import lanes

        return lanes.loss_key(lane), int(lane.config.get("behaviour_lag", 0)) > 0

    def seed_count(self, lane) -> int:
        return len(lane.seeds)

    def train(self, lanes: list, device: str, progress=None) -> list:
        from experiments import training

        return training.train_lanes(lanes, device, progress)

    def assemble(self, config: dict, outputs: list) -> dict:
        from experiments import runs

        return runs.assemble(config, outputs)


PLAN = TrainerFusion()
