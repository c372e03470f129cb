"""A hostile environment (issue 11): a full disk, a busy or impossible port, a failed build
under `serve`. The full disk is simulated (tests/faults/sitecustomize.py makes writes to
matching paths fail with ENOSPC, as a full disk does) rather than filling a real one.
"""
from __future__ import annotations

import http.client
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.badinput import (Snapshot, _edit, _env, assert_fails, faulty_env, leftovers, tiny,
                            tiny_fails, tree_hashes)

pytestmark = pytest.mark.slow

FULL_DISK = r"No space left on device; the disk is full: free some space and build again"
INTACT = r"The previous site and every frozen result are intact\.$"


@pytest.mark.parametrize("where", ["public.tmp-", "/index.html"], ids=["first-write", "a-page"])
def test_disk_full_while_writing_the_site(repo, where):
    tiny_fails(repo, env=faulty_env("ENOSPC", where), expect=[
        rf"^error: public(\.tmp-\d+-[0-9a-f]+/\S+)?: {FULL_DISK}\. {INTACT}"])
    assert leftovers(repo) == []


def test_disk_full_while_writing_a_result(repo):
    tiny_fails(repo, "--rerun", "tiny-supervised", env=faulty_env("ENOSPC", "/results/"), expect=[
        rf"^error: results/tiny-supervised\.json: {FULL_DISK}",
        INTACT])
    assert not [p.name for p in (repo / "results").iterdir() if p.name.startswith(".")]


def test_disk_full_while_writing_the_katex_cache(repo):
    page = repo / "site_src" / "index.md"
    _edit(page, "Math: $x^2 + y$", "Math: $x^2 + y + \\omega_{new}$")  # not in the cache yet
    tiny_fails(repo, env=faulty_env("ENOSPC", ".cache/katex/"), expect=[
        rf"^error: \.cache/katex/\w\w/\w+\.json: cannot write the KaTeX cache: "
        rf"{FULL_DISK}", INTACT])
    assert not list((repo / ".cache" / "katex").glob("**/.tmp-*")), "temporary files were left"
    assert leftovers(repo) == []


def test_katex_temporary_files_of_a_killed_build_are_removed(repo):
    stray = repo / ".cache" / "katex" / "ab" / ".tmp-killed"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_text("{", encoding="utf-8")
    proc = tiny(repo)
    assert proc.returncode == 0, proc.stderr
    assert not stray.exists()


# -- serve ------------------------------------------------------------------------------------

def serve(repo: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "build.py", "serve", "--suite", "tests.tiny_suite",
                             *args], cwd=repo, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("port", ["70000", "-1", "http"])
def test_serve_port_out_of_range(repo, port):
    snap = Snapshot(repo)
    proc = subprocess.run([sys.executable, "build.py", "serve", "--port", port], cwd=repo,
                          env=_env(), capture_output=True, text=True, timeout=60)
    assert_fails(proc, r"argument --port: ")
    assert proc.returncode == 2
    snap.assert_intact(proc)


def test_serve_port_in_use_fails_before_building(repo):
    page = repo / "site_src" / "index.md"
    _edit(page, "Math:", "{{ no_such_name }}\n\nMath:")  # a build would fail: it must not run
    snap = Snapshot(repo)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = serve(repo, "--port", str(port))
        out, err = proc.communicate(timeout=60)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    assert_fails(result, rf"^error: cannot serve on 127\.0\.0\.1:{port}: .*choose another --port")
    assert "no_such_name" not in err, f"it built before binding the port:\n{err}"
    snap.assert_intact(result)


def _get(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read().decode("utf-8", "replace")
    connection.close()
    return response.status, body


def test_serve_keeps_the_build_error_on_every_page_until_a_build_succeeds(repo):
    page = repo / "site_src" / "index.md"
    original = page.read_text(encoding="utf-8")
    _edit(page, "Math:", "{{ no_such_name }}\n\nMath:")
    proc = serve(repo, "--port", "0")
    try:
        line = proc.stdout.readline()
        match = re.search(r"on http://127\.0\.0\.1:(\d+)/", line)
        assert match, f"no 'serving' line: {line!r}"
        port = int(match.group(1))
        for path, status in (("/", 200), ("/", 200), ("/no/such/page/", 404)):
            code, body = _get(port, path)  # the same page twice: a reload still shows it
            assert code == status and 'id="__build_error"' in body, (path, code, body[-800:])
            assert "no_such_name" in body
        page.write_text(original, encoding="utf-8")  # fixed: the next build succeeds
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if 'id="__build_error"' not in _get(port, "/")[1]:
                break
            time.sleep(0.5)
        code, body = _get(port, "/")
        assert code == 200 and 'id="__build_error"' not in body, body[-800:]
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert "Traceback" not in err, err
    assert tree_hashes(repo / "results")
