"""The freeze hash and the results store.

An experiment's result is reused while the hash of everything it depends on is unchanged:
its config, the text of every project module it imports (transitively), the identity of its
dataset, and the schema version. Prose, templates and unrelated modules are not inputs, so
editing them never retrains anything. See docs/ARCHITECTURE.md.
"""
from __future__ import annotations

import hashlib
import json
import stat
from dataclasses import dataclass, field
from pathlib import Path

from . import atomic, file_digests, schema
from .contract import (DEFAULT_SUITE, Experiment, Suite, canonical_json, effective_config,
                       file_sha256, load_suite, sha256)
from .stale_reasons import explain
from .verified_results import remember_verified, verified_header
from .config import ROOT, shown
from .deps import project_modules
from .result_file import (MAX_RESULT_BYTES, ResultError, parse as _parse,
                          read_bytes as _read_bytes)


# -- THE FREEZE HASH ----------------------------------------------------------------------

def source_digests(root: Path, entry: str, known: dict[str, str] | None = None,
                   read: dict | None = None) -> dict:
    """{path: sha256 of its text} of the entry module and every project module it imports.
    known: digests already read in this build, by path (a suite's rows share most modules);
    read: the modules' imports found so far in this build (deps.project_modules)."""
    known = {} if known is None else known
    digests = {}
    for path in project_modules(root, entry, read).values():
        rel = path.relative_to(root).as_posix()
        if rel not in known:  # sha256 of its text, remembered by stat (file_digests)
            known[rel] = file_digests.digest(root, path, "text", file_digests.text_sha256)
        digests[rel] = known[rel]
    return dict(sorted(digests.items()))


