"""Data loading: IDX parsing, checksum and missing-file errors, synthetic data, real MNIST."""
from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from experiments import data, mnist_files
from experiments.mnist_files import DataError

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "mnist"  # CI's, beside the checkout


def mnist_dirs() -> list[Path]:
    """Where the real-MNIST tests look for the IDX .gz files, as the build does: MNIST_DIR
    (which `pytest --mnist-dir DIR` sets) alone when it is set, else data/MNIST/raw; then
    ../shared/mnist beside the checkout, where this project's CI machines keep a copy."""
    explicit = os.environ.get(mnist_files.ENV_VAR)
    if explicit:
        return [Path(explicit).expanduser()]
    return [mnist_files.DEFAULT_ROOT / "MNIST" / "raw", SHARED_MNIST]


def real_mnist_dir(files) -> Path:
    """The first of mnist_dirs() holding every file; skips, saying where it looked and how to
    point the tests at the files, when none does."""
    for folder in mnist_dirs():
        if all((folder / name).is_file() for name in files):
            return folder
    pytest.skip(f"real MNIST not found in {', '.join(map(str, mnist_dirs()))}: set "
                f"{mnist_files.ENV_VAR}=DIR or run pytest --mnist-dir DIR (DIR holds "
                f"{', '.join(sorted(files))})")


def write_idx(path: Path, magic: int, dims: list[int], payload: bytes) -> Path:
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims)
                + payload)
    return path


def test_idx_images_and_labels_round_trip(tmp_path):
    images = np.arange(3 * 28 * 28, dtype=np.uint8).reshape(3, 28, 28)
    labels = np.array([7, 0, 9], dtype=np.uint8)
    img_path = write_idx(tmp_path / "img.gz", 2051, [3, 28, 28], images.tobytes())
    lbl_path = write_idx(tmp_path / "lbl.gz", 2049, [3], labels.tobytes())
    assert np.array_equal(data.read_idx_images(img_path), images)
    assert np.array_equal(data.read_idx_labels(lbl_path), labels)


@pytest.mark.parametrize("magic,dims,payload,says", [
    (2049, [1, 28, 28], bytes(784), "magic number"),        # a labels file, not images
    (2051, [2, 28, 28], bytes(784), "header says"),         # truncated pixel data
    (2051, [1, 27, 27], bytes(729), "28x28"),
])
def test_malformed_idx_images_name_the_file(tmp_path, magic, dims, payload, says):
    path = write_idx(tmp_path / "bad-images.gz", magic, dims, payload)
    with pytest.raises(DataError) as err:
        data.read_idx_images(path)
    assert str(path) in str(err.value) and says in str(err.value)
    assert "--mnist-dir" in str(err.value)


def test_not_gzip_and_bad_labels(tmp_path):
    plain = tmp_path / "plain.gz"
    plain.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="plain.gz"):
        data.read_idx_labels(plain)
    bad = write_idx(tmp_path / "labels.gz", 2049, [2], bytes([3, 12]))
    with pytest.raises(DataError, match="not a digit"):
        data.read_idx_labels(bad)


def test_checksum_mismatch_names_the_file_and_says_how_to_fix(tmp_path, monkeypatch):
    for name in mnist_files.TEST_FILES:
        write_idx(tmp_path / name, 2049, [1], bytes([1]))
    monkeypatch.setenv(mnist_files.ENV_VAR, str(tmp_path))
    with pytest.raises(DataError) as err:
        data.load({"name": "mnist", "split": "test10k", "n_eval": 1})
    message = str(err.value)
    assert "t10k-images-idx3-ubyte.gz" in message and "checksum" in message
    assert mnist_files.ENV_VAR in message and "--mnist-dir" in message


def test_missing_directory_names_it_and_says_how_to_fix(tmp_path, monkeypatch):
    missing = tmp_path / "no-such-dir"
    monkeypatch.setenv(mnist_files.ENV_VAR, str(missing))
    with pytest.raises(DataError) as err:
        data.load({"name": "mnist", "split": "test10k"})
    assert str(missing) in str(err.value) and "--mnist-dir" in str(err.value)


def test_failed_download_says_how_to_provide(tmp_path, monkeypatch):
    """No MNIST_DIR and no data/MNIST/raw: torchvision is tried, and its failure explained."""
    import torchvision

    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.delenv(mnist_files.ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.raises(DataError) as err:
        data.load({"name": "mnist", "split": "test10k"})
    assert "network unreachable" in str(err.value)
    assert mnist_files.HOW_TO_PROVIDE in str(err.value)


def test_synthetic_is_deterministic_and_well_formed():
    cfg = {"name": "synthetic", "n_train": 300, "n_eval": 100, "dim": 50, "n_classes": 10,
           "seed": 4}
    a, b = data.load(cfg), data.load(cfg)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_eval, b.y_eval)
    assert a.x_train.shape == (300, 50) and a.x_eval.shape == (100, 50)
    assert a.x_train.dtype == torch.float32 and a.y_train.dtype == torch.int64
    assert 0 <= a.x_train.min() and a.x_train.max() <= 1
    assert set(a.y_train.tolist()) == set(range(10))
    other = data.load({**cfg, "seed": 5})
    assert not torch.equal(a.x_train, other.x_train)


def test_task_labels():
    digits = torch.arange(10)
    assert data.task_labels(digits, "binary").tolist() == [0] * 5 + [1] * 5
    assert torch.equal(data.task_labels(digits, "categorical"), digits)


def test_real_mnist_test_split(monkeypatch):
    monkeypatch.setenv(mnist_files.ENV_VAR, str(real_mnist_dir(mnist_files.TEST_FILES)))
    cfg = {"name": "mnist", "split": "test10k", "n_eval": 2000, "split_seed": 0}
    ds = data.load(cfg)
    assert ds.x_train.shape == (8000, 784) and ds.x_eval.shape == (2000, 784)
    assert ds.x_train.dtype == torch.float32 and ds.x_train.max() == 1.0
    assert ds.x_train.min() == 0.0
    counts = torch.bincount(torch.cat([ds.y_train, ds.y_eval]), minlength=10)
    assert counts.sum() == 10_000 and counts.min() > 850  # the official test split
    again = data.load(cfg)
    assert torch.equal(ds.y_eval, again.y_eval)  # the split is fixed by split_seed
    other = data.load({**cfg, "split_seed": 1})
    assert not torch.equal(ds.y_eval, other.y_eval)
