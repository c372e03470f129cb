"""Page sources: YAML front matter, where each page goes, and Markdown -> HTML."""
from __future__ import annotations

import copy
import datetime as dt
import functools
import html
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from .. import file_digests
from ..config import shown
from .errors import RenderError
from .front_matter import MAX_FRONT_MATTER_BYTES, YamlError, check_macros, load_yaml
from .markdown_setup import (converter, inline_markdown,  # noqa: F401 (used from pages)
                             markdown_to_html, new_markdown)

REQUIRED_FIELDS = ("title", "description")
# Top-level names the site itself uses: no page may take one as its URL (`new` refuses them)
RESERVED_NAMES = {"index": "the home page", "static": "the site's CSS, scripts and fonts",
                  "data": "the charts' and results' data files"}
FEED_TEMPLATE = "article.html"  # pages with this layout are articles: need a date, go in the feed
WORDS_PER_MINUTE = 220


@dataclass
class Page:
    source: Path
    display_path: str        # how errors name the file: "site_src/article/index.md"
    meta: dict
    body: str
    body_offset: int         # file lines before the body's first line
    slug: str                # "" for the home page
    out_path: str            # "article/index.html", relative to the site root
    url_path: str            # "article/": the pretty URL, relative to the site root
    depth: int               # directories between the page and the site root
    name: str = ""           # what link() finds it by: the file stem, or its folder's name
    fields: dict = field(default_factory=dict)  # filled while rendering (content, toc, ...)

    @property
    def title(self) -> str:
        return str(self.meta["title"])

    @property
    def template(self) -> str:
        return str(self.meta.get("template") or "page.html")

    @property
    def draft(self) -> bool:
        return bool(self.meta.get("draft", False))

    @property
    def date(self) -> dt.date | None:
        return self.meta.get("date")

    @property
    def is_404(self) -> bool:
        return self.source.stem == "404"

    @property
    def is_article(self) -> bool:
        return self.template == FEED_TEMPLATE

    def sort_key(self) -> tuple:
        """Front matter `order` first (default: articles 10, other pages 1000), then date."""
        order = self.meta.get("order", 10 if self.is_article else 1000)
        return (order, str(self.date or ""), self.title)


def read_source(path: Path, display_path: str) -> str:
    """A source file's text: UTF-8, with or without a byte-order mark; else a RenderError
    naming the line of the first byte that is not UTF-8."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise RenderError.at(display_path, line, f"not UTF-8 text: byte {data[err.start]:#04x} "
                             f"at column {column}; save the file as UTF-8") from None


@functools.lru_cache(maxsize=64)  # serve reads every page's front matter again on each build
def _parsed_yaml(front: str, root: Path | None):
    return load_yaml(front, root)


def split_front_matter(text: str, display_path: str,
                       root: Path | None = None) -> tuple[dict, str, int]:
    """'---\\nyaml\\n---\\nbody' -> (meta, body, lines before the body). root: the project
    whose cache of parsed YAML texts to use (None: parse every time)."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise RenderError.at(display_path, 1, "missing front matter: the file must start with "
                             "'---', then YAML (title, description, ...), then '---'")
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        raise RenderError.at(display_path, 1, "front matter is not closed: no second '---' line")
    front = "".join(lines[1:end])
    if len(front.encode("utf-8")) > MAX_FRONT_MATTER_BYTES:
        raise RenderError.at(display_path, 2, f"front matter is {len(front) // 1024} KB; at "
                             f"most {MAX_FRONT_MATTER_BYTES // 1024} KB (the page's text goes "
                             "after the closing '---')")
    try:
        meta = copy.deepcopy(_parsed_yaml(front, root)) or {}
    except YamlError as err:
        if err.problem_line is None and err.context_line is None:
            raise RenderError.at(display_path, 1, f"front matter YAML: {err}") from None
        mark = err.problem_line if err.problem_line is not None else err.context_line
        if err.context_line is not None and mark >= end - 1:  # hit the end: point at what
            mark = err.context_line                           # was left open
        line = mark + 2  # +1: the opening '---'; +1: 0-based
        raise RenderError.at(display_path, line, f"front matter YAML: {err.problem}") from None
    if not isinstance(meta, dict):
        raise RenderError.at(display_path, 2, "front matter must be a YAML mapping (key: value)")
    return meta, "".join(lines[end + 1:]), end + 1


def _field_line(text: str, name: str) -> int:
    match = re.search(rf"^{re.escape(name)}\s*:", text, re.M)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def _check_meta(meta: dict, text: str, display_path: str) -> None:
    missing = [f for f in REQUIRED_FIELDS if not meta.get(f)]
    if meta.get("template") == FEED_TEMPLATE and not meta.get("date"):
        missing.append("date")
    if missing:
        raise RenderError.at(display_path, 1, "front matter is missing required field(s): "
                             + ", ".join(missing))
    for name in ("date", "updated"):
        value = meta.get(name)
        if isinstance(value, dt.datetime):
            meta[name] = value.date()
        elif value is not None and not isinstance(value, dt.date):
            try:
                meta[name] = dt.date.fromisoformat(str(value))
            except ValueError as err:
                why = "" if "isoformat" in str(err) else f": {err}"
                raise RenderError.at(display_path, _field_line(text, name),
                                     f"{name} {value!r} is not a date (YYYY-MM-DD){why}") from None
    for name, kind in (("draft", bool), ("order", int), ("slug", str), ("template", str),
                       ("title", str), ("description", str), ("nav_title", str),
                       ("reading_until", str)):
        if name in meta and (not isinstance(meta[name], kind) or kind is int and
                             isinstance(meta[name], bool)):
            raise RenderError.at(display_path, _field_line(text, name),
                                 f"front matter field {name!r} must be "
                                 + ("text" if kind is str else f"a {kind.__name__}")
                                 + f", not {type(meta[name]).__name__} {meta[name]!r:.60}")
    check_macros(meta.get("macros"), display_path, _field_line(text, "macros"))