def inputs_for(exp: Experiment, root: Path, quick: bool = False,
               sources: dict | None = None, suite: Suite | None = None) -> dict:
    """Everything the result depends on; its canonical hash is the freeze key. sources: the
    entry's source_digests, when the caller has them already. suite: the experiment package
    that names the row's dataset (default: experiments.suite); a dataset read from files is
    hashed by the files' bytes (contract.DataSource)."""
    config = effective_config(exp, quick)
    suite = suite or load_suite(DEFAULT_SUITE)
    return {
        "config": config,
        "sources": dict(sources if sources is not None else source_digests(root, exp.entry)),
        "data": suite.data_source(config).hashed_identity(),
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


def _verify(document: dict, where: str) -> None:
    """The checks of a current-schema document; the payload was validated against this schema
    when it was written, and result_sha256 proves it is unchanged since."""
    issues = schema.problems(document)
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


def header_of(document: dict) -> dict:
    """Every field of a result document but its payload ("result"): what the status, the
    site key and results_meta read."""
    return {k: v for k, v in document.items() if k != "result"}


@dataclass
class ResultFile:
    """A checked result file: its header now, its whole document parsed when first asked for
    (a build that renders nothing never parses the payloads, most of the bytes)."""
    path: Path
    where: str                       # how messages name it
    key: str                         # sha256 of the bytes that were checked (and the schema)
    header: dict
    parsed: dict | None = None

    def document(self) -> dict:
        if self.parsed is None:
            raw = _read_bytes(self.path, self.where)
            if _file_key(hashlib.sha256(raw).hexdigest()) != self.key:
                raise ResultError(f"{self.where}: changed during the build, after it was "
                                  "checked; build again")
            self.parsed = _parse(raw, self.where)
        return self.parsed


def _file_key(raw_sha256: str) -> str:
    """What identifies checked bytes: their sha256, under the schema they were checked by."""
    return sha256(f"schema {schema.SCHEMA_VERSION}\n{raw_sha256}")


def _checked_key(path: Path, where: str, root: Path) -> str:
    """_file_key of the file's bytes, their sha256 remembered by stat (file_digests): an
    unchanged file is not read again. What read_bytes refuses (not a regular file, too
    large, unreadable) it still reports, naming the file."""
    try:
        info = path.stat()
        if stat.S_ISREG(info.st_mode) and info.st_size <= MAX_RESULT_BYTES:
            return _file_key(file_digests.digest(root, path, "bytes", file_sha256))
    except OSError:
        pass
    return _file_key(hashlib.sha256(_read_bytes(path, where)).hexdigest())


def open_result(path: Path, root: Path = ROOT) -> ResultFile:
    """Check one result file; raise ResultError saying what is wrong with it. Files whose bytes
    an earlier build verified are not parsed: their header comes from the verified cache."""
    where = shown(path, root)
    key = _checked_key(Path(path), where, root)
    header = verified_header(root, key)
    if header is not None:
        return ResultFile(Path(path), where, key, header)
    raw = _read_bytes(path, where)
    key = _file_key(hashlib.sha256(raw).hexdigest())  # of the bytes checked below
    document = _parse(raw, where)
    if document["schema"] == schema.SCHEMA_VERSION:  # an old schema is stale, not corrupt
        try:
            _verify(document, where)
        except RecursionError:
            raise ResultError(f"{where}: not a result file: its JSON is nested too "
                              "deeply") from None
        remember_verified(root, key, header_of(document))
    return ResultFile(Path(path), where, key, header_of(document), document)


def read_result(path: Path, root: Path = ROOT) -> dict:
    """Load and verify one result file; raise ResultError saying what is wrong with it."""
    return open_result(path, root).document()


def seal(document: dict) -> dict:
    """The document with its integrity hash set (document_sha256 last)."""
    body = {k: v for k, v in document.items() if k != "document_sha256"}
    return {**body, "document_sha256": document_sha256(body)}


def write_result(store: Path, exp: Experiment, inputs: dict, result: dict,
                 provenance: dict, payload_schema: dict | None = None) -> Path:
    """Freeze one result; payload_schema: the experiment package's schema of this row's payload
    (contract.Suite.payload_schema), checked first (default: any JSON object)."""
    document = seal({
        "schema": schema.SCHEMA_VERSION,
        "experiment": exp.name,
        "inputs_hash": inputs_hash(inputs),
        "inputs": inputs,
        "provenance": provenance,
        "result_sha256": sha256(canonical_json(result)),
        "result": result,
    })
    issues = schema.problems(document, payload_schema or {"type": "object"})
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
    file: ResultFile | None = None  # the result file, when it could be read

    @property
    def fresh(self) -> bool:
        return self.state == "fresh"

    @property
    def header(self) -> dict | None:
        """The result file's fields but its payload, without parsing the payload."""
        return self.file.header if self.file else None

    @property
    def document(self) -> dict | None:
        """The whole result file, parsed on first use."""
        return self.file.document() if self.file else None


def check_all(experiments: list[Experiment], root: Path, store: Path,
              quick: bool = False, suite: Suite | None = None) -> list[Status]:
    """check() of each row, reading each entry's import graph and each source file once."""
    known: dict[str, str] = {}
    read: dict[str, tuple] = {}
    by_entry: dict[str, dict] = {}
    for exp in experiments:
        if exp.entry not in by_entry:
            by_entry[exp.entry] = source_digests(root, exp.entry, known, read)
    statuses = [check(exp, root, store, quick, by_entry[exp.entry], suite)
                for exp in experiments]
    file_digests.save(root)
    return statuses


def check(exp: Experiment, root: Path, store: Path, quick: bool = False,
          sources: dict | None = None, suite: Suite | None = None) -> Status:
    inputs = inputs_for(exp, root, quick, sources, suite)
    path = result_path(store, exp.name)
    if not path.exists():
        return Status(exp.name, "missing", [f"no result file {shown(path, root)}"], inputs)
    try:
        found = open_result(path, root)
    except ResultError as err:
        return Status(exp.name, "corrupt", [str(err)], inputs)
    header = found.header
    if (header.get("schema") == schema.SCHEMA_VERSION
            and header.get("inputs_hash") == inputs_hash(inputs)):
        return Status(exp.name, "fresh", [], inputs, found)
    reasons = explain(header.get("inputs", {}), inputs)
    if header.get("schema") != schema.SCHEMA_VERSION and not reasons[:1] == [
            f"schema version {header.get('schema')} -> {schema.SCHEMA_VERSION}"]:
        reasons.insert(0, f"schema version {header.get('schema')} -> {schema.SCHEMA_VERSION}")
    reasons = reasons or ["inputs hash differs"]
    return Status(exp.name, "stale", reasons, inputs, found)
