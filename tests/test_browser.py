"""The built site in a real browser: Debian's headless Chromium driven by Playwright.

The site is the real one (`built_site`: `build.py --frozen`), served under a sub-path,
http://127.0.0.1:PORT/onpolicy/, as GitHub Pages serves a project site. For every page:
no console error, no request leaving the local origin (nor the site's path), math typeset by
KaTeX with no raw TeX left, every chart drawn once scrolled into view (2D: Chart.js canvases with
pixels painted; 3D: a plotly.js gl3d WebGL scene), the theme
toggle recolouring the page and the charts, TOC links landing on their headings, and the 404
page rendering with its assets at any depth.

Browser: /usr/bin/chromium (Debian's package), never a Playwright download
(PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 is set in conftest.py; nothing here runs
`playwright install`). WebGL (the 3D surfaces): with --disable-gpu, Chromium 156 here still
gets WebGL from SwiftShader, ANGLE's CPU Vulkan backend (renderer string "ANGLE (Google,
Vulkan 1.3.0 (SwiftShader Device (Subzero)...)"), but that automatic fallback is deprecated,
so the software path is asked for explicitly: --use-angle=swiftshader picks it and
--enable-unsafe-swiftshader allows it for WebGL. `test_webgl_available` reports the renderer.

Screenshots of the article, light and dark, full page: test-artifacts/ (git-ignored).
"""
from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from onpolicy.render.pages import page_sources

from .conftest import SUB_PATH

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    # WebGL for the 3D surfaces without a GPU: SwiftShader, explicitly (see the docstring).
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
]
VIEWPORT = {"width": 1280, "height": 900}
CHART_TIMEOUT_MS = 45_000      # a 3D surface through SwiftShader on a loaded 2-core CI box
RAW_TEX = ["$$", "\\(", "\\)", "\\[", "\\]", "\\begin{", "\\end{", "\\frac", "\\mathbb"]


# -- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium package "
                    "(apt-get install chromium); the tests never download a browser")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                     headless=True, timeout=60_000)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport=VIEWPORT, color_scheme="light", reduced_motion="reduce",
                              service_workers="block")
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()


class Recorder:
    """Everything a page did: console errors, uncaught exceptions, every request."""

    def __init__(self, page, origin: str):
        self.page = page
        self.origin = origin
        self.console_errors: list[str] = []
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.bad_status: list[str] = []
        self.expected_404: str | None = None
        page.on("console", self._console)
        page.on("pageerror", lambda err: self.console_errors.append(f"uncaught: {err}"))
        page.on("request", lambda req: self.requests.append(req.url))
        page.on("requestfailed", lambda req: self.failed.append(f"{req.url}: {req.failure}"))
        page.on("response", self._response)

    def _console(self, msg) -> None:
        if msg.type == "error":
            loc = msg.location or {}
            if (self.expected_404 and loc.get("url") == self.expected_404
                    and msg.text.startswith("Failed to load resource")):
                return  # Chromium logs the 404 of the missing page itself: that is the test
            self.console_errors.append(f"{msg.text} ({loc.get('url', '')}:"
                                       f"{loc.get('lineNumber', '')})")

    def _response(self, response) -> None:
        if response.status >= 400:
            self.bad_status.append(f"{response.status} {response.url}")

    def outside(self) -> list[str]:
        """Requests that left the origin or the site's path (data:/blob: never leave)."""
        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob"):
                continue
            if f"{parts.scheme}://{parts.netloc}" != self.origin:
                out.append(f"off-origin: {url}")
            elif not parts.path.startswith(SUB_PATH):
                out.append(f"outside {SUB_PATH}: {url}")
        return out


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _source_pages() -> dict[str, dict]:
    """Output path -> {"has_math": ..., "source": ...} for each page of site_src/."""
    pages = {}
    for md, name in page_sources(ROOT / "site_src"):
        text = md.read_text(encoding="utf-8")
        parts = text.split("\n---", 1)
        meta = yaml.safe_load(parts[0].lstrip("-\n")) if text.startswith("---") else {}
        body = parts[1] if len(parts) > 1 else text
        if (meta or {}).get("draft"):
            continue
        if name == "index":
            out = "index.html"
        elif name == "404":
            out = "404.html"
        else:
            out = f"{(meta or {}).get('slug') or name}/index.html"
        body_no_code = re.sub(r"```.*?```|`[^`\n]*`", "", body, flags=re.S)
        has_math = bool(re.search(r"\$\$|\$[^\s$][^$\n]*\$|\\\(|\\\[", body_no_code))
        pages[out] = {"has_math": has_math, "source": md.relative_to(ROOT).as_posix()}
    return pages


