"""The article's figures on every screen, its accessibility, and the site outside the happy path.

Under the sub-path /onpolicy/ (conftest's server), with Debian's Chromium: at 1280x800 light
and dark, 390x844 and 320x568 (touch, phone), every chart is drawn; no legend takes more than a
third of its chart; the page never overflows sideways; touch screens get no toolbar (2D charts
are Chart.js canvases, which have none; 3D scenes hide plotly's); each canvas is role=img with a
label and nothing focusable inside; no
chart offers to send its data anywhere. axe-core (pinned in package.json, injected here) finds no
serious or critical violation on any page in either theme. The 404 page works at any depth
built with and without --base-url, and the site opened from disk (file://) navigates and draws.

Screenshots of each figure at each screen: test-artifacts/figures/<screen>-<chart id>.png.
"""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import SUB_PATH, SiteServer
from .test_browser import (ARTIFACTS, CHART_TIMEOUT_MS, ROOT, Recorder, _origin,  # noqa: F401
                           browser, pages)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENS = {  # name: (width, height, colour scheme, touch phone)
    "desktop-light": (1280, 800, "light", False),
    "desktop-dark": (1280, 800, "dark", False),
    "phone-390": (390, 844, "light", True),
    "phone-320": (320, 568, "dark", True),
}
OFF_SITE = r"cloud|share|chart studio|plotly\.com|edit in"

CHART_CHECK = """(e) => {
  const r = e.getBoundingClientRect();
  const scene = e.querySelector(".chart-scene");
  const legend = e.querySelector(".chart-legend, .chart-scene .legend");
  const canvases = Array.from(e.querySelectorAll(".chart-2d canvas"));
  const charts = canvases.map(c => Chart.getChart(c)).filter(Boolean);
  const offSite = Array.from(e.querySelectorAll("[data-title], [title], a[href]"))
    .map(x => [x.getAttribute("data-title"), x.getAttribute("title"), x.getAttribute("href")]
      .join(" ")).filter(t => new RegExp(OFF_SITE, "i").test(t));
  return {
    id: e.getAttribute("data-chart-id"), error: e.getAttribute("data-error"),
    mode: e.getAttribute("data-mode"), height: r.height, width: r.width,
    legend: legend ? legend.getBoundingClientRect().height : 0,
    modebar: !!e.querySelector(".modebar"),
    sendToCloud: !!(scene && scene._context && scene._context.showSendToCloud),
    offSite: offSite,
    traces: charts.reduce((n, ch) => n + ch.data.datasets.length, 0) +
            (scene && scene._fullData || []).length,
    unnamedCanvases: canvases.filter(c => c.getAttribute("role") !== "img" ||
                                          !(c.getAttribute("aria-label") || "").trim()).length,
    focusableInImg: e.querySelectorAll("[role=img] a, [role=img] button, [role=img] [tabindex]")
      .length,
  };
}""".replace("OFF_SITE", repr(OFF_SITE))


def _context(browser, screen: str):  # noqa: F811
    width, height, scheme, phone = SCREENS[screen]
    ctx = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme,
                              is_mobile=phone, has_touch=phone, reduced_motion="reduce",
                              service_workers="block")
    ctx.set_default_timeout(30_000)
    return ctx


def _axe(page) -> list[str]:
    """Serious and critical axe-core violations on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => {
      const r = await axe.run(document, {resultTypes: ["violations"]});
      return r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
        .map(v => `${v.id} (${v.impact}): ${v.nodes.length}x ` +
             v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | "));
    }""")
    return found


def _article_url(site_url: str, built_site: Path) -> str:
    for html in built_site.glob("*/index.html"):
        if 'property="og:type" content="article"' in html.read_text(encoding="utf-8"):
            return site_url + html.parent.name + "/"
    raise AssertionError("no article page")


