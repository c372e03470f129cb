"""Bad input and interrupted builds, end to end through the CLI, in a copy of the repository.

Each case runs `python build.py ...` as a user would, in a throwaway copy of the checkout
(tracked + untracked-not-ignored files, node_modules symlinked), on the synthetic two-row
table tests/tiny_suite.py and a minimal set of pages. For every case:

* the build exits non-zero with a clear message naming the file (and the line, where the
  input has one);
* the previous public/ is byte-identical (every file hashed before and after);
* the frozen results are byte-identical;
and, for killed builds, the next build succeeds and leaves no public.tmp-* / public.old-*.
"""
from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.badinput import (BUILD_TIMEOUT_S, SUITE, Snapshot, _edit, _env, _line_of,
                            assert_fails, build, leftovers, tiny, tiny_fails, tree_hashes)

pytestmark = pytest.mark.slow


# -- the copy is what runs --------------------------------------------------------------------

def test_the_copy_runs_its_own_code(repo):
    """build.py's directory comes first on sys.path, so the copy's onpolicy/, experiments/
    and tests/ are imported, not the checkout's (or an editable install's)."""
    probe = repo / "where_probe.py"   # run the same way as build.py: as a script in the root
    probe.write_text("import onpolicy, experiments, tests.tiny_suite as t\n"
                     "print(onpolicy.__file__); print(experiments.__file__); print(t.__file__)\n",
                     encoding="utf-8")
    out = subprocess.run([sys.executable, probe.name], cwd=repo, capture_output=True,
                         text=True, env=_env(), check=True).stdout.split()
    assert len(out) == 3
    for path in out:
        assert Path(path).resolve().is_relative_to(repo.resolve()), out


def test_second_build_trains_nothing(repo):
    before = Snapshot(repo)
    proc = tiny(repo)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"\b0 trained\b", proc.stderr), proc.stderr
    assert tree_hashes(repo / "results") == before.results
    assert leftovers(repo) == []


def test_two_builds_at_once_wait_for_each_other(repo):
    """Two builds that both retrain everything: the lock serialises them, both succeed, and
    what is left is one whole site and valid, fresh results."""
    env = _env()
    cmd = [sys.executable, "build.py", "--suite", SUITE, "--rerun", "all"]
    procs = [subprocess.Popen(cmd, cwd=repo, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=BUILD_TIMEOUT_S) for p in procs]
    for proc, (_, err) in zip(procs, outs):
        assert proc.returncode == 0, err
        assert re.search(r"\b2 trained\b", err), err
    assert any("another build holds" in err for _, err in outs), \
        "neither build reported waiting for the other"
    status = build(repo, "status", "--suite", SUITE)
    assert status.returncode == 0 and "2 fresh" in status.stdout, status.stdout + status.stderr
    assert leftovers(repo) == []
    assert (repo / "public" / "index.html").is_file()


# -- bad pages ----------------------------------------------------------------------------

def test_malformed_front_matter(repo):
    page = repo / "site_src" / "index.md"
    _edit(page, "description: A minimal", "description: [unclosed, A minimal")
    line = _line_of(page, "[unclosed")
    tiny_fails(repo, expect=[rf"site_src/index\.md:{line}\b", r"(?i)yaml"])


def test_unknown_chart_id(repo):
    page = repo / "site_src" / "index.md"
    _edit(page, "Math:", "{{ chart('no-such-chart', caption='x') }}\n\nMath:")
    line = _line_of(page, "no-such-chart")
    tiny_fails(repo, expect=[rf"site_src/index\.md:{line}\b", r"no-such-chart"])


def test_undefined_result_key(repo):
    page = repo / "site_src" / "index.md"
    _edit(page, "Math:", "Oops: {{ results['tiny-supervised'].no_such_key | percent }}.\n\nMath:")
    line = _line_of(page, "no_such_key")
    tiny_fails(repo, expect=[rf"site_src/index\.md:{line}\b", r"no_such_key"])


def test_unknown_result_name(repo):
    page = repo / "site_src" / "index.md"
    _edit(page, "Math:", "Oops: {{ results['no-such-result'].final_accuracy.mean }}.\n\nMath:")
    line = _line_of(page, "no-such-result")
    tiny_fails(repo, expect=[rf"site_src/index\.md:{line}\b", r"no-such-result"])


def test_broken_tex(repo):
    page = repo / "site_src" / "index.md"
    _edit(page, "\\frac{a}{b} = c", "\\frac{a}{b = c")
    line = _line_of(page, "\\frac{a}{b = c")
    snap = Snapshot(repo)
    proc = tiny(repo)
    # The formula spans lines (a $$ block): its own line or the block's first line.
    err = assert_fails(proc, r"site_src/index\.md:(\d+)\b", r"(?i)katex|tex")
    reported = int(re.search(r"site_src/index\.md:(\d+)\b", err).group(1))
    assert line - 2 <= reported <= line, f"line {reported}, the formula is at {line}:\n{err}"
    snap.assert_intact(proc)


