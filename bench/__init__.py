"""Benchmarks for onpolicy (not tests): `python -m bench` or `make bench`.

    bench.throughput   batched multi-seed trainer vs a per-seed PyTorch loop (seed-steps/s)
    bench.rebuild      rebuild latency and peak memory in a temporary copy of the repository
    bench.pages        page weight (raw, gzip) and paint / chart-drawn times in headless Chromium
    bench.suite_time   the whole suite's recorded training time, per device (nothing rerun)

The machine these run on is usually shared and noisy, so each benchmark measures its
alternatives side by side in one process, interleaved (A, B, A, B, ...), and reports medians
and ratios. See docs/BENCHMARKS.md for what each number means and the recorded results.

This module holds the shared helpers: machine description, medians, formatting.
"""
from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import platform
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MNIST_DEFAULT = Path("/work/shared/mnist")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cores() -> str:
    total = os.cpu_count() or 0
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = total
    return f"{usable}" if usable == total else f"{usable} usable of {total}"


def load_average() -> str:
    try:
        return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        return "n/a"


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_header(title: str, device: str | None = None, when: str = "at start") -> str:
    """The lines every benchmark prints first: what ran where, and how busy the machine was."""
    now = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    lines = [
        f"== {title} ==",
        f"date:     {now}",
        f"machine:  {cpu_model()}, {cores()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}",
        f"torch:    {package_version('torch')}" + (f", device {device}" if device else ""),
        f"load avg: {load_average()} (1, 5, 15 min) {when}",
    ]
    return "\n".join(lines)


def median(values) -> float:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def spread(values) -> str:
    """min..max of the repeats, to show how noisy the machine was."""
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    return f"{min(values):.3g}..{max(values):.3g}"


def fmt_bytes(n: float) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):.2f} MiB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.1f} KiB"
    return f"{int(n)} B"


def table(rows: list[list], header: list[str]) -> str:
    """A plain-text table with right-aligned columns (first column left-aligned)."""
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    out = []
    for k, row in enumerate(cells):
        out.append("  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i])
                             for i, c in enumerate(row)).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("MET" if ok else "MISSED")


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        return False