@pytest.mark.parametrize("screen", list(SCREENS))
def test_figures_fit_the_screen(browser, site_url, built_site, screen):  # noqa: F811
    url = _article_url(site_url, built_site)
    ctx = _context(browser, screen)
    shots = ARTIFACTS / "figures"
    shots.mkdir(parents=True, exist_ok=True)
    try:
        page = ctx.new_page()
        rec = Recorder(page, _origin(url))
        page.goto(url, wait_until="load")
        charts = page.locator(".chart[data-chart-src]")
        assert charts.count() > 0
        problems = []
        for i in range(charts.count()):
            chart = charts.nth(i)
            chart.scroll_into_view_if_needed()
            page.wait_for_function("e => e.getAttribute('data-drawn') === 'true' || "
                                   "e.hasAttribute('data-error')", arg=chart.element_handle(),
                                   timeout=CHART_TIMEOUT_MS)
            state = chart.evaluate(CHART_CHECK)
            where = f"{screen} {state['id']}"
            if state["error"] or not state["traces"]:
                problems.append(f"{where}: not drawn: {state}")
            if state["legend"] > state["height"] / 3 + 1:
                problems.append(f"{where}: legend {state['legend']:.0f} px of "
                                f"{state['height']:.0f} px")
            if SCREENS[screen][3] and state["modebar"]:
                problems.append(f"{where}: a toolbar on a touch screen")
            if state["unnamedCanvases"] or state["focusableInImg"]:
                problems.append(f"{where}: a canvas without role=img and a label, or focusable "
                                f"elements inside role=img: {state}")
            if state["sendToCloud"] or state["offSite"]:
                problems.append(f"{where}: offers to send data off the site: {state['offSite']}")
            chart.locator("xpath=ancestor::figure").screenshot(
                path=str(shots / f"{screen}-{state['id']}.png"))
        unreachable = page.evaluate("""() => Array.from(document.querySelectorAll(
            ".math-display, .prose table, .chart-data table, pre"))
          .filter(e => e.scrollWidth > e.clientWidth + 1 && e.offsetParent !== null &&
                       !(e.tabIndex === 0 && e.getAttribute("role") === "region" &&
                         e.getAttribute("aria-label") && e.classList.contains("scrolls")))
          .map(e => e.className || e.tagName)""")
        if unreachable:
            problems.append(f"{screen}: boxes that scroll sideways without keyboard access or "
                            f"cue: {unreachable[:5]}")
        current = page.evaluate("""() => Array.from(document.querySelectorAll(".toc a"))
            .findIndex(a => a.hasAttribute("aria-current"))""")
        if current <= 0:
            problems.append(f"{screen}: after scrolling to the last figure the contents list "
                            f"marks entry {current}")
        overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
        if overflow > 0:
            problems.append(f"{screen}: the page overflows sideways by {overflow} px")
        if screen.startswith("desktop"):
            problems += [f"{screen} axe: {v}" for v in _axe(page)]
        problems += [f"console: {e}" for e in rec.console_errors] + rec.outside()
        assert not problems, "\n".join(problems)
    finally:
        ctx.close()


def _blank_rows(element) -> tuple[float, float]:
    """Shares of the element's height, at its top and at its bottom, where nothing differs
    from its background (its most common colour; faint grid lines count as ink)."""
    from PIL import Image  # Pillow comes with torchvision
    image = Image.open(io.BytesIO(element.screenshot())).convert("RGB")
    background = max(image.getcolors(1 << 20) or [(0, (0, 0, 0))])[1]
    width, height = image.size
    pixels = image.load()
    inked = [sum(1 for x in range(0, width, 2)
                 if sum(abs(a - b) for a, b in zip(pixels[x, y], background)) > 30) > width // 200
             for y in range(height)]
    if True not in inked:
        return 1.0, 1.0
    return inked.index(True) / height, inked[::-1].index(True) / height


HIDDEN_SERIES = """e => Array.from(e.querySelectorAll(".chart-2d canvas"))
  .map(c => Chart.getChart(c)).filter(Boolean)
  .flatMap(ch => ch.data.datasets.filter((d, i) => !ch.isDatasetVisible(i))
                   .map(d => (d.trace && d.trace.name) || d.label))"""


def test_hidden_series_stay_hidden_when_the_chart_is_redrawn(browser, site_url,  # noqa: F811
                                                             built_site):
    """A series hidden with the legend stays hidden after a resize redraws the chart (a phone
    turned sideways), in the legend and on the canvases."""
    ctx = _context(browser, "desktop-light")
    try:
        page = ctx.new_page()
        page.goto(_article_url(site_url, built_site), wait_until="load")
        chart = page.locator(".chart[data-chart-src]:has(.chart-legend)").first
        page.locator(".chart[data-chart-src]").first.scroll_into_view_if_needed()
        chart.wait_for(timeout=CHART_TIMEOUT_MS)
        chart.scroll_into_view_if_needed()
        button = chart.locator(".chart-legend button").first
        name = button.text_content()
        button.click()
        hidden = chart.evaluate(HIDDEN_SERIES)
        assert name in hidden, (name, hidden)
        old_canvas = chart.locator(".chart-2d canvas").first.element_handle()
        page.set_viewport_size({"width": 700, "height": 800})
        page.wait_for_function("c => !c.isConnected", arg=old_canvas, timeout=CHART_TIMEOUT_MS)
        chart.locator(".chart-2d canvas").first.wait_for(timeout=CHART_TIMEOUT_MS)
        assert chart.locator(".chart-legend button").first.get_attribute("aria-pressed") == "false"
        assert chart.evaluate(HIDDEN_SERIES) == hidden
    finally:
        ctx.close()


