"""Dataset sizes (experiments/data_sources.py, read by the build through the suite's
`examples` hook): the count of each official
MNIST file, keyed by its checksum, checked against the files' own IDX headers; and the
article's digit counts come from the results' dataset identity, not from its text."""
from __future__ import annotations

import gzip
import struct

import pytest

from experiments import data_sources, mnist_files
from tests.test_data import mnist_dirs
from tests.test_incremental import build, site  # noqa: F401 - fixture

LABELS_MAGIC = 2049


def test_every_official_label_file_has_a_count():
    label_files = {name for name in mnist_files.MD5 if "labels" in name}
    assert label_files == set(data_sources.LABEL_FILES.values())
    assert {mnist_files.MD5[name] for name in label_files} == set(data_sources.LABEL_COUNTS)


def test_the_counts_are_the_real_files_headers():
    """Every official label file found here (this machine has the test split only) holds as
    many labels as the table says."""
    found = [d / name for d in mnist_dirs() for name in data_sources.LABEL_FILES.values()
             if (d / name).is_file()]
    if not found:
        pytest.skip(f"no MNIST label file in {', '.join(map(str, mnist_dirs()))} (set "
                    f"{mnist_files.ENV_VAR}=DIR or run pytest --mnist-dir DIR)")
    for path in found:
        assert mnist_files.md5sum(path) == mnist_files.MD5[path.name]
        with gzip.open(path) as f:
            magic, count = struct.unpack(">II", f.read(8))
        assert magic == LABELS_MAGIC
        assert data_sources.LABEL_COUNTS[mnist_files.MD5[path.name]] == count, path


def test_examples_from_identities():
    assert data_sources.examples(mnist_files.dataset_identity(
        {"name": "mnist", "split": "test10k"})) == {"test": 10000}
    assert data_sources.examples(mnist_files.dataset_identity(
        {"name": "mnist", "split": "full"})) == {"train": 60000, "test": 10000}
    assert data_sources.examples(mnist_files.dataset_identity({"name": "synthetic"})) == {}
    assert data_sources.examples({"files": {"t10k-labels-idx1-ubyte.gz": "0" * 32}}) == {}
    assert data_sources.examples(None) == {} and data_sources.examples({"files": []}) == {}


def test_the_article_quotes_the_count_of_the_results_dataset(site, monkeypatch):
    """Were the test file another size, the prose would say so: the number is not typed."""
    test_md5 = mnist_files.MD5["t10k-labels-idx1-ubyte.gz"]
    monkeypatch.setitem(data_sources.LABEL_COUNTS, test_md5, 12345)
    build(site)
    text = (site.out_dir / "why-policy-gradients-are-on-policy" / "index.html").read_text()
    assert "official MNIST test set (12,345 digits;" in text
    assert "10,345\ndigits to train on" in text and "over all\n10,345 training digits" in text
    assert "10,000" not in text and "8,000" not in text
