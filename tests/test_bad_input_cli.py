"""The command line against bad tables, contradicting flags and a hostile environment
(issue 20): a broken experiments/suite.py, suite rows that would crash in training, flags
that silently cancel each other, reserved names, a read-only checkout or results folder.

Each: a non-zero exit, one message naming the file (and line) or the flags, no traceback,
every file of the copy byte-identical afterwards (tests/badinput.py's Snapshot).
"""
from __future__ import annotations

import errno
import re
from pathlib import Path

import pytest

from onpolicy.cli_checks import describe_os_error
from onpolicy.config import ROOT, BuildConfig
from tests.badinput import (SUITE, Snapshot, _edit, _line_of, assert_fails, build, faulty_env,
                            tiny, tiny_fails)

pytestmark = pytest.mark.slow

COMMANDS = [("status",), ("build", "--frozen"), ("--no-train",)]


@pytest.mark.parametrize("broken, why", [
    ("EXPERIMENTS: list[Experiment] = _build(", r"SyntaxError: '\(' was never closed"),
    ("EXPERIMENTS: list[Experiment] = _build()\nundefined_name + 1",
     r"NameError: name 'undefined_name' is not defined"),
], ids=["syntax", "name"])
def test_a_broken_experiment_table_is_one_message_for_every_command(repo, broken, why):
    suite = repo / "experiments" / "suite.py"
    _edit(suite, "EXPERIMENTS: list[Experiment] = _build()", broken)
    line = _line_of(suite, broken.splitlines()[-1])
    snap = Snapshot(repo)
    for command in COMMANDS:
        proc = build(repo, *command)
        assert_fails(proc, rf"^error: cannot load the experiment table: experiments/suite\.py:"
                           rf"{line}: {why}")
        snap.assert_intact(proc)


def test_a_broken_table_named_by_suite(repo):
    (repo / "tests" / "broken_suite.py").write_text("EXPERIMENTS = [\n", encoding="utf-8")
    for command in COMMANDS:
        proc = build(repo, *command, "--suite", "tests.broken_suite")
        assert_fails(proc, r"^error: cannot load the experiment table 'tests\.broken_suite': "
                           r"tests/broken_suite\.py:1: SyntaxError")


@pytest.mark.parametrize("name", ["", ".x", "experiments/suite.py", "a..b"])
def test_suite_must_be_a_module_name(repo, name):
    snap = Snapshot(repo)
    proc = build(repo, "status", "--suite", name)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert f"argument --suite: {name!r} is not a Python module name" in proc.stderr
    snap.assert_intact(proc)


TABLE = """\
from experiments.suite import Experiment, validate_rows  # noqa: F401 - the package's checks
from tests.tiny_suite import EXPERIMENTS as _TINY

_row = _TINY[0]
EXPERIMENTS = [_TINY[1], Experiment("tiny-supervised", {entry!r}, {{**_row.config, {change}}})]
"""


@pytest.mark.parametrize("entry, change, why", [
    ("experiments.methods.supervised", '"hidden": 10**9',
     "hidden must be at most 16384 (got 1000000000): more does not fit in memory"),
    ("experiments.methods.supervised", '"batch_size": 10**8', "batch_size must be at most"),
    ("experiments.mnist_files", '"seed": 0', "entry module experiments.mnist_files defines no "
                                             "run() and no merge()"),
    ("experiments.no_such_module", '"seed": 0', "entry module 'experiments.no_such_module' "
                                                "not found"),
], ids=["hidden", "batch", "no-run", "no-module"])
def test_rows_that_would_crash_in_training_are_refused_first(repo, entry, change, why):
    (repo / "tests" / "bad_suite.py").write_text(TABLE.format(entry=entry, change=change),
                                                 encoding="utf-8")
    snap = Snapshot(repo)
    for args in (("status", "--suite", "tests.bad_suite"),
                 ("--suite", "tests.bad_suite", "--rerun", "all")):
        proc = build(repo, *args)
        assert_fails(proc, rf"^error: tests/bad_suite\.py: row 'tiny-supervised': "
                           rf"{re.escape(why)}")
        assert "training" not in proc.stderr, proc.stderr
        snap.assert_intact(proc)


