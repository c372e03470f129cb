"""One-off migration: add document_sha256 (the whole-document integrity hash) to result files
written before it existed. Kept so that results frozen on another branch before the change can
be sealed the same way after a merge:

    python -m tests.rehash_results results/*.json

A file is sealed only if its older checks still hold (result_sha256 and inputs_hash match), so
this never launders a damaged payload; provenance cannot be verified retroactively.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from onpolicy import freeze


def rehash(path: Path) -> str:
    document = json.loads(path.read_text(encoding="utf-8"))
    if "document_sha256" in document:
        return "already sealed"
    if freeze.sha256(freeze.canonical_json(document["result"])) != document["result_sha256"]:
        raise SystemExit(f"{path}: result_sha256 does not match: not sealing a damaged file")
    if freeze.inputs_hash(document["inputs"]) != document["inputs_hash"]:
        raise SystemExit(f"{path}: inputs_hash does not match: not sealing a damaged file")
    sealed = freeze.seal(document)
    path.write_text(json.dumps(sealed, indent=1, sort_keys=True, allow_nan=False) + "\n",
                    encoding="utf-8")
    freeze.read_result(path)  # the sealed file passes every check
    return "sealed"


def main(paths: list[str]) -> int:
    for name in paths:
        print(f"{name}: {rehash(Path(name))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
