"""The KaTeX node worker's life (onpolicy/render/katex.py): it runs in its own process group,
so Ctrl-C in a terminal reaches the build alone, and ending it never raises, so an interrupt
is reported as one instead of as a broken pipe."""
from __future__ import annotations

import os
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
