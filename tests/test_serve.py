"""The preview server: injection only in served HTML, 404 page, directory swaps, live reload."""
from __future__ import annotations

import http.client
import os
import re
import threading
import time
from pathlib import Path

import pytest

from onpolicy.config import BuildConfig
from onpolicy.serve import LIVERELOAD_PATH, PreviewServer

PAGE = "<!doctype html><html><head><title>{0}</title></head><body><p>{0}</p></body></html>"


def write_site(out: Path, label: str) -> None:
    (out / "article").mkdir(parents=True)
    (out / "index.html").write_text(PAGE.format(f"home {label}"))
    (out / "article" / "index.html").write_text(PAGE.format(f"article {label}"))
    (out / "404.html").write_text(PAGE.format("not found"))
    (out / "data.json").write_text('{"x": 1}')


@pytest.fixture
def preview(tmp_path):
    def start(rebuild=None) -> PreviewServer:
        for name in ("src", "templates", "static", "experiments"):
            (tmp_path / name).mkdir(exist_ok=True)
        cfg = BuildConfig(root=tmp_path, out_dir=tmp_path / "public", src_dir=tmp_path / "src",
                          templates_dir=tmp_path / "templates", static_dir=tmp_path / "static")
        write_site(cfg.out_dir, "v1")
        server = PreviewServer(cfg, port=0, rebuild=rebuild, log=lambda message: None)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server
    servers: list[PreviewServer] = []
    yield start
    for server in servers:
        server.shutdown()


def get(server: PreviewServer, path: str) -> tuple[int, str, dict]:
    host, port = server.httpd.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read().decode()
    connection.close()
    return response.status, body, dict(response.getheaders())


def test_html_gets_the_livereload_script_but_files_on_disk_do_not(preview):
    server = preview()
    status, body, headers = get(server, "/article/")
    assert status == 200 and "article v1" in body and LIVERELOAD_PATH in body
    assert body.index(LIVERELOAD_PATH) < body.index("</body>")
    assert int(headers["Content-Length"]) == len(body.encode())
    assert LIVERELOAD_PATH not in (server.cfg.out_dir / "article/index.html").read_text()
    status, body, _ = get(server, "/data.json")
    assert status == 200 and body == '{"x": 1}'


def test_missing_paths_get_the_404_page(preview):
    server = preview()
    status, body, _ = get(server, "/no/such/page/")
    assert status == 404 and "not found" in body and LIVERELOAD_PATH in body
    status, _, headers = get(server, "/article")
    assert status == 301 and headers["Location"].endswith("/article/")


def test_a_swapped_in_directory_is_served_at_once(preview):
    server = preview()
    assert "home v1" in get(server, "/")[1]
    out = server.cfg.out_dir
    fresh = out.with_name("public.new")
    write_site(fresh, "v2")
    os.rename(out, out.with_name("public.old"))
    os.rename(fresh, out)
    assert "home v2" in get(server, "/")[1]


def read_event(server: PreviewServer, trigger, timeout: float = 15.0) -> tuple[str, str]:
    """Open the SSE stream, run trigger(), return the first (event, data) that arrives."""
    host, port = server.httpd.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    connection.request("GET", LIVERELOAD_PATH)
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/event-stream"
    assert response.fp.readline().startswith(b": connected")
    trigger()
    event, deadline = "", time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = response.fp.readline().decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[len("event: "):]
        elif line.startswith("data: ") and event:
            connection.close()
            return event, line[len("data: "):]
    connection.close()
    raise AssertionError("no event arrived")


def test_source_change_rebuilds_and_reloads(preview):
    rebuilt = threading.Event()
    server = preview(rebuild=rebuilt.set)
    time.sleep(0.5)  # let the watcher start

    def edit() -> None:
        (server.cfg.src_dir / "page.md").write_text("---\ntitle: x\n---\n")
    event, _ = read_event(server, edit)
    assert event == "reload" and rebuilt.is_set()


