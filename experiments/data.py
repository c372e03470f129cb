"""Datasets as tensors on the training device: MNIST (parsed from the IDX .gz files) or a
small synthetic stand-in for tests.

Labels are always the digit (0..9); `task_labels` turns them into the label of a task.
"""
from __future__ import annotations

import functools
import gzip
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from experiments import mnist_files
from experiments.mnist_files import DataError

IMAGES_MAGIC = 2051  # IDX: unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049  # IDX: unsigned bytes, 1 dimension
IMAGE_SIDE = 28


@dataclass
class Dataset:
    x_train: torch.Tensor  # (N_train, 784) float32 in [0, 1]
    y_train: torch.Tensor  # (N_train,) int64 digit / class
    x_eval: torch.Tensor
    y_eval: torch.Tensor


def task_labels(digits: torch.Tensor, task: str) -> torch.Tensor:
    """binary: 1 if digit >= 5 else 0 ; categorical: the digit itself."""
    if task == "binary":
        return (digits >= 5).long()
    if task == "categorical":
        return digits
    raise ValueError(f"unknown task {task!r}: use 'binary' or 'categorical'")


def n_actions(task: str) -> int:
    return 2 if task == "binary" else 10


# -- IDX parsing ---------------------------------------------------------------------------

def _read_idx(path: Path, magic: int, n_dims: int) -> np.ndarray:
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise DataError(f"{path}: not a readable gzip file ({err}). "
                        + mnist_files.HOW_TO_PROVIDE) from err
    header = 4 + 4 * n_dims
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header. " + mnist_files.HOW_TO_PROVIDE)
    found_magic = int.from_bytes(raw[:4], "big")
    if found_magic != magic:
        raise DataError(f"{path}: IDX magic number {found_magic}, expected {magic}. "
                        + mnist_files.HOW_TO_PROVIDE)
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(n_dims)]
    expected = int(np.prod(dims))
    if len(raw) - header != expected:
        raise DataError(f"{path}: IDX header says {dims} ({expected} bytes of data) but the "
                        f"file holds {len(raw) - header}. " + mnist_files.HOW_TO_PROVIDE)
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def read_idx_images(path: Path) -> np.ndarray:
    """(N, 28, 28) uint8 images from an IDX3 .gz file."""
    images = _read_idx(Path(path), IMAGES_MAGIC, 3)
    if images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataError(f"{path}: images are {images.shape[1]}x{images.shape[2]}, expected "
                        f"28x28. " + mnist_files.HOW_TO_PROVIDE)
    return images


def read_idx_labels(path: Path) -> np.ndarray:
    """(N,) uint8 labels from an IDX1 .gz file."""
    labels = _read_idx(Path(path), LABELS_MAGIC, 1)
    if labels.size and labels.max() > 9:
        raise DataError(f"{path}: label {labels.max()} is not a digit. "
                        + mnist_files.HOW_TO_PROVIDE)
    return labels


def _read_pair(images_path: Path, labels_path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = read_idx_images(images_path), read_idx_labels(labels_path)
    if len(images) != len(labels):
        raise DataError(f"{images_path} holds {len(images)} images but {labels_path} holds "
                        f"{len(labels)} labels. " + mnist_files.HOW_TO_PROVIDE)
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 255.0)
    return x, torch.from_numpy(labels.astype(np.int64))


# -- MNIST ---------------------------------------------------------------------------------

def _locate_mnist(split: str, mnist_dir=None) -> dict[str, Path]:
    """The verified IDX files; without an explicit directory, try a torchvision download."""
    try:
        return mnist_files.find_files(split, mnist_dir)
    except DataError:
        default_dir = mnist_files.DEFAULT_ROOT / "MNIST" / "raw"
        missing = [f for f in mnist_files.files_for(split) if not (default_dir / f).is_file()]
        if mnist_dir or os.environ.get(mnist_files.ENV_VAR) or not missing:
            raise  # an explicit directory, or a corrupt file: downloading would not help
        try:
            import torchvision

            torchvision.datasets.MNIST(root=str(mnist_files.DEFAULT_ROOT), download=True)
        except Exception as err:  # offline, blocked, disk full: all mean "provide the files"
            raise DataError(f"MNIST files not found locally and the download failed ({err}). "
                            + mnist_files.HOW_TO_PROVIDE) from err
        return mnist_files.find_files(split, mnist_dir)


def load_mnist(data_config: dict, mnist_dir=None) -> Dataset:
    split = data_config.get("split", "test10k")
    files = _locate_mnist(split, mnist_dir)
    x_test, y_test = _read_pair(files["t10k-images-idx3-ubyte.gz"],
                                files["t10k-labels-idx1-ubyte.gz"])
    if split == "full":
        x_train, y_train = _read_pair(files["train-images-idx3-ubyte.gz"],
                                      files["train-labels-idx1-ubyte.gz"])
        return Dataset(x_train, y_train, x_test, y_test)
    n_eval = int(data_config.get("n_eval", 2000))
    if not 0 < n_eval < len(x_test):
        raise ValueError(f"n_eval={n_eval} must be between 1 and {len(x_test) - 1}")
    generator = torch.Generator().manual_seed(int(data_config.get("split_seed", 0)))
    order = torch.randperm(len(x_test), generator=generator)
    eval_idx, train_idx = order[:n_eval], order[n_eval:]
    return Dataset(x_test[train_idx], y_test[train_idx], x_test[eval_idx], y_test[eval_idx])


# -- synthetic -----------------------------------------------------------------------------

def make_synthetic(data_config: dict) -> Dataset:
    """Noisy copies of one random prototype per class, clipped to [0, 1]: easy to learn,
    MNIST-shaped, deterministic in `seed`; the last `blank_pixels` inputs are 0 everywhere."""
    n_train, n_eval = int(data_config.get("n_train", 2000)), int(data_config.get("n_eval", 500))
    dim, n_classes = int(data_config.get("dim", 784)), int(data_config.get("n_classes", 10))
    noise = float(data_config.get("noise", 0.3))
    generator = torch.Generator().manual_seed(int(data_config.get("seed", 0)))
    prototypes = (torch.rand(n_classes, dim, generator=generator) < 0.2).float()
    labels = torch.randint(n_classes, (n_train + n_eval,), generator=generator)
    x = prototypes[labels] + noise * torch.randn(n_train + n_eval, dim, generator=generator)
    x = x.clamp(0.0, 1.0)
    x[:, dim - int(data_config.get("blank_pixels", 0)):] = 0.0  # like MNIST's empty borders
    return Dataset(x[:n_train], labels[:n_train], x[n_train:], labels[n_train:])


def load(data_config: dict, device="cpu") -> Dataset:
    """The dataset named by `data_config`, with every tensor on `device`. Kept for the next
    call with the same config and device (a build trains many groups on the same data; the
    tensors are only ever read)."""
    return _load_cached(json.dumps(data_config, sort_keys=True), str(device),
                        os.environ.get(mnist_files.ENV_VAR))


@functools.lru_cache(maxsize=4)
def _load_cached(data_json: str, device: str, mnist_dir: str | None) -> Dataset:
    data_config = json.loads(data_json)
    name = data_config.get("name")
    if name == "mnist":
        data = load_mnist(data_config)
    elif name == "synthetic":
        data = make_synthetic(data_config)
    else:
        raise ValueError(f"unknown dataset {name!r}: use 'mnist' or 'synthetic'")
    return Dataset(*(t.to(device) for t in (data.x_train, data.y_train,
                                            data.x_eval, data.y_eval)))
