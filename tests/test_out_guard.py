"""`--out` never deletes what the build did not write (issue 11, part 1).

The build replaces its output directory only when it is new, empty or marked `.onpolicy-site`
by an earlier build; it refuses the checkout, its ancestors, source directories and files.
Every refusal: exit 1, one message naming the path and what to do, and every file of the copy
(and of the directory given) byte-identical afterwards.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from onpolicy.outdir import MARKER
from tests.badinput import Snapshot, _env, assert_fails, faulty_env, tiny, tree_hashes

pytestmark = pytest.mark.slow


@pytest.fixture
def checkout(repo) -> Path:
    """The copy with a stand-in .git (the copy has none), so --out .git is a real case."""
    (repo / ".git").mkdir()
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    return repo


def test_a_directory_of_someone_elses_files_is_refused(checkout, tmp_path):
    mine = tmp_path / "elsewhere" / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "keepme.txt").write_text("x\n", encoding="utf-8")
    snap = Snapshot(checkout, mine)
    proc = tiny(checkout, "--out", str(mine))
    assert_fails(proc, rf"--out {mine}\b", rf"no {MARKER} marker", r"would delete them")
    snap.assert_intact(proc)
    assert os.listdir(mine.parent) == ["mine"], "something was moved aside"


@pytest.mark.parametrize("out", [".", "..", "site_src", "templates", "static", "results",
                                 "experiments", ".git", ".cache", "site_src/site",
                                 "results/site", ".cache/site", "onpolicy"])
def test_the_checkout_and_its_sources_are_refused(checkout, out):
    snap = Snapshot(checkout)
    proc = tiny(checkout, "--out", out)
    err = assert_fails(proc, r"^error: --out ")
    if out in (".", ".."):
        assert "repository or a folder above it" in err, err
    else:
        assert "which the build reads or keeps state in" in err, err
    snap.assert_intact(proc)
    assert proc.returncode == 1
    assert not [p for p in checkout.parent.iterdir() if ".old-" in p.name or ".tmp-" in p.name]


def test_a_regular_file_is_refused_and_not_moved_aside(checkout):
    target = checkout / "somefile.txt"
    target.write_text("precious\n", encoding="utf-8")
    snap = Snapshot(checkout)
    proc = tiny(checkout, "--out", "somefile.txt")
    assert_fails(proc, r"--out somefile\.txt is a file, not a directory")
    snap.assert_intact(proc)
    assert target.read_text(encoding="utf-8") == "precious\n"
    assert not list(checkout.glob("somefile.txt.*"))


def test_a_symbolic_link_is_refused(checkout, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "notes.md").write_text("mine\n", encoding="utf-8")
    (checkout / "site-link").symlink_to(elsewhere, target_is_directory=True)
    snap = Snapshot(checkout, elsewhere)
    proc = tiny(checkout, "--out", "site-link")
    assert_fails(proc, r"--out site-link is a symbolic link")
    snap.assert_intact(proc)


def test_an_unmarked_public_dir_is_refused(checkout):
    """A public/ the build did not write (or an old one from before the marker existed)."""
    (checkout / "public" / MARKER).unlink()
    snap = Snapshot(checkout)
    proc = tiny(checkout)
    assert_fails(proc, rf"--out public is a directory with files the build did not write",
                 r"move those files away")
    snap.assert_intact(proc)


def test_new_empty_and_earlier_output_directories_are_built(checkout, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for out in (tmp_path / "new" / "site", empty, empty):  # the third: replaces its own output
        proc = tiny(checkout, "--out", str(out))
        assert proc.returncode == 0, proc.stderr
        assert (out / MARKER).is_file() and (out / "index.html").is_file()
    assert not [p for p in tmp_path.iterdir() if ".old-" in p.name or ".tmp-" in p.name]


def test_unmarked_siblings_named_like_build_leftovers_are_never_removed(checkout):
    """recover_dir cleans up public.tmp-PID / public.old-PID that a killed build left; a
    directory of the same shape without the marker is someone's files: left alone."""
    foreign = checkout / "public.old-1"
    foreign.mkdir()
    (foreign / "backup.txt").write_text("keep\n", encoding="utf-8")
    dead = subprocess.Popen(["true"])
    dead.wait()
    ours = checkout / f"public.tmp-{dead.pid}"  # a build that was killed
    ours.mkdir()
    (ours / MARKER).write_text("", encoding="utf-8")
    proc = tiny(checkout)
    assert proc.returncode == 0, proc.stderr
    assert (foreign / "backup.txt").read_text(encoding="utf-8") == "keep\n"
    assert not ours.exists(), "a marked leftover of a dead build was not cleaned up"


def test_a_read_only_out_directory_is_one_message(checkout, tmp_path):
    """As root, permissions do not stop writes; the refusal is injected (EACCES on creating
    the output's temporary directory), as a read-only location refuses it."""
    target = tmp_path / "readonly" / "site"
    target.parent.mkdir()
    snap = Snapshot(checkout, target.parent)
    proc = tiny(checkout, "--out", str(target), env=faulty_env("EACCES", "site.tmp-"))
    assert_fails(proc, r"^error: .*site\.tmp-\d+: Permission denied; no permission",
                 r"previous site and every frozen result are intact")
    snap.assert_intact(proc)
    assert tree_hashes(target.parent) == {}
    assert os.listdir(target.parent) == []


def test_serve_refuses_the_same_directories(checkout):
    snap = Snapshot(checkout)
    proc = subprocess.run([sys.executable, "build.py", "serve", "--port", "0", "--out", "."],
                          cwd=checkout, env=_env(), capture_output=True, text=True, timeout=60)
    assert_fails(proc, r"^error: --out \.: this is the repository")
    snap.assert_intact(proc)