@pytest.fixture(scope="module")
def pages(built_site, site_url) -> list[tuple[str, str]]:
    """(path in public/, URL) of every HTML page: the sitemap's, plus any other *.html."""
    found: dict[str, str] = {}
    sitemap = built_site / "sitemap.xml"
    if sitemap.is_file():
        for el in ET.parse(sitemap).iter():
            if el.tag.endswith("loc") and el.text:
                url = el.text.strip()
                assert url.startswith(site_url), f"sitemap URL {url} is not under {site_url}"
                rel = url[len(site_url):]
                found[rel + "index.html" if rel == "" or rel.endswith("/") else rel] = url
    for html in built_site.rglob("*.html"):
        rel = html.relative_to(built_site).as_posix()
        if rel.startswith(("static/", "data/")):
            continue
        url = site_url + (rel[: -len("index.html")] if rel.endswith("index.html") else rel)
        found.setdefault(rel, url)
    assert "index.html" in found and "404.html" in found, sorted(found)
    return sorted(found.items())


@pytest.fixture(scope="module")
def article(built_site, pages) -> str:
    """URL of the article: the page with og:type article and the most charts."""
    best, best_charts = None, -1
    for rel, url in pages:
        html = (built_site / rel).read_text(encoding="utf-8")
        if 'property="og:type" content="article"' in html:
            n = html.count("data-chart-src=")
            if n > best_charts:
                best, best_charts = url, n
    assert best, "no page with og:type article"
    return best


def _open(context, url: str, expect_status: int = 200):
    page = context.new_page()
    rec = Recorder(page, _origin(url))
    if expect_status == 404:
        rec.expected_404 = url
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == expect_status, \
        f"{url}: HTTP {response.status if response else None}, expected {expect_status}"
    page.wait_for_load_state("networkidle")
    return page, rec


CHART_STATE = """e => {
  const scene = e.querySelector(".chart-scene");
  const fl = scene && scene._fullLayout || null;
  const charts = Array.from(e.querySelectorAll(".chart-2d canvas"))
    .map(c => window.Chart && Chart.getChart(c)).filter(Boolean);
  // share of sampled pixels that are not transparent, per 2D canvas
  const painted = charts.map(ch => {
    const d = ch.canvas.getContext("2d").getImageData(0, 0, ch.canvas.width, ch.canvas.height).data;
    let inked = 0, seen = 0;
    for (let i = 3; i < d.length; i += 64) { seen++; if (d[i]) inked++; }
    return inked / Math.max(1, seen);
  });
  return {
    drawn: e.getAttribute("data-drawn"), error: e.getAttribute("data-error"),
    container: charts.length > 0 || !!(scene && scene.querySelector(".plot-container")),
    canvases: e.querySelectorAll("canvas").length,
    painted: painted,
    traces: charts.reduce((n, ch) => n + ch.data.datasets.length, 0) +
            (scene && scene._fullData || []).length,
    is3d: !!(fl && fl.scene && fl._has && fl._has("gl3d")),
    width: e.getBoundingClientRect().width, height: e.getBoundingClientRect().height,
  };
}"""
# A chart's colours as drawn: text and grid of the first 2D panel, or of the 3D scene.
CHART_COLOURS = """e => {
  const scene = e.querySelector(".chart-scene");
  if (scene && scene._fullLayout) {
    return [scene._fullLayout.font.color, scene._fullLayout.scene.xaxis.gridcolor, ""];
  }
  const chart = Chart.getChart(e.querySelector(".chart-2d canvas"));
  return [chart.options.color, chart.options.scales.x.grid.color, chart.canvas.toDataURL()];
}"""


