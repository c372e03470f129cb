"""Local preview: serve cfg.out_dir, rebuild when sources change, live-reload the browser.

It serves what GitHub Pages serves: files, `dir/index.html` for `dir/`, the site's 404.html
for a missing path at any depth, and no directory listings. The live-reload script is
injected into HTML responses only; files on disk never contain it. While the last build
failed, every HTML response also carries its error, until a build succeeds. Paths are
resolved against cfg.out_dir on every request, so the directory the build pipeline swaps in
is served at once (nothing holds the old directory open).
"""
from __future__ import annotations

import html
import io
import json
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from .atomic import defer_removal, remove_pending
from .errors import ConfigError

LIVERELOAD_PATH = "/__livereload"
ERROR_BOX_ID = "__build_error"
ERROR_BOX_STYLE = ("position:fixed;left:1rem;right:1rem;bottom:1rem;max-height:50vh;"
                   "overflow:auto;z-index:99999;margin:0;padding:1rem;background:#2b0d0d;"
                   "color:#ffd7d7;font:13px/1.4 monospace;white-space:pre-wrap;border-radius:6px")
# %(since)d: the build generation the page was served at, so a build that finishes before
# the event stream connects is not missed.
LIVERELOAD_SCRIPT = """<script>
(function () {
  if (!window.EventSource) return;
  var events = new EventSource("%(path)s?since=%(since)d");
  events.addEventListener("reload", function () { location.reload(); });
  events.addEventListener("build-error", function (event) {
    var box = document.getElementById("%(box)s") || document.createElement("pre");
    box.id = "%(box)s";
    box.textContent = "Build failed:\\n" + JSON.parse(event.data);
    box.style.cssText = "%(style)s";
    document.body.appendChild(box);
  });
})();
</script>"""
KEEPALIVE_S = 15.0
WATCH_STEP_MS = 20


