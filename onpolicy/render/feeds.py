"""sitemap.xml and the Atom feed: the two places that must use absolute URLs (cfg.base_url)."""
from __future__ import annotations

import datetime as dt

from .pages import Page


def escape(text: str) -> str:
    """xml.sax.saxutils.escape, imported when a feed is written: it pulls in urllib.request
    and email, which a build without base_url (or one rendering a single page) never needs."""
    from xml.sax.saxutils import escape as xml_escape
    return xml_escape(text)


def absolute(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def _listed(pages: list[Page]) -> list[Page]:
    return [p for p in pages if not p.is_404 and not p.draft]


def sitemap_xml(pages: list[Page], base_url: str) -> str:
    entries = []
    for page in _listed(pages):
        lastmod = f"<lastmod>{page.date.isoformat()}</lastmod>" if page.date else ""
        entries.append(f"  <url><loc>{escape(absolute(base_url, page.url_path))}</loc>"
                       f"{lastmod}</url>")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + "\n".join(entries) + "\n</urlset>\n")


def _timestamp(date: dt.date) -> str:
    return f"{date.isoformat()}T00:00:00Z"


def atom_xml(pages: list[Page], base_url: str, site: dict) -> str:
    articles = sorted((p for p in _listed(pages) if p.is_article and p.date),
                      key=lambda p: p.date, reverse=True)
    home = absolute(base_url, "")
    updated = _timestamp(max((p.date for p in articles), default=dt.date(1970, 1, 1)))
    author = escape(site.get("author") or site["title"])
    entries = []
    for page in articles:
        url = escape(absolute(base_url, page.url_path))
        entries.append(
            "  <entry>\n"
            f"    <title>{escape(page.title)}</title>\n"
            f'    <link rel="alternate" type="text/html" href="{url}"/>\n'
            f"    <id>{url}</id>\n"
            f"    <published>{_timestamp(page.date)}</published>\n"
            f"    <updated>{_timestamp(page.meta.get('updated') or page.date)}</updated>\n"
            f"    <summary>{escape(str(page.meta['description']))}</summary>\n"
            "  </entry>")
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom">\n'
            f"  <title>{escape(site['title'])}</title>\n"
            f'  <link rel="alternate" type="text/html" href="{escape(home)}"/>\n'
            f'  <link rel="self" type="application/atom+xml" '
            f'href="{escape(absolute(base_url, "feed.xml"))}"/>\n'
            f"  <id>{escape(home)}</id>\n"
            f"  <updated>{updated}</updated>\n"
            f"  <author><name>{author}</name></author>\n"
            + "\n".join(entries) + ("\n" if entries else "") + "</feed>\n")