def _draw_charts(page, only: list[str] | None = None) -> list[dict]:
    """Scroll each chart (or those with the given ids) into view, wait until it is drawn (or
    failed); return their states."""
    charts = page.locator(".chart[data-chart-src]")
    states = []
    for i in range(charts.count()):
        chart = charts.nth(i)
        if only is not None and chart.get_attribute("data-chart-id") not in only:
            continue
        chart.scroll_into_view_if_needed()
        chart_id = chart.get_attribute("data-chart-id") or f"#{i}"
        try:
            page.wait_for_function(
                "e => e.getAttribute('data-drawn') === 'true' || e.hasAttribute('data-error')",
                arg=chart.element_handle(), timeout=CHART_TIMEOUT_MS)
        except Exception as err:  # report below, with the others
            states.append({"id": chart_id, "timeout": str(err).splitlines()[0]})
            continue
        if chart.evaluate("e => e.closest('figure').classList.contains('chart-3d')"):
            _open_3d(page, chart)   # a surface starts as slices; its 3D view must draw too
        states.append({"id": chart_id, **chart.evaluate(CHART_STATE)})
    return states


def _open_3d(page, chart) -> None:
    if chart.get_attribute("data-mode") != "3d":
        chart.locator("xpath=preceding-sibling::div[@class='chart-views']") \
            .locator("button[data-view='3d']").click()
    page.wait_for_function("e => e.getAttribute('data-mode') === '3d' && "
                           "!e.hasAttribute('aria-busy') || e.hasAttribute('data-error')",
                           arg=chart.element_handle(), timeout=CHART_TIMEOUT_MS)


def _visible_text(page) -> str:
    """Rendered prose text: no code, no scripts, no MathML annotations, nothing hidden."""
    return page.evaluate("""() => {
      const skip = "pre, code, script, style, noscript, textarea, .katex-mathml, annotation";
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      const parts = [];
      while (walker.nextNode()) {
        const el = walker.currentNode.parentElement;
        if (!el || el.closest(skip)) continue;
        if (el.checkVisibility && !el.checkVisibility()) continue;
        parts.push(walker.currentNode.nodeValue);
      }
      return parts.join(" ");
    }""")


def _background(page) -> str:
    """The colour the page is painted with: body's, else the root element's."""
    return page.evaluate("""() => {
      const clear = c => c === "transparent" || /^rgba\\(.*,\\s*0\\)$/.test(c);
      const body = getComputedStyle(document.body).backgroundColor;
      return clear(body) ? getComputedStyle(document.documentElement).backgroundColor : body;
    }""")


# -- tests ----------------------------------------------------------------------------------

def test_webgl_available(context):
    """SwiftShader gives this headless Chromium WebGL (the 3D surfaces need it)."""
    page = context.new_page()
    page.set_content("<canvas id=c></canvas>")
    renderer = page.evaluate("""() => {
      const gl = document.getElementById("c").getContext("webgl");
      if (!gl) return null;
      const info = gl.getExtension("WEBGL_debug_renderer_info");
      return info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : "unknown renderer";
    }""")
    assert renderer, "no WebGL context: check the SwiftShader flags in CHROMIUM_ARGS"
    print(f"WebGL renderer: {renderer}")


class Visit:
    """What one page did while it was loaded and every chart on it was scrolled to."""

    def __init__(self, rel: str, url: str):
        self.rel, self.url = rel, url
        self.problems: list[str] = []      # load problems: console, requests, HTTP status
        self.requests: list[str] = []
        self.charts: list[dict] = []
        self.lazy_problem: str | None = None
        self.katex = self.katex_errors = 0
        self.katex_font = ""
        self.text = ""


