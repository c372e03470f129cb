"""Bad sources and flags (issue 11, parts 2-4): pages, settings, templates, suite rows, flags.

Each: a non-zero exit, one message (file:line where the input has lines), no traceback, and
every file of the copy byte-identical afterwards (tests/badinput.py's Snapshot).
"""
from __future__ import annotations

import re

import pytest

from tests.badinput import (Snapshot, _edit, _env, _line_of, assert_fails, build, tiny,
                            tiny_fails)

pytestmark = pytest.mark.slow


# -- pages and settings -----------------------------------------------------------------

def test_page_with_bytes_that_are_not_utf8(repo):
    page = repo / "site_src" / "index.md"
    lines = page.read_bytes().split(b"\n")
    lines[6] = b"Caf\xe9 latin-1 text"   # line 7
    page.write_bytes(b"\n".join(lines))
    tiny_fails(repo, expect=[
        r"^error: site_src/index\.md:7: not UTF-8 text: byte 0xe9 at column 4",
        r"save the file as UTF-8"])


def test_settings_with_bytes_that_are_not_utf8(repo):
    (repo / "site_src" / "_site.yaml").write_bytes(b"title: Tiny\nauthor: Jos\xe9\n")
    tiny_fails(repo, expect=[r"^error: site_src/_site\.yaml:2: not UTF-8 text"])


def test_a_byte_order_mark_simply_works(repo):
    page = repo / "site_src" / "index.md"
    page.write_bytes(b"\xef\xbb\xbf" + page.read_bytes())
    proc = tiny(repo)
    assert proc.returncode == 0, proc.stderr
    assert "<title>Tiny" in (repo / "public" / "index.html").read_text(encoding="utf-8")


def test_an_impossible_date(repo):
    page = repo / "site_src" / "index.md"
    _edit(page, "title: Tiny\n", "title: Tiny\ndate: 2026-13-45\n")
    tiny_fails(repo, expect=[
        r"^error: site_src/index\.md:3: date '2026-13-45' is not a date "
        r"\(YYYY-MM-DD\)"])


def test_an_unclosed_if_is_named_at_its_opening_line(repo):
    page = repo / "site_src" / "index.md"
    _edit(page, "Math:", "{% if results %}\nShown when there are results.\n\nMath:")
    line = _line_of(page, "{% if results %}")
    tiny_fails(repo, expect=[
        rf"^error: site_src/index\.md:{line}: .*if.* never closed",
        r"\{% endif %\}"])


def test_chart_caption_that_is_not_text(repo):
    page = repo / "site_src" / "index.md"
    _edit(page, "Math:", "{{ chart('no-such-chart', caption=3) }}\n\nMath:")
    line = _line_of(page, "caption=3")
    tiny_fails(repo, expect=[
        rf"^error: site_src/index\.md:{line}: chart\(\): caption must be text "
        r"in quotes, got int 3"])


def test_broken_internal_links_and_anchors_fail_the_build(repo):
    page = repo / "site_src" / "index.md"
    _edit(page, "Math:", "See [nowhere](../no-such-page/) and [a section](#nope).\n\n"
                         "Also [home](./#tiny), fine.\n\nMath:")
    line = _line_of(page, "no-such-page")
    snap = Snapshot(repo)
    proc = tiny(repo)
    assert_fails(proc, rf"^error: site_src/index\.md:{line}: broken link '\.\./no-such-page/'",
                 rf"^site_src/index\.md:{line}: broken link '#nope': no anchor #nope")
    assert "#tiny" not in proc.stderr, proc.stderr
    snap.assert_intact(proc)


def test_a_link_from_the_404_page(repo):
    page = repo / "site_src" / "404.md"
    _edit(page, "Nothing here.", "Nothing here. Try [the missing page](missing/).")
    line = _line_of(page, "missing/")
    tiny_fails(repo, expect=[rf"^error: site_src/404\.md:{line}: broken link 'missing/'"])


