"""Shared fixtures.

`built_site`: the real site, built ONCE per test session from the frozen results
(`build.py --frozen`) into a temporary directory, with the base URL of the local server below.
`site_url`: that site served over HTTP under a sub-path, http://127.0.0.1:PORT/onpolicy/, the
way GitHub Pages serves a project site: it proves that every link works below the domain root.

While results/ is being regenerated, ONPOLICY_TEST_SITE_FLAGS="--quick --no-train" checks the
site built from the --quick results instead (never in CI: the default is --frozen).
"""
from __future__ import annotations

import mimetypes
import os
import posixpath
import shlex
import signal
import subprocess
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

# Never let Playwright fetch a browser: the browser tests drive Debian's /usr/bin/chromium.
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

# A test run started in the background (`cmd &` from a script, nohup, some CI runners) starts
# with SIGINT ignored, and every build it spawns would inherit that and shrug off Ctrl-C. The
# tests that press Ctrl-C on a build need it delivered, as in a terminal: a handler set here is
# reset to the default in the children when they exec.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

def pytest_addoption(parser):
    parser.addoption("--mnist-dir", metavar="DIR",
                     help="directory with the MNIST IDX .gz files for the real-MNIST tests, "
                          "as build.py --mnist-dir (sets MNIST_DIR)")


def pytest_configure(config):
    if config.getoption("--mnist-dir"):
        os.environ["MNIST_DIR"] = str(Path(config.getoption("--mnist-dir")).expanduser()
                                      .resolve())


ROOT = Path(__file__).resolve().parent.parent
SUB_PATH = "/onpolicy/"        # the site's path on the server (a GitHub project site's /<repo>/)
BUILD_TIMEOUT_S = 600

for _ext, _type in ((".js", "text/javascript"), (".mjs", "text/javascript"),
                    (".json", "application/json"), (".svg", "image/svg+xml"),
                    (".woff2", "font/woff2"), (".woff", "font/woff"), (".ttf", "font/ttf"),
                    (".xml", "application/xml"), (".webmanifest", "application/manifest+json")):
    mimetypes.add_type(_type, _ext)


class SubPathHandler(BaseHTTPRequestHandler):
    """Serves `server.site_dir` at SUB_PATH only, like GitHub Pages serves a project site.

    /onpolicy/x/ -> x/index.html; /onpolicy/x (a directory) -> 301 to /onpolicy/x/;
    a missing file under /onpolicy/ -> 404 with the site's 404.html; anything else -> bare 404.
    Every request is recorded in `server.requests` as (method, path, status).
    """

    protocol_version = "HTTP/1.1"
    server: "SiteServer"

    def log_message(self, format, *args):  # quiet: the tests report what matters
        pass

    def do_HEAD(self):
        self._serve(head=True)

    def do_GET(self):
        self._serve(head=False)

    def _send(self, status: int, body: bytes, content_type: str, head: bool,
              extra: dict | None = None) -> None:
        self.server.requests.append((self.command, self.path, status))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _not_found(self, head: bool, in_site: bool) -> None:
        page = self.server.site_dir / "404.html"
        if in_site and page.is_file():
            self._send(HTTPStatus.NOT_FOUND, page.read_bytes(), "text/html; charset=utf-8", head)
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8", head)

    def _serve(self, head: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        if path + "/" == SUB_PATH:
            return self._send(HTTPStatus.MOVED_PERMANENTLY, b"", "text/plain", head,
                              {"Location": SUB_PATH})
        if not path.startswith(SUB_PATH):
            return self._not_found(head, in_site=False)
        rel = posixpath.normpath(path[len(SUB_PATH):] or ".")
        if rel.startswith("..") or rel.startswith("/"):
            return self._not_found(head, in_site=True)
        root = self.server.site_dir
        target = (root / rel).resolve()
        if not target.is_relative_to(root.resolve()):
            return self._not_found(head, in_site=True)
        if target.is_dir():
            if not path.endswith("/"):
                return self._send(HTTPStatus.MOVED_PERMANENTLY, b"", "text/plain", head,
                                  {"Location": path + "/"})
            target = target / "index.html"
        if not target.is_file():
            return self._not_found(head, in_site=True)
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype in ("application/json", "application/xml",
                                                 "image/svg+xml"):
            ctype += "; charset=utf-8"
        self._send(HTTPStatus.OK, target.read_bytes(), ctype, head)


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), SubPathHandler)
        self.site_dir: Path = Path("/nonexistent")
        self.requests: list[tuple[str, str, int]] = []
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{SUB_PATH}"

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self.serve_forever, name="site-server",
                                            daemon=True)
            self._thread.start()


@pytest.fixture(scope="session")
def site_server():
    """The HTTP server, bound early: the build needs its port for --base-url."""
    server = SiteServer()
    yield server
    if server._thread is not None:
        server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def built_site(tmp_path_factory, site_server) -> Path:
    """public/ of the real site, built once from the frozen results; never trains.

    Fails (does not skip) with the build's own message when a result is stale or missing:
    the fix is to run `python build.py` and commit results/.
    """
    out = tmp_path_factory.mktemp("site") / "public"
    flags = shlex.split(os.environ.get("ONPOLICY_TEST_SITE_FLAGS", "--frozen"))
    cmd = [sys.executable, "build.py", *flags, "--out", str(out),
           "--base-url", site_server.base_url]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TQDM_DISABLE": "1"}
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=BUILD_TIMEOUT_S)
    if proc.returncode != 0:
        pytest.fail(f"`{' '.join(cmd[1:])}` failed (exit {proc.returncode}):\n"
                    f"{proc.stderr[-6000:]}{proc.stdout[-2000:]}", pytrace=False)
    assert (out / "index.html").is_file(), f"the build made no {out}/index.html"
    site_server.site_dir = out
    return out


@pytest.fixture(scope="session")
def site_url(built_site, site_server) -> str:
    """http://127.0.0.1:PORT/onpolicy/ serving `built_site`."""
    site_server.site_dir = built_site
    site_server.start()
    return site_server.base_url


@pytest.fixture(scope="module")
def torch_one_thread():
    """Tiny tensors run fastest on one thread, and a busy machine is not oversubscribed."""
    import torch  # here, not at the top: most tests never need torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# The end-to-end bad-input fixtures (a trained copy of the checkout, a private copy per test).
from tests.badinput import repo, template_repo  # noqa: E402,F401  (registers the fixtures)
