"""Test helper for tests/test_ray_executor.py: a Ray driver in its own process, like a build.

    python -m tests.ray_driver '<spec json>'

spec: {"address": "127.0.0.1:PORT", "store": DIR, "quick": bool,
       "suites": [MODULE, ...]                    (every row of these experiment tables), or
       "rows": [[name, {config overrides}], ...]  (rows made by tests.ray_suite.row), or
       "wait_nodes": N, "timeout_s": S}            (only wait until N nodes are alive)

Every log message is printed as `LOG <message>`; the last line is `RESULT <json>`, with
"written" (frozen files), or "error"/"message"/"build_error", or "interrupted": true after
Ctrl-C (exit 130), plus "cancelled": how many ray.cancel calls the driver made.

The cluster in the tests listens on 127.0.0.1 only. On Linux, Ray rewrites 127.0.0.1 in an
address to the machine's outward IP ("remotely reachable"), which that cluster does not listen
on; `loopback()` keeps the address as given. The test starts its nodes with the same patch.
"""
from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

LOOPBACK_PATCH = ("import ray._private.services as _s; "
                  "_s.resolve_ip_for_localhost = lambda host: host")


def loopback() -> None:
    exec(LOOPBACK_PATCH, {})


def _emit(kind: str, text: str) -> None:
    print(f"{kind} {text}", flush=True)


def wait_nodes(address: str, count: int, timeout_s: float) -> int:
    import ray

    ray.init(address=address, logging_level="WARNING")
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            alive = sum(1 for n in ray.nodes() if n.get("Alive"))
            if alive >= count or time.monotonic() > deadline:
                return alive
            time.sleep(0.5)
    finally:
        ray.shutdown()


def main(spec: dict) -> int:
    loopback()
    if spec.get("wait_nodes"):
        alive = wait_nodes(spec["address"], spec["wait_nodes"], spec.get("timeout_s", 60))
        _emit("RESULT", json.dumps({"alive": alive}))
        return 0 if alive >= spec["wait_nodes"] else 1

    import ray

    from onpolicy import freeze
    from onpolicy.config import BuildConfig
    from onpolicy.errors import BuildError
    from onpolicy.ray_executor import run_ray

    cancelled = []
    real_cancel = ray.cancel

    def counting_cancel(ref, **kwargs):
        cancelled.append(ref)
        return real_cancel(ref, **kwargs)

    ray.cancel = counting_cancel
    store = Path(spec["store"])
    suites = spec.get("suites") or ["tests.ray_suite"]
    cfg = BuildConfig(results_dir=store, quick_dir=store, quick=spec.get("quick", False),
                      device="cpu", executor="ray", ray_address=spec["address"],
                      suite=suites[0])
    if spec.get("rows"):
        from tests.ray_suite import row
        rows = [row(name, **overrides) for name, overrides in spec["rows"]]
    else:
        rows = [e for name in suites for e in importlib.import_module(name).EXPERIMENTS]
    pairs = [(exp, freeze.inputs_for(exp, cfg.root, cfg.quick)) for exp in rows]
    try:
        from onpolicy.contract import load_suite

        written = run_ray(cfg, load_suite(cfg.suite), pairs, log=lambda msg: _emit("LOG", msg))
    except BuildError as err:
        _emit("RESULT", json.dumps({"error": type(err).__name__, "message": str(err),
                                    "build_error": True, "cancelled": len(cancelled)}))
        return 1
    except KeyboardInterrupt:
        _emit("RESULT", json.dumps({"interrupted": True, "cancelled": len(cancelled)}))
        return 130
    _emit("RESULT", json.dumps({"written": [str(p) for p in written],
                                "cancelled": len(cancelled)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(json.loads(sys.argv[1])))
