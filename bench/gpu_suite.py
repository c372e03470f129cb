"""Train the whole default suite on CUDA (what `build.py --device cuda --rerun all` trains),
timed, into a scratch results directory unless told otherwise; then compare each result with
the committed CPU result in meaning (non-finite seeds, final accuracy).

    python -m bench.gpu_suite [--results-dir DIR] [--no-fuse] [--eager]
    python -m bench.gpu_suite --device cpu --steps 20     a smoke run of this script

Rendering is left out on purpose: the GPU machine need not have Node.js.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import MNIST_DEFAULT, ROOT, machine_header


def find_mnist() -> Path | None:
    for candidate in (os.environ.get("MNIST_DIR"), ROOT / "shared" / "mnist",
                      ROOT.parent / "shared" / "mnist", MNIST_DEFAULT,
                      ROOT / "data" / "MNIST" / "raw"):
        if candidate and Path(candidate, "t10k-images-idx3-ubyte.gz").is_file():
            return Path(candidate)
    return None


def compare(written: list[Path]) -> list[str]:
    """One line per experiment: CUDA result vs the committed CPU result, in meaning."""
    lines = []
    for path in written:
        cpu_path = ROOT / "results" / path.name
        if not cpu_path.is_file():
            lines.append(f"{path.stem}: no committed CPU result to compare")
            continue
        if path.resolve() == cpu_path.resolve():  # --results-dir results: nothing to compare
            lines.append(f"{path.stem}: written over the committed result, not compared")
            continue
        gpu, cpu = (json.loads(p.read_text())["result"] for p in (path, cpu_path))
        runs = list(zip(gpu.get("runs", [gpu]), cpu.get("runs", [cpu])))
        if "final_accuracy" not in runs[0][0] or "first_nonfinite_step" not in runs[0][0]:
            lines.append(f"{path.stem}: not a training result")
            continue
        same_nf = all(g["first_nonfinite_step"] == c["first_nonfinite_step"] for g, c in runs)
        diffs = [abs(g["final_accuracy"]["mean"] - c["final_accuracy"]["mean"])
                 for g, c in runs if g["final_accuracy"]["mean"] is not None
                 and c["final_accuracy"]["mean"] is not None]
        lines.append(f"{path.stem}: non-finite steps {'same' if same_nf else 'DIFFER'}; "
                     f"|final accuracy mean diff| max {max(diffs, default=0):.4f}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_suite", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results-dir", type=Path,
                        help="write results here (default: a temporary directory; pass "
                             "results to replace the committed results)")
    parser.add_argument("--no-fuse", action="store_true", help="one model per run unit")
    parser.add_argument("--eager", action="store_true",
                        help="no CUDA graph (ONPOLICY_CUDA_GRAPH=0): the eager reference")
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"],
                        help="where to train (cpu: only to smoke-test this script)")
    parser.add_argument("--steps", type=int,
                        help="cut every row to this many steps (a smoke run; the hashes then "
                             "differ from the suite's, so never combine with results/)")
    parser.add_argument("--seeds", type=int, metavar="N",
                        help="train N seeds per row instead of the suite's (how much do more "
                             "seeds cost? never combined with --results-dir)")
    args = parser.parse_args(argv)
    if args.eager:
        os.environ["ONPOLICY_CUDA_GRAPH"] = "0"
    from onpolicy import freeze
    from onpolicy.config import BuildConfig
    from onpolicy.pipeline import selected
    from onpolicy.runner import run_local

    mnist = find_mnist()
    if mnist is None:
        print("MNIST IDX files not found: set MNIST_DIR (t10k-*.gz)", file=sys.stderr)
        return 2
    print(machine_header("whole default suite", args.device))
    with tempfile.TemporaryDirectory() as scratch:
        store = (args.results_dir or Path(scratch)).resolve()
        cfg = BuildConfig(results_dir=store, device=args.device, data_dir=mnist,
                          fuse=not args.no_fuse, rerun=("all",))
        pairs = [(e, freeze.inputs_for(e, cfg.root)) for e in selected(cfg)]
        if (args.steps or args.seeds) and args.results_dir:
            parser.error("--steps and --seeds change the rows: they cannot write to "
                         "--results-dir")
        if args.seeds:
            for _, inputs in pairs:
                if "steps" in inputs["config"]:
                    inputs["config"]["seeds"] = list(range(args.seeds))
        if args.steps:
            for _, inputs in pairs:
                if "steps" in inputs["config"]:
                    inputs["config"].update(steps=args.steps,
                                            eval_every=min(args.steps, 50))
        start = time.perf_counter()
        written = run_local(cfg, pairs, log=print)
        took = time.perf_counter() - start
        graph = args.device == "cuda" and not args.eager
        mode = ("unfused" if args.no_fuse else "fused") + (", CUDA graph" if graph else ", eager")
        print(f"WHOLE SUITE on {args.device} ({len(pairs)} experiments, {mode}"
              f"{f', {args.steps} steps' if args.steps else ''}"
              f"{f', {args.seeds} seeds per row' if args.seeds else ''}): {took:.1f} s of training "
              f"(target on one H100: < 10 s) into {store}")
        print(f"  {split_times(written, pairs)}")
        for line in compare(written):
            print(f"  {line}")
    return 0


def split_times(written: list[Path], pairs: list) -> str:
    """The suite's training time split into the estimator rows (experiments/estimators.py,
    not fused: their own jobs) and the rest, from each result's recorded wall time."""
    entries = {exp.name: exp.entry for exp, _ in pairs}
    estimator_s = other_s = 0.0
    names = []
    for path in written:
        seconds = json.loads(path.read_text())["provenance"]["wall_time_s"]
        if entries.get(path.stem) == "experiments.estimators":
            estimator_s += seconds
            names.append(f"{path.stem} {seconds:.1f} s")
        else:
            other_s += seconds
    return (f"ESTIMATOR ROWS {estimator_s:.1f} s ({', '.join(names) or 'none'}); "
            f"every other row {other_s:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
