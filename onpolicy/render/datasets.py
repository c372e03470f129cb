"""How many examples a result's dataset holds, from the dataset identity every result records
(its name, split and the official files' checksums, see experiments/mnist_files.py).

Results record the files' checksums, not how many digits they hold, and the freeze hash must
not change to add that. An official file's count is fixed by its checksum (MNIST: the count
in the label file's IDX header), so this table, keyed by checksum, gives the render the count
without the files. tests/test_datasets.py reads the real files' headers against it.
"""
from __future__ import annotations

from experiments.mnist_files import MD5, TEST_FILES, TRAIN_FILES

# each split's official label file (the second of its images/labels pair)
LABEL_FILES = {"train": TRAIN_FILES[1], "test": TEST_FILES[1]}
# MD5 of an official MNIST label file -> the number of labels its IDX header declares
LABEL_COUNTS = {MD5[LABEL_FILES["train"]]: 60000, MD5[LABEL_FILES["test"]]: 10000}


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
