"""This package's datasets as the engine sees them (onpolicy.contract.DataSource) and their
sizes for the render. Torch-free, and imported by the suite only: no training module imports
it, so the engine's contract is not part of any result's freeze hash.
"""
from __future__ import annotations

import os
from pathlib import Path

from experiments import mnist_files
from onpolicy.contract import DataSource, default_dataset


def data_source(data: dict) -> DataSource:
    """MNIST: named by the official checksums (the loader verifies them), its files found or
    downloaded when a Ray build ships them; other data: its config."""
    if data.get("name") != "mnist":
        return default_dataset(data)
    split = data.get("split", "test10k")
    return DataSource(mnist_files.dataset_identity(data), fetch=lambda: fetch_files(split),
                      env_var=mnist_files.ENV_VAR)


def fetch_files(split: str) -> dict[str, Path]:
    """The verified IDX files of `split`, downloaded with torchvision when none are given."""
    try:
        return mnist_files.find_files(split)
    except mnist_files.DataError:
        if os.environ.get(mnist_files.ENV_VAR):
            raise
        from experiments.data import load_mnist  # downloads with torchvision if online

        load_mnist({"name": "mnist", "split": split})
        return mnist_files.find_files(split)


# Results record the files' checksums, not how many digits they hold, and the freeze hash must
# not change to add that. An official file's count is fixed by its checksum (the count in the
# label file's IDX header), so this table gives the render the count without the files.
# tests/test_datasets.py reads the real files' headers against it.
LABEL_FILES = {"train": mnist_files.TRAIN_FILES[1], "test": mnist_files.TEST_FILES[1]}
LABEL_COUNTS = {mnist_files.MD5[LABEL_FILES["train"]]: 60000, mnist_files.MD5[LABEL_FILES["test"]]: 10000}


def examples(identity: dict) -> dict[str, int]:
    """{"test": 10000} for MNIST's test10k split, {"train": 60000, "test": 10000} for the full
    one: the examples in each official file set the identity names; {} for synthetic data."""
    files = identity.get("files") if isinstance(identity, dict) else None
    if not isinstance(files, dict):
        return {}
    found = {}
    for part, name in LABEL_FILES.items():
        count = LABEL_COUNTS.get(files.get(name))
        if count is not None:
            found[part] = count
    return found
