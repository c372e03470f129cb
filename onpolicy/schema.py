"""The result file's envelope schema (checked on every write and every load). Payload schemas
belong to the experiment package (experiments/payloads.py for this article).

Bump SCHEMA_VERSION when a payload's shape changes: every frozen result then reads as stale
("schema version 1 -> 2") and is re-run, instead of feeding old shapes to the templates.
"""
from __future__ import annotations


SCHEMA_VERSION = 1

FILE = {
    "type": "object",
    "required": ["schema", "experiment", "inputs_hash", "inputs", "provenance",
                 "result_sha256", "result", "document_sha256"],
    "properties": {
        "schema": {"type": "integer"},
        "experiment": {"type": "string"},
        "inputs_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "inputs": {"type": "object", "required": ["config", "sources", "data", "schema"]},
        "provenance": {"type": "object"},
        "result_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "result": {"type": "object"},
        "document_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    },
}


def problems(document: dict, payload_schema: dict | None = None) -> list[str]:
    """Every schema violation in a result file, as 'where: what' strings (empty = valid).
    The envelope is the engine's; the payload is checked against payload_schema, the one the
    experiment package registers for the row (contract.Suite.payload_schema), when given:
    when the result is written. A loaded file's payload is then covered by result_sha256."""
    found = []
    checks = [(FILE, document, "")]
    if payload_schema is not None:
        checks.append((payload_schema, document.get("result"), "result"))
    for schema, doc, prefix in checks:
        if doc is None:
            continue
        import jsonschema  # here, not at the top: a build that validates nothing never loads it

        for err in jsonschema.Draft202012Validator(schema).iter_errors(doc):
            where = "/".join(str(p) for p in [prefix, *err.absolute_path] if p != "")
            found.append(f"{where or '(top)'}: {err.message[:200]}")
    return found
