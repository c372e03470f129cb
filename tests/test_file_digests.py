"""The on-disk digest cache (onpolicy/file_digests.py): used while a file is unchanged, never
when it changed, including git's racy case (rewritten with the same size and mtime)."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from onpolicy import file_digests, freeze
from onpolicy.contract import file_sha256, sha256
from tests.test_freeze import experiments, freeze_all, project, states  # noqa: F401

HOUR_NS = 3600 * 10**9


@pytest.fixture(autouse=True)
def fresh_process():
    file_digests.forget()
    yield
    file_digests.forget()


def counted(calls: list):
    def compute(path: Path) -> str:
        calls.append(path)
        return file_sha256(path)
    return compute


def age(path: Path, ns: int = HOUR_NS) -> int:
    """Set the file's mtime ns in the past; returns it."""
    mtime = time.time_ns() - ns
    os.utime(path, ns=(mtime, mtime))
    return mtime


def rewrite_keeping_stat(path: Path, text: str, mtime_ns: int) -> None:
    """Same inode, same size, same mtime: what a stat cannot tell apart."""
    with open(path, "r+", encoding="utf-8") as f:
        f.write(text)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def test_an_old_unchanged_file_is_not_read_again_even_by_a_new_process(tmp_path: Path):
    path, calls = tmp_path / "a.txt", []
    path.write_text("one")
    age(path)
    first = file_digests.digest(tmp_path, path, "bytes", counted(calls))
    file_digests.save(tmp_path)
    file_digests.forget()  # a new process reads .cache/file-digests.json
    assert file_digests.digest(tmp_path, path, "bytes", counted(calls)) == first
    assert len(calls) == 1


def test_an_edit_is_seen(tmp_path: Path):
    path, calls = tmp_path / "a.txt", []
    path.write_text("one")
    age(path)
    file_digests.digest(tmp_path, path, "bytes", counted(calls))
    path.write_text("two")  # same size, new mtime
    assert file_digests.digest(tmp_path, path, "bytes", counted(calls)) == \
        file_sha256(path)
    assert len(calls) == 2


def test_racy_clean_a_rewrite_with_the_same_size_and_mtime_is_seen(tmp_path: Path):
    """Hashed within the timestamp granularity of its last write, an entry is not trusted:
    the file could be written again without its stat changing."""
    path = tmp_path / "a.txt"
    path.write_text("one")
    mtime = os.stat(path).st_mtime_ns  # just written: racy
    assert file_digests.digest(tmp_path, path, "bytes", file_sha256) == \
        file_sha256(path)
    file_digests.save(tmp_path)
    file_digests.forget()
    rewrite_keeping_stat(path, "two", mtime)
    assert file_digests.digest(tmp_path, path, "bytes", file_sha256) == \
        file_sha256(path) != sha256("one")


def test_a_damaged_cache_is_ignored(tmp_path: Path):
    path = tmp_path / "a.txt"
    path.write_text("one")
    cache = tmp_path / file_digests.CACHE_FILE
    cache.parent.mkdir(parents=True)
    cache.write_text('{"format": 1, "files": {"bytes\\u0000' + str(path) + '": [1, 2')
    assert file_digests.digest(tmp_path, path, "bytes", file_sha256) == \
        file_sha256(path)
    cache.write_text(json.dumps({"format": 1, "files": {
        f"bytes\0{path}": [3, os.stat(path).st_mtime_ns, os.stat(path).st_ino, 0, "x"]},
        "derived": {}}))  # another file's size: not used
    file_digests.forget()
    assert file_digests.digest(tmp_path, path, "bytes", file_sha256) != "x"


def test_freeze_sees_a_result_rewritten_with_the_same_stat(project: Path, tmp_path: Path):
    """A hand edit that keeps the size and the mtime (racy) is still found corrupt."""
    store = tmp_path / "results"
    freeze_all(project, store, experiments())
    result = store / "exp-a.json"
    mtime = os.stat(result).st_mtime_ns
    assert freeze.check_all(experiments(), project, store)[0].state == "fresh"
    file_digests.forget()
    text = result.read_text()
    rewrite_keeping_stat(result, text.replace('"device": "cpu"', '"device": "gpu"'), mtime)
    assert states(project, store, experiments())["exp-a"] == "corrupt"


def test_freeze_sees_an_edited_result_and_module_through_the_disk_cache(project: Path,
                                                                        tmp_path: Path):
    store = tmp_path / "results"
    freeze_all(project, store, experiments())
    for path in [*project.rglob("*.py"), *store.glob("*.json")]:
        age(path)  # old files: their digests are trusted from the cache
    assert [s.state for s in freeze.check_all(experiments(), project, store)] == ["fresh"] * 2
    file_digests.forget()
    (project / "fakepkg" / "b.py").write_text("from . import helper\n\ndef run():\n    return 2\n")
    status = freeze.check_all(experiments(), project, store)[1]
    assert "source: fakepkg/helper.py now imported" in status.reasons  # imports re-read
    result = store / "exp-a.json"
    result.write_text(result.read_text().replace('"device": "cpu"', '"device": "gpu"'))
    file_digests.forget()
    assert states(project, store, experiments())["exp-a"] == "corrupt"


def test_imports_are_remembered_by_text_not_by_file(project: Path):
    """The same text moved to another module name is parsed again (relative imports)."""
    from onpolicy.deps import project_modules
    assert set(project_modules(project, "fakepkg.helper")) == {
        "fakepkg", "fakepkg.helper", "fakepkg.util", "fakepkg.util.sub"}
    (project / "fakepkg" / "util" / "helper.py").write_text(
        (project / "fakepkg" / "helper.py").read_text())
    (project / "fakepkg" / "util" / "util").mkdir()
    (project / "fakepkg" / "util" / "util" / "__init__.py").write_text("")
    (project / "fakepkg" / "util" / "util" / "sub.py").write_text("")
    assert "fakepkg.util.util.sub" in project_modules(project, "fakepkg.util.helper")