def load_page(path: Path, display_path: str, name: str | None = None,
              root: Path | None = None) -> Page:
    """name: the page's name when it is not the file stem (a folder's index.md); root: the
    project whose cache of parsed front matter to use."""
    text = read_source(path, display_path)
    meta, body, offset = split_front_matter(text, display_path, root)
    _check_meta(meta, text, display_path)
    stem = name or path.stem
    if stem == "index":
        slug, out_path, url_path, depth = "", "index.html", "", 0
    elif stem == "404":
        slug, out_path, url_path, depth = "404", "404.html", "404.html", 0
    else:
        slug = str(meta.get("slug") or stem).strip("/")
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", slug):
            raise RenderError.at(display_path, _field_line(text, "slug"),
                                 f"slug {slug!r}: use lowercase letters, digits, '-', '_', '.'")
        if slug in RESERVED_NAMES:
            raise RenderError.at(display_path, _field_line(text, "slug"), f"the URL {slug}/ is "
                                 f"{RESERVED_NAMES[slug]}: give the page another slug")
        out_path, url_path, depth = f"{slug}/index.html", f"{slug}/", 1
    return Page(path, display_path, meta, body, offset, slug, out_path, url_path, depth, stem)


def page_sources(src_dir: Path) -> list[tuple[Path, str]]:
    """(file, page name): src_dir/<name>.md, and src_dir/<name>/index.md for a content folder
    (a page with its facts.py and figures.py beside it). Names starting with '_' or '.' are
    not pages."""
    files = [(p, p.stem) for p in sorted(src_dir.glob("*.md")) if not p.name.startswith("_")]
    files += [(p, p.parent.name) for p in sorted(src_dir.glob("*/index.md"))
              if not p.parent.name.startswith(("_", "."))]
    return files


def load_pages(src_dir: Path, display_root: Path, drafts: bool) -> list[Page]:
    """Every page of src_dir (see page_sources), sorted by order/date."""
    pages = []
    for path, name in page_sources(src_dir):
        page = load_page(path, shown(path, display_root), name, display_root)
        if page.draft and not drafts:
            continue
        pages.append(page)
    file_digests.save(display_root)  # front matter parsed for the first time, if any
    slugs: dict[str, str] = {}
    for page in pages:
        if page.out_path in slugs:
            raise RenderError.at(page.display_path, 1,
                                 f"page {page.out_path} is also produced by {slugs[page.out_path]}")
        slugs[page.out_path] = page.display_path
    return sorted(pages, key=Page.sort_key)


def page_root(page: Page) -> str:
    """The link prefix from a page to the site root: relative ("" or "../"), so one build
    works at /, under /repo/ and from disk. 404.html, which a host serves at any depth, is
    written as if at the root and given a <base> (see base_path)."""
    return "../" * page.depth


def base_path(base_url: str) -> str:
    """404.html's <base href>: base_url's path ("/repo/"); "" when base_url is unset, and
    the page's head script then works out the site's root from its own address."""
    return (urlparse(base_url).path.rstrip("/") + "/") if base_url else ""


def relative_url(root: str, path: str) -> str:
    return (root + path) or "./"


def toc_html(tokens: list[dict]) -> str:
    """A nested list of links; headings' HTML is kept so their math is typeset too."""
    if not tokens:
        return ""
    items = "".join(f'<li><a href="#{t["id"]}">{t["html"]}</a>{toc_html(t["children"])}</li>'
                    for t in tokens)
    return f"<ol>{items}</ol>"


_TAGS = re.compile(r"<[^>]+>")
_MATH = re.compile(r'<(span|div) class="arithmatex">.*?</\1>', re.S)


def reading_minutes(body_html: str) -> int:
    """words / 220, rounded up; math and markup do not count as words."""
    text = html.unescape(_TAGS.sub(" ", _MATH.sub(" ", body_html)))
    return max(1, math.ceil(len(text.split()) / WORDS_PER_MINUTE))


def reading_split(body_html: str, page: Page) -> tuple[int, int]:
    """(minutes before, minutes from) the first heading whose id starts with the page's front
    matter `reading_until` (e.g. the appendices' "appendix-"); (all, 0) without one."""
    until = page.meta.get("reading_until")
    if not until:
        return reading_minutes(body_html), 0
    match = re.search(rf'<h[1-6][^>]*\sid="{re.escape(until)}', body_html)
    if match is None:
        raise RenderError.at(page.display_path, 1, f"front matter reading_until {until!r}: "
                             "no heading's id starts with it")
    return reading_minutes(body_html[:match.start()]), reading_minutes(body_html[match.start():])
