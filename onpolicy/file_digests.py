"""Digests of files, remembered on disk from one build to the next (.cache/file-digests.json).

The freeze check hashes every result file (15+ MB) and every project module on each build.
An entry records a file's (size, mtime_ns, inode) when it was hashed and is used while the
file's stat is the same. Git's "racy clean" rule guards the one case the stat misses: a file
written again within the file system's timestamp granularity of being hashed keeps its mtime.
So an entry is trusted only if the file's mtime is older than the moment hashing began by more
than RACY_NS; a younger file is hashed again on every build until it is old enough.

A second table keeps what is read from a file's text (deps.py: a module's imports), keyed by
the text's digest: the same text gives the same imports, whatever the file's stat.

Both are best effort: an unreadable or damaged cache is ignored (everything is hashed again),
and a cache that cannot be written only makes the next build slower.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from . import atomic
from .contract import sha256

CACHE_FILE = Path(".cache") / "file-digests.json"
FORMAT = 1
RACY_NS = 2_000_000_000  # 2 s: coarser than any file system's mtime granularity (FAT: 2 s)
KEPT = 4000              # entries of each table; the oldest go first

_stores: dict[Path, "_Store"] = {}


class _Store:
    def __init__(self, path: Path):
        self.path, self.dirty = path, False
        self.files: dict[str, list] = {}      # "kind\0path" -> [size, mtime_ns, ino, began_ns, digest]
        self.derived: dict[str, object] = {}  # key -> JSON value
        try:
            data = json.loads(path.read_bytes())
            if data.get("format") == FORMAT and isinstance(data.get("files"), dict) \
                    and isinstance(data.get("derived"), dict):
                self.files, self.derived = data["files"], data["derived"]
        except (OSError, ValueError, AttributeError, RecursionError):
            pass

    def write(self) -> None:
        if not self.dirty:
            return
        for table in (self.files, self.derived):
            for key in list(table)[:max(0, len(table) - KEPT)]:
                del table[key]
        try:
            atomic.write_text(self.path, json.dumps(
                {"format": FORMAT, "files": self.files, "derived": self.derived},
                separators=(",", ":")), durable=False)
            self.dirty = False
        except (OSError, ValueError):
            pass


def _store(root: Path) -> _Store:
    path = Path(root) / CACHE_FILE
    if path not in _stores:
        _stores[path] = _Store(path)
    return _stores[path]


def digest(root: Path, path: Path, kind: str, compute: Callable[[Path], str]) -> str:
    """compute(path) (a hex digest of the file's content, `kind` names which), from the cache
    while the file's stat matches the entry and the entry is not racy."""
    store, key = _store(root), f"{kind}\0{os.path.abspath(path)}"
    stat = os.stat(path)
    now = [stat.st_size, stat.st_mtime_ns, stat.st_ino]
    entry = store.files.get(key)
    if (isinstance(entry, list) and len(entry) == 5 and entry[:3] == now
            and isinstance(entry[3], int) and stat.st_mtime_ns < entry[3] - RACY_NS):
        return entry[4]
    began = time.time_ns()  # before reading: a write after this moment is not in the digest
    value = compute(path)
    after = os.stat(path)
    if [after.st_size, after.st_mtime_ns, after.st_ino] == now:
        store.files.pop(key, None)  # re-inserted last: the newest entries are kept
        store.files[key] = now + [began, value]
        store.dirty = True
    return value


def recall(root: Path, key: str) -> object | None:
    """What remember() kept under key, or None."""
    return _store(root).derived.get(key)


def remember(root: Path, key: str, value: object) -> None:
    """Keep a JSON value under key, which must name everything the value depends on (e.g.
    the digest of the text it was read from)."""
    store = _store(root)
    store.derived.pop(key, None)
    store.derived[key] = value
    store.dirty = True


def save(root: Path) -> None:
    """Write what this process learned (atomically; no fsync: a lost write costs a rehash)."""
    _store(root).write()


def forget() -> None:
    """Drop the in-memory copies (tests: the next call reads the disk cache again)."""
    _stores.clear()


def text_sha256(path: Path) -> str:
    """sha256 of the file's text, as contract.sha256 hashes it (newlines translated)."""
    return sha256(Path(path).read_text(encoding="utf-8"))
