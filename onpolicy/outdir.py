"""The --out guard: the build replaces a directory only when it wrote that directory.

Every site the build writes carries a marker file, `.onpolicy-site`, listing each file the
build wrote there with its size. A build may replace its output directory only when the
directory does not exist, is empty, or carries a marker that matches it: a regular file (not a
link) that lists files which are all there, with those sizes. Files the marker does not list
(a `CNAME` added for GitHub Pages) were not written by the build: they are carried over into
the new site, and the build refuses when the new site has a file at the same path. Checked
before anything is trained or rendered, and again just before the swap (atomic.swap_dir).
It never writes into the repository root, an ancestor of it, or a source directory.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

from .config import BuildConfig, shown
from .errors import ConfigError

MARKER = ".onpolicy-site"
FORMAT = "onpolicy-site 2"
NOTE = ("This directory was written by onpolicy's build (build.py); `files` lists what it "
        "wrote. The next build replaces those files and keeps any file you add.")


def _entries(site_dir: Path) -> dict[str, os.stat_result]:
    """relative path -> lstat of every file and symbolic link under site_dir (links to
    directories are not followed)."""
    found: dict[str, os.stat_result] = {}

    def walk(folder: str, prefix: str) -> None:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    walk(entry.path, f"{prefix}{entry.name}/")
                else:
                    found[prefix + entry.name] = entry.stat(follow_symlinks=False)
    walk(os.fspath(site_dir), "")
    found.pop(MARKER, None)
    return found


def write_marker(site_dir: Path) -> None:
    """Sign a rendered site: list every file in it, with its size (the last write before the
    swap; what is carried over afterwards is not listed)."""
    files = {rel: st.st_size for rel, st in sorted(_entries(Path(site_dir)).items())}
    path = Path(site_dir) / MARKER
    try:
        path.write_text(json.dumps({"format": FORMAT, "note": NOTE, "files": files}, indent=0)
                        + "\n", encoding="utf-8")
    except OSError as err:
        raise OSError(err.errno, err.strerror, err.filename or str(path)) from err


def _listed(path: Path) -> dict | None:
    """The marker's file list, or None when it is no marker this build version wrote."""
    marker = path / MARKER
    if marker.is_symlink() or not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_bytes())
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) and data.get("format") == FORMAT \
        else None
    if not isinstance(files, dict) or not files or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in files.values()):
        return None
    return files


def inspect(path: Path) -> tuple[str | None, list[str]]:
    """(why `path` must not be replaced, or None; the files in it the build did not write)."""
    path = Path(path)
    if not os.path.lexists(path):
        return None, []
    if path.is_symlink():
        return "is a symbolic link", []
    if not path.is_dir():
        return "is a file, not a directory", []
    if not any(path.iterdir()):
        return None, []
    if not os.path.lexists(path / MARKER):
        return (f"is a directory with files the build did not write (it has no {MARKER} "
                "marker); building there would delete them"), []
    files = _listed(path)
    if files is None:
        return (f"has a {MARKER} marker that does not list the files the build wrote there "
                "(it is empty, a link, or from an older version of the build); the build "
                "cannot tell its files from yours"), []
    present = _entries(path)
    for rel, size in files.items():
        st = present.get(rel)
        if st is None or not stat.S_ISREG(st.st_mode):  # lstat's: a link is not the file
            return (f"does not match its {MARKER} marker: {rel}, which the build wrote, is "
                    "missing (a copied marker, or a changed directory)"), []
        if st.st_size != size:
            return (f"does not match its {MARKER} marker: {rel} was changed after the build "
                    f"wrote it ({st.st_size} bytes, not {size}); building would overwrite "
                    "it"), []
    return None, sorted(rel for rel in present if rel not in files)


def replaceable(path: Path) -> bool:
    """May a build replace `path` with a new site (keeping the files it did not write)?"""
    return inspect(path)[0] is None


def carry_over(old: Path, new: Path, extra: list[str]) -> None:
    """Put the files the build did not write (inspect's list) from `old` into `new`, as hard
    links where possible; refuse when the new site has a file at the same path."""
    for rel in extra:
        src, dst = Path(old) / rel, Path(new) / rel
        clash = os.path.lexists(dst) or any(p.is_file() for p in dst.parents
                                            if p.is_relative_to(new) and p != Path(new))
        if clash:
            raise ConfigError(f"{shown(src)} is a file you added to the site (the {MARKER} "
                              "marker does not list it), and the new site has a file at that "
                              "path; move yours away, then build again")
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
            continue
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)


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
    problem, _ = inspect(out)
    if problem and (out.is_symlink() or not out.is_dir()):
        raise ConfigError(f"--out {named} {problem}; the build writes a directory there. "
                          "Choose a directory path that is new, empty or an earlier build's "
                          "output")
    if problem:
        raise ConfigError(f"--out {named} {problem}. Choose a new or empty directory, or move "
                          "those files away first (if it holds nothing of yours, delete it "
                          "and build again)")
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {named}: cannot write to {shown(parent, cfg.root)} "
                          "(permission denied); choose a directory you can write to")