# -- flags --------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["notaurl", "javascript:alert(1)", "ftp://example.org/",
                                 "//example.org/"])
def test_base_url_must_be_absolute_http(repo, url):
    snap = Snapshot(repo)
    proc = tiny(repo, "--base-url", url)
    assert_fails(proc, r"argument --base-url: .* is not an absolute http\(s\) URL")
    assert proc.returncode == 2
    snap.assert_intact(proc)


@pytest.mark.parametrize("value, why", [("-3", "-3 must be 1 or more"),
                                        ("0", "0 must be 1 or more"),
                                        ("many", "'many' is not a whole number")])
def test_threads_must_be_positive(repo, value, why):
    snap = Snapshot(repo)
    proc = tiny(repo, "--threads", value)
    assert_fails(proc, rf"argument --threads: {re.escape(why)}")
    assert proc.returncode == 2
    snap.assert_intact(proc)


def test_mnist_dir_that_is_a_file(repo):
    (repo / "digits.gz").write_bytes(b"\x1f\x8b")
    tiny_fails(repo, "--mnist-dir", "digits.gz", expect=[
        r"argument --data-dir/--mnist-dir: digits\.gz is a file, not a directory"])


def test_cuda_asked_for_without_cuda(repo):
    snap = Snapshot(repo)
    env = {**_env(), "CUDA_VISIBLE_DEVICES": ""}
    proc = build(repo, "--suite", "tests.tiny_suite", "--rerun", "tiny-supervised",
                 "--device", "cuda", env=env)
    assert_fails(proc, r"^error: --device cuda was asked for, but torch sees no CUDA device",
                 r"use --device cpu or auto")
    snap.assert_intact(proc)


# -- experiment table rows -------------------------------------------------------------------

BAD_SUITE = """\
from onpolicy.contract import Experiment
from tests.tiny_suite import EXPERIMENTS as _TINY
from tests.tiny_suite import validate_rows  # the package's checks of a row's config

_row = _TINY[0]
EXPERIMENTS = [_TINY[1], Experiment("tiny-supervised", _row.entry, {{**_row.config, {change}}})]
"""


@pytest.mark.parametrize("change, why", [
    ('"lr": -1', "lr must be a number > 0 (got -1)"),
    ('"seeds": []', "seeds must be a non-empty list of whole numbers >= 0 (got [])"),
    ('"steps": 0', "steps must be a whole number > 0 (got 0)"),
    ('"method": "sgd_magic"', "method 'sgd_magic' is not what experiments.methods.supervised "
                              "trains (known: supervised)"),
    ('"quick": {"steps": -5}', "quick: steps must be a whole number > 0 (got -5)"),
], ids=["lr", "seeds", "steps", "method", "quick-steps"])
def test_bad_suite_rows_are_named(repo, change, why):
    (repo / "tests" / "bad_suite.py").write_text(BAD_SUITE.format(change=change),
                                                 encoding="utf-8")
    snap = Snapshot(repo)
    for args in (("--rerun", "all"), ("status",)):
        cmd = [args[0], "--suite", "tests.bad_suite"] if args[0] == "status" else \
            ["--suite", "tests.bad_suite", *args]
        proc = build(repo, *cmd)
        assert_fails(proc, rf"^error: tests/bad_suite\.py: row 'tiny-supervised': "
                           rf"{re.escape(why)}")
        assert "training" not in proc.stderr, proc.stderr
        snap.assert_intact(proc)


def test_mnist_dir_variable_that_is_a_file(repo):
    (repo / "digits.gz").write_bytes(b"\x1f\x8b")
    snap = Snapshot(repo)
    env = {**_env(), "MNIST_DIR": str(repo / "digits.gz")}
    proc = build(repo, "--only", "binary-supervised", "--rerun", "binary-supervised",
                 "--device", "cpu", env=env)
    assert_fails(proc, r"^error: MNIST_DIR=\S+digits\.gz is a file, not a directory")
    snap.assert_intact(proc)
