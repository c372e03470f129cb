"""Bad or missing result files, and what --only / --no-train do with them (issue 11).

Each failing case: a non-zero exit, one message naming the result file relative to the
repository (and the line, where there is one), no traceback, every file of the copy unchanged.
"""
from __future__ import annotations

import json
import re

import pytest

from tests.badinput import Snapshot, _line_of, assert_fails, build, tiny, tree_hashes

pytestmark = pytest.mark.slow

RESULT = "results/tiny-supervised.json"


def _rewrite(path, change) -> None:
    """Edit a result document the way a person would: load, change, dump (sorted, indented)."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def assert_relative_paths(proc, repo) -> None:
    assert str(repo) not in proc.stderr + proc.stdout, \
        f"an absolute path in a message:\n{proc.stderr}{proc.stdout}"


def test_nan_literal_in_a_result(repo):
    path = repo / RESULT
    text = path.read_text(encoding="utf-8")
    new, n = re.subn(r'("wall_time_s": )[0-9.]+', r"\1NaN", text, count=1)
    assert n == 1
    path.write_text(new, encoding="utf-8")
    line = _line_of(path, "NaN")
    snap = Snapshot(repo)
    status = build(repo, "status", "--suite", "tests.tiny_suite")
    assert status.returncode == 0 and "Traceback" not in status.stderr, status.stderr
    assert re.search(rf"tiny-supervised +corrupt +{RESULT}:{line}: NaN is not allowed",
                     status.stdout), status.stdout
    proc = tiny(repo, "--frozen")
    assert_fails(proc, rf"tiny-supervised: corrupt: {RESULT}:{line}: NaN is not allowed in a "
                       r"result file \(non-finite values are stored as null\)")
    assert_relative_paths(proc, repo)
    snap.assert_intact(proc)


def test_schema_that_is_a_string(repo):
    _rewrite(repo / RESULT, lambda doc: doc.update(schema="1"))
    snap = Snapshot(repo)
    proc = tiny(repo, "--frozen")
    err = assert_fails(proc, rf"tiny-supervised: corrupt: {RESULT}: \"schema\" must be a whole "
                             r"number \(got \"1\"\)")
    assert "schema version" not in err, err
    assert_relative_paths(proc, repo)
    snap.assert_intact(proc)


@pytest.mark.parametrize("field, value", [("device", "cuda"), ("torch", "9.9.9"),
                                          ("wall_time_s", 0.001)])
def test_hand_edited_provenance_is_corrupt(repo, field, value):
    """The integrity hash covers the provenance too: an edited device, torch version or wall
    time would otherwise be published on the Reproduce page as if true."""
    _rewrite(repo / RESULT, lambda doc: doc["provenance"].update({field: value}))
    snap = Snapshot(repo)
    proc = tiny(repo, "--frozen")
    assert_fails(proc, rf"tiny-supervised: corrupt: {RESULT}: document_sha256 does not match",
                 r"provenance")
    assert_relative_paths(proc, repo)
    snap.assert_intact(proc)


def test_a_corrupt_result_is_retrained_and_the_build_says_so(repo):
    path = repo / RESULT
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    proc = tiny(repo)
    assert proc.returncode == 0, proc.stderr
    assert re.search(rf"^warning: tiny-supervised is corrupt and is retrained: {RESULT}:\d+: "
                     r"not valid JSON", proc.stderr, re.M), proc.stderr
    assert re.search(r"\b1 trained\b", proc.stderr), proc.stderr
    json.loads(path.read_text(encoding="utf-8"))  # whole again
    assert_relative_paths(proc, repo)


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_no_train_reports_the_unusable_result_first(repo, damage):
    path = repo / RESULT
    if damage == "missing":
        path.unlink()
    else:
        _rewrite(path, lambda doc: doc["result"]["final_accuracy"].update(mean=1.0))
    snap = Snapshot(repo)
    proc = tiny(repo, "--no-train")
    err = assert_fails(proc, rf"^warning: tiny-supervised is {damage} \(",
                       r"To fix: python build.py --suite tests\.tiny_suite --only "
                       r"tiny-supervised$",
                       r"^error: site_src/index\.md:7: ",
                       r"missing or corrupt: tiny-supervised; see the warnings above")
    assert err.index("warning: tiny-supervised") < err.index("error:"), err
    assert_relative_paths(proc, repo)
    snap.assert_intact(proc)


def test_only_restricts_training_and_the_render_uses_every_result(repo):
    before = tree_hashes(repo / "results")
    proc = tiny(repo, "--only", "tiny-pg_random", "--rerun", "tiny-pg_random")
    assert proc.returncode == 0, proc.stderr
    assert "training 1 experiment(s): tiny-pg_random" in proc.stderr, proc.stderr
    after = tree_hashes(repo / "results")
    assert after["tiny-supervised.json"] == before["tiny-supervised.json"]
    assert after["tiny-pg_random.json"] != before["tiny-pg_random.json"]
    index = (repo / "public" / "index.html").read_text(encoding="utf-8")
    assert re.search(r"Supervised accuracy: [0-9.]+%", index), "the other result was not used"
    quiet = tiny(repo, "--only", "tiny-pg_random")
    assert quiet.returncode == 0 and re.search(r"\b0 trained\b", quiet.stderr), quiet.stderr


def _deep(path) -> None:
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")


def _out_of_range(path) -> None:
    text = path.read_text(encoding="utf-8")
    new, n = re.subn(r'("wall_time_s": )[0-9.]+', r"\g<1>1e999", text, count=1)
    assert n == 1
    path.write_text(new, encoding="utf-8")


def _huge(path) -> None:
    with open(path, "r+b") as f:  # sparse: 100 MB on paper, nothing on disk
        f.truncate(100 * 2**20)


def _binary(path) -> None:
    path.write_bytes(bytes(range(256)) * 64)


def _long_number(path) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r'("wall_time_s": )[0-9.]+', r"\g<1>" + "9" * 5000, text, count=1),
                    encoding="utf-8")


@pytest.mark.parametrize("damage, why", [
    (_deep, rf"{RESULT}: not a result file: its JSON is nested too deeply"),
    (_out_of_range, rf"{RESULT}:\d+: 1e999 is not allowed in a result file \(non-finite"),
    (_huge, rf"{RESULT}: 100 MB, more than a result file can be \(64 MB\)"),
    (_binary, rf"{RESULT}: not UTF-8 text"),
    (_long_number, rf"{RESULT}:\d+: 9+\.\.\. \(5000 digits\) is not allowed"),
], ids=["deep", "1e999", "huge", "binary", "long-number"])
def test_status_and_build_report_any_damaged_result_as_corrupt(repo, damage, why):
    """`status` is the diagnostic command: it never crashes on a result file, whatever its
    bytes; the build names the file and stops (--frozen) like for any corrupt result."""
    damage(repo / RESULT)
    snap = Snapshot(repo)
    status = build(repo, "status", "--suite", "tests.tiny_suite")
    assert status.returncode == 0 and "Traceback" not in status.stderr, status.stderr
    assert re.search(rf"tiny-supervised +corrupt +{why}", status.stdout), status.stdout
    proc = tiny(repo, "--frozen")
    assert_fails(proc, rf"tiny-supervised: corrupt: {why}")
    assert_relative_paths(proc, repo)
    snap.assert_intact(proc)