# -- bad results --------------------------------------------------------------------------

def test_missing_result_with_frozen(repo):
    (repo / "results" / "tiny-supervised.json").unlink()
    tiny_fails(repo, "--frozen", expect=[
        r"--frozen", r"tiny-supervised: missing", r"tiny-supervised\.json"])
    assert not (repo / "results" / "tiny-supervised.json").exists()


def test_corrupt_result_json(repo):
    path = repo / "results" / "tiny-supervised.json"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")   # truncated mid-write
    tiny_fails(repo, "--frozen", expect=[
        r"tiny-supervised: corrupt", r"results/tiny-supervised\.json:\d+:",
        r"(?i)not valid JSON"])


def test_hand_edited_result(repo):
    path = repo / "results" / "tiny-supervised.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["result"]["final_accuracy"]["mean"] = 1.0   # a "better" number, typed in by hand
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tiny_fails(repo, "--frozen", expect=[
        r"tiny-supervised: corrupt", r"results/tiny-supervised\.json",
        r"result_sha256"])


def test_old_schema_with_frozen(repo):
    path = repo / "results" / "tiny-supervised.json"
    text = path.read_text(encoding="utf-8")
    new, n = re.subn(r'^ "schema": \d+(,?)$', r' "schema": 0\1', text, count=1, flags=re.M)
    assert n == 1, "the result file's top-level schema field was not found"
    path.write_text(new, encoding="utf-8")
    tiny_fails(repo, "--frozen", expect=[r"tiny-supervised: stale", r"schema version 0 -> \d+"])


def test_missing_mnist_directory(repo):
    snap = Snapshot(repo)
    proc = build(repo, "--only", "binary-supervised", "--rerun", "binary-supervised",
                 "--mnist-dir", "/nonexistent", "--device", "cpu")
    assert_fails(proc, r"/nonexistent", r"(?i)mnist", r"--mnist-dir")
    snap.assert_intact(proc)
    assert leftovers(repo) == []


# -- interrupted builds -------------------------------------------------------------------

SLOW_SUITE = """\
from onpolicy.contract import Experiment
from tests.tiny_suite import EXPERIMENTS as _TINY

# One row that trains for minutes: long enough to be interrupted mid-training.
_row = _TINY[0]
EXPERIMENTS = [Experiment("slow-supervised", _row.entry,
                          {**_row.config, "steps": 200000, "eval_every": 1000, "seeds": [0],
                           "seed_batch": 1})]
"""


