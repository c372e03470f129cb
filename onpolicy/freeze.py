"""The freeze hash and the results store.

An experiment's result is reused while the hash of everything it depends on is unchanged:
its config, the text of every project module it imports (transitively), the identity of its
dataset, and the schema version. Prose, templates and unrelated modules are not inputs, so
editing them never retrains anything. See docs/ARCHITECTURE.md.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from experiments.mnist_files import dataset_identity
from experiments.suite import Experiment, effective_config

from . import atomic, schema
from .config import ROOT, shown
from .deps import project_modules


class ResultError(Exception):
    """A result file that cannot be trusted (corrupt, hand-edited, invalid)."""


def canonical_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- THE FREEZE HASH ----------------------------------------------------------------------

def inputs_for(exp: Experiment, root: Path, quick: bool = False) -> dict:
    """Everything the result depends on; its canonical hash is the freeze key."""
    config = effective_config(exp, quick)
    sources = {
        path.relative_to(root).as_posix(): sha256(path.read_text(encoding="utf-8"))
        for path in project_modules(root, exp.entry).values()
    }
    return {
        "config": config,
        "sources": dict(sorted(sources.items())),
        "data": dataset_identity(config.get("data", {"name": "none"})),
        "schema": schema.SCHEMA_VERSION,
    }


def inputs_hash(inputs: dict) -> str:
    return sha256(canonical_json(inputs))


# -- the store ----------------------------------------------------------------------------

def result_path(store: Path, name: str) -> Path:
    return Path(store) / f"{name}.json"


def document_sha256(document: dict) -> str:
    """The integrity hash: every field of the result file except this one (inputs,
    provenance, result). A consistency check against corruption and hand edits, not a
    signature: anyone can recompute it."""
    return sha256(canonical_json({k: v for k, v in document.items() if k != "document_sha256"}))


_NON_FINITE = re.compile(r"(?<![\w\"])(-?Infinity|NaN)(?![\w\"])")


def _reject_constant(name: str):
    raise ValueError(name)


def read_result(path: Path, root: Path = ROOT) -> dict:
    """Load and verify one result file; raise ResultError saying what is wrong with it."""
    where = shown(path, root)
    try:
        raw = Path(path).read_bytes()
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ResultError(f"{where}: not UTF-8 text (byte {err.object[err.start]:#04x} at "
                          f"offset {err.start})") from None
    except OSError as err:
        raise ResultError(f"{where}: cannot read: {err.strerror}") from err
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise ResultError(f"{where}:{err.lineno}: not valid JSON: {err.msg}") from err
    except ValueError as err:  # NaN / Infinity: valid for Python's json, not for a result
        match = _NON_FINITE.search(text)
        line = text.count("\n", 0, match.start()) + 1 if match else 1
        raise ResultError(f"{where}:{line}: {err} is not allowed in a result file "
                          "(non-finite values are stored as null)") from None
    if not isinstance(document, dict):
        raise ResultError(f"{where}:1: not a result file (expected a JSON object)")
    version = document.get("schema")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ResultError(f"{where}: \"schema\" must be a whole number (got "
                          f"{json.dumps(version)})")
    if version != schema.SCHEMA_VERSION:
        return document  # an old schema is stale, not corrupt; check() reports it
    # Bytes verified by an earlier build are not checked again (hashing every document's
    # canonical JSON is most of a no-op build); any edit changes the bytes, so it is checked.
    file_digest = hashlib.sha256(f"schema {version}\n".encode() + raw).hexdigest()
    if file_digest in _verified_digests(root):
        return document
    # The payload was validated against this schema version when it was written, and
    # document_sha256 proves it is unchanged since; re-validating it on every build is slow.
    issues = schema.problems(document, payload=False)
    if issues:
        raise ResultError(f"{where}: does not match the result schema: " + "; ".join(issues[:5]))
    if sha256(canonical_json(document["result"])) != document["result_sha256"]:
        raise ResultError(f"{where}: result_sha256 does not match its content: "
                          "the file was edited by hand or is corrupt")
    if inputs_hash(document["inputs"]) != document["inputs_hash"]:
        raise ResultError(f"{where}: inputs_hash does not match its recorded inputs: "
                          "the file was edited by hand or is corrupt")
    if document_sha256(document) != document["document_sha256"]:
        raise ResultError(f"{where}: document_sha256 does not match the file: its provenance "
                          "(device, torch version, wall time, ...) or another field was edited "
                          "by hand or is corrupt")
    _remember_verified(root, file_digest)
    return document


# -- verified result files: sha256 of their bytes, one per line, in .cache/ ----------------

VERIFIED_FILE = Path(".cache") / "verified-results.txt"
_verified: dict[Path, set[str]] = {}


def _verified_digests(root: Path) -> set[str]:
    if root not in _verified:
        try:
            lines = (Path(root) / VERIFIED_FILE).read_text(encoding="ascii").split()
        except (OSError, UnicodeDecodeError):
            lines = []
        _verified[root] = {line for line in lines if re.fullmatch(r"[0-9a-f]{64}", line)}
    return _verified[root]


def _remember_verified(root: Path, digest: str) -> None:
    """Best effort: a cache that cannot be written only makes the next build slower."""
    _verified_digests(root).add(digest)
    try:
        path = Path(root) / VERIFIED_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="ascii") as f:
            f.write(digest + "\n")
    except OSError:
        pass


def seal(document: dict) -> dict:
    """The document with its integrity hash set (document_sha256 last)."""
    body = {k: v for k, v in document.items() if k != "document_sha256"}
    return {**body, "document_sha256": document_sha256(body)}


def write_result(store: Path, exp: Experiment, inputs: dict, result: dict,
                 provenance: dict) -> Path:
    document = seal({
        "schema": schema.SCHEMA_VERSION,
        "experiment": exp.name,
        "inputs_hash": inputs_hash(inputs),
        "inputs": inputs,
        "provenance": provenance,
        "result_sha256": sha256(canonical_json(result)),
        "result": result,
    })
    issues = schema.problems(document)
    if issues:  # never freeze something the site cannot read
        raise ResultError(f"{exp.name}: the experiment returned an invalid result: "
                          + "; ".join(issues[:5]))
    path = result_path(store, exp.name)
    atomic.write_text(path, json.dumps(document, indent=1, sort_keys=True, allow_nan=False) + "\n")
    return path


# -- status -------------------------------------------------------------------------------

@dataclass
class Status:
    name: str
    state: str                  # fresh | stale | missing | corrupt
    reasons: list[str] = field(default_factory=list)
    inputs: dict | None = None  # the current inputs (what a rerun would be keyed by)
    document: dict | None = None

    @property
    def fresh(self) -> bool:
        return self.state == "fresh"


def _config_changes(old: dict, new: dict, prefix: str = "") -> list[str]:
    changes = []
    for key in sorted(set(old) | set(new)):
        where = f"{prefix}{key}"
        if key not in old:
            changes.append(f"{where} added")
        elif key not in new:
            changes.append(f"{where} removed")
        elif isinstance(old[key], dict) and isinstance(new[key], dict):
            changes.extend(_config_changes(old[key], new[key], f"{where}."))
        elif old[key] != new[key]:
            changes.append(f"{where} {json.dumps(old[key])} -> {json.dumps(new[key])}")
    return changes


def explain(old: dict, new: dict) -> list[str]:
    """Why two input sets differ, in words: which config keys, modules, data, schema."""
    reasons = []
    if old.get("schema") != new["schema"]:
        reasons.append(f"schema version {old.get('schema')} -> {new['schema']}")
    reasons += [f"config: {c}" for c in _config_changes(old.get("config", {}), new["config"])]
    old_src, new_src = old.get("sources", {}), new["sources"]
    for path in sorted(set(old_src) | set(new_src)):
        if path not in old_src:
            reasons.append(f"source: {path} now imported")
        elif path not in new_src:
            reasons.append(f"source: {path} no longer imported")
        elif old_src[path] != new_src[path]:
            reasons.append(f"source: {path} changed")
    if old.get("data") != new["data"]:
        reasons.append("data: dataset identity changed")
    return reasons


def check(exp: Experiment, root: Path, store: Path, quick: bool = False) -> Status:
    inputs = inputs_for(exp, root, quick)
    path = result_path(store, exp.name)
    if not path.exists():
        return Status(exp.name, "missing", [f"no result file {shown(path, root)}"], inputs)
    try:
        document = read_result(path, root)
    except ResultError as err:
        return Status(exp.name, "corrupt", [str(err)], inputs)
    if (document.get("schema") == schema.SCHEMA_VERSION
            and document.get("inputs_hash") == inputs_hash(inputs)):
        return Status(exp.name, "fresh", [], inputs, document)
    reasons = explain(document.get("inputs", {}), inputs)
    if document.get("schema") != schema.SCHEMA_VERSION and not reasons[:1] == [
            f"schema version {document.get('schema')} -> {schema.SCHEMA_VERSION}"]:
        reasons.insert(0, f"schema version {document.get('schema')} -> {schema.SCHEMA_VERSION}")
    reasons = reasons or ["inputs hash differs"]
    return Status(exp.name, "stale", reasons, inputs, document)