@pytest.mark.parametrize("args, why", [
    (("--no-train", "--rerun", "tiny-supervised"), "--no-train trains nothing, so --rerun "
                                                   "tiny-supervised cannot run"),
    (("--frozen", "--rerun", "all"), "--frozen trains nothing, so --rerun all cannot run"),
    (("--only", "tiny-supervised", "--rerun", "tiny-pg_random"),
     "--rerun tiny-pg_random is not among the --only experiments (tiny-supervised)"),
    (("--no-train", "--only", "tiny-supervised"), "--only chooses what to train, and "
                                                  "--no-train trains nothing"),
    (("--ray-address", "10.0.0.5:6379"), "--ray-address is used only with --executor ray"),
    (("serve", "--rerun", "tiny-supervised"), "serve trains nothing without --train"),
    (("serve", "--train", "--frozen"), "--train contradicts --frozen"),
], ids=["no-train-rerun", "frozen-rerun", "only-rerun", "no-train-only", "ray-address",
        "serve-rerun", "serve-train-frozen"])
def test_contradicting_flags_are_refused(repo, args, why):
    snap = Snapshot(repo)
    proc = build(repo, *args, "--suite", SUITE)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert f"error: {why}" in proc.stderr, proc.stderr
    assert "training" not in proc.stderr
    snap.assert_intact(proc)


@pytest.mark.parametrize("slug", ["static", "data"])
def test_new_refuses_names_the_site_uses(repo, slug):
    snap = Snapshot(repo)
    proc = build(repo, "new", slug)
    assert_fails(proc, rf"^error: '{slug}' is a name the site itself uses")
    snap.assert_intact(proc)
    assert not (repo / "site_src" / slug).exists()


def test_a_page_cannot_take_a_reserved_url(repo):
    (repo / "site_src" / "assets.md").write_text(
        "---\ntitle: Assets\ndescription: x\nslug: static\n---\nText.\n", encoding="utf-8")
    tiny_fails(repo, expect=[r"^error: site_src/assets\.md:4: the URL static/ is the site's "
                             r"CSS, scripts and fonts"])


def test_a_read_only_checkout_says_so(repo, tmp_path):
    """The lock and caches live in the checkout: another --out cannot help there."""
    proc = tiny(repo, "--frozen", "--out", str(tmp_path / "site"),
                env=faulty_env("EROFS", ".build.lock"))
    err = assert_fails(proc, r"^error: \.build\.lock: Read-only file system; the checkout is "
                             r"read-only, and the build keeps its lock")
    assert "--out" not in err, err


def test_a_read_only_results_folder_says_so(repo):
    err = tiny_fails(repo, "--rerun", "tiny-supervised", env=faulty_env("EROFS", "/results/"),
                     expect=[r"^error: results/tiny-supervised\.json: Read-only file system; "
                             r"results/ is read-only, and the build writes the results it "
                             r"trains there: .*--no-train"])
    assert "another --out" not in err, err


def test_a_full_disk_names_the_destination_of_a_copy():
    """shutil.copy2 reports a failed write with the source as filename (node_modules/...):
    the message names the file that could not be written."""
    cfg = BuildConfig()
    src = str(ROOT / "node_modules" / "katex" / "dist" / "katex.min.css")
    dst = str(ROOT / "public.tmp-1-ab" / "static" / "katex" / "katex.min.css")
    message = describe_os_error(OSError(errno.ENOSPC, "No space left on device", src, None,
                                        dst), cfg)
    assert message.startswith("public.tmp-1-ab/static/katex/katex.min.css: No space left on "
                              "device; the disk is full"), message
    limits = describe_os_error(OSError(errno.EMFILE, "Too many open files", src), cfg)
    assert "raise the limit (ulimit -n" in limits, limits
    out = describe_os_error(OSError(errno.EACCES, "Permission denied",
                                    str(Path("/srv/site.tmp-2-cd"))),
                            BuildConfig(out_dir=Path("/srv/site")))
    assert "choose another --out you can write to" in out, out