@pytest.fixture(scope="module")
def visits(browser, pages, article) -> dict[str, Visit]:
    """Every page loaded once, each chart scrolled into view and drawn; the article is also
    screenshotted, full page, light then dark (test-artifacts/article-{light,dark}.png)."""
    ctx = browser.new_context(viewport=VIEWPORT, color_scheme="light", reduced_motion="reduce",
                              service_workers="block")
    ctx.set_default_timeout(30_000)
    out = {}
    try:
        for rel, url in pages:
            visit = out[rel] = Visit(rel, url)
            expect = 404 if rel == "404.html" and not url.endswith("404.html") else 200
            page, rec = _open(ctx, url, expect)
            visit.katex = page.locator(".katex").count()
            visit.katex_errors = page.locator(".katex-error").count()
            if visit.katex:
                visit.katex_font = page.locator(".katex").first.evaluate(
                    "e => getComputedStyle(e).fontFamily")
            visit.text = _visible_text(page)
            charts = page.locator(".chart[data-chart-src]")
            if charts.count():
                # Lazy: a chart far below the first screen is not drawn before it is reached.
                last = charts.nth(charts.count() - 1)
                if last.evaluate("e => e.getBoundingClientRect().top > 3 * innerHeight"):
                    page.wait_for_timeout(300)
                    if last.get_attribute("data-drawn") is not None:
                        visit.lazy_problem = "a chart far below the fold was drawn early"
            visit.charts = _draw_charts(page)
            for state in visit.charts:
                if state.get("is3d") and state.get("canvases"):
                    state["pixel_problems"] = _check_pixels(page, state["id"])
            page.wait_for_load_state("networkidle")
            if url == article:
                _screenshots(page)
            bad = [b for b in rec.bad_status if not (expect == 404 and b == f"404 {url}")]
            visit.problems += [f"console: {e}" for e in rec.console_errors]
            visit.problems += rec.outside()
            visit.problems += [f"failed: {f}" for f in rec.failed]
            visit.problems += [f"HTTP {b}" for b in bad]
            visit.requests = list(rec.requests)
            page.close()
    finally:
        ctx.close()
    return out


def _screenshots(page) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for path in ARTIFACTS.glob("article-*.png"):
        path.unlink()
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(300)
    for _ in range(2):
        theme = page.evaluate("document.documentElement.getAttribute('data-theme')")
        page.screenshot(path=str(ARTIFACTS / f"article-{theme}.png"), full_page=True)
        page.locator(".theme-toggle").first.click()
        page.wait_for_timeout(800)  # the charts relayout in the new colours


def test_every_page_loads_clean(visits):
    """No console error, no failed or 4xx/5xx request, nothing fetched from another origin or
    from outside the site's path, with every chart drawn (so the chart data and both chart
    bundles are fetched too)."""
    problems = [f"{v.rel}: {p}" for v in visits.values() for p in v.problems]
    problems += [f"{v.rel}: no request recorded" for v in visits.values() if not v.requests]
    assert not problems, "\n".join(problems)


def test_math_is_typeset(visits):
    sources = _source_pages()
    problems, pages_with_math = [], 0
    for rel, visit in visits.items():
        info = sources.get(rel)
        if info and info["has_math"]:
            pages_with_math += 1
            if visit.katex == 0:
                problems.append(f"{rel} ({info['source']} has math): no .katex element")
        if visit.katex_errors:
            problems.append(f"{rel}: {visit.katex_errors} KaTeX error element(s)")
        for delim in RAW_TEX:
            if delim in visit.text:
                i = visit.text.index(delim)
                problems.append(f"{rel}: raw TeX {delim!r} visible: "
                                f"…{visit.text[max(0, i - 60):i + 60]}…")
        if visit.katex and "KaTeX" not in visit.katex_font:
            problems.append(f"{rel}: .katex is not styled by the KaTeX CSS "
                            f"(font {visit.katex_font!r})")
    assert pages_with_math > 0, "no page source has math: the heuristic is broken"
    assert not problems, "\n".join(problems)


def test_charts_draw_when_scrolled_into_view(visits, built_site):
    problems, total, three_d = [], 0, 0
    for rel, visit in visits.items():
        expected = (built_site / rel).read_text(encoding="utf-8").count("data-chart-src=")
        if len(visit.charts) != expected:
            problems.append(f"{rel}: {expected} charts in the HTML, {len(visit.charts)} found")
        if visit.lazy_problem:
            problems.append(f"{rel}: {visit.lazy_problem}")
        for state in visit.charts:
            total += 1
            where = f"{rel} chart {state['id']}"
            if "timeout" in state:
                problems.append(f"{where}: not drawn within {CHART_TIMEOUT_MS} ms")
                continue
            if state["error"]:
                problems.append(f"{where}: {state['error']}")
            if state["drawn"] != "true" or not state["container"]:
                problems.append(f"{where}: no Chart.js chart or plotly scene / data-drawn: {state}")
            if state["traces"] == 0:
                problems.append(f"{where}: no data traces")
            if state["canvases"] == 0:
                problems.append(f"{where}: no canvas inside")
            if any(share < 0.01 for share in state["painted"]):
                problems.append(f"{where}: a 2D canvas with (almost) nothing painted: "
                                f"{state['painted']}")
            if state["width"] < 100 or state["height"] < 100:
                problems.append(f"{where}: drawn at {state['width']}x{state['height']} px")
            if state["is3d"]:
                three_d += 1
                if state["canvases"] == 0:
                    problems.append(f"{where}: a 3D chart without a WebGL canvas")
                problems += [f"{where}: {p}" for p in state.get("pixel_problems", [])]
    assert total > 0, "no chart on any page"
    n_3d_figures = sum((built_site / rel).read_text(encoding="utf-8").count("chart-figure chart-3d")
                       for rel in visits)
    if three_d != n_3d_figures:
        problems.append(f"{n_3d_figures} 3D figures, {three_d} drawn as WebGL scenes")
    assert not problems, "\n".join(problems)
    print(f"{total} charts drawn, {three_d} of them 3D (WebGL)")


