"""The --out guard: the build replaces a directory only when it made that directory.

Every site the build writes carries a marker file, `.onpolicy-site`. A build may replace its
output directory only when the directory does not exist, is empty, or carries the marker; it
never writes into the repository root, an ancestor of it, or a source directory. Checked
before anything is trained or rendered, and again just before the swap (atomic.swap_dir).
"""
from __future__ import annotations

import os
from pathlib import Path

from .config import BuildConfig, shown
from .errors import ConfigError

MARKER = ".onpolicy-site"
MARKER_TEXT = ("This directory was written by onpolicy's build (build.py). The next build "
               "replaces it as a whole; do not keep your own files here.\n")


def mark(site_dir: Path) -> None:
    """Sign a directory as build output (done as soon as the temporary directory exists)."""
    path = Path(site_dir) / MARKER
    try:
        path.write_text(MARKER_TEXT, encoding="utf-8")
    except OSError as err:
        raise OSError(err.errno, err.strerror, err.filename or str(path)) from err


def is_marked(path: Path) -> bool:
    return (Path(path) / MARKER).is_file()


def replaceable(path: Path) -> bool:
    """May a build delete `path` to put a new site there?"""
    path = Path(path)
    if not os.path.lexists(path):
        return True
    if path.is_symlink() or not path.is_dir():
        return False
    return is_marked(path) or not any(path.iterdir())


def protected_dirs(cfg: BuildConfig) -> list[Path]:
    """Directories the build reads from or keeps state in: never output, never inside output."""
    root = cfg.root
    return [cfg.src_dir, cfg.templates_dir, cfg.static_dir, cfg.results_dir, cfg.quick_dir,
            cfg.cache_dir, cfg.node_modules, root / "experiments", root / "onpolicy",
            root / "tests", root / ".git", root / ".venv"]


def check_out_dir(cfg: BuildConfig) -> None:
    """Raise ConfigError, saying why and what to do, when cfg.out_dir must not be replaced."""
    out = Path(os.path.abspath(cfg.out_dir))
    real = out.resolve()
    named = shown(out, cfg.root)
    root = cfg.root.resolve()
    if real == root or root.is_relative_to(real):
        raise ConfigError(f"--out {named}: this is the repository or a folder above it; the "
                          "build replaces its output directory as a whole, so it would delete "
                          "your checkout. Use a new directory, e.g. --out public")
    for source in protected_dirs(cfg):
        source = source.resolve()
        if real == source or real.is_relative_to(source) or source.is_relative_to(real):
            raise ConfigError(f"--out {named}: overlaps {shown(source, root)}/, which the "
                              "build reads or keeps state in; the output must be a separate "
                              "directory, e.g. --out public")
    if os.path.lexists(out) and (out.is_symlink() or not out.is_dir()):
        kind = "a symbolic link" if out.is_symlink() else "a file, not a directory"
        raise ConfigError(f"--out {named} is {kind}; the build writes a directory there. "
                          "Choose a directory path that is new, empty or an earlier build's "
                          "output")
    if not replaceable(out):
        raise ConfigError(f"--out {named} is a directory with files the build did not write "
                          f"(it has no {MARKER} marker); building there would delete them. "
                          "Choose a new or empty directory, or move those files away first")
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {named}: cannot write to {shown(parent, cfg.root)} "
                          "(permission denied); choose a directory you can write to")