class Running:
    """A build started on a pseudo-terminal (so progress bars show, as for a user), in its
    own process group (so a signal reaches it and its children, like Ctrl-C in a shell)."""

    live: list["Running"] = []   # stopped by the `no_stray_builds` fixture, whatever happens

    def __init__(self, repo: Path, *args: str):
        self.master, slave = pty.openpty()
        # A real terminal's size: with the 0x0 of a bare pty, tqdm draws zero-width bars.
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
        self.proc = subprocess.Popen([sys.executable, "build.py", *args], cwd=repo,
                                     stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                                     env={**_env(), "TERM": "dumb", "COLUMNS": "120"},
                                     start_new_session=True)
        os.close(slave)
        self.output = b""
        self.closed = False
        Running.live.append(self)

    def read(self, timeout: float = 0.05) -> str:
        while True:
            ready, _, _ = select.select([self.master], [], [], timeout)
            if not ready:
                break
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            self.output += chunk
            timeout = 0
        return self.output.decode("utf-8", "replace")

    def wait_for(self, pattern: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.read(0.1)):
                return True
            if self.proc.poll() is not None:
                self.read(0.1)
                return bool(re.search(pattern, self.read(0)))
        return False

    def signal(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.read(0.1)
        if self.proc.poll() is None:
            text = self.read(0)
            self.close()
            raise AssertionError(f"the build did not stop within {timeout} s:\n{text}")
        text = self.read(0.2)
        self.close()
        return self.proc.returncode, text

    def close(self) -> None:
        if self.proc.poll() is None:
            self.signal(signal.SIGKILL)
            self.proc.wait(10)
        if not self.closed:
            os.close(self.master)
            self.closed = True


@pytest.fixture(autouse=True)
def no_stray_builds():
    yield
    while Running.live:
        Running.live.pop().close()


def _assert_recovers(repo: Path, snap: Snapshot, *args: str) -> None:
    """The next build succeeds (without training), and nothing is left over."""
    proc = tiny(repo, *args)
    assert proc.returncode == 0, f"the build after the interrupted one failed:\n{proc.stderr}"
    assert leftovers(repo) == [], leftovers(repo)
    assert tree_hashes(repo / "results") == snap.results


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_interrupted_training(repo, sig):
    (repo / "tests" / "slow_suite.py").write_text(SLOW_SUITE, encoding="utf-8")
    snap = Snapshot(repo)
    run = Running(repo, "--suite", "tests.slow_suite", "--device", "cpu")
    started = run.wait_for(r"slow-supervised.*\d+/200000", timeout=120)
    assert started, f"no training progress bar appeared:\n{run.read(0)}"
    time.sleep(0.5)  # well inside the loop
    run.signal(sig)
    code, out = run.finish()
    if sig == signal.SIGINT:
        assert code == 130, f"exit {code}:\n{out}"
        assert "interrupted" in out and "Traceback" not in out, out
    else:
        assert code == -signal.SIGKILL, f"exit {code}:\n{out}"
    snap.assert_intact()
    assert not (repo / "results" / "slow-supervised.json").exists()
    assert not [p for p in (repo / "results").iterdir() if p.name.startswith(".")], \
        "a temporary result file was left behind"
    _assert_recovers(repo, snap)


def _slow_pages(site: Path, version: str, pages: int = 25, formulas: int = 20) -> None:
    """Enough pages with never-seen formulas that rendering takes a noticeable time."""
    for n in range(pages):
        body = "\n\n".join(f"Formula {k}: $\\sum_{{i={n}}}^{{{k}}} x_i^{{{version}}} + "
                           f"\\frac{{{n}}}{{{k + 1}}}$ and more words to set." for k in
                           range(formulas))
        (site / f"page-{n:03d}.md").write_text(
            f"---\ntitle: Page {n} {version}\ndescription: Filler page {n}.\n---\n"
            f"# Page {n}\n\n## Part one\n\n{body}\n", encoding="utf-8")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_interrupted_rendering(repo, sig):
    """Signals at several moments of the render phase (found by watching for the
    public.tmp-PID directory): the previous site stays, whole, every time."""
    site = repo / "site_src"
    _slow_pages(site, "1")
    first = tiny(repo)
    assert first.returncode == 0, first.stderr
    snap = Snapshot(repo)
    outcomes, messages = [], []
    for attempt, delay in enumerate((0.0, 0.05, 0.15, 0.3, 0.6)):
        # New content every time, so an interrupted build differs from the site on disk.
        _slow_pages(site, f"{attempt + 2}")
        snap.sources_edited()
        run = Running(repo, "--suite", SUITE)
        deadline = time.monotonic() + 60
        while not leftovers(repo) and run.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        if run.proc.poll() is not None:
            code, out = run.finish()
            raise AssertionError(f"the build ended (exit {code}) before rendering was seen:\n{out}")
        time.sleep(delay)
        run.signal(sig)
        code, out = run.finish()
        outcomes.append(code)
        messages.append(out.strip().splitlines()[-1] if out.strip() else "")
        if code == 0 or "\nbuilt " in f"\n{out}":
            # It finished before the signal landed (possibly during interpreter shutdown,
            # which then exits with -SIGINT): the new site is in place, whole.
            snap = Snapshot(repo)
            continue
        if sig == signal.SIGINT:
            assert code == 130, f"exit {code}:\n{out}"
            assert "Traceback" not in out, out
            assert "interrupted: the previous site and every frozen result are intact" in out, out
        else:
            assert code == -signal.SIGKILL, f"exit {code}:\n{out}"
        public = repo / "public"
        swapped_in = None  # the site on disk if the kill landed after the swap (new, whole)
        if not public.exists():  # killed between the two renames of the swap: recoverable
            olds = [p for p in repo.iterdir() if p.name.startswith("public.old-")]
            assert len(olds) == 1 and tree_hashes(olds[0]) == snap.public, out
        elif tree_hashes(public) != snap.public:
            # Killed after the second rename, before the old copy was removed: the new site
            # must then be whole, i.e. exactly what the recovery build renders below.
            swapped_in = tree_hashes(public)
            assert tree_hashes(repo / "results") == snap.results, "the frozen results changed"
        else:
            snap.assert_intact()
        _assert_recovers(repo, snap)
        if swapped_in is not None:
            assert tree_hashes(public) == swapped_in, \
                f"a partial site was swapped in before the kill:\n{out}"
        snap = Snapshot(repo)
        assert f"Page 0 {attempt + 2}" in (public / "page-000" / "index.html").read_text(
            encoding="utf-8"), "the recovery build did not render the new content"
    print(f"{sig.name} during rendering, exit codes: {outcomes}; last lines: {messages}")
    assert any(code != 0 for code in outcomes), f"no signal landed mid-render: {outcomes}"
