"""Where the MNIST IDX files live and what their official checksums are. No torch here:
the freeze hash reads the dataset identity without importing PyTorch."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

# The official MNIST files (the same MD5s torchvision checks).
MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
TRAIN_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
ENV_VAR = "MNIST_DIR"  # a directory holding the IDX .gz files, for offline use
DEFAULT_ROOT = Path("data")  # torchvision downloads to data/MNIST/raw

HOW_TO_PROVIDE = (
    "Provide MNIST in one of two ways: put the official IDX .gz files in a directory and pass "
    f"--mnist-dir DIR (or set {ENV_VAR}=DIR), or run online once so torchvision can download "
    "them into data/MNIST/raw."
)


class DataError(Exception):
    """Missing or corrupt dataset files; the message says how to fix it."""


def files_for(split: str) -> tuple[str, ...]:
    if split == "test10k":
        return TEST_FILES
    if split == "full":
        return TRAIN_FILES + TEST_FILES
    raise DataError(f"unknown MNIST split {split!r}: use 'test10k' or 'full'")


def dataset_identity(data: dict) -> dict:
    """What the freeze hash records about a dataset: its name, split and file checksums."""
    if data.get("name") == "mnist":
        split = data.get("split", "test10k")
        return {"name": "mnist", "split": split,
                "files": {f: MD5[f] for f in files_for(split)}}
    # Synthetic data (tests, --quick demos) is fully described by its config.
    return {"name": data.get("name"), "config": data}


def md5sum(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


def find_files(split: str, mnist_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """Locate and verify the IDX files for `split`; raise DataError saying how to fix it."""
    explicit = mnist_dir or os.environ.get(ENV_VAR)
    candidates = [Path(explicit)] if explicit else [DEFAULT_ROOT / "MNIST" / "raw"]
    found: dict[str, Path] = {}
    for name in files_for(split):
        for root in candidates:
            path = root / name
            if path.is_file():
                if md5sum(path) != MD5[name]:
                    raise DataError(f"{path}: checksum mismatch (expected MD5 {MD5[name]}); "
                                    f"the file is corrupt or not the official MNIST file. "
                                    + HOW_TO_PROVIDE)
                found[name] = path
                break
        else:
            where = ", ".join(str(c) for c in candidates)
            if explicit and not Path(explicit).is_dir():
                raise DataError(f"MNIST directory {explicit} does not exist. " + HOW_TO_PROVIDE)
            raise DataError(f"{name} not found in {where}. " + HOW_TO_PROVIDE)
    return found
