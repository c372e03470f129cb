"""Build-time check of internal links and anchors, like MkDocs' strict mode.

After the render, every link from a page to another file of the site (the attributes of
LINK_ATTRIBUTES: a href, img src and srcset, iframe src, video src and poster, ...) must reach
a file that exists (or a page's directory, with or without the trailing slash), and every
#fragment an id on the target page. A broken one fails the build, named at its line in the
page's .md source (or the layout template that made it), so authors find out when they
build, not when a reader clicks.
"""
from __future__ import annotations

import functools
import hashlib
import html
import json
import os
import posixpath
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .. import atomic
from ..config import shown
from .errors import RenderError
from .pages import load_pages, read_source

# Every attribute of HTML that loads or links a URL of the site; a srcset holds several.
LINK_ATTRIBUTES = {"a": ("href",), "area": ("href",), "img": ("src", "srcset"),
                   "link": ("href", "imagesrcset"), "script": ("src",),
                   "source": ("src", "srcset"), "iframe": ("src",), "video": ("src", "poster"),
                   "audio": ("src",), "track": ("src",), "embed": ("src",)}
SRCSETS = ("srcset", "imagesrcset")


class PageLinks(HTMLParser):
    """The ids (anchors) a page defines and the internal links it makes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        for name in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(name):
                self.ids.add(attrs[name])
        for name in LINK_ATTRIBUTES.get(tag, ()):
            value = attrs.get(name)
            if value is None:
                continue
            if name in SRCSETS:  # "a.png 1x, b.png 2x": the URL of each candidate
                self.links += [c.split()[0] for c in value.split(",") if c.split()]
            else:
                self.links.append(value)


# A regex scan of the generated HTML finds the same ids and links as PageLinks (the HTML
# parser, kept as the reference in tests) ten times faster on math-heavy pages, which matters
# for the prose-edit rebuild. Comments and the inside of <script>/<style> are not markup.
# (The pattern starts with a literal "<" and no global IGNORECASE, so the regex engine jumps
# from one "<" to the next: 6x faster on the article than "<!--...|(<(script|style)...", re.I.)
# Group 1 is the opening tag without its "<".
_NOT_MARKUP = re.compile(r"<(?:!--.*?-->|(((?i:script|style))\b[^>]*>).*?</(?i:\2)\s*>)", re.S)
# A start tag that can matter: a linking tag, or any tag with an id (a link makes no link and
# has no id: most of a math page's tags, KaTeX's spans, are passed over inside the regex).
# A tag runs to the first ">" (no "<" or ">" inside), so leaving the others out changes
# nothing about where these match.
_START_TAG = re.compile(
    r"<(?=(?:a|area|img|link|script|source|iframe|video|audio|track|embed)[\s/>]|[a-zA-Z][a-zA-Z0-9-]*\s[^<>]*?id\s*=)"
    r"([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*?)?)\s*/?>", re.I)
_ATTRIBUTE = re.compile(r"""([^\s"'<>/=]+)(\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")


@functools.lru_cache(maxsize=8)  # a rebuild in the same process (serve) rescans only new pages
def _scan(text: str) -> PageLinks:
    found = PageLinks()
    text = _NOT_MARKUP.sub(lambda m: "<" + m.group(1) if m.group(1) else "", text)
    for tag_match in _START_TAG.finditer(text):
        tag, rest = tag_match.group(1).lower(), tag_match.group(2)
        if "=" not in rest:
            continue
        # (name, value) pairs as HTMLParser gives them: lower-case names, None without a value
        attrs = [(name.lower(), html.unescape(double or single or bare) if equals else None)
                 for name, equals, double, single, bare in _ATTRIBUTE.findall(rest)]
        found.handle_starttag(tag, attrs)
    return found


def _parse(path: Path) -> PageLinks:
    return _scan(path.read_text(encoding="utf-8"))


_CUT = re.compile(r"<h2[\s>]", re.I)


def pieces(text: str) -> list[str]:
    """text cut before each <h2> tag that no comment, script or style (what _scan passes
    over) spans: scanned apart and joined, the pieces give what the whole text gives, and a
    prose edit changes one of them."""
    cuts = [m.start() for m in _CUT.finditer(text) if m.start() > 0]
    if cuts:
        spans = [m.span() for m in _NOT_MARKUP.finditer(text)]
        cuts = [c for c in cuts if not any(a < c < b for a, b in spans)]
    return [text[a:b] for a, b in zip([0] + cuts, cuts + [len(text)])]


def _joined(found: list[PageLinks]) -> PageLinks:
    whole = PageLinks()
    for part in found:
        whole.ids |= part.ids
        whole.links += part.links
    return whole


class StoredScans:
    """The scans of the last build's pages, in .cache/link-scans.json by the sha256 of the
    page's text and of this file's code: a one-shot build after a prose edit scans only the
    edited page (the reproduce page alone is 450 KB of HTML), and of it only the edited
    piece (pieces(): the article is 670 KB, ~25 ms a scan here). Best effort, like every cache:
    anything unreadable or malformed is ignored and the page scanned."""

    def __init__(self, cache_dir: Path):
        self.path, self.used = Path(cache_dir) / "link-scans.json", {}
        try:
            self.old = json.loads(self.path.read_bytes())
            assert isinstance(self.old, dict)
        except (OSError, ValueError, AssertionError, RecursionError):
            self.old = {}

    def scan(self, path: Path) -> PageLinks:
        """The page's scan; for an edited page, its pieces (see pieces()) are looked up in
        turn, so only the edited one is scanned."""
        text = path.read_text(encoding="utf-8")
        found, entry = self._lookup(text)
        if found is not None:
            for key in entry.get("pieces", []) if isinstance(entry.get("pieces"), list) else []:
                if isinstance(key, str) and key in self.old:  # kept for the next edit
                    self.used[key] = self.old[key]
            return found
        parts, keys = pieces(text), []
        if len(parts) == 1:
            return self._keep(text, _scan(text))
        scans = []
        for part in parts:
            found, _ = self._lookup(part)
            scans.append(found if found is not None else self._keep(part, _scan(part)))
            keys.append(_key(part))
        return self._keep(text, _joined(scans), keys)

    def _lookup(self, text: str) -> tuple[PageLinks | None, dict]:
        key = _key(text)
        entry = self.old.get(key)
        if not (isinstance(entry, dict) and isinstance(entry.get("ids"), list)
                and isinstance(entry.get("links"), list)
                and all(isinstance(v, str) for v in entry["ids"] + entry["links"])):
            return None, {}
        found = PageLinks()
        found.ids, found.links = set(entry["ids"]), list(entry["links"])
        self.used[key] = entry
        return found, entry

    def _keep(self, text: str, found: PageLinks, pieces: list[str] | None = None) -> PageLinks:
        self.used[_key(text)] = {"ids": sorted(found.ids), "links": found.links,
                                 **({"pieces": pieces} if pieces else {})}
        return found

    def save(self) -> None:
        if self.used != self.old:
            try:
                atomic.write_text(self.path, json.dumps(self.used), durable=False)
            except OSError:
                pass


_CODE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest().encode()


def _key(text: str) -> str:
    return hashlib.sha256(_CODE + text.encode("utf-8")).hexdigest()


def _is_internal(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc


def _target(page_path: str, url: str, base_path: str) -> tuple[str | None, str]:
    """(site-relative file the link reaches or None if it leaves the site, fragment)."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    if not path:
        return page_path, unquote(parts.fragment)
    if path.startswith("/"):  # 404.html links from the site root (base_url's path)
        if not path.startswith(base_path):
            return None, parts.fragment
        joined = path[len(base_path):]
    else:
        joined = posixpath.join(posixpath.dirname(page_path), path)
    target = posixpath.normpath(joined) if joined else "."
    if target.startswith(".."):
        return None, parts.fragment
    if path.endswith("/") or target == ".":
        target = posixpath.join(target, "index.html") if target != "." else "index.html"
    return target, unquote(parts.fragment)


def _source_line(path: Path, url: str, skip_lines: int = 0) -> int | None:
    try:
        lines = read_source(path, str(path)).splitlines()
    except (OSError, RenderError):
        return None
    for number, line in enumerate(lines, 1):
        if number > skip_lines and url in line:
            return number
    return None


def _where(cfg, page, url: str) -> str:
    """file:line of the text that made a link: the page's source, else a layout template."""
    if page is not None:
        line = _source_line(page.source, url, page.body_offset)
        if line:
            return f"{page.display_path}:{line}"
    for template in sorted(Path(cfg.templates_dir).glob("*.html")):
        line = _source_line(template, url)
        if line:
            return f"{shown(template, cfg.root)}:{line}"
    return f"{page.display_path}:1" if page is not None else "(site)"


def broken_links(cfg, site_dir: Path) -> list[str]:
    """'file:line: message' for each broken internal link or anchor in the site."""
    site_dir = Path(site_dir)
    base_path = urlsplit(cfg.base_url).path.rstrip("/") + "/" if cfg.base_url else "/"
    parsed: dict[str, PageLinks] = {}
    stored = StoredScans(cfg.cache_dir)

    def page_links(rel: str) -> PageLinks:
        if rel not in parsed:
            parsed[rel] = stored.scan(site_dir / rel)
        return parsed[rel]

    kinds: dict[str, str] = {}

    def kind(target: str) -> str:
        """What a site-relative path is: "page dir" (with index.html), "dir", "file" or ""."""
        if target not in kinds:
            path = os.path.join(site_dir, target)
            kinds[target] = (("page dir" if os.path.isfile(os.path.join(path, "index.html"))
                              else "dir") if os.path.isdir(path)
                             else "file" if os.path.isfile(path) else "")
        return kinds[target]

    problems = []
    for html_file in sorted(site_dir.rglob("*.html")):
        rel = html_file.relative_to(site_dir).as_posix()
        for url in dict.fromkeys(page_links(rel).links):  # each distinct link once per page
            if not url or not _is_internal(url):
                continue
            target, fragment = _target(rel, url, base_path)
            if target is None:
                why = "leaves the site"
            elif kind(target) == "page dir":
                # a page's directory without the trailing slash: Pages redirects to it
                target = posixpath.join(target, "index.html")
                if not fragment or fragment in page_links(target).ids:
                    continue
                why = f"no anchor #{fragment} on {target}"
            elif kind(target) == "dir":
                why = f"{target} is a directory without index.html"
            elif kind(target) != "file":
                why = "no such page or file in the site"
            elif fragment and target.endswith(".html") \
                    and fragment not in page_links(target).ids:
                why = f"no anchor #{fragment} on {target}"
            else:
                continue
            problems.append((rel, url, why))
    stored.save()
    if not problems:
        return []
    pages = {p.out_path: p for p in load_pages(cfg.src_dir, cfg.root, cfg.drafts)}
    return [f"{_where(cfg, pages.get(rel), url)}: broken link {url!r}: {why}"
            for rel, url, why in problems]


def check_links(cfg, site_dir: Path) -> None:
    """Raise RenderError listing every broken internal link or anchor (first line first)."""
    problems = broken_links(cfg, site_dir)
    if problems:
        raise RenderError("\n".join(problems))
