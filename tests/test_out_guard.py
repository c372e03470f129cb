"""`--out` never deletes what the build did not write (issue 11, part 1).

The build replaces its output directory only when it is new, empty or marked `.onpolicy-site`
by an earlier build; it refuses the checkout, its ancestors, source directories and files.
Every refusal: exit 1, one message naming the path and what to do, and every file of the copy
(and of the directory given) byte-identical afterwards.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from onpolicy import atomic
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


def test_copies_of_the_site_beside_it_are_never_removed(checkout):
    """Only temporaries a build recorded as its own (in the lock file) are cleaned up; a copy
    of the built site, marker and all, named like a build's leftover, is someone's backup."""
    public = checkout / "public"
    dead = subprocess.Popen(["true"])
    dead.wait()
    copies = [checkout / "public.old-backup", checkout / f"public.tmp-{dead.pid}",
              checkout / f"public.old-{dead.pid}"]
    for copy in copies:
        shutil.copytree(public, copy)
    before = {copy: tree_hashes(copy) for copy in copies}
    for args in ((), ("--base-url", "https://example.org/site/")):  # a no-op, then a render
        proc = tiny(checkout, *args)
        assert proc.returncode == 0, proc.stderr
        for copy in copies:
            assert tree_hashes(copy) == before[copy], f"{copy.name} was changed or removed"


def test_a_killed_builds_recorded_temporaries_are_removed(tmp_path):
    """What the lock file records as a build's own is removed by the next build, and an
    output directory moved aside by a half-done swap is put back; nothing else is."""
    out = tmp_path / "public"
    with atomic.build_lock(tmp_path / ".build.lock") as lock:
        tmp = atomic.new_temp_dir(out, lock)
        (tmp / "page.html").write_text("half\n", encoding="utf-8")
        lock.claim(tmp_path / "public.old-1-abc", out, "old")
        (tmp_path / "public.old-1-abc").mkdir()
        (tmp_path / "public.old-1-abc" / "index.html").write_text("site\n", encoding="utf-8")
    (tmp_path / "public.tmp-2-mine").mkdir()      # not recorded: never touched
    with atomic.build_lock(tmp_path / ".build.lock") as lock:
        atomic.recover_dir(lock)
        assert lock.claims == []
    assert not tmp.exists()
    assert (out / "index.html").read_text(encoding="utf-8") == "site\n"
    assert (tmp_path / "public.tmp-2-mine").is_dir()


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("marker", ["empty", "link", "old-text", "copied", "edited"])
def test_a_marker_that_does_not_match_is_refused(checkout, tmp_path, marker):
    """The marker must list what the build wrote there, and the directory must hold it."""
    mine = tmp_path / "mine"
    _write(mine / "notes.md", "my notes\n")
    _write(mine / "index.html", "<p>my page</p>\n")
    if marker == "empty":
        _write(mine / MARKER, "")
    elif marker == "link":
        (mine / MARKER).symlink_to(checkout / "public" / MARKER)
    elif marker == "old-text":
        _write(mine / MARKER, "This directory was written by onpolicy's build (build.py).\n")
    elif marker == "copied":
        shutil.copy(checkout / "public" / MARKER, mine / MARKER)
    else:  # a built site, one of whose files was then edited by hand
        shutil.rmtree(mine)
        shutil.copytree(checkout / "public", mine)
        _write(mine / "index.html", "<p>edited by hand</p>\n")
    snap = Snapshot(checkout, mine)
    proc = tiny(checkout, "--out", str(mine))
    why = {"empty": "does not list the files", "link": "does not list the files",
           "old-text": "does not list the files", "copied": r"\S+, which the build wrote, is "
           "missing", "edited": r"index\.html was changed after the build wrote it"}[marker]
    assert_fails(proc, rf"^error: --out {mine} (has a|does not match its) {MARKER} marker",
                 why)
    snap.assert_intact(proc)


def test_files_added_to_the_output_are_kept(checkout):
    """A CNAME (or any file) added to public/ is carried into every new site; a file at a path
    the new site also writes is refused, not overwritten."""
    public = checkout / "public"
    _write(public / "CNAME", "example.org\n")
    _write(public / "extra" / "notes.txt", "mine\n")
    page = checkout / "site_src" / "index.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    proc = tiny(checkout)
    assert proc.returncode == 0, proc.stderr
    assert "kept 2 file(s) you added to public/" in proc.stderr, proc.stderr
    assert "One more line." in (public / "index.html").read_text(encoding="utf-8")
    assert (public / "CNAME").read_text(encoding="utf-8") == "example.org\n"
    assert (public / "extra" / "notes.txt").read_text(encoding="utf-8") == "mine\n"
    assert "CNAME" not in (public / MARKER).read_text(encoding="utf-8")
    _write(public / "about" / "index.html", "<p>my own about page</p>\n")
    _write(checkout / "site_src" / "about.md", "---\ntitle: About\ndescription: About.\n---\n"
           "# About\n\nText.\n")
    snap = Snapshot(checkout)
    snap.sources_edited()
    proc = tiny(checkout)
    assert_fails(proc, r"^error: public/about/index\.html is a file you added to the site",
                 r"move yours away")
    snap.assert_intact(proc)


def test_a_read_only_out_directory_is_one_message(checkout, tmp_path):
    """As root, permissions do not stop writes; the refusal is injected (EACCES on creating
    the output's temporary directory), as a read-only location refuses it."""
    target = tmp_path / "readonly" / "site"
    target.parent.mkdir()
    snap = Snapshot(checkout, target.parent)
    proc = tiny(checkout, "--out", str(target), env=faulty_env("EACCES", "site.tmp-"))
    assert_fails(proc, r"^error: .*site\.tmp-\d+-[0-9a-f]+: Permission denied; the output "
                       r"location is not writable: choose another --out",
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
