"""The whole default suite's recorded training time: the sum of provenance.wall_time_s over
the result files of a folder, per device (recorded numbers, nothing is rerun).

    python -m bench.suite_time                 # results/ (frozen) and .cache/quick/
    python -m bench.suite_time path/to/results
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from bench import ROOT


def recorded_suite_time(folder) -> dict:
    """Sum of provenance.wall_time_s over the result files in `folder`, per device."""
    per_device: dict[str, dict] = {}
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    for path in files:
        try:
            prov = json.loads(path.read_text(encoding="utf-8")).get("provenance", {})
        except (OSError, ValueError):
            continue
        dev = str(prov.get("device", "?"))
        entry = per_device.setdefault(dev, {"files": 0, "wall_time_s": 0.0, "torch": set(),
                                            "threads": set()})
        entry["files"] += 1
        entry["wall_time_s"] += float(prov.get("wall_time_s") or 0.0)
        entry["torch"].add(str(prov.get("torch", "?")))
        entry["threads"].add(str(prov.get("cpu_threads", "?")))
    for entry in per_device.values():
        entry["torch"] = sorted(entry["torch"])
        entry["threads"] = sorted(entry["threads"])
    return {"n_files": len(files), "per_device": per_device}


def suite_lines(label: str, rec: dict) -> list[str]:
    if not rec["n_files"]:
        return [f"{label}: no result files"]
    return [f"{label}: {e['files']} result(s) trained on {dev} (torch {', '.join(e['torch'])}, "
            f"threads {', '.join(e['threads'])}): "
            f"{e['wall_time_s']:.1f} s in total"
            for dev, e in sorted(rec["per_device"].items())]


def cli(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    folders = [Path(a) for a in argv] or [ROOT / "results", ROOT / ".cache" / "quick"]
    for folder in folders:
        for line in suite_lines(str(folder), recorded_suite_time(folder)):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(cli())
