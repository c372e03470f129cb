"""Writes that never leave half a file or half a site behind, and the build lock.

Files: write a temp file beside the target, fsync, os.replace (atomic on POSIX).
Directories: render into `<target>.tmp-<pid>`, then two renames swap it in; if a crash falls
between the two renames, `recover_dir` puts the previous directory back on the next run.
Only directories that carry the build's marker (outdir.MARKER) are ever replaced or removed.
Caches written this way are bounded with keep_newest.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from . import outdir
from .config import shown
from .errors import ConfigError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(path: Path, data: bytes, durable: bool = True) -> None:
    """Atomic (a temporary file renamed over path); durable: fsync'd before the rename (a
    cache whose entries carry their own checksum can skip it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give it normal file permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        if err.filename is None:  # a failed write (a full disk) names no file: name the target
            raise OSError(err.errno, err.strerror, str(path)) from err
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str, durable: bool = True) -> None:
    write_bytes(path, text.encode("utf-8"), durable)


def keep_newest(folder: Path, pattern: str, kept: int) -> None:
    """Delete all but the `kept` most recently written files matching pattern in folder (a
    cache's entries; another build pruning the same folder at once is harmless)."""
    def written(path: Path) -> int:
        try:
            return path.stat().st_mtime_ns
        except OSError:           # removed meanwhile by that other build
            return 0
    for old in sorted(Path(folder).glob(pattern), key=written, reverse=True)[kept:]:
        old.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _siblings(target: Path, marker: str) -> list[Path]:
    return sorted(target.parent.glob(f"{target.name}.{marker}-*"))


def _remove_build_dir(path: Path) -> None:
    """Remove a directory a build made (marked), or an empty one; leave anything else alone."""
    if path.is_symlink() or not path.is_dir():
        return
    if outdir.is_marked(path):
        shutil.rmtree(path, ignore_errors=True)
    elif not any(path.iterdir()):
        path.rmdir()


def recover_dir(target: Path) -> None:
    """Undo what an interrupted swap or render left: restore the old dir, drop dead temp dirs.
    Siblings without the build's marker are someone else's files: never touched."""
    target = Path(target)
    olds = [p for p in _siblings(target, "old") if outdir.is_marked(p)]
    if not os.path.lexists(target) and olds:
        os.replace(olds[-1], target)
        olds = olds[:-1]
    for leftover in olds + _siblings(target, "tmp"):
        pid = leftover.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and _pid_alive(int(pid)):
            continue  # another live build's work in progress
        _remove_build_dir(leftover)


def new_temp_dir(target: Path) -> Path:
    """An empty directory beside `target` (same filesystem, so the swap is a rename)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f"{target.name}.tmp-{os.getpid()}"
    _remove_build_dir(tmp)
    tmp.mkdir()
    try:
        outdir.mark(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def swap_dir(new: Path, target: Path) -> None:
    """Make `new` become `target`; the previous `target` is removed only after the swap."""
    target = Path(target)
    if not outdir.replaceable(target):  # checked at the start too; this is the last line
        raise ConfigError(f"{shown(target)} was not written by this build (no {outdir.MARKER} "
                          "marker): refusing to replace it")
    old = target.parent / f"{target.name}.old-{os.getpid()}"
    if os.path.lexists(target):
        os.replace(target, old)
    os.replace(new, target)
    _remove_build_dir(old)


@contextmanager
def build_lock(path: Path):
    """One build at a time per checkout; a second one waits and says so."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            print(f"another build holds {path} (pid {holder}); waiting for it to finish...",
                  file=sys.stderr)
            fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
