"""The article as a reader meets it, in Debian's Chromium: figures show what their text quotes,
3D only when asked, print draws every figure, nothing moves while the page is skimmed, a swipe
over a 3D scene on a phone scrolls the page, legends stay in sync and are one tab stop, and the
404 page is styled at any depth when the site is served from a domain root.

Screens as in test_browser_screens.py (1280 light and dark, 390 and 320 touch phones). Figure
screenshots go to test-artifacts/figures/ (test_browser_screens.py takes one of every figure at
every screen; these add the 3D scene on a phone and the printed page).
"""
from __future__ import annotations

import functools
import html as html_lib
import json
import re
import threading
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from onpolicy.render.templating import num, percent

from .test_browser import ARTIFACTS, CHART_TIMEOUT_MS, browser  # noqa: F401
from .test_browser_screens import (SCREENS, _article_url, _context,  # noqa: F401
                                   site_without_base_url)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ARTIFACTS / "figures"
DRAWN = ("e => e.getAttribute('data-drawn') === 'true' || e.hasAttribute('data-error')")
# Layout shifts since the page opened (buffered), those right after an input excluded, as CLS
# counts them; summed over the whole visit, which is stricter than CLS's worst session window.
CLS_START = """() => { window.__shifts = [];
  new PerformanceObserver(list => list.getEntries().forEach(e => {
    if (!e.hadRecentInput) window.__shifts.push(e.value); }))
    .observe({type: "layout-shift", buffered: true}); }"""
CLS_TOTAL = "() => window.__shifts.reduce((a, b) => a + b, 0)"
# Per legend: how many of its buttons the Tab key stops at.
TAB_STOPS = """() => Array.from(document.querySelectorAll(".chart-legend")).map(l =>
  Array.from(l.querySelectorAll("button")).filter(b => b.tabIndex >= 0).length)"""
# The dial's series: name -> visible, and its first panel's y-axis bounds.
SERIES = """e => { const ch = Chart.getChart(e.querySelector(".chart-2d canvas"));
  const shown = {};
  ch.data.datasets.forEach((d, i) => { shown[d.trace.name] = ch.isDatasetVisible(i); });
  return {shown: shown, min: ch.scales.y.min, max: ch.scales.y.max,
          pressed: Object.fromEntries(Array.from(e.querySelectorAll(".chart-legend button"))
            .map(b => [b.textContent, b.getAttribute("aria-pressed")]))}; }"""


def _open(ctx, url: str):
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(url, wait_until="load")
    return page, errors


def _chart(page, chart_id: str):
    chart = page.locator(f".chart[data-chart-id='{chart_id}']")
    chart.scroll_into_view_if_needed()
    page.wait_for_function(DRAWN, arg=chart.element_handle(), timeout=CHART_TIMEOUT_MS)
    return chart


# -- what a figure's text quotes is what the figure draws ---------------------------------------

def _text(page_html: str) -> str:
    body = re.sub(r"<annotation[^>]*>.*?</annotation>", " ", page_html, flags=re.S)
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", body)))


def _traces(site: Path, chart_id: str) -> dict[str, dict]:
    figure = json.loads((site / "data" / "charts" / f"{chart_id}.json").read_text("utf-8"))
    return {t["name"]: t for t in figure["data"] if t.get("name")}


