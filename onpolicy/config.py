"""BuildConfig: every setting of a build, typed, passed explicitly to each stage."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository root


def shown(path: Path, root: Path = ROOT) -> str:
    """How messages name a file: relative to the repository root when it is inside it."""
    path = Path(path)
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


@dataclass(frozen=True)
class BuildConfig:
    root: Path = ROOT                      # repository root (project modules are hashed from here)
    out_dir: Path = ROOT / "public"        # where the site goes (swapped in atomically)
    src_dir: Path = ROOT / "site_src"      # Markdown pages
    templates_dir: Path = ROOT / "templates"
    static_dir: Path = ROOT / "static"
    results_dir: Path = ROOT / "results"   # frozen results (committed)
    quick_dir: Path = ROOT / ".cache" / "quick"  # --quick results (git-ignored)
    cache_dir: Path = ROOT / ".cache"      # KaTeX formula cache and other rebuildable state
    node_modules: Path = ROOT / "node_modules"
    base_url: str = ""                     # absolute site URL for feed/sitemap/canonical/OG
    source_url: str = ""                   # the source repository (footer); overrides _site.yaml
    quick: bool = False                    # tiny runs, cached apart from the frozen results
    frozen: bool = False                   # never train; fail if anything is stale or missing
    train: bool = True                     # False: render only, report stale experiments
    rerun: tuple[str, ...] = ()            # experiment names to force ("all" expands to every one)
    device: str = "auto"                   # auto | cpu | cuda
    threads: int | None = None             # CPU threads for torch (None: torch's default)
    workers: int | None = None             # CPU training processes (None: one per thread)
    fuse: bool = True                      # train compatible run units as one model
    executor: str = "local"                # local | ray
    ray_address: str | None = None         # None: start or join a local Ray instance
    data_dir: Path | None = None           # --data-dir (--mnist-dir): the datasets' files
    drafts: bool = False                   # render pages marked draft: true
    experiments: tuple[str, ...] = field(default=())  # restrict to these names (empty = all)
    suite: str = "experiments.suite"      # module holding the experiment table (EXPERIMENTS)

    @property
    def store_dir(self) -> Path:
        """Where this build's results live: frozen results, or the --quick cache."""
        return self.quick_dir if self.quick else self.results_dir
