"""render_site: every page of site_src/ -> a directory (pages, charts, data, assets, feeds)."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import jinja2
import yaml
from markupsafe import Markup

from ..config import shown
from .assets import copy_assets, plotly_bundle_names
from .body import PageBody, RenderedBody
from .content import load_content
from .errors import RenderError
from .feeds import absolute, atom_xml, sitemap_xml
from .figures import RESULTS_DIR, ChartFiles, write_chart
from .katex import KatexRenderer
from .pages import FrontMatterLoader, Page, load_pages, read_source
from .templating import NamedMapping, body_environment, layout_environment

SETTINGS_FILE = "_site.yaml"   # site-wide settings in src_dir: title, description, author, ...
DEFAULT_SETTINGS = {"title": "onpolicy", "description": "", "author": "", "lang": "en",
                    "macros": {}, "source_url": "", "license": "", "license_url": ""}


def load_settings(src_dir: Path, root: Path) -> dict:
    path = src_dir / SETTINGS_FILE
    if not path.is_file():
        return dict(DEFAULT_SETTINGS)
    try:
        loaded = yaml.load(read_source(path, shown(path, root)), Loader=FrontMatterLoader) or {}
    except yaml.MarkedYAMLError as err:
        line = err.problem_mark.line + 1 if err.problem_mark else 1
        raise RenderError.at(shown(path, root), line, f"YAML: {err.problem}") from None
    if not isinstance(loaded, dict):
        raise RenderError.at(shown(path, root), 1, "must be a YAML mapping")
    return {**DEFAULT_SETTINGS, **loaded}


def page_root(page: Page) -> str:
    """The link prefix from a page to the site root: relative ("" or "../"), so one build
    works at /, under /repo/ and from disk. 404.html, which a host serves at any depth, is
    written as if at the root and given a <base> (see base_path)."""
    return "../" * page.depth


def base_path(base_url: str) -> str:
    """404.html's <base href>: base_url's path ("/repo/"); "" when base_url is unset, and
    the page's head script then works out the site's root from its own address."""
    return (urlparse(base_url).path.rstrip("/") + "/") if base_url else ""


def git_updated(path: Path, repo: Path):
    """The date of the last commit that touched path, or None outside git."""
    try:
        proc = subprocess.run(["git", "log", "-1", "--format=%cs", "--", str(path)], cwd=repo,
                              capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    try:
        return dt.date.fromisoformat(proc.stdout.strip()) if proc.returncode == 0 else None
    except ValueError:
        return None


def relative_url(root: str, path: str) -> str:
    return (root + path) or "./"


class SiteBuild:
    def __init__(self, cfg, results: dict, results_meta: dict, out_dir: Path):
        self.cfg = cfg
        self.out_dir = Path(out_dir)
        self.results = NamedMapping(results, "result")
        self.results_meta = NamedMapping(results_meta, "result")
        self.warnings: list[str] = []
        self.settings = load_settings(cfg.src_dir, cfg.root)
        self.pages = load_pages(cfg.src_dir, cfg.root, cfg.drafts)
        if not self.pages:
            raise RenderError(f"{cfg.src_dir}: no pages (*.md) to render")
        self.body_env = body_environment()
        self.layout_env = layout_environment(cfg.templates_dir)
        self.content = load_content(cfg.src_dir, cfg.root)
        self.facts = NamedMapping(self.content.compute_facts(self.results), "fact")
        self._charts: dict[str, ChartFiles] = {}
        self._katex: KatexRenderer | None = None
        self.asset_hashes: dict[str, str] = {}
        self.plotly = plotly_bundle_names(cfg.node_modules)

    def updated(self, page: Page):
        """Articles: the last commit date of their source (None outside a git checkout)."""
        return git_updated(page.source, self.cfg.root) if page.is_article else None

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def katex(self) -> KatexRenderer:
        if self._katex is None:
            self._katex = KatexRenderer(self.cfg.node_modules, self.cfg.cache_dir)
        return self._katex

    def chart_files(self, chart_id: str) -> ChartFiles:
        if chart_id not in self._charts:
            figure, used = self.content.build_figure(chart_id, self.results)
            self._charts[chart_id] = write_chart(chart_id, figure, used, self.out_dir)
        return self._charts[chart_id]

    # -- what templates see -------------------------------------------------------------------

    def site_info(self, root: str) -> dict:
        pages = [{"title": p.title, "description": p.meta.get("description", ""),
                  "date": p.date, "slug": p.slug, "url": relative_url(root, p.url_path),
                  "is_article": p.is_article, "draft": p.draft, "meta": p.meta,
                  "nav_title": p.meta.get("nav_title") or p.title}
                 for p in self.pages if not p.is_404]
        return {"title": self.settings["title"], "description": self.settings["description"],
                "author": self.settings["author"], "lang": self.settings["lang"],
                "source_url": self.settings["source_url"], "license": self.settings["license"],
                "license_url": self.settings["license_url"],
                "base_url": self.cfg.base_url, "pages": pages,
                "nav": [p for p in pages if p["slug"] and not p["draft"]]}

    def body_globals(self, page: Page, root: str) -> dict:
        return {"results": self.results, "results_meta": self.results_meta,
                "facts": self.facts, "site": self.site_info(root)}

    def asset(self, root: str, path: str) -> str:
        version = self.asset_hashes.get(path)
        return f"{root}static/{path}" + (f"?v={version}" if version else "")

    def layout_context(self, page: Page, body: RenderedBody, root: str) -> dict:
        base = self.cfg.base_url
        canonical = absolute(base, page.url_path) if base and not page.is_404 else ""
        return {
            "site": self.site_info(root), "root": root, "home_url": relative_url(root, ""),
            "page": {**page.meta, "title": page.title, "slug": page.slug, "url_path": page.url_path,
                     "is_article": page.is_article, "is_404": page.is_404, "draft": page.draft,
                     "reading_minutes": body.reading_minutes,
                     "updated": page.meta.get("updated") or self.updated(page)},
            "content": Markup(body.content), "toc": Markup(body.toc),
            "has_charts": body.has_charts, "has_math": body.has_math,
            "asset": lambda path: self.asset(root, path),
            "plotly_2d": f"{root}static/{self.plotly['2d']}",
            "plotly_3d": f"{root}static/{self.plotly['3d']}",
            "base_path": base_path(base) if page.is_404 else None,
            "canonical_url": canonical,
            "feed_url": relative_url(root, "feed.xml") if base else "",
            "results_meta": self.results_meta,
            "quick": self.cfg.quick,
            "stale_results": sorted(n for n, m in self.results_meta.items() if m.get("stale")),
        }

    def render_layout(self, page: Page, context: dict) -> str:
        templates = self.cfg.templates_dir
        try:
            return self.layout_env.get_template(page.template).render(context)
        except RenderError:
            raise
        except jinja2.TemplateNotFound as err:
            raise RenderError.at(page.display_path, 1, f"layout template {err.name!r} not found "
                                 f"in {shown(templates, self.cfg.root)}/") from None
        except jinja2.TemplateSyntaxError as err:
            raise RenderError.at(shown(Path(err.filename or page.template), self.cfg.root),
                                 err.lineno, f"TemplateSyntaxError: {err.message}") from None
        except Exception as err:
            where, line, tb = page.template, None, err.__traceback__
            while tb is not None:  # the innermost template frame (Jinja rewrote the line numbers)
                filename = tb.tb_frame.f_code.co_filename
                if filename.startswith(str(templates)):
                    where, line = filename, tb.tb_lineno
                tb = tb.tb_next
            raise RenderError.at(shown(Path(where), self.cfg.root), line,
                                 f"{type(err).__name__}: {err} (rendering "
                                 f"{page.display_path})") from None

    # -- the build ------------------------------------------------------------------------------

    def write_results(self) -> None:
        folder = self.out_dir / RESULTS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        for name, payload in sorted(self.results.items()):
            meta = self.results_meta.get(name, {})
            document = {"experiment": name, "inputs_hash": meta.get("inputs_hash"),
                        "provenance": meta.get("provenance", {}),
                        "inputs": meta.get("inputs", {}), "result": payload}
            (folder / f"{name}.json").write_text(json.dumps(document, separators=(",", ":")),
                                                 encoding="utf-8")

    def write_feeds(self) -> None:
        base = self.cfg.base_url
        if not base:
            self.warn("base_url is not set: sitemap.xml, feed.xml and canonical/og:url links "
                      "were left out (they need absolute URLs)")
            return
        (self.out_dir / "sitemap.xml").write_text(sitemap_xml(self.pages, base), encoding="utf-8")
        (self.out_dir / "feed.xml").write_text(atom_xml(self.pages, base, self.settings),
                                               encoding="utf-8")
        robots = f"User-agent: *\nAllow: /\nSitemap: {absolute(base, 'sitemap.xml')}\n"
        (self.out_dir / "robots.txt").write_text(robots, encoding="utf-8")

    def run(self) -> list[str]:
        self.asset_hashes = copy_assets(self.cfg.static_dir, self.cfg.node_modules, self.out_dir)
        self.write_results()
        try:
            for page in self.pages:
                root = page_root(page)
                body = PageBody(page, self, root).render()
                html = self.render_layout(page, self.layout_context(page, body, root))
                target = self.out_dir / page.out_path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(html, encoding="utf-8")
        finally:
            if self._katex is not None:
                self._katex.close()
        if not (self.settings["source_url"] and self.settings["license"]):
            self.warn(f"{SETTINGS_FILE}: source_url and license are not both set: the footer "
                      "has no source link or licence")
        self.write_feeds()
        (self.out_dir / ".nojekyll").write_text("", encoding="utf-8")
        return self.warnings


def render_site(cfg, results: dict[str, dict], results_meta: dict[str, dict],
                out_dir: Path) -> list[str]:
    """Render every page of cfg.src_dir into out_dir (an existing, empty directory).

    Returns warnings; raises RenderError('file:LINE: message') for any bad input.
    """
    return SiteBuild(cfg, results or {}, results_meta or {}, out_dir).run()
