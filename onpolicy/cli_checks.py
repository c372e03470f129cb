"""The CLI's checks and messages: flags that contradict each other, module names, and one
line for an environment error (a full disk, a read-only checkout, a resource limit)."""
from __future__ import annotations

import argparse
import errno
import os
import re
from pathlib import Path

from .config import shown


def module_name(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a Python module name, e.g. "
                                         "experiments.suite or tests.tiny_suite")
    return text


def conflicts(args: argparse.Namespace) -> str | None:
    """Flags that contradict each other: the build would do one and silently drop the other."""
    rerun, only = getattr(args, "rerun", []), getattr(args, "only", [])
    no_train, frozen = getattr(args, "no_train", False), getattr(args, "frozen", False)
    flags = " ".join(f"--rerun {n}" for n in rerun)
    if rerun and (no_train or frozen):
        return (f"{'--no-train' if no_train else '--frozen'} trains nothing, so {flags} cannot "
                "run: drop one of them")
    if only and no_train:  # (--frozen --only X: fail only if X is stale, a real request)
        return "--only chooses what to train, and --no-train trains nothing: drop one of them"
    outside = [n for n in rerun if only and n != "all" and n not in only]
    if outside:
        return (f"--rerun {outside[0]} is not among the --only experiments "
                f"({', '.join(only)}), so it would not be retrained: add --only {outside[0]} "
                "or drop --rerun")
    if args.command == "serve" and (rerun or only) and not args.train:
        return "serve trains nothing without --train: add --train to use --rerun or --only"
    if args.command == "serve" and args.train and (no_train or frozen):
        return f"--train contradicts {'--no-train' if no_train else '--frozen'}: drop one"
    if getattr(args, "ray_address", None) and getattr(args, "executor", "") != "ray":
        return "--ray-address is used only with --executor ray: add it, or drop --ray-address"
    return None


FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
REFUSED = (errno.EACCES, errno.EPERM, errno.EROFS)
LIMITS = {
    errno.EMFILE: "too many open files for this process: raise the limit (ulimit -n 4096) and "
                  "build again",
    errno.ENFILE: "too many open files on this machine: close other programs and build again",
    errno.ENOMEM: "out of memory: free memory or raise the limit (ulimit -v) and build again",
    errno.EAGAIN: "cannot start another process or thread: raise the limit (ulimit -u) or "
                  "free resources and build again",
}


def _hint(err: OSError, path: Path | None, cfg) -> str:
    """What to do, from what failed and where: a read-only checkout needs a different fix
    from a read-only output directory."""
    if err.errno in FULL:
        return ("the disk quota is used up" if err.errno == errno.EDQUOT else
                "the disk is full") + ": free some space and build again"
    if err.errno in LIMITS:
        return LIMITS[err.errno]
    if err.errno not in REFUSED or path is None:
        return ""
    how = "read-only" if err.errno == errno.EROFS else "not writable"
    out = Path(cfg.out_dir)
    if path == out or path.is_relative_to(out) or path.parent == out.parent and \
            path.name.startswith((f"{out.name}.tmp-", f"{out.name}.old-")):
        return f"the output location is {how}: choose another --out you can write to"
    for store in (cfg.results_dir, cfg.quick_dir):
        if path.is_relative_to(store):
            return (f"{shown(store, cfg.root)}/ is {how}, and the build writes the results it "
                    "trains there: make it writable, build without training (--no-train), "
                    "or use --results-dir DIR")
    if path.is_relative_to(cfg.root):
        return (f"the checkout is {how}, and the build keeps its lock (.build.lock) and caches "
                "(.cache/) in it: make it writable, or build in a writable copy of it")
    return f"{how}: fix the permissions of that path"


def describe_os_error(err: OSError, cfg) -> str:
    """One line for an OSError from deep inside the build: what, where, what to do. A copy
    that fails to write names its source first: a full disk names the destination."""
    name = err.filename2 if err.filename2 and err.errno in FULL else err.filename
    path = Path(os.path.abspath(name)) if name else None
    where = f"{shown(path, cfg.root)}: " if path else ""
    hint = _hint(err, path, cfg)
    return (f"{where}{err.strerror or err}" + (f"; {hint}" if hint else "")
            + ". The previous site and every frozen result are intact.")
