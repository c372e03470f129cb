"""One build: lock -> status -> train what is stale -> read every result -> render -> swap.

Two passes, like MkDocs: every result is read before any page is written, so all pages see
the same data. The site is rendered into a temporary directory and swapped in only when the
whole render succeeded; a failed or interrupted build leaves the previous site untouched.
"""
from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import atomic, freeze, incremental, memo, outdir
from .config import BuildConfig, shown
from .contract import Experiment, Suite, SuiteLoadError, check_rows, load_suite
from .errors import BuildError, raised_where

__all__ = ["BuildError", "BuildReport", "build", "selected", "statuses", "suite"]

# Render warnings said once per output directory, not again on every rebuild: a local build
# (no --base-url) has no feed or sitemap, which is expected there.
ONCE = ("base_url is not set",)
# --suite module -> its package as last checked: a build asks for it at every stage, and
# checking the rows again (entry modules read with ast) cost ~9 ms each time
_CHECKED: dict[str, Suite] = {}


@dataclass
class BuildReport:
    statuses: list[freeze.Status]
    trained: list[str] = field(default_factory=list)
    stale_used: list[str] = field(default_factory=list)   # rendered from out-of-date results
    warnings: list[str] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)  # units rendered (not reused)
    site_unchanged: bool = False                        # nothing to render: nothing written


def load(cfg: BuildConfig) -> Suite:
    """The experiment package: experiments.suite, or another module named by --suite, its
    rows checked by the engine's rules and then by the package's own validate_rows (once per
    process that remembers between builds: it imports the package once)."""
    if memo.REMEMBER and cfg.suite in memo.SUITES:
        return memo.SUITES[cfg.suite]
    try:
        found = load_suite(cfg.suite)
    except SuiteLoadError as err:
        raise BuildError(str(err)) from err
    except Exception as err:  # its code is the user's: a SyntaxError, a NameError, ...
        named = "" if cfg.suite == BuildConfig.suite else f" {cfg.suite!r}"
        raise BuildError(f"cannot load the experiment table{named}: "
                         f"{raised_where(err, cfg.root)}") from None
    checked = _CHECKED.get(cfg.suite)
    if checked is not None and len(checked.rows) == len(found.rows) and all(
            a is b for a, b in zip(checked.rows, found.rows)):
        return checked  # the very rows checked before (the module is imported once)
    where = shown(found.source, cfg.root) if found.source else cfg.suite
    try:
        check_rows(found.rows)
        if found.validate:
            found.validate(list(found.rows))
    except (SuiteLoadError, ValueError) as err:
        raise BuildError(f"{where}: {err}") from None
    _CHECKED[cfg.suite] = found
    if memo.REMEMBER:
        memo.SUITES[cfg.suite] = found
    return found


def suite(cfg: BuildConfig) -> list[Experiment]:
    """The experiment table's rows."""
    return list(load(cfg).rows)


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


def statuses(cfg: BuildConfig, every: bool = False) -> list[freeze.Status]:
    """Status of the --only experiments (every=True: of the whole table, as the render uses).

    With --quick, a row whose frozen result is fresh (and not --rerun) uses it; the others
    use .cache/quick/, where a quick build trains them: a fresh clone's `--quick` trains only
    what changed (or was added), in tiny runs, offline when those rows need no MNIST."""
    rows = suite(cfg) if every else selected(cfg)
    if not (memo.REMEMBER and every):
        return _check(cfg, rows)
    key = (str(cfg.root), str(cfg.store_dir), str(cfg.results_dir), cfg.quick, cfg.suite,
           cfg.rerun)
    inputs = memo.status_inputs(cfg, rows, load)
    if key in memo.STATUSES and memo.STATUSES[key][0] == inputs:
        return memo.STATUSES[key][1]
    found = _check(cfg, rows)
    memo.STATUSES[key] = (inputs, found)
    return found


def _check(cfg: BuildConfig, rows: list[Experiment]) -> list[freeze.Status]:
    package = load(cfg)
    found = freeze.check_all(rows, cfg.root, cfg.store_dir, cfg.quick, package)
    if not cfg.quick:
        return found
    frozen = freeze.check_all(rows, cfg.root, cfg.results_dir, suite=package)
    forced = set(cfg.rerun)
    return [f if f.fresh and "all" not in forced and f.name not in forced else q
            for q, f in zip(found, frozen)]


def from_quick_run(cfg: BuildConfig, status: freeze.Status) -> bool:
    return cfg.quick and status.file is not None and status.file.path.parent == cfg.quick_dir


def _to_run(cfg: BuildConfig, found: list[freeze.Status]) -> list[freeze.Status]:
    forced = set(cfg.rerun)
    chosen = {e.name for e in selected(cfg)}  # --only restricts training, not the render
    return [s for s in found if s.name in chosen
            and (not s.fresh or "all" in forced or s.name in forced)]


def _train(cfg: BuildConfig, todo: list[freeze.Status], report: BuildReport, log) -> None:
    package = load(cfg)
    by_name = {e.name: e for e in package.rows}
    pairs = [(by_name[s.name], s.inputs) for s in todo]
    log(f"training {len(pairs)} experiment(s): {', '.join(s.name for s in todo)}")
    for s in todo:
        if s.state == "corrupt":  # say so: a silent retrain would hide a damaged file
            log(f"warning: {s.name} is corrupt and is retrained: {'; '.join(s.reasons)}")
    if cfg.executor == "ray":
        from .ray_executor import run_ray
        run_ray(cfg, package, pairs, log=log)
    else:
        from .runner import run_local
        run_local(cfg, package, pairs, log=log)
    report.trained = [s.name for s in todo]