def test_a_surface_turns_3d_and_back(browser, site_url, built_site):  # noqa: F811
    """The 3D button loads the gl3d bundle and paints a WebGL scene that fills its box (no band
    of empty space above it); only one scene is live."""
    url = _article_url(site_url, built_site)
    ctx = _context(browser, "desktop-light")
    try:
        page = ctx.new_page()
        page.goto(url, wait_until="load")
        surfaces = page.locator(".chart-3d .chart")
        assert surfaces.count() >= 2
        for i in (0, 1):
            chart = surfaces.nth(i)
            chart.scroll_into_view_if_needed()
            page.wait_for_function("e => e.getAttribute('data-drawn') === 'true'",
                                   arg=chart.element_handle(), timeout=CHART_TIMEOUT_MS)
            chart.locator("xpath=preceding-sibling::div[@class='chart-views']") \
                .locator("button[data-view='3d']").click()
            page.wait_for_function("e => e.getAttribute('data-mode') === '3d' && "
                                   "!e.hasAttribute('aria-busy')", arg=chart.element_handle(),
                                   timeout=CHART_TIMEOUT_MS)
            assert chart.locator("canvas").count() > 0
            page.mouse.move(0, 0)   # no hover toolbar in the picture
            top, bottom = _blank_rows(chart.locator(".chart-scene"))
            assert top < 0.14, f"{top:.0%} of the 3D scene's height is empty above it"
            assert bottom < 0.14, f"{bottom:.0%} of the 3D scene's height is empty below it"
            name = f"desktop-light-3d-{chart.get_attribute('data-chart-id')}.png"
            chart.locator("xpath=ancestor::figure").screenshot(
                path=str(ARTIFACTS / "figures" / name))
        modes = [surfaces.nth(i).get_attribute("data-mode") for i in range(surfaces.count())]
        assert modes.count("3d") == 1 and modes[1] == "3d", modes
        views = page.locator(".chart-views").nth(1).locator("button:not([data-view='slices'])"
                                                            ":not([data-view='3d'])")
        assert views.count() >= 1 and views.first.is_visible()
        views.first.click()
    finally:
        ctx.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_axe_every_page(browser, pages, theme):  # noqa: F811
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=theme,
                              service_workers="block")
    problems = []
    try:
        for rel, url in pages:
            page = ctx.new_page()
            page.goto(url, wait_until="load")
            problems += [f"{rel} ({theme}): {v}" for v in _axe(page)]
            page.close()
    finally:
        ctx.close()
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def site_without_base_url(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("plain") / "public"
    proc = subprocess.run([sys.executable, "build.py", "--frozen", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env={**__import__("os").environ, "TQDM_DISABLE": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.parametrize("missing", ["nope/", "a/b/c/deep.html"])
def test_404_at_depth_without_base_url(browser, site_without_base_url, missing):  # noqa: F811
    server = SiteServer()
    server.site_dir = site_without_base_url
    server.start()
    ctx = _context(browser, "desktop-light")
    try:
        page = ctx.new_page()
        rec = Recorder(page, _origin(server.base_url))
        rec.expected_404 = server.base_url + missing
        response = page.goto(server.base_url + missing, wait_until="load")
        assert response.status == 404
        page.wait_for_load_state("networkidle")
        sheets = page.evaluate("""() => Array.from(document.styleSheets)
            .map(s => [s.href, s.cssRules.length])""")
        assert sheets and all(n > 0 for _, n in sheets), sheets
        assert page.locator(".theme-toggle").first.is_visible(), "theme.js did not load"
        assert not rec.outside() and not rec.console_errors, (rec.outside(), rec.console_errors)
        page.locator("a.site-title").click()
        page.wait_for_load_state("load")
        assert page.url == server.base_url
    finally:
        ctx.close()
        server.shutdown()
        server.server_close()


def test_site_opened_from_disk_navigates_and_draws(browser, built_site):  # noqa: F811
    ctx = _context(browser, "desktop-light")
    try:
        page = ctx.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((built_site / "index.html").as_uri(), wait_until="load")
        nav = page.locator(".site-nav a").first
        assert nav.get_attribute("href").endswith("index.html")
        article = next(a for a in page.locator(".site-nav a").all()
                       if "why" in (a.get_attribute("href") or ""))
        article.click()
        page.wait_for_load_state("load")
        assert page.url.startswith("file://") and page.url.endswith("/index.html"), page.url
        assert page.locator("h1").count() == 1
        chart = page.locator(".chart[data-chart-src]").first
        chart.scroll_into_view_if_needed()
        page.wait_for_function("e => e.getAttribute('data-drawn') === 'true' || "
                               "e.hasAttribute('data-error')", arg=chart.element_handle(),
                               timeout=CHART_TIMEOUT_MS)
        assert chart.get_attribute("data-error") is None, chart.get_attribute("data-error")
        assert not errors, errors
    finally:
        ctx.close()
