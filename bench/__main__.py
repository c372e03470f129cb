"""`python -m bench` (or `make bench`): run the benchmarks, then print a summary.

    python -m bench                       all seven (a few minutes each)
    python -m bench --only fused          one of: fused, throughput, rebuild, pages, bandit,
                                          author_loop, suite_profile (repeatable)
    python -m bench --quick               fewer steps and repeats: a smoke run
    python -m bench --repeats 7           more repeats (medians get steadier)
    python -m bench --json out.json       also write every number as JSON

See docs/BENCHMARKS.md for what is measured and the recorded results.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import traceback

from bench import machine_header

BENCHMARKS = ("fused", "throughput", "rebuild", "pages", "bandit", "author_loop",
              "suite_profile")


def run(name: str, repeats: int | None, quick: bool) -> dict:
    if name == "fused":
        from bench import fused
        return fused.main(repeats, quick)
    if name == "throughput":
        from bench import throughput
        return throughput.main(repeats, quick)
    if name == "rebuild":
        from bench import rebuild
        return rebuild.main(repeats, quick)
    if name == "bandit":
        from bench import bandit
        return bandit.main(repeats, quick)
    if name == "author_loop":
        from bench import author_loop
        return author_loop.main(repeats, quick)
    if name == "suite_profile":
        from bench import suite_profile
        return suite_profile.main(steps=100 if quick else 300, repeats=repeats or 3)
    from bench import pages
    return pages.main(repeats, quick)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=BENCHMARKS,
                        help="run only this benchmark (repeatable)")
    parser.add_argument("--repeats", type=int, help="repeats per measurement (medians)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--json", metavar="FILE", help="write all results as JSON")
    args = parser.parse_args(argv)

    chosen = [b for b in BENCHMARKS if not args.only or b in args.only]
    results, summary, failed = {}, [], []
    for name in chosen:
        start = time.perf_counter()
        try:
            results[name] = run(name, args.repeats, args.quick)
            summary += results[name].get("summary", [])
        except Exception as err:  # one failing benchmark must not hide the others
            traceback.print_exc()
            failed.append(name)
            summary.append(f"{name}: FAILED ({type(err).__name__}: {err})".splitlines()[0])
        took = time.perf_counter() - start
        results.setdefault(name, {})["bench_wall_s"] = took
        print(f"({name}: {took:.0f} s)\n", flush=True)

    print(machine_header("summary", when="at the end"))
    for line in summary:
        print(f"- {line}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1, default=str)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