def test_failed_rebuild_is_shown_not_reloaded(preview):
    def rebuild() -> None:
        raise RuntimeError("src/page.md:3: something is wrong")
    server = preview(rebuild=rebuild)
    time.sleep(0.5)

    def edit() -> None:
        (server.cfg.templates_dir / "base.html").write_text("changed")
    event, data = read_event(server, edit)
    assert event == "build-error" and "src/page.md:3: something is wrong" in data


def raw_get(server: PreviewServer, path: str) -> tuple[int, bytes]:
    """A request with the path sent as is (http.client refuses some bytes the test needs)."""
    import socket

    host, port = server.httpd.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1]) if data else 0
    return status, data


def test_directories_are_never_listed(preview):
    server = preview()
    (server.cfg.out_dir / "static" / "css").mkdir(parents=True)
    (server.cfg.out_dir / "static" / "css" / "site.css").write_text("body{}")
    for path in ("/static/", "/static/css/", "/article/../static/"):
        status, body, _ = get(server, path)
        assert status == 404 and "not found" in body and "site.css" not in body, (path, body)
    assert get(server, "/static/css/site.css")[0] == 200


def test_missing_paths_at_any_depth_get_the_404_page(preview):
    server = preview()
    for path in ("/nope", "/a/b/c/d.html", "/article/nope/", "/static/nope.css?x=1"):
        status, body, _ = get(server, path)
        assert status == 404 and "not found" in body, (path, status)


def test_a_nul_byte_in_the_path_is_a_bad_request(preview):
    server = preview()
    for path in ("/%00", "/article/%00/", "/a%00b.html"):
        status, data = raw_get(server, path)
        assert status == 400, (path, data[:200])
    assert get(server, "/")[0] == 200  # the server is still fine


def test_the_last_build_error_stays_on_every_page_until_a_build_succeeds(preview):
    outcome = {"error": "src/page.md:3: something is wrong"}

    def rebuild() -> None:
        if outcome["error"]:
            raise RuntimeError(outcome["error"])
    server = preview(rebuild=rebuild)
    time.sleep(0.5)

    def edit() -> None:
        (server.cfg.src_dir / "page.md").write_text(f"edit {time.monotonic()}")
    assert read_event(server, edit)[0] == "build-error"
    for path in ("/", "/", "/article/", "/no/such/page/"):  # reloads and new pages too
        status, body, _ = get(server, path)
        assert 'id="__build_error"' in body and "src/page.md:3: something is wrong" in body, path
    outcome["error"] = None
    assert read_event(server, edit)[0] == "reload"
    for path in ("/", "/article/"):
        assert 'id="__build_error"' not in get(server, path)[1]


def test_a_build_that_ends_before_the_event_stream_connects_is_not_missed(preview):
    """The page carries the build generation it was served at; a stream that connects later
    with ?since=that gets the newer outcome at once."""
    server = preview()
    body = get(server, "/")[1]
    since = int(re.search(r"__livereload\?since=(\d+)", body).group(1))
    server.events.publish()  # a build finished while the page was loading
    host, port = server.httpd.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("GET", f"{LIVERELOAD_PATH}?since={since}")
    response = connection.getresponse()
    lines = [response.fp.readline() for _ in range(4)]
    connection.close()
    assert b"event: reload\n" in lines, lines


def test_a_client_leaving_mid_response_prints_no_traceback(preview, capfd):
    """Reloads and closed tabs drop connections mid-response: each one used to print a
    BrokenPipeError / ConnectionResetError traceback. The server stays quiet and serving."""
    import socket
    import struct

    server = preview()
    (server.cfg.out_dir / "big.bin").write_bytes(b"\0" * (8 << 20))
    host, port = server.httpd.server_address[:2]
    for _ in range(5):
        client = socket.create_connection((host, port), timeout=10)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        client.recv(1024)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()                                   # a reset, with the body half sent
    time.sleep(1.0)
    assert get(server, "/")[0] == 200
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Error" not in err, err
