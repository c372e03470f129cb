"""Helpers for the end-to-end bad-input tests (tests/test_bad_input*.py, test_out_guard.py).

Each case runs `python build.py ...` as a user would, in a throwaway copy of the checkout
(tracked + untracked-not-ignored files, node_modules symlinked), on the synthetic two-row
table tests/tiny_suite.py and a minimal set of pages. The fixtures `template_repo` (built once
per session) and `repo` (a private copy per test) are registered in tests/conftest.py.

`Snapshot` hashes every file of the copy: a failed build must leave all of it (results,
sources, public/) byte-identical; only its own scratch state (.cache/, the lock) may change.
`faulty_env` runs a build with tests/faults/sitecustomize.py injecting an OSError (a full
disk, a read-only directory) into writes whose path contains a given string.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUITE = "tests.tiny_suite"
BUILD_TIMEOUT_S = 240

pytestmark = pytest.mark.slow

# The minimal page set the tiny suite can render: a result number, math, a 404 page.
INDEX_MD = """\
---
title: Tiny
description: A minimal page for the bad-input tests.
---
# Tiny

Supervised accuracy: {{ results['tiny-supervised'].final_accuracy.mean | percent }}.

Math: $x^2 + y$ and

$$
\\frac{a}{b} = c
$$
"""

NOT_FOUND_MD = """\
---
title: Not found
description: There is no page at this address.
---
# Not found

Nothing here.
"""


# -- the copy -------------------------------------------------------------------------------

def _project_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                         capture_output=True, check=True).stdout.decode()
    return [f for f in out.split("\0") if f]


def _copy_checkout(dest: Path) -> Path:
    for rel in _project_files():
        src = ROOT / rel
        if not src.is_file() or rel.startswith("site_src/"):
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    (dest / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    site = dest / "site_src"
    site.mkdir(exist_ok=True)
    (site / "index.md").write_text(INDEX_MD, encoding="utf-8")
    (site / "404.md").write_text(NOT_FOUND_MD, encoding="utf-8")
    return dest


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MNIST_DIR"))}
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONPATH", None)  # the copy's own modules, found next to its build.py
    return env


def build(repo: Path, *args: str, timeout: float = BUILD_TIMEOUT_S,
          env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "build.py", *args], cwd=repo, capture_output=True,
                          text=True, env=env or _env(), timeout=timeout)


def tiny(repo: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return build(repo, "--suite", SUITE, *args, **kw)


def tree_hashes(path: Path) -> dict[str, str]:
    """relative path -> sha256 of every file under path (symlinks as their target text)."""
    if not path.exists():
        return {}
    out = {}
    for p in sorted(path.rglob("*")):
        rel = p.relative_to(path).as_posix()
        if p.is_symlink():
            out[rel] = "link:" + os.readlink(p)
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def leftovers(repo: Path) -> list[str]:
    return sorted(p.name for p in repo.iterdir()
                  if p.name.startswith(("public.tmp-", "public.old-")))


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory) -> Path:
    """A copy with the tiny results trained and public/ built once (shared, never mutated)."""
    repo = _copy_checkout(tmp_path_factory.mktemp("template") / "repo")
    proc = tiny(repo)
    assert proc.returncode == 0, proc.stderr
    assert "2 trained" in proc.stderr, proc.stderr
    assert (repo / "public" / "index.html").is_file()
    return repo


@pytest.fixture
def repo(template_repo, tmp_path) -> Path:
    """A fresh private copy of the template (results and public/ included)."""
    dest = tmp_path / "repo"
    shutil.copytree(template_repo, dest, symlinks=True)
    return dest


SCRATCH = (".cache", ".build.lock", "__pycache__", ".pytest_cache")  # the build's own state


def repo_hashes(repo: Path) -> dict[str, str]:
    """tree_hashes of the whole copy except public/ and the build's scratch state."""
    return {rel: h for rel, h in tree_hashes(repo).items()
            if not rel.startswith(("public/", "public.")) and rel != "public"
            and not any(part in SCRATCH for part in rel.split("/"))}


class Snapshot:
    """Every file of the copy (and of `extra` directories outside it), to compare later."""

    def __init__(self, repo: Path, *extra: Path):
        self.repo = repo
        self.public = tree_hashes(repo / "public")
        self.results = tree_hashes(repo / "results")
        self.everything = repo_hashes(repo)
        self.extra = {p: tree_hashes(p) for p in extra}
        assert self.public and self.results

    def sources_edited(self) -> None:
        """The test itself changed sources after the snapshot: take them as they are now."""
        self.everything = repo_hashes(self.repo)

    def assert_intact(self, proc=None) -> None:
        ctx = f"\nstderr:\n{proc.stderr}" if proc is not None and proc.stderr else ""
        assert tree_hashes(self.repo / "results") == self.results, \
            "the frozen results changed" + ctx
        assert tree_hashes(self.repo / "public") == self.public, \
            "the previous public/ changed" + ctx
        now = repo_hashes(self.repo)
        changed = sorted(set(now.items()) ^ set(self.everything.items()))
        assert not changed, f"files outside the build's output changed: {changed[:10]}" + ctx
        for path, before in self.extra.items():
            assert tree_hashes(path) == before, f"{path} changed" + ctx


def assert_fails(proc, *patterns: str) -> str:
    err = proc.stderr
    assert proc.returncode not in (0, None), f"expected a failure, got exit 0:\n{err}"
    assert "Traceback" not in err, f"a traceback instead of a message:\n{err}"
    for pattern in patterns:
        assert re.search(pattern, err, re.M), f"{pattern!r} not in stderr:\n{err}"
    return err


def tiny_fails(repo: Path, *args: str, expect: list[str], **kw) -> str:
    """Build the tiny suite with args; assert it fails with every pattern of `expect` in its
    stderr and no traceback, leaving results/, the previous public/ and every other file as
    they were. Returns the stderr."""
    snap = Snapshot(repo)
    proc = tiny(repo, *args, **kw)
    err = assert_fails(proc, *expect)
    snap.assert_intact(proc)
    return err


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, needle: str) -> int:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(f"{needle!r} not in {path}")



FAULTS = ROOT / "tests" / "faults"


def faulty_env(fault: str, where: str) -> dict:
    """The environment of a build whose writes to paths containing `where` fail with errno
    `fault` (ENOSPC, EACCES, ...), injected by tests/faults/sitecustomize.py."""
    return {**_env(), "PYTHONPATH": str(FAULTS), "ONPOLICY_TEST_FAULT": f"{fault}:{where}"}
