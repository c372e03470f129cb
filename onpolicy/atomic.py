"""Writes that never leave half a file or half a site behind, and the build lock.

Files: write a temp file beside the target, fsync, os.replace (atomic on POSIX).
Directories: render into `<target>.tmp-<pid>-<random>`, then two renames swap it in. Each such
temporary is recorded in the lock file before it is created; if a build is killed, the next
one (`recover_dir`) removes exactly the recorded ones, or puts back the previous directory when
the crash fell between the two renames. A directory that was not recorded is never removed.
The lock file is not fsync'd: it guards against a killed build, whose writes the kernel keeps
(the renames it records are not fsync'd either). A process that builds again and again
(`serve`, after defer_removal()) removes the previous site only after it told the browser
to reload (remove_pending); the previous site stays claimed until then, so a serve killed
before that leaves it to the next build's recover_dir.
Caches written this way are bounded with keep_newest.
"""
from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from . import outdir
from .config import shown
from .errors import ConfigError


DEFER = False                # remove previous sites in remove_pending(), not in swap_dir
_PENDING: list[Path] = []    # previous sites swapped out and not yet removed (still claimed)


def defer_removal() -> None:
    global DEFER
    DEFER = True


def remove_pending() -> None:
    """Remove the previous sites that swap_dir left (serve calls it after the reload event);
    their claims stay in the lock file, for the next build's recover_dir to drop."""
    while _PENDING:
        _remove_own(_PENDING.pop())


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


def _claimed_name(target: Path, kind: str) -> Path:
    """A new sibling name for a temporary of this build: unguessable, so it never names a
    directory someone made, and recorded in the lock before it is created."""
    return target.parent / f"{target.name}.{kind}-{os.getpid()}-{secrets.token_hex(6)}"


def _remove_own(path: Path) -> None:
    """Remove a directory this build (or a killed build) created and recorded as its own."""
    if os.path.lexists(path) and not path.is_symlink() and path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


def recover_dir(lock: "BuildLock") -> None:
    """Undo what an interrupted build left, from its claims in the lock file: put back an
    output directory moved aside by a swap that a crash cut in half, remove its temporaries.
    Nothing that was not recorded there is touched, whatever its name or content."""
    for claim in list(lock.claims):
        path, target = Path(claim["path"]), Path(claim["target"])
        if claim["kind"] == "old" and os.path.isdir(path) and not os.path.lexists(target):
            os.replace(path, target)
        else:
            _remove_own(path)
        lock.release(path)


def new_temp_dir(target: Path, lock: "BuildLock") -> Path:
    """An empty directory beside `target` (same filesystem, so the swap is a rename)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _claimed_name(target, "tmp")
    lock.claim(tmp, target, "tmp")
    os.mkdir(tmp)  # never exist_ok: a name this build did not create is not its own
    return tmp


def swap_dir(new: Path, target: Path, lock: "BuildLock") -> list[str]:
    """Make `new` become `target`, with the files of `target` the build did not write carried
    over; the previous `target` is removed only after the swap. Returns those files."""
    target = Path(target)
    problem, extra = outdir.inspect(target)  # checked at the start too; this is the last line
    if problem:
        raise ConfigError(f"{shown(target)} {problem}: refusing to replace it")
    outdir.carry_over(target, new, extra)
    old = _claimed_name(target, "old")
    lock.claim(old, target, "old")
    if os.path.lexists(target):
        os.replace(target, old)
    os.replace(new, target)
    lock.release(new)
    if DEFER:
        _PENDING.append(old)
        return extra
    _remove_own(old)
    lock.release(old)
    return extra


class BuildLock:
    """The held lock file: the pid of the build, and the temporaries it created (claims), so
    that the next build removes exactly those if this one is killed."""

    def __init__(self, handle, previous: str):
        self._handle = handle
        try:
            claims = json.loads(previous).get("claims", [])
        except (ValueError, AttributeError):
            claims = []  # an older build's lock (a bare pid) or damage: nothing is claimed
        self.claims = [c for c in claims if isinstance(c, dict) and
                       {"path", "target", "kind"} <= c.keys()]
        self._save()

    def _save(self) -> None:
        f = self._handle
        f.seek(0)
        f.truncate()  # "a+": the write goes to the end, which is now the start
        f.write(json.dumps({"pid": os.getpid(), "claims": self.claims}))
        f.flush()

    def claim(self, path: Path, target: Path, kind: str) -> None:
        self.claims.append({"path": str(Path(path).absolute()),
                            "target": str(Path(target).absolute()), "kind": kind})
        self._save()

    def release(self, path: Path) -> None:
        self.claims = [c for c in self.claims if c["path"] != str(Path(path).absolute())]
        self._save()


def _holder(text: str) -> str:
    try:
        return str(json.loads(text)["pid"])
    except (ValueError, KeyError, TypeError):
        return text.strip() or "unknown"


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
            print(f"another build holds {path} (pid {_holder(f.read())}); waiting for it to "
                  "finish...", file=sys.stderr)
            fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        lock = BuildLock(f, f.read())
        try:
            yield lock
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
