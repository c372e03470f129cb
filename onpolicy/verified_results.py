"""Result files verified by an earlier build: their headers (every field but the payload) in
.cache/verified-results/, one file per sha256 of the verified bytes.

A result file whose bytes were verified once is neither verified nor parsed again: the freeze
check and the site key read only its header, so a build that renders nothing never parses the
payloads (most of the bytes). Any edit of the file changes its key, so it is checked again.
An entry that is unreadable, damaged (its own checksum) or of another schema is ignored, and
the file is verified and the entry written again (atomically). Each new entry prunes the
folder to the newest VERIFIED_KEPT, so edits of results do not grow .cache/ without bound
(a pruned entry costs one more verification, nothing else).
"""
from __future__ import annotations

import json
from pathlib import Path

from . import atomic, schema
from .contract import canonical_json, sha256

VERIFIED_DIR = Path(".cache") / "verified-results"
HEADER_FIELDS = {"schema": int, "experiment": str, "inputs_hash": str, "inputs": dict,
                 "provenance": dict, "result_sha256": str, "document_sha256": str}
VERIFIED_KEPT = 400   # about ten versions of each of today's 42 result files, ~1.6 MB


def _checksum(header: dict) -> str:
    return sha256(canonical_json(header))


def verified_path(root: Path, key: str) -> Path:
    return Path(root) / VERIFIED_DIR / f"{key}.json"


def verified_header(root: Path, key: str) -> dict | None:
    """The header recorded when the bytes with this key were verified, or None."""
    try:
        entry = json.loads(verified_path(root, key).read_bytes())
        header = entry["header"]
        if (entry["key"] != key or entry["check"] != _checksum(header)
                or header["schema"] != schema.SCHEMA_VERSION
                or not all(type(header.get(k)) is t for k, t in HEADER_FIELDS.items())):
            return None
        return header
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return None


def remember_verified(root: Path, key: str, header: dict) -> None:
    """Best effort: a cache that cannot be written only makes the next build slower."""
    try:
        entry = {"key": key, "check": _checksum(header), "header": header}
        path = verified_path(root, key)
        atomic.write_text(path, json.dumps(entry, sort_keys=True))
        atomic.keep_newest(path.parent, "*.json", VERIFIED_KEPT)
    except (OSError, ValueError):
        pass