def test_quoted_numbers_are_in_the_figures(built_site):
    """The numbers the estimator, dial and clip-sweep paragraphs quote are values their
    figures plot (Figs 19/20 used to plot per-minibatch cosines while the text quoted those of
    the averaged direction)."""
    html = next(p for p in built_site.glob("*/index.html")
                if "og:type\" content=\"article" in p.read_text("utf-8")).read_text("utf-8")
    text = _text(html)
    problems = []
    cos = _traces(built_site, "estimators-cos")
    for task in ("binary", "categorical"):
        for label in ("vanilla PG, on-policy", "importance-weighted PG, random actions",
                      "vanilla PG, random actions", "PPO, random actions",
                      "vanilla PG, random actions: exact expectation"):
            value = num(cos[f"{label}, {task}"]["y"][-1], 2)
            if value not in text:
                problems.append(f"estimators-cos {label}, {task}: {value} not quoted")
    cosines = text[text.index("At the last checkpoint"):text.index("but its error stays")]
    cosines = re.sub(r"with the minibatch noise subtracted.*?of its length", "", cosines)
    quoted = re.findall(r"(\d\.\d\d)", cosines)
    plotted = {num(t["y"][-1], 2) for t in cos.values()}
    problems += [f"estimators text quotes {q}, which Fig. estimators-cos does not plot"
                 for q in quoted if q not in plotted]
    dial = _traces(built_site, "dial")
    on = dial["vanilla PG, on-policy (ε = 0)"]["y"][0]
    if f"On-policy, vanilla PG ends at {percent(on)}" not in text:
        problems.append(f"dial: the on-policy level {percent(on)} is not the one quoted")
    pg = dial["vanilla PG"]
    cliff = re.search(r"At ϵ = ([\d.]+) (?:ϵ = [\d.]+ )?, that is [\d.]+% random actions, every seed failed, at "
                      r"a median step of [\d,]+, and the accuracy ended at ([\d.]+%)", text)
    if cliff is None:
        problems.append("dial: the cliff sentence is missing")
    else:
        at = pg["x"].index(float(cliff.group(1)))
        if percent(pg["y"][at]) != cliff.group(2):
            problems.append(f"dial: the text says {cliff.group(2)} at the cliff, the figure "
                            f"plots {percent(pg['y'][at])}")
    clip = _traces(built_site, "ppo-clip")
    for value in clip["PPO, binary"]["y"] + clip["PPO, categorical"]["y"]:
        if percent(value) not in text:
            problems.append(f"ppo-clip plots {percent(value)}, which the text does not quote")
    assert not problems, "\n".join(problems)


# -- 3D only when asked; a swipe over a scene on a phone scrolls the page ------------------------

@pytest.mark.parametrize("motion", ["reduce", "no-preference"])
def test_no_surface_turns_3d_by_itself(browser, site_url, built_site, motion):  # noqa: F811
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, reduced_motion=motion,
                              service_workers="block")
    try:
        page, errors = _open(ctx, _article_url(site_url, built_site))
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        surfaces = page.locator(".chart-3d .chart")
        for i in range(2):
            surface = surfaces.nth(i)
            surface.scroll_into_view_if_needed()
            page.wait_for_function(DRAWN, arg=surface.element_handle(), timeout=CHART_TIMEOUT_MS)
            page.wait_for_timeout(2000)   # the old dwell was 0.7 s
            assert surface.get_attribute("data-mode") == "slices"
        assert not [u for u in requests if "plotly-gl3d" in u], "the 3D bundle was fetched"
        assert not errors, errors
    finally:
        ctx.close()


@pytest.mark.parametrize("screen", ["phone-390", "phone-320"])
def test_a_swipe_over_a_3d_scene_scrolls_the_page(browser, site_url, built_site,  # noqa: F811
                                                  screen):
    ctx = _context(browser, screen)
    try:
        page, errors = _open(ctx, _article_url(site_url, built_site))
        surface = _chart(page, "surface-pg-a1")
        surface.locator("xpath=preceding-sibling::div[@class='chart-views']") \
            .locator("button[data-view='3d']").click()
        page.wait_for_function("e => e.getAttribute('data-mode') === '3d' && "
                               "!e.hasAttribute('aria-busy')", arg=surface.element_handle(),
                               timeout=CHART_TIMEOUT_MS)
        page.wait_for_timeout(500)
        surface.locator("xpath=ancestor::figure").screenshot(
            path=str(SHOTS / f"{screen}-3d-surface-pg-a1.png"))
        box = surface.locator(".chart-scene").bounding_box()
        width = SCREENS[screen][0]
        assert box["x"] >= -1 and box["x"] + box["width"] <= width + 1, box
        before = page.evaluate("scrollY")
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.6
        cdp = ctx.new_cdp_session(page)   # a finger moving up over the scene, 250 px
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [
            {"x": x, "y": y}]})
        for k in range(1, 11):
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [
                {"x": x, "y": y - 25 * k}]})
            page.wait_for_timeout(16)
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        page.wait_for_timeout(600)
        assert page.evaluate("scrollY") > before + 100, "a swipe over the 3D scene did not scroll"
        assert not errors, errors
    finally:
        ctx.close()