class BuildEvents:
    """The latest build outcome, for the SSE streams to wait on."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.generation = 0
        self.error: str | None = None

    def publish(self, error: str | None = None) -> None:
        with self._condition:
            self.generation += 1
            self.error = error
            self._condition.notify_all()

    def wait_after(self, generation: int, timeout: float) -> tuple[int, str | None]:
        with self._condition:
            self._condition.wait_for(lambda: self.generation != generation, timeout=timeout)
            return self.generation, self.error


def error_box(error: str) -> str:
    return (f'<pre id="{ERROR_BOX_ID}" style="{ERROR_BOX_STYLE}">Build failed:\n'
            f"{html.escape(error)}</pre>")


def inject_livereload(page: bytes, generation: int = 0, error: str | None = None) -> bytes:
    """The live-reload script (and the last build error, if any) before </body>."""
    extra = LIVERELOAD_SCRIPT % {"path": LIVERELOAD_PATH, "since": generation,
                                 "box": ERROR_BOX_ID, "style": ERROR_BOX_STYLE}
    if error:
        extra = error_box(error) + extra
    added = extra.encode("utf-8")
    at = page.lower().rfind(b"</body>")
    return page[:at] + added + page[at:] if at >= 0 else page + added


class PreviewHandler(SimpleHTTPRequestHandler):
    out_dir: Path            # set on the subclass the server makes
    events: BuildEvents
    stopping: threading.Event

    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=str(self.out_dir), **kwargs)

    def log_request(self, code="-", size="-") -> None:  # quiet: only failed requests
        if str(getattr(code, "value", code)).startswith(("4", "5")):
            super().log_request(code, size)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_GET(self) -> None:
        if urlsplit(self.path).path == LIVERELOAD_PATH:
            self.stream_events()
        else:
            super().do_GET()

    def send_head(self):
        if "\x00" in unquote(urlsplit(self.path).path):  # no file has a NUL in its name
            self.send_error(HTTPStatus.BAD_REQUEST, "bad path")
            return None
        path = Path(self.translate_path(self.path))
        if path.is_dir() and urlsplit(self.path).path.endswith("/"):
            path = path / "index.html"
        if path.suffix == ".html" and path.is_file():
            return self.send_html(path, HTTPStatus.OK)
        return super().send_head()

    def list_directory(self, path):  # GitHub Pages lists no directories: a missing page
        self.send_error(HTTPStatus.NOT_FOUND, "no index.html here")
        return None

    def send_html(self, path: Path, status: HTTPStatus) -> io.BytesIO:
        body = inject_livereload(path.read_bytes(), self.events.generation, self.events.error)
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None):
        page = self.out_dir / "404.html"
        if code == HTTPStatus.NOT_FOUND and page.is_file() and self.command in ("GET", "HEAD"):
            body = self.send_html(page, HTTPStatus.NOT_FOUND)
            if self.command == "GET":
                self.wfile.write(body.getvalue())
            return
        super().send_error(code, message, explain)

    def stream_events(self) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "keep-alive")
        self.end_headers()
        since = parse_qs(urlsplit(self.path).query).get("since", [""])[0]
        generation = int(since) if since.isdigit() else self.events.generation
        try:
            self.wfile.write(b": connected\n\n")
            self.wfile.flush()
            while not self.stopping.is_set():
                new, error = self.events.wait_after(generation, KEEPALIVE_S)
                if self.stopping.is_set():
                    break
                if new == generation:
                    message = b": keepalive\n\n"  # also notices closed connections
                else:
                    generation = new
                    event = "build-error" if error else "reload"
                    message = f"event: {event}\ndata: {json.dumps(error or new)}\n\n".encode()
                self.wfile.write(message)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass


def watch_and_rebuild(paths: list[Path], rebuild: Callable[[], None], events: BuildEvents,
                      stop: threading.Event, log: Callable[[str], None] = print) -> None:
    """Runs in a thread: one rebuild per batch of changes (watchfiles debounces them)."""
    import watchfiles

    existing = [str(p) for p in paths if p.exists()]
    if not existing:
        return
    # step: how long the watcher waits for more changes once one came (an editor's save is a
    # few writes and renames within milliseconds); it adds to every rebuild's latency.
    for changes in watchfiles.watch(*existing, stop_event=stop, debounce=300, step=WATCH_STEP_MS,
                                    raise_interrupt=False):
        names = sorted({Path(path).name for _, path in changes})
        log(f"changed: {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}; rebuilding")
        started = time.monotonic()
        try:
            rebuild()
        except Exception as err:  # keep serving; show the error in the browser
            log(f"rebuild failed: {err}")
            events.publish(error=str(err))
            remove_pending()
            continue
        events.publish()
        remove_pending()  # the previous site, once the browser was told to reload
        log(f"rebuilt in {time.monotonic() - started:.1f}s")


class QuietHTTPServer(ThreadingHTTPServer):
    """A client that leaves mid-response (a closed tab, a reload) is normal for a preview:
    no traceback for it; anything else is still printed."""
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class PreviewServer:
    """The HTTP server plus its watcher thread; serve() runs one until Ctrl-C."""

    def __init__(self, cfg, host: str = "127.0.0.1", port: int = 8000,
                 rebuild: Callable[[], None] | None = None, log: Callable[[str], None] = print):
        self.cfg = cfg
        self.events = BuildEvents()
        self.stop = threading.Event()
        self.log = log
        handler = type("Handler", (PreviewHandler,),
                       {"out_dir": Path(cfg.out_dir), "events": self.events,
                        "stopping": self.stop})
        try:
            self.httpd = QuietHTTPServer((host, port), handler)
        except OSError as err:  # before any build: a wrong port must not cost a build
            raise ConfigError(f"cannot serve on {host}:{port}: {err.strerror or err} "
                              "(is another server using it?); choose another --port") from None
        self.rebuild = rebuild
        self.watcher: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def watched_paths(self) -> list[Path]:
        cfg = self.cfg
        return [cfg.src_dir, cfg.templates_dir, cfg.static_dir, cfg.root / "experiments"]

    def start_watching(self) -> None:
        if self.rebuild is None or self.watcher is not None:
            return
        self.watcher = threading.Thread(
            target=partial(watch_and_rebuild, self.watched_paths(), self.rebuild, self.events,
                           self.stop, self.log), name="onpolicy-watch", daemon=True)
        self.watcher.start()

    def serve_forever(self) -> None:
        self.start_watching()
        self.httpd.serve_forever(poll_interval=0.2)

    def shutdown(self) -> None:
        self.stop.set()
        self.events.publish()  # wake the event streams so their threads end
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.watcher is not None:
            self.watcher.join(timeout=5)


def serve(cfg, host: str = "127.0.0.1", port: int = 8000,
          rebuild: Callable[[], None] | None = None, errors: tuple = (Exception,)) -> None:
    """Serve cfg.out_dir on http://host:port/ until Ctrl-C, rebuilding on source changes.
    The port is bound first, then the site is built once; a failed build (one of `errors`)
    is shown on every page, and the previous site stays served."""
    from .memo import remember_between_builds
    remember_between_builds()  # this process builds again and again: keep what it can reuse
    defer_removal()
    server = PreviewServer(cfg, host, port, rebuild)
    # Watch before the first build: an edit made while it runs (or right after the "serving"
    # line) is seen, instead of racing the watcher's start-up.
    server.start_watching()
    if rebuild is not None:
        try:
            rebuild()
        except errors as err:
            print(f"error: {err}", file=sys.stderr)
            server.events.publish(error=str(err))
        remove_pending()
    print(f"serving {cfg.out_dir} on {server.url} (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        remove_pending()
