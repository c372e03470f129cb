"""Incremental render: rebuild only what changed, keyed by content hashes, like the freeze hash.

* The site key hashes every input of the render: the source folder, the templates, static/,
  the engine's render code, the JavaScript packages' versions, the render settings, the last
  commit of the sources (articles show its date) and each loaded result (its result_sha256,
  provenance and inputs hash). A build whose site key equals
  the one recorded for its output directory, and whose output files are still the ones that
  build wrote (size and mtime of each), renders nothing and writes nothing.
* Otherwise the site is rendered into a new directory and swapped in as before, but each unit
  (the static assets, the raw results, one chart, one page) whose own key is unchanged is
  hard-linked (or copied) from the current output instead of being rendered again: a prose
  edit re-renders that one page, and a chart is rebuilt only when its results or its builder
  changed.

The manifest (what was built, with which keys) lives in .cache/render/, never in public/.
This module imports nothing heavy: a no-op build never loads the renderer.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from . import atomic, file_digests
from .contract import canonical_json, file_sha256, sha256

RENDER_ENGINE = Path(__file__).resolve().parent / "render"
JS_PACKAGES = ("katex", "chart.js", "plotly.js-gl3d-dist-min")
MANIFEST_VERSION = 1


def digest(*parts) -> str:
    """sha256 of the canonical JSON of parts (strings, numbers, lists, dicts; paths as text)."""
    return sha256(canonical_json(parts, default=str))


def tree_digest(*roots: Path, suffixes: tuple[str, ...] = (),
                cache_root: Path | None = None) -> str:
    """sha256 over the relative paths and bytes of every file under roots (files may be
    given too); __pycache__ and .pyc are left out; suffixes, if given, filter the files.
    cache_root: take each file's sha256 from that project's file_digests (by its stat)
    instead of reading it: a prose edit's build then reads only the edited file."""
    h = hashlib.sha256()
    for root in roots:
        root = Path(root)
        files = [root] if root.is_file() else sorted(root.rglob("*")) if root.is_dir() else []
        for path in files:
            if (not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc"
                    or (suffixes and path.suffix not in suffixes)):
                continue
            h.update(f"{path.relative_to(root) if path != root else path.name}\0".encode())
            h.update(hashlib.sha256(path.read_bytes()).digest() if cache_root is None else
                     bytes.fromhex(file_digests.digest(cache_root, path, "bytes", file_sha256)))
    return h.hexdigest()


def package_versions(node_modules: Path) -> dict[str, str | None]:
    versions = {}
    for name in JS_PACKAGES:
        manifest = Path(node_modules) / name / "package.json"
        versions[name] = (json.loads(manifest.read_text(encoding="utf-8")).get("version")
                          if manifest.is_file() else None)
    return versions


def result_digests(found) -> dict[str, str]:
    """What the render reads of each loaded result: its content hash, inputs hash, provenance
    and staleness (found: freeze.Status list, as the pipeline loaded them). Headers only: no
    payload is parsed."""
    return {status.name: digest(status.header.get("result_sha256"),
                                status.header.get("inputs_hash"),
                                status.header.get("provenance"),
                                status.header.get("schema"), not status.fresh)
            for status in found if status.header is not None}


def results_digest(found) -> str:
    return digest(result_digests(found))


def render_settings(cfg) -> dict:
    return {"base_url": cfg.base_url, "source_url": cfg.source_url, "quick": cfg.quick,
            "drafts": cfg.drafts}


# With REMEMBER_GIT (a process that builds again and again, serve), a git query's answer is
# kept until HEAD moves, which appends to HEAD's reflog, or a shallow clone's boundary moves:
# the size, mtime and inode of <git dir>/logs/HEAD and <git dir>/shallow are the key (no
# reflog: git is asked every time).
REMEMBER_GIT = False
_GIT_ANSWERS: dict[tuple, tuple] = {}
_GIT_DIRS: dict[str, str | None] = {}


def _run_git(repo, args: list[str], timeout: float) -> str | None:
    try:
        proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                              timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def _head_stamp(repo) -> tuple | None:
    if str(repo) not in _GIT_DIRS:
        _GIT_DIRS[str(repo)] = _run_git(repo, ["rev-parse", "--absolute-git-dir"], 30)
    git_dir = _GIT_DIRS[str(repo)]
    if not git_dir:  # outside git (a tarball, a copy): until a .git appears here
        return ("outside git", os.path.lexists(os.path.join(repo, ".git")))
    stamps = []
    for name in ("logs/HEAD", "shallow"):
        try:
            stat = os.stat(os.path.join(git_dir, name))
            stamps.append((stat.st_size, stat.st_mtime_ns, stat.st_ino))
        except OSError:
            if name == "logs/HEAD":
                return None
            stamps.append(None)
    return tuple(stamps)


def git_output(repo, args: list[str], timeout: float = 30) -> str | None:
    """stdout of `git args` in repo (stripped), or None when git is missing or fails."""
    stamp = _head_stamp(repo) if REMEMBER_GIT else None
    key = (str(repo), tuple(args))
    if stamp is not None and key in _GIT_ANSWERS and _GIT_ANSWERS[key][0] == stamp:
        return _GIT_ANSWERS[key][1]
    answer = _run_git(repo, args, timeout)
    if stamp is not None:
        _GIT_ANSWERS[key] = (stamp, answer)
    return answer