class LoadedResults(Mapping):
    """Experiment name -> result payload, each file parsed when a fact, chart or page first
    reads it: a build that reuses every unit parses none of them."""

    def __init__(self, found: list[freeze.Status]):
        self._status = {s.name: s for s in found}

    def __getitem__(self, name: str) -> dict:
        return self._status[name].document["result"]  # the file parses once, then keeps it

    def __contains__(self, name) -> bool:
        return name in self._status

    def __iter__(self):
        return iter(self._status)

    def __len__(self) -> int:
        return len(self._status)


def _load_results(cfg: BuildConfig, found: list[freeze.Status], report: BuildReport):
    usable, meta, examples = [], {}, load(cfg).examples
    for s in found:
        header = s.header
        if header is None or header.get("schema") != freeze.schema.SCHEMA_VERSION:
            continue  # missing, corrupt or old-schema: pages that need it fail by name
        if not s.fresh:
            report.stale_used.append(s.name)
        usable.append(s)
        meta[s.name] = {"provenance": header["provenance"], "inputs_hash": header["inputs_hash"],
                        "inputs": header["inputs"], "stale": not s.fresh,
                        "quick": from_quick_run(cfg, s),
                        "examples": examples(header["inputs"].get("data"))}
    return LoadedResults(usable), meta


def _not_trained(cfg: BuildConfig, found: list[freeze.Status], trained: list[str]) -> list[str]:
    """A warning per result that is not fresh after this build, with the command to fix it."""
    flags = (" --quick" if cfg.quick else "") + (
        f" --suite {cfg.suite}" if cfg.suite != BuildConfig.suite else "")
    return [f"{s.name} is {s.state} ({'; '.join(s.reasons) or 'forced rerun'}); not trained "
            f"in this build. To fix: python build.py{flags} --only {s.name}"
            for s in found if not s.fresh and s.name not in trained]


def _render(cfg: BuildConfig, results, meta, key: str, folders: dict[str, str], previous,
            found, unusable, lock, log) -> tuple:
    """Render into a temporary directory, reusing unchanged units of the current site, and
    swap it in; the manifest of what it holds is saved after the swap.
    Returns (warnings, units rendered)."""
    from .render import RenderError, render_site  # late: a no-op build never loads the renderer
    from .render.links import check_links

    reuse = incremental.Reuse(previous, cfg.out_dir, incremental.result_digests(found), folders)
    tmp = atomic.new_temp_dir(cfg.out_dir, lock)
    try:
        warnings = render_site(cfg, results, meta, tmp, reuse=reuse) or []
        check_links(cfg, tmp)
        outdir.write_marker(tmp)
        manifest = reuse.manifest(key, tmp, warnings)
        kept = atomic.swap_dir(tmp, cfg.out_dir, lock)
    except RenderError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if unusable:
            names = ", ".join(s.name for s in unusable)
            raise RenderError(f"{err}\n(the render ran without these results, which are "
                              f"missing or corrupt: {names}; see the warnings above)") from None
        raise
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if err.filename is None:  # a write that failed mid-file (a full disk) names no file
            raise OSError(err.errno, err.strerror, str(cfg.out_dir)) from err
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if kept:
        log(f"kept {len(kept)} file(s) you added to {shown(cfg.out_dir, cfg.root)}/ (not "
            f"listed in its {outdir.MARKER}): {', '.join(kept[:5])}")
    incremental.save_manifest(cfg, manifest)
    return warnings, reuse.rendered


def build(cfg: BuildConfig, log=None) -> BuildReport:
    log = log or (lambda msg: print(msg, file=sys.stderr))
    outdir.check_out_dir(cfg)
    with atomic.build_lock(cfg.root / ".build.lock") as lock:
        atomic.recover_dir(lock)
        found = statuses(cfg, every=True)
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
            found = statuses(cfg, every=True)
            report.statuses = found
        unusable = [s for s in found if s.state in ("missing", "corrupt")]
        report.warnings += _not_trained(cfg, found, report.trained)
        for warning in report.warnings:  # before the render: its errors may come from these
            log(f"warning: {warning}")
        results, meta = _load_results(cfg, found, report)
        folders = incremental.folder_digests(cfg)
        key = incremental.site_key(cfg, found, folders)
        previous = incremental.load_manifest(cfg)
        if incremental.unchanged(cfg, key, previous):
            report.site_unchanged = True
            render_warnings = previous.warnings
            log(f"{shown(cfg.out_dir, cfg.root)}/ is up to date: nothing rendered")
        else:
            render_warnings, report.rendered = _render(cfg, results, meta, key, folders, previous,
                                                       found, unusable, lock, log)
            log(f"rendered {len(report.rendered)} unit(s) (assets, results, charts, pages); "
                "the others were unchanged and reused")
        said = set(previous.warnings) if previous else set()
        for warning in render_warnings:
            if not (warning.startswith(ONCE) and warning in said):
                log(f"warning: {warning}")
        report.warnings += render_warnings
        return report
