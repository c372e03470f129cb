"""One build: lock -> status -> train what is stale -> read every result -> render -> swap.

Two passes, like MkDocs: every result is read before any page is written, so all pages see
the same data. The site is rendered into a temporary directory and swapped in only when the
whole render succeeded; a failed or interrupted build leaves the previous site untouched.
"""
from __future__ import annotations

import importlib
import shutil
import sys
from dataclasses import dataclass, field

from experiments.suite import Experiment

from . import atomic, freeze, incremental
from .config import BuildConfig, shown
from .errors import BuildError

__all__ = ["BuildError", "BuildReport", "build", "selected", "statuses", "suite"]


@dataclass
class BuildReport:
    statuses: list[freeze.Status]
    trained: list[str] = field(default_factory=list)
    stale_used: list[str] = field(default_factory=list)   # rendered from out-of-date results
    warnings: list[str] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)  # units rendered (not reused)
    site_unchanged: bool = False                        # nothing to render: nothing written


def suite(cfg: BuildConfig) -> list[Experiment]:
    """The experiment table: experiments.suite, or another module named by --suite."""
    try:
        return list(importlib.import_module(cfg.suite).EXPERIMENTS)
    except (ImportError, AttributeError) as err:
        raise BuildError(f"cannot load the experiment table {cfg.suite!r}: {err}") from err


def selected(cfg: BuildConfig) -> list[Experiment]:
    table = suite(cfg)
    known = {e.name for e in table}
    unknown = [n for n in (*cfg.experiments, *cfg.rerun) if n != "all" and n not in known]
    if unknown:
        raise BuildError(f"unknown experiment(s): {', '.join(unknown)}. "
                         f"Known: {', '.join(sorted(known))}")
    if cfg.experiments:
        return [e for e in table if e.name in cfg.experiments]
    return table


def statuses(cfg: BuildConfig) -> list[freeze.Status]:
    return [freeze.check(e, cfg.root, cfg.store_dir, cfg.quick) for e in selected(cfg)]


def _to_run(cfg: BuildConfig, found: list[freeze.Status]) -> list[freeze.Status]:
    forced = set(cfg.rerun)
    return [s for s in found if not s.fresh or "all" in forced or s.name in forced]


def _train(cfg: BuildConfig, todo: list[freeze.Status], report: BuildReport, log) -> None:
    by_name = {e.name: e for e in suite(cfg)}
    pairs = [(by_name[s.name], s.inputs) for s in todo]
    log(f"training {len(pairs)} experiment(s): {', '.join(s.name for s in todo)}")
    if cfg.executor == "ray":
        from .ray_executor import run_ray
        run_ray(cfg, pairs, log=log)
    else:
        from .runner import run_local
        run_local(cfg, pairs, log=log)
    report.trained = [s.name for s in todo]


def _load_results(cfg: BuildConfig, found: list[freeze.Status], report: BuildReport):
    results, meta = {}, {}
    for s in found:
        doc = s.document
        if doc is None or doc.get("schema") != freeze.schema.SCHEMA_VERSION:
            continue  # missing, corrupt or old-schema: pages that need it fail by name
        if not s.fresh:
            report.stale_used.append(s.name)
        results[s.name] = doc["result"]
        meta[s.name] = {"provenance": doc["provenance"], "inputs_hash": doc["inputs_hash"],
                        "inputs": doc["inputs"], "stale": not s.fresh}
    return results, meta


def _render(cfg: BuildConfig, results, meta, key: str, previous, found, report) -> None:
    """Render into a temporary directory, reusing unchanged units of the current site, and
    swap it in; the manifest of what it holds is saved after the swap."""
    from .render import render_site  # imported late: a no-op build never loads the renderer

    reuse = incremental.Reuse(previous, cfg.out_dir, incremental.result_digests(found))
    tmp = atomic.new_temp_dir(cfg.out_dir)
    try:
        warnings = render_site(cfg, results, meta, tmp, reuse=reuse) or []
        manifest = reuse.manifest(key, tmp, warnings)
        atomic.swap_dir(tmp, cfg.out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    incremental.save_manifest(cfg, manifest)
    report.warnings += warnings
    report.rendered = reuse.rendered


def build(cfg: BuildConfig, log=None) -> BuildReport:
    log = log or (lambda msg: print(msg, file=sys.stderr))
    with atomic.build_lock(cfg.root / ".build.lock"):
        atomic.recover_dir(cfg.out_dir)
        found = statuses(cfg)
        report = BuildReport(found)
        todo = _to_run(cfg, found)
        if cfg.frozen and todo:
            lines = "\n".join(f"  {s.name}: {s.state}: {'; '.join(s.reasons) or 'forced rerun'}"
                              for s in todo)
            raise BuildError("--frozen: these results are not fresh and would need training:\n"
                             + lines + "\nRun `python build.py` (or `make site`) locally and "
                             "commit results/.")
        if todo and cfg.train:
            _train(cfg, todo, report, log)
            found = statuses(cfg)
            report.statuses = found
        elif todo:
            for s in todo:
                why = "; ".join(s.reasons) or "forced rerun"
                report.warnings.append(f"{s.name} is {s.state} ({why}); not trained in this build")
        results, meta = _load_results(cfg, found, report)
        key = incremental.site_key(cfg, found)
        previous = incremental.load_manifest(cfg)
        if incremental.unchanged(cfg, key, previous):
            report.site_unchanged = True
            report.warnings += previous.warnings
            log(f"{shown(cfg.out_dir, cfg.root)}/ is up to date: nothing rendered")
        else:
            _render(cfg, results, meta, key, previous, found, report)
            log(f"rendered {len(report.rendered)} unit(s) (assets, results, charts, pages); "
                "the others were unchanged and reused")
        for warning in report.warnings:
            log(f"warning: {warning}")
        return report