def source_commit(cfg) -> str | None:
    """The last commit that touched the source folder, or None outside git: an article shows
    the date of its source's last commit ("updated"), so commits are a render input too."""
    return git_output(cfg.root, ["log", "-1", "--format=%H", "--", str(cfg.src_dir)])


def folder_digests(cfg) -> dict[str, str]:
    """tree_digest of the render's input folders, once per build: the site key and the unit
    keys (render/unit_keys.py) both use them."""
    folders = {"src": cfg.src_dir, "templates": cfg.templates_dir, "static": cfg.static_dir,
               "engine": RENDER_ENGINE}
    digests = {name: tree_digest(folder, cache_root=cfg.root) for name, folder in folders.items()}
    file_digests.save(cfg.root)
    return digests


def site_key(cfg, found, folders: dict[str, str]) -> str:
    """folders: folder_digests(cfg)."""
    return digest(MANIFEST_VERSION, folders["src"], folders["templates"], folders["static"],
                  folders["engine"], package_versions(cfg.node_modules), render_settings(cfg),
                  results_digest(found), source_commit(cfg))


def signature(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def signatures(out_dir: Path) -> dict[str, list[int]]:
    return {str(p.relative_to(out_dir)): signature(p)
            for p in sorted(Path(out_dir).rglob("*")) if p.is_file()}


@dataclass
class Manifest:
    site_key: str = ""
    units: dict[str, dict] = field(default_factory=dict)   # unit -> {key, files, extra}
    outputs: dict[str, list[int]] = field(default_factory=dict)  # file -> [size, mtime_ns]
    warnings: list[str] = field(default_factory=list)


def manifest_path(cfg) -> Path:
    return Path(cfg.cache_dir) / "render" / f"{digest(str(Path(cfg.out_dir).resolve()))[:16]}.json"


def load_manifest(cfg) -> Manifest:
    try:
        data = json.loads(manifest_path(cfg).read_text(encoding="utf-8"))
        if data.get("version") != MANIFEST_VERSION:
            return Manifest()
        return Manifest(data["site_key"], data["units"], data["outputs"], data["warnings"])
    except (OSError, ValueError, KeyError, TypeError):
        return Manifest()  # none yet, or unreadable: everything is rendered


def save_manifest(cfg, manifest: Manifest) -> None:
    path = manifest_path(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"version": MANIFEST_VERSION, "site_key": manifest.site_key, "units": manifest.units,
            "outputs": manifest.outputs, "warnings": manifest.warnings}
    atomic.write_text(path, json.dumps(data, separators=(",", ":")))


def unchanged(cfg, key: str, manifest: Manifest) -> bool:
    """The output directory holds exactly what the build with this site key wrote."""
    if not key or manifest.site_key != key or not manifest.outputs:
        return False
    out = Path(cfg.out_dir)
    try:
        return all(signature(out / rel) == sig for rel, sig in manifest.outputs.items())
    except OSError:
        return False


def _place(src: Path, target: Path) -> None:
    """A reused file in the new site: a hard link to the current site's file (the same bytes
    and mtime without copying them; the current site is removed at the swap), or a copy
    where the filesystem cannot link. Nothing writes into a placed file afterwards."""
    try:
        os.link(src, target)
    except OSError:
        shutil.copy2(src, target)  # keeps the mtime: the signature stays valid


class Reuse:
    """Per-unit reuse during one render: `take` copies a unit's files from the current output
    (previous) into the new one when its key is unchanged and its files are the ones that
    build wrote; `record` notes what was rendered, for the next build's manifest."""

    def __init__(self, previous: Manifest, previous_dir: Path, result_keys: dict[str, str],
                 folders: dict[str, str]):
        self.previous = previous
        self.previous_dir = Path(previous_dir)
        self.result_keys = result_keys               # experiment name -> digest
        self.folders = folders                       # folder_digests of this build
        self.results_key = digest(result_keys)
        self.units: dict[str, dict] = {}
        self.reused: list[str] = []
        self.rendered: list[str] = []
        self._folders: set[Path] = set()

    def take(self, unit: str, key: str, out_dir: Path):
        """The unit's recorded extra data if its files were copied into out_dir, else None."""
        entry = self.previous.units.get(unit)
        if not entry or entry.get("key") != key:
            return None
        sources = {rel: self.previous_dir / rel for rel in entry["files"]}
        placed: list[Path] = []
        try:
            if any(signature(src) != self.previous.outputs.get(rel)
                   for rel, src in sources.items()):
                return None
            for rel, src in sources.items():
                target = Path(out_dir) / rel
                if target.parent not in self._folders:  # one mkdir per folder, not per file
                    target.parent.mkdir(parents=True, exist_ok=True)
                    self._folders.add(target.parent)
                _place(src, target)
                placed.append(target)
        except OSError:
            for target in placed:  # the unit is rendered instead: its writes must not reach
                target.unlink(missing_ok=True)  # a file linked to the current site
            return None
        self.units[unit] = entry
        self.reused.append(unit)
        return entry.get("extra")

    def previous_extra(self, unit: str) -> dict | None:
        entry = self.previous.units.get(unit)
        return entry.get("extra") if entry else None

    def record(self, unit: str, key: str, files: list[str], extra=None) -> None:
        self.units[unit] = {"key": key, "files": sorted(files), "extra": extra}
        self.rendered.append(unit)

    def manifest(self, site_key: str, out_dir: Path, warnings: list[str]) -> Manifest:
        return Manifest(site_key, self.units, signatures(out_dir), list(warnings))
