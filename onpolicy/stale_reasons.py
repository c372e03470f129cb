"""Why a frozen result is stale, in words: which config keys, modules, data or schema differ
between the inputs it was trained on and the current ones (`python build.py status`)."""
from __future__ import annotations

import json


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
    old_files, new_files = (d.get("file_sha256", {}) if isinstance(d, dict) else {}
                            for d in (old.get("data"), new["data"]))
    changed = sorted(f for f in set(old_files) & set(new_files) if old_files[f] != new_files[f])
    reasons += [f"data: {name} changed" for name in changed]
    if old.get("data") != new["data"] and not changed:
        reasons.append("data: dataset identity changed")
    return reasons