def _check_pixels(page, chart_id: str) -> list[str]:
    """A 3D chart really painted: its screenshot has many colours (a colour-scaled surface)."""
    try:
        from PIL import Image  # Pillow comes with torchvision
    except ImportError:
        return []
    chart = page.locator(f'.chart[data-chart-id="{chart_id}"]')
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    image = Image.open(io.BytesIO(chart.screenshot())).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    if len(colours) < 64:
        return [f"the WebGL canvas looks blank ({len(colours)} colours)"]
    return []


def test_theme_toggle_recolours_page_and_charts(context, article):
    page, rec = _open(context, article)
    toggle = page.locator(".theme-toggle")
    assert toggle.count() >= 1 and toggle.first.is_visible(), "no visible theme toggle"
    # One 2D chart (Chart.js canvas) and one 3D chart (WebGL scene): both must follow the theme.
    kinds = page.evaluate("""() => Array.from(document.querySelectorAll('.chart[data-chart-src]'))
        .map(e => [e.getAttribute('data-chart-id'),
                   e.closest('figure') && e.closest('figure').classList.contains('chart-3d')])""")
    assert kinds, "the article has no chart"
    wanted = [next((c for c, is3d in kinds if not is3d), None),
              next((c for c, is3d in kinds if is3d), None)]
    states = _draw_charts(page, only=[c for c in wanted if c])
    picks = [s["id"] for s in states if s.get("drawn") == "true"]
    assert picks and len(picks) == len(states), f"charts not drawn: {states}"

    def chart_colours() -> dict[str, tuple]:
        return {cid: tuple(page.locator(f'.chart[data-chart-id="{cid}"]').evaluate(CHART_COLOURS))
                for cid in picks}

    theme0 = page.evaluate("document.documentElement.getAttribute('data-theme')")
    bg0, charts0 = _background(page), chart_colours()
    toggle.first.click()
    page.wait_for_function("t => document.documentElement.getAttribute('data-theme') !== t",
                           arg=theme0)
    theme1 = page.evaluate("document.documentElement.getAttribute('data-theme')")
    assert {theme0, theme1} == {"light", "dark"}
    page.wait_for_timeout(100)  # reduced motion: no colour transition to wait out
    bg1 = _background(page)
    assert bg1 != bg0, f"the page background stayed {bg0} after switching to {theme1}"
    # Plotly relayouts asynchronously: wait until every picked chart has new colours.
    for cid in picks:
        page.locator(f'.chart[data-chart-id="{cid}"]').evaluate(
            """(e, old) => new Promise((resolve, reject) => {
                 const t0 = Date.now();
                 const colours = """ + CHART_COLOURS + """;
                 (function poll() {
                   const now = colours(e);
                   if (now[0] !== old[0] || now[1] !== old[1]) return resolve(true);
                   if (Date.now() - t0 > 10000) return reject(new Error("colours unchanged"));
                   setTimeout(poll, 50);
                 })();
               })""", list(charts0[cid]))
    charts1 = chart_colours()
    for cid in picks:
        assert charts1[cid][:2] != charts0[cid][:2], \
            f"chart {cid} kept its colours {charts0[cid][:2]}"
        # a 2D chart is really painted again in the new colours, not just reconfigured
        assert charts1[cid][2] != charts0[cid][2] or not charts0[cid][2], f"{cid}: same pixels"
    # The choice is remembered: a reload keeps it, and toggling again restores the first look.
    page.reload(wait_until="load")
    assert page.evaluate("document.documentElement.getAttribute('data-theme')") == theme1
    assert _background(page) == bg1
    page.locator(".theme-toggle").first.click()
    page.wait_for_function("t => document.documentElement.getAttribute('data-theme') === t",
                           arg=theme0)
    page.wait_for_timeout(100)
    assert _background(page) == bg0
    assert not rec.console_errors, rec.console_errors


