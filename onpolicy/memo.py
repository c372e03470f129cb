"""What a process that builds again and again (serve) keeps from one build to the next.

Off unless remember_between_builds() was called (a one-shot build gains nothing from it):
* the statuses of the whole table, kept while no file they were read from changed (see
  status_inputs): a prose edit then reads and hashes no result file;
* the loaded and checked experiment package (the process imports it once);
* git's answers, while HEAD stays (incremental.git_output);
* typeset formulas and the KaTeX node worker (render/katex.py).
"""
from __future__ import annotations

import os
from collections.abc import Callable

from . import incremental
from .contract import effective_config

REMEMBER = False
STATUSES: dict[tuple, tuple] = {}   # build settings -> (status_inputs, statuses)
SUITES: dict[str, object] = {}      # --suite module -> its loaded, checked package
DATA_FILES: dict[tuple, list] = {}  # build settings -> data files the freeze hash reads


def remember_between_builds() -> None:
    global REMEMBER
    from .render.katex import remember_formulas
    REMEMBER = incremental.REMEMBER_GIT = True
    remember_formulas()


def status_inputs(cfg, rows: list, load: Callable) -> tuple:
    """(path, size, mtime, inode) of every result file (frozen, and --quick's), of the data
    files whose bytes the freeze hash covers, and of every Python file of the project's
    packages (any may join an import graph): a status is a function of these files and of
    the suite rows, which a process imports once. load(cfg): the experiment package."""
    key = (str(cfg.root), cfg.suite, cfg.quick, tuple(row.name for row in rows))
    if key not in DATA_FILES:  # the rows' configs do not change in this process
        package = load(cfg)
        DATA_FILES[key] = [path for row in rows for path in package.data_source(
            effective_config(row, cfg.quick)).files.values()]
    found: list[tuple] = []
    for path in DATA_FILES[key]:
        try:
            stat = os.stat(path)
            found.append((str(path), stat.st_size, stat.st_mtime_ns, stat.st_ino))
        except OSError:
            found.append((str(path), None))
    stores = [cfg.store_dir] + ([cfg.results_dir] if cfg.quick else [])
    packages = [p for p in cfg.root.iterdir() if (p / "__init__.py").is_file()]
    for top in stores + packages + [cfg.root]:
        every_file, stack = top in stores, [top]
        while stack:
            try:
                entries = list(os.scandir(stack.pop()))
            except OSError:
                continue
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if top in packages and entry.name != "__pycache__":
                        stack.append(entry.path)
                elif every_file or entry.name.endswith(".py"):
                    stat = entry.stat()
                    found.append((entry.path, stat.st_size, stat.st_mtime_ns, stat.st_ino))
    return tuple(found)
