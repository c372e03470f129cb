"""How many examples a result's dataset holds, from the dataset identity every result records
(its name, split and the official files' checksums, see experiments/mnist_files.py).

Results record the files' checksums, not how many digits they hold, and the freeze hash must
not change to add that. An official file's count is fixed by its checksum (MNIST: the count
in the label file's IDX header), so this table, keyed by checksum, gives the render the count
without the files. tests/test_datasets.py reads the real files' headers against it.
"""
from __future__ import annotations

# MD5 of an official MNIST label file -> the number of labels its IDX header declares
LABEL_COUNTS = {
    "d53e105ee54ea40749a09fcbcd1e9432": 60000,   # train-labels-idx1-ubyte.gz
    "ec29112dd5afa0611ce80d1b7f02629c": 10000,   # t10k-labels-idx1-ubyte.gz
}
LABEL_FILES = {"train": "train-labels-idx1-ubyte.gz", "test": "t10k-labels-idx1-ubyte.gz"}


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