def test_toc_links_land_on_their_headings(context, pages, built_site):
    checked, problems = 0, []
    for rel, url in pages:
        if 'class="toc' not in (built_site / rel).read_text(encoding="utf-8"):
            continue
        page, _ = _open(context, url)
        links = page.locator(".toc a[href^='#']")
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        assert hrefs, f"{rel}: a TOC without links"
        for i, href in enumerate(hrefs):
            target = href[1:]
            link = page.locator(".toc a[href^='#']").nth(i)
            link.scroll_into_view_if_needed()
            link.click()
            try:
                page.wait_for_function("h => location.hash === h", arg=href, timeout=5_000)
            except Exception:
                problems.append(f"{rel}: clicking {href} left location.hash at "
                                f"{page.evaluate('location.hash')!r}")
                continue
            heading = page.locator(f"[id='{target}']")
            if heading.count() != 1:
                problems.append(f"{rel}: {href}: {heading.count()} elements with that id")
                continue
            tag = heading.evaluate("e => e.tagName.toLowerCase()")
            if not re.fullmatch(r"h[1-6]", tag):
                problems.append(f"{rel}: {href} targets a <{tag}>, not a heading")
            try:  # charts drawn above may shift the layout for a moment; it must settle on it
                heading.evaluate("""e => new Promise((resolve, reject) => {
                    const t0 = Date.now();
                    (function poll() {
                      const r = e.getBoundingClientRect();
                      if (r.top >= -2 && r.top < innerHeight - 10) return resolve(true);
                      if (Date.now() - t0 > 5000)
                        return reject(new Error("heading top at " + r.top));
                      requestAnimationFrame(poll);
                    })();
                  })""")
            except Exception as err:
                problems.append(f"{rel}: {href}: heading not in the viewport: "
                                f"{str(err).splitlines()[0]}")
            checked += 1
        page.close()
    assert checked > 0, "no TOC link on any page"
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("missing", ["no-such-page/", "a/b/c/deep.html", "no-such-file.json"])
def test_404_page(context, site_url, built_site, missing):
    """A missing URL under the site's path gets the 404 page, styled, at any depth."""
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", (built_site / "404.html").read_text(
        encoding="utf-8"), re.S)
    assert heading, "404.html has no <h1>"
    title = re.sub(r"<[^>]+>", "", heading.group(1)).strip()
    page, rec = _open(context, site_url + missing, expect_status=404)
    assert page.locator("h1").first.inner_text().strip() == title
    assert not rec.console_errors, rec.console_errors
    assert not rec.outside(), rec.outside()
    assert not rec.failed, rec.failed
    assert [s for s in rec.bad_status if s != f"404 {site_url + missing}"] == []
    sheets = page.evaluate("""() => Array.from(document.querySelectorAll('link[rel=stylesheet]'))
                              .map(l => [l.href, !!l.sheet && l.sheet.cssRules.length > 0])""")
    assert sheets and all(ok for _, ok in sheets), f"stylesheets not applied: {sheets}"
    assert _background(page) not in ("rgba(0, 0, 0, 0)", "transparent")
    assert page.locator(".theme-toggle").first.is_visible(), "theme.js did not run"
    # Its links lead back into the site.
    home = page.locator("a.site-title")
    if home.count():
        home.first.click()
        page.wait_for_load_state("load")
        assert page.url == site_url, page.url


def test_article_screenshots(visits):
    """Full-page screenshots of the article, light and dark, every chart drawn."""
    for theme in ("light", "dark"):
        path = ARTIFACTS / f"article-{theme}.png"
        assert path.is_file(), f"{path} was not written"
        assert path.stat().st_size > 10_000, f"{path} looks empty"
