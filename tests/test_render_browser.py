"""Charts in a real browser (headless Chromium): drawn when scrolled to, themed, self-hosted."""
from __future__ import annotations

import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.test_render import ARTICLE_META, build, page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHART_IDS = ["curves-binary", "surface-pg-a1", "dial"]


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("no chromium on PATH")
    with sync_api.sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(
                executable_path=executable,
                args=["--no-sandbox", "--use-gl=swiftshader", "--enable-unsafe-swiftshader"])
        except Exception as err:  # no display libraries etc.
            pytest.skip(f"chromium does not start: {err}")
        yield chromium
        chromium.close()


def test_charts_draw_lazily_follow_the_theme_and_stay_on_origin(tmp_path, browser):
    body = "## Charts\n\n" + "\n\n".join(
        f"Some text.\n\n{{{{ chart('{c}', caption='{c}', alt='{c}') }}}}" for c in CHART_IDS)
    out, _ = build(tmp_path, {"article.md": page(body, extra=ARTICLE_META)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    requests, errors = [], []
    try:
        tab = browser.new_page(viewport={"width": 1200, "height": 800}, color_scheme="light")
        tab.on("request", lambda request: requests.append(request.url))
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.goto(f"{origin}/article/")
        assert tab.evaluate("document.documentElement.dataset.theme") == "light"
        charts = tab.locator(".chart")
        assert charts.count() == len(CHART_IDS)
        tab.wait_for_timeout(500)
        assert tab.locator(f'.chart[data-chart-id="{CHART_IDS[-1]}"][data-drawn]').count() == 0
        for i in range(charts.count()):
            charts.nth(i).scroll_into_view_if_needed()
            tab.wait_for_selector(f'.chart[data-chart-id="{CHART_IDS[i]}"][data-drawn="true"]',
                                  timeout=20_000)
        colour = "Chart.getChart(document.querySelector('.chart canvas')).options.color"
        light = tab.evaluate(colour)
        tab.click(".theme-toggle")
        tab.wait_for_function(f"{colour} !== '{light}'", timeout=5_000)
        assert tab.evaluate("localStorage.getItem('theme')") == "dark"
        bundle_loads = sum("/static/chartjs-" in url for url in requests)
        gl3d_loads = sum("plotly-gl3d" in url for url in requests)
        tab.reload()
        assert tab.evaluate("document.documentElement.dataset.theme") == "dark"
    finally:
        server.shutdown()
        server.server_close()
    assert not errors, errors
    assert requests and all(url.startswith(origin) for url in requests), \
        [u for u in requests if not u.startswith(origin)]
    assert bundle_loads == 1  # loaded once, for all charts
    assert gl3d_loads == 0    # the 3D bundle loads only when a reader asks for a 3D view