# -- print ---------------------------------------------------------------------------------------

def test_print_draws_every_figure_on_one_page(browser, site_url, built_site):  # noqa: F811
    """Without scrolling first: print media draws every chart, hides the view buttons and keeps
    each figure on one page."""
    ctx = browser.new_context(viewport={"width": 794, "height": 1123},   # A4 at 96 dpi
                              service_workers="block")
    try:
        page, errors = _open(ctx, _article_url(site_url, built_site))
        page.wait_for_load_state("networkidle")
        total = page.locator(".chart[data-chart-src]").count()
        assert page.locator(".chart[data-drawn]").count() < total   # lazily drawn on screen
        page.emulate_media(media="print")
        page.wait_for_function(f"document.querySelectorAll('.chart[data-drawn]').length === "
                               f"{total}", timeout=CHART_TIMEOUT_MS)
        state = page.evaluate("""() => Array.from(document.querySelectorAll(".chart-figure"))
          .map(f => ({id: f.querySelector(".chart").dataset.chartId,
                      height: f.getBoundingClientRect().height,
                      breaks: getComputedStyle(f).breakInside,
                      canvases: Array.from(f.querySelectorAll("canvas"))
                        .filter(c => c.width > 0 && c.height > 0).length,
                      buttons: Array.from(f.querySelectorAll(".chart-views button"))
                        .filter(b => b.offsetParent !== null).length}))""")
        page.pdf(path=str(SHOTS / "print-article.pdf"), format="A4")
        problems = [f"{s['id']}: {s}" for s in state
                    if not s["canvases"] or s["buttons"] or s["breaks"] != "avoid"
                    or s["height"] > 1000]   # an A4 page at 96 dpi, less its margins
        assert not problems, "\n".join(problems)
        assert not errors, errors
    finally:
        ctx.close()


# -- layout shift ----------------------------------------------------------------------------------

@pytest.mark.parametrize("screen", ["desktop-light", "phone-390"])
def test_no_layout_shift_in_a_fast_scroll(browser, site_url, built_site, screen):  # noqa: F811
    ctx = _context(browser, screen)
    try:
        page = ctx.new_page()
        page.add_init_script(f"({CLS_START})()")
        page.goto(_article_url(site_url, built_site), wait_until="load")
        page.wait_for_timeout(800)
        height = page.evaluate("document.documentElement.scrollHeight")
        step = page.evaluate("innerHeight") * 1.5
        y = 0
        while y < height:
            y += step
            page.evaluate(f"scrollTo(0, {y})")
            page.wait_for_timeout(40)
        page.evaluate("scrollTo(0, 0)")
        page.wait_for_timeout(1500)
        cls = page.evaluate(CLS_TOTAL)
        assert cls < 0.1, f"{screen}: cumulative layout shift {cls:.3f} in a fast scroll"
    finally:
        ctx.close()


# -- legends ---------------------------------------------------------------------------------------

