"""What a newcomer reads from the CLI: `build.py --help` lists every flag of a build, `status
--check` tells whether a build would train (make site installs PyTorch only then), and a local
build's missing base URL is said once per output directory, not on every rebuild."""
from __future__ import annotations

import subprocess
import sys

from onpolicy import cli, pipeline
from onpolicy.config import ROOT
from tests.test_incremental import site  # noqa: F401 - fixture


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "build.py", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_top_level_help_lists_every_build_flag():
    build = next(action for action in cli.make_parser()._subparsers._group_actions[0]
                 .choices.values() if action.prog.endswith(" build"))
    flags = [opt for action in build._actions for opt in action.option_strings
             if opt not in ("-h", "--help")]
    assert len(flags) > 15
    shown = run("--help")
    assert shown.returncode == 0
    missing = [flag for flag in flags  # an alias follows its flag: "--data-dir DIR, --mnist-dir"
               if f"  {flag}" not in shown.stdout and f", {flag}" not in shown.stdout]
    assert missing == [], f"`build.py --help` does not list {missing}"
    assert "examples:" in shown.stdout and "{build,serve,status,new}" in shown.stdout


def test_status_check_exit_code_says_whether_a_build_would_train():
    fresh = run("status", "--check")
    assert fresh.returncode == 0, fresh.stdout[-2000:]  # the committed results are fresh
    assert "recorded: the training time stored in the result where it was trained" \
        in fresh.stdout
    tiny = run("status", "--check", "--suite", "tests.tiny_suite")  # none of its results exist
    assert tiny.returncode == 3
    assert "tiny-supervised" in tiny.stdout and "missing" in tiny.stdout
    assert run("status", "--suite", "tests.tiny_suite").returncode == 0  # no --check: a table


def test_base_url_note_is_said_once_per_output(site):  # noqa: F811 - the fixture
    said: list[str] = []
    first = pipeline.build(site, log=said.append)
    assert sum("base_url is not set" in line for line in said) == 1
    page = site.src_dir / "article" / "index.md"
    page.write_text(page.read_text() + "\nOne more sentence.\n")
    said.clear()
    second = pipeline.build(site, log=said.append)   # a rebuild that renders a page
    third = pipeline.build(site, log=said.append)    # and one that renders nothing
    assert second.rendered and third.site_unchanged
    assert not any("base_url is not set" in line for line in said), said
    assert any("base_url is not set" in w for w in first.warnings + second.warnings
               + third.warnings)  # still in the report and the manifest
