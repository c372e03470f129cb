"""The KaTeX node worker's life (onpolicy/render/katex.py): it runs in its own process group,
so Ctrl-C in a terminal reaches the build alone, and ending it never raises, so an interrupt
is reported as one instead of as a broken pipe."""
from __future__ import annotations

import os
import re
import shutil
import signal

import pytest

from onpolicy.config import ROOT
from onpolicy.render.katex import Formula, KatexRenderer

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "node_modules" / "katex").is_dir(),
    reason="needs node and node_modules/katex (make install)")


@pytest.fixture
def renderer(tmp_path):
    with KatexRenderer(ROOT / "node_modules", tmp_path) as katex:   # an empty cache: node runs
        yield katex


def test_the_worker_has_its_own_process_group(renderer):
    typeset, = renderer.render_many([Formula(r"\frac{1}{1 + e^{-x}}", display=False)])
    assert typeset.html and 'class="katex"' in typeset.html
    worker = renderer._process.pid
    assert os.getpgid(worker) == worker != os.getpgid(0)


def test_closing_after_the_worker_died_with_input_pending_does_not_raise(renderer):
    process = renderer._start()
    process.kill()
    process.wait()
    process.stdin.write('{"id": "never sent"')     # no newline: stays in the buffer
    renderer.close()                               # flushing it hits the dead pipe
    assert renderer._process is None


def test_an_aborted_close_does_not_wait_for_the_worker(renderer):
    process = renderer._start()
    process.send_signal(signal.SIGSTOP)            # a worker that would never read its input
    try:
        renderer.close(abort=True)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL


LIMITED = """\
import resource, sys
from pathlib import Path
from onpolicy.render.katex import Formula, KatexRenderer, KatexUnavailable
kind, value = sys.argv[1], int(sys.argv[2])
limit = {"memory": resource.RLIMIT_AS, "files": resource.RLIMIT_NOFILE}[kind]
resource.setrlimit(limit, (value, value))
try:
    with KatexRenderer(Path("node_modules"), Path(sys.argv[3])) as katex:
        katex.render_many([Formula("x^2", display=False)])
    print("typeset")
except KatexUnavailable as err:
    print(err)
"""


@pytest.mark.parametrize("kind, value", [("memory", 600 * 2**20), ("files", 12)])
def test_a_worker_stopped_by_a_resource_limit_says_which(tmp_path, kind, value):
    """Under a memory or open-files limit node dies at start with '#'-framed fatal lines;
    the message says how it ended, its error, and which limit to raise."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", LIMITED, kind, str(value), str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    out = proc.stdout.strip()
    assert out.startswith("the KaTeX node worker "), proc.stdout + proc.stderr
    assert re.match(r"the KaTeX node worker (was killed by signal|exited with status) \d+: "
                    r"[^#\s]", out), out
    assert "raise the limit" in out and "ulimit" in out, out