def test_legend_toggles_stay_in_sync_and_the_axis_follows(browser, site_url,  # noqa: F811
                                                          built_site):
    ctx = _context(browser, "desktop-dark")
    try:
        page, errors = _open(ctx, _article_url(site_url, built_site))
        dial = _chart(page, "dial")
        dial.locator(".chart-legend button", has_text=re.compile(r"^vanilla PG$")).click()
        after = dial.evaluate(SERIES)
        assert after["shown"]["vanilla PG"] is False
        assert after["shown"]["vanilla PG, on-policy (ε = 0)"] is True, after
        hidden = {name for name, shown in after["shown"].items() if not shown}
        pressed_off = {n for n, p in after["pressed"].items() if p == "false"}
        assert pressed_off == {"vanilla PG"}, after["pressed"]
        assert all(n.startswith("vanilla PG (95%") or n == "vanilla PG" or
                   n.startswith("vanilla PG:") for n in hidden), hidden
        assert after["min"] > 0.5, f"the axis did not follow the series left: {after['min']}"
        dial.locator(".chart-legend button", has_text=re.compile(r"^vanilla PG$")).click()
        back = dial.evaluate(SERIES)
        assert all(back["shown"].values()) and back["min"] == 0, back
        dial.locator("xpath=ancestor::figure").screenshot(path=str(SHOTS / "desktop-dark-dial-"
                                                                   "legend.png"))
        assert not errors, errors
    finally:
        ctx.close()


def test_a_legend_is_one_tab_stop(browser, site_url, built_site):  # noqa: F811
    ctx = _context(browser, "desktop-light")
    try:
        page, errors = _open(ctx, _article_url(site_url, built_site))
        chart = _chart(page, "curves-binary")
        for i in range(page.locator(".chart").count()):
            _chart(page, page.locator(".chart").nth(i).get_attribute("data-chart-id"))
        stops = page.evaluate(TAB_STOPS)
        assert stops and all(n == 1 for n in stops), stops
        buttons = chart.locator(".chart-legend button")
        buttons.first.focus()
        page.keyboard.press("ArrowRight")
        assert page.evaluate("document.activeElement.textContent") == \
            buttons.nth(1).text_content()
        page.keyboard.press("End")
        assert page.evaluate("document.activeElement.textContent") == \
            buttons.nth(buttons.count() - 1).text_content()
        page.keyboard.press("Tab")
        assert not page.evaluate("!!document.activeElement.closest('.chart-legend')"), \
            "Tab stopped inside the legend again"
        assert not errors, errors
    finally:
        ctx.close()


# -- the 404 page, served from a domain root -------------------------------------------------------

class _RootHandler(SimpleHTTPRequestHandler):
    """A host serving the site at /, with 404.html for every missing path (GitHub Pages)."""

    def log_message(self, format, *args):
        pass

    def send_error(self, code, message=None, explain=None):
        page = Path(self.directory) / "404.html"
        if code != HTTPStatus.NOT_FOUND or not page.is_file():
            return super().send_error(code, message, explain)
        body = page.read_bytes()
        self.send_response(code)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@pytest.mark.parametrize("missing", ["nope/", "a/b/c/deep.html"])
def test_404_at_depth_from_a_domain_root(browser, site_without_base_url,  # noqa: F811
                                         missing):
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(
        _RootHandler, directory=str(site_without_base_url)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    root = f"http://127.0.0.1:{server.server_address[1]}/"
    ctx = _context(browser, "desktop-light")
    try:
        page = ctx.new_page()
        response = page.goto(root + missing, wait_until="load")
        assert response.status == 404
        page.wait_for_load_state("networkidle")
        page.wait_for_function("() => Array.from(document.styleSheets).some(s => "
                               "s.href && s.href.includes('/static/css/site.css') && s.cssRules.length)",
                               timeout=10_000)
        assert page.evaluate("getComputedStyle(document.querySelector('.site-header'))"
                             ".display") == "flex", "the 404 page is unstyled"
        page.screenshot(path=str(SHOTS / f"404-root-{urlsplit(missing).path.count('/')}.png"))
        links = page.evaluate("() => Array.from(document.querySelectorAll('a.site-title, "
                              ".site-nav a')).map(a => a.href)")
        assert links and all(unquote(urlsplit(h).path).startswith("/") and
                             not urlsplit(h).path.startswith("/a/") for h in links), links
    finally:
        ctx.close()
        server.shutdown()
        server.server_close()
