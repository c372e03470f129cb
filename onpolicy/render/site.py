"""render_site: every page of site_src/ -> a directory (pages, charts, data, assets, feeds)."""
from __future__ import annotations

import json
from pathlib import Path

import jinja2
from markupsafe import Markup

from ..config import shown
from .assets import chart_bundle_names, copy_assets
from .body import PageBody, RenderedBody
from .content import Content, load_content
from .errors import RenderError
from .feeds import absolute, atom_xml, sitemap_xml
from .explorables import ExplorableData
from .figures import (CHART_DIR, RESULTS_DIR, ChartFiles, describe_reused, files_under,
                      write_chart)
from .katex import KatexRenderer
from .pages import Page, base_path, load_pages, page_root, relative_url
from .render_cache import FactsCache
from .sections import PageSections
from .site_inputs import SETTINGS_FILE, git_updated, load_settings
from .templating import NamedMapping, body_environment, layout_environment
from .unit_keys import UnitKeys


class SiteBuild:
    """One render. With `reuse` (an incremental.Reuse), each unit (assets, results, a chart,
    a page) whose key is unchanged is copied from the current site instead of rendered."""

    def __init__(self, cfg, results: dict, results_meta: dict, out_dir: Path, reuse=None):
        self.cfg = cfg
        self.out_dir = Path(out_dir)
        self.results = NamedMapping(results, "result")
        # "examples": the dataset's size, as the experiment package reads it from the
        # dataset identity (contract.Suite.examples; pipeline._load_results)
        self.results_meta = NamedMapping({name: {"examples": {}, **meta}
                                          for name, meta in results_meta.items()}, "result")
        self.warnings: list[str] = []
        self.settings = load_settings(cfg.src_dir, cfg.root)
        if cfg.source_url:
            self.settings["source_url"] = cfg.source_url
        self.pages = load_pages(cfg.src_dir, cfg.root, cfg.drafts)
        if not self.pages:
            raise RenderError(f"{cfg.src_dir}: no pages (*.md) to render")
        self.body_env = body_environment(cfg.cache_dir)
        self.layout_env = layout_environment(cfg.templates_dir, cfg.cache_dir)
        self.reuse = reuse
        self.keys = UnitKeys(cfg, self.pages, self.settings, reuse) if reuse else None
        self._content: Content | None = None
        self._facts: NamedMapping | None = None
        self._charts: dict[str, ChartFiles] = {}
        self.explorable_data = ExplorableData(self)  # called with a data id: its files
        self._katex: KatexRenderer | None = None
        self.asset_hashes: dict[str, str] = {}
        self.bundles = chart_bundle_names(cfg.node_modules)

    def updated(self, page: Page):
        """Articles: the last commit date of their source (None outside a git checkout)."""
        return git_updated(page.source, self.cfg.root, self.warn) if page.is_article else None

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    @property
    def content(self) -> Content:
        """Loaded when a page is rendered: a build that reuses every page never runs them."""
        if self._content is None:
            self._content = load_content(self.cfg.src_dir, self.cfg.root)
        return self._content

    @property
    def facts(self) -> NamedMapping:
        """Computed by the content modules, or read from the facts cache when neither they nor
        the results changed (then no result is parsed for them)."""
        if self._facts is None:
            cache = FactsCache(self.cfg.cache_dir) if self.keys else None
            facts = cache.load(self.keys.facts) if cache else None
            if facts is None:
                facts = self.content.compute_facts(self.results)
                if cache:
                    cache.store(self.keys.facts, facts)
            self._facts = NamedMapping(facts, "fact")
        return self._facts

    def _reused(self, unit: str, key: str) -> dict | None:
        return self.reuse.take(unit, key, self.out_dir) if self.reuse else None

    def _rendered(self, unit: str, key: str, files: list[str], extra: dict) -> None:
        if self.reuse:
            self.reuse.record(unit, key, files, extra)

    def page_sections(self, page: Page) -> PageSections | None:  # incremental builds only
        return PageSections(self.body_env, page, self.cfg.cache_dir, self.keys.code,
                            self.keys.page_shared(page)) if self.keys else None

    def katex(self) -> KatexRenderer:
        if self._katex is None:
            self._katex = KatexRenderer(self.cfg.node_modules, self.cfg.cache_dir)
        return self._katex

    def _in_last_build(self, unit: str, key_id: str) -> bool:
        """Known without loading the content modules (its key covers their code): no plotly."""
        before = self.reuse.previous_extra(unit) if self.reuse else None
        return before is not None and self.reuse.previous.units[unit]["key"] == \
            self.keys.chart(key_id, before["used_results"])

    def knows_chart(self, chart_id: str) -> bool:
        return (chart_id in self._charts or self._in_last_build(f"chart:{chart_id}", chart_id)
                or chart_id in self.content.figures)

    def knows_explorable_data(self, data_id: str) -> bool:
        unit = f"explorable:{data_id}"
        return self._in_last_build(unit, unit) or data_id in self.content.explorable_data

    def chart_files(self, chart_id: str) -> ChartFiles:
        if chart_id in self._charts:
            return self._charts[chart_id]
        unit = f"chart:{chart_id}"
        before = self.reuse.previous_extra(unit) if self.reuse else None
        if before is not None:  # keyed by the results it read last time
            key = self.keys.chart(chart_id, before["used_results"])
            extra = self._reused(unit, key)
            if extra is not None:
                self._charts[chart_id] = describe_reused(self.out_dir, chart_id, key,
                                                         extra["used_results"])
                return self._charts[chart_id]
        figure, used = self.content.build_figure(chart_id, self.results)
        files = write_chart(chart_id, figure, used, self.out_dir,
                            self.content.figures[chart_id].where)
        written = [f for f in files_under(self.out_dir / CHART_DIR, self.out_dir)
                   if Path(f).with_suffix("").name == chart_id]
        key = self.keys.chart(chart_id, files.used_results) if self.keys else ""
        self._rendered(unit, key, written, {"used_results": files.used_results})
        self._charts[chart_id] = files
        return files

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
                "facts": self.facts, "site": self.site_info(root),
                "page": {**page.meta, "title": page.title, "slug": page.slug}}

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
                     **body.reading,
                     "updated": page.meta.get("updated") or self.updated(page)},
            "content": Markup(body.content), "toc": Markup(body.toc),
            "has_charts": body.has_charts, "has_math": body.has_math,
            "has_explorables": body.has_explorables,
            "asset": lambda path: self.asset(root, path),
            "bundle_2d": f"{root}static/{self.bundles['2d']}",
            "bundle_3d": f"{root}static/{self.bundles['3d']}",
            "base_path": base_path(base) if page.is_404 else None,
            "canonical_url": canonical,
            "feed_url": relative_url(root, "feed.xml") if base else "",
            "results_meta": self.results_meta,
            "quick_results": sorted(n for n, m in self.results_meta.items() if m.get("quick")),
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

    def write_assets(self) -> None:
        key = self.keys.assets if self.keys else ""
        extra = self._reused("assets", key)
        if extra is not None:
            self.asset_hashes = extra["hashes"]
            return
        self.asset_hashes = copy_assets(self.cfg.static_dir, self.cfg.node_modules, self.out_dir)
        self._rendered("assets", key, files_under(self.out_dir / "static", self.out_dir),
                       {"hashes": self.asset_hashes})

    def write_results(self) -> None:
        key = self.keys.results if self.keys else ""
        if self._reused("results", key) is not None:
            return
        folder = self.out_dir / RESULTS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        for name, payload in sorted(self.results.items()):
            meta = self.results_meta.get(name, {})
            document = {"experiment": name, "inputs_hash": meta.get("inputs_hash"),
                        "provenance": meta.get("provenance", {}),
                        "inputs": meta.get("inputs", {}), "result": payload}
            (folder / f"{name}.json").write_text(json.dumps(document, separators=(",", ":")),
                                                 encoding="utf-8")
        self._rendered("results", key, files_under(folder, self.out_dir), {})

    def write_feeds(self) -> None:
        base = self.cfg.base_url
        if not base:
            self.warn("base_url is not set (a local build): no sitemap.xml, feed.xml or "
                      "canonical/og:url links, which need absolute URLs; a published build "
                      "passes --base-url (the Pages workflow does)")
            return
        (self.out_dir / "sitemap.xml").write_text(sitemap_xml(self.pages, base), encoding="utf-8")
        (self.out_dir / "feed.xml").write_text(atom_xml(self.pages, base, self.settings),
                                               encoding="utf-8")
        robots = f"User-agent: *\nAllow: /\nSitemap: {absolute(base, 'sitemap.xml')}\n"
        (self.out_dir / "robots.txt").write_text(robots, encoding="utf-8")

    def write_page(self, page: Page) -> None:
        unit, key = f"page:{page.out_path}", self.keys.page(page) if self.keys else ""
        extra = self._reused(unit, key)
        if extra is not None:
            for warning in extra["warnings"]:
                self.warn(warning)
            for chart_id in extra["charts"]:  # its charts' files are in the new site too
                self.chart_files(chart_id)
            self.explorable_data.many(extra.get("explorable_data", []))  # and its data
            return
        before = len(self.warnings)
        root = page_root(page)
        page_body = PageBody(page, self, root)
        body = page_body.render()
        html = self.render_layout(page, self.layout_context(page, body, root))
        target = self.out_dir / page.out_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
        self._rendered(unit, key, [page.out_path], {"warnings": self.warnings[before:],
                                                    "charts": list(page_body.anchors),
                                                    "explorable_data": body.explorable_data})

    def run(self) -> list[str]:
        self.write_assets()
        self.write_results()
        try:
            for page in self.pages:
                self.write_page(page)
        except BaseException:                 # an error or Ctrl-C: stop the worker at once
            if self._katex is not None:
                self._katex.close(abort=True)
            raise
        if self._katex is not None:
            self._katex.close()
        publishing = bool(self.cfg.base_url)  # a local preview needs no source link
        if not self.settings["license"] or (publishing and not self.settings["source_url"]):
            self.warn(f"{SETTINGS_FILE}: source_url (or --source-url) and license are not both "
                      "set: the footer has no source link or licence")
        self.write_feeds()
        (self.out_dir / ".nojekyll").write_text("", encoding="utf-8")
        return self.warnings


def render_site(cfg, results: dict[str, dict], results_meta: dict[str, dict],
                out_dir: Path, reuse=None) -> list[str]:
    """Render every page of cfg.src_dir into out_dir (an existing, empty directory); with
    reuse (an incremental.Reuse), copy unchanged units from the current site instead.

    Returns warnings; raises RenderError('file:LINE: message') for any bad input.
    """
    return SiteBuild(cfg, results or {}, results_meta or {}, out_dir, reuse).run()
