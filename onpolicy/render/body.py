"""One page body: Jinja (with chart(), require(), ...) -> Markdown -> figures -> KaTeX.

This module does not know the site build: what a body needs from it is the Build protocol
below (site.SiteBuild provides it), so the imports run one way, site -> body.
"""
from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Callable
from typing import Protocol

import jinja2

from .citations import link_citations
from .content import Content
from .errors import MissingResult, RenderError
from .explorables import explorable_html
from .figures import ChartFiles, figure_html
from .katex import Formula, KatexRenderer, KatexUnavailable, find_math, replace_math
from .pages import Page, inline_markdown, markdown_to_html, reading_split, toc_html
from .section_outputs import render_sections
from .sections import PageSections
from .templating import _template_line, compile_body, render_reporting_lines

# Placeholders that pass through Markdown untouched; replaced by HTML afterwards.
FIGURE_TOKEN = "%%FIGURE-{}%%"
EXPLORABLE_TOKEN = "%%EXPLORABLE-{}%%"
PARAGRAPH_OPEN = re.compile(r"<p[\s>]")
FIGREF_TOKEN = re.compile(r"%%FIGREF-([A-Za-z0-9_.-]+)%%")


def _last_paragraph_open(html: str, end: int) -> int:
    """Where the last match of PARAGRAPH_OPEN that ends before `end` starts, or -1: searched
    backwards from `end` (scanning every <p from the page's start, once per figure, was
    most of the time spent placing figures in a long article)."""
    at = end
    while (at := html.rfind("<p", 0, at)) >= 0:
        after = at + 2
        if after < end and (html[after] == ">" or PARAGRAPH_OPEN.match(html, at, end)):
            return at
    return -1


class Build(Protocol):
    """What a page body needs from the build it is part of."""

    settings: dict                 # _site.yaml
    pages: list[Page]              # every page of the site (link() looks names up here)
    content: Content               # facts.py / figures.py of the site's content folders
    body_env: jinja2.Environment

    def warn(self, message: str) -> None: ...
    def katex(self) -> KatexRenderer: ...
    def chart_files(self, chart_id: str) -> ChartFiles: ...
    def knows_chart(self, chart_id: str) -> bool: ...
    def knows_explorable_data(self, data_id: str) -> bool: ...
    def explorable_data(self, data_id: str) -> None: ...
    def asset(self, root: str, path: str) -> str: ...
    def body_globals(self, page: Page, root: str) -> dict: ...
    def page_sections(self, page: Page) -> PageSections | None: ...


@dataclasses.dataclass
class RenderedBody:
    content: str          # HTML
    toc: str              # HTML (nested <ol>), empty when the page has no h2/h3
    reading: dict         # minutes: reading_minutes (the main line: all of it without front
                          # matter reading_until) and reading_minutes_after (the appendices)
    has_charts: bool
    has_math: bool
    has_explorables: bool = False
    explorable_data: list[str] = dataclasses.field(default_factory=list)  # data ids placed


class PageBody:
    def __init__(self, page: Page, build: Build, root: str):
        self.page = page
        self.build = build
        self.root = root                      # relative path from this page to the site root
        self.figures: list[tuple[str, str, int]] = []  # (anchor, html, line), in page order
        self.anchors: dict[str, str] = {}     # chart id -> anchor of its first figure
        self.figrefs: dict[str, int] = {}     # chart id -> source line of its first figref
        self.explorables: list[tuple[str, str, int]] = []  # (name, html, line), page order
        self.explorable_data: list[str] = []
        self.calls: list[tuple[str, str]] = []  # ("chart" | "data", id) given to the build
        self.warned: list[str] = []             # warnings this body gave while in Jinja
        self.template = None
        self.sections: PageSections | None = None
        self.frames: dict[str, tuple[jinja2.Template, int]] = {}  # filename -> (template, offset)
        self.rendered_source = ""
        macros = {**(build.settings.get("macros") or {}), **(page.meta.get("macros") or {})}
        self.macros = tuple(sorted(macros.items()))

    # -- where in the .md file are we -----------------------------------------------------

    def line_now(self) -> int:
        """The .md line being rendered now: the innermost frame of this page's template(s)."""
        frame = sys._getframe(1)
        while frame is not None:
            found = self.frames.get(frame.f_code.co_filename)
            if found is not None:
                template, offset = found
                return _template_line(template, frame.f_lineno) + offset + self.page.body_offset
            frame = frame.f_back
        return 1 + self.page.body_offset

    def error(self, message: str, line: int | None = None) -> RenderError:
        return RenderError.at(self.page.display_path, line or self.line_now(), message)

    # -- Jinja globals ----------------------------------------------------------------------

    def chart(self, chart_id: str, caption: str = "", alt: str = "") -> str:
        for name, value in (("id", chart_id), ("caption", caption), ("alt", alt)):
            if not isinstance(value, str):
                raise self.error(f"chart(): {name} must be text in quotes, got "
                                 f"{type(value).__name__} {value!r}")
        if not self.build.knows_chart(chart_id):
            raise self.error(f"unknown chart id {chart_id!r}; known ids: "
                             f"{self.build.content.known_figures()}")
        try:
            self.calls.append(("chart", chart_id))
            files: ChartFiles = self.build.chart_files(chart_id)
        except MissingResult as err:
            raise self.error(f"chart {chart_id!r} needs result {err.name!r} which is "
                             "missing") from None
        number = len(self.figures) + 1
        anchor = f"fig-{chart_id}" if chart_id not in self.anchors else f"fig-{chart_id}-{number}"
        self.anchors.setdefault(chart_id, anchor)
        if not alt:
            self.warned.append(f"{self.page.display_path}:{self.line_now()}: chart "
                               f"{chart_id!r} has no alt text; the caption is used")
            self.build.warn(self.warned[-1])
            alt = re.sub(r"[$\\{}]", "", caption) or f"Chart {chart_id}"
        caption_html = ("" if not caption else self.sections.inline(caption) if self.sections
                        else inline_markdown(caption))
        self.figures.append((anchor, figure_html(files, number, anchor, caption_html, alt,
                                                 self.root), self.line_now()))
        return FIGURE_TOKEN.format(number)

    def explorable(self, name: str, script: str = "", data: str | None = None, label: str = "",
                   caption: str = "", on_demand: str | None = None) -> str:
        """An explorable figure (onpolicy/render/explorables.py): `script` under static/,
        `data` an @explorable_data id of a content module (or none), loaded with the script;
        `on_demand` one the script loads when the reader asks for it."""
        for what, value in (("name", name), ("script", script), ("label", label),
                            ("caption", caption)):
            if not isinstance(value, str):
                raise self.error(f"explorable(): {what} must be text in quotes, got "
                                 f"{type(value).__name__} {value!r}")
        if not script or not label:
            raise self.error(f"explorable({name!r}): give script='js/...' and a label")
        if any(name == n for n, _, _ in self.explorables):
            raise self.error(f"explorable({name!r}) is placed twice on this page")
        for data_id in (data, on_demand):
            if data_id is None:
                continue
            if not self.build.knows_explorable_data(data_id):
                known = ", ".join(sorted(self.build.content.explorable_data)) or "none"
                raise self.error(f"explorable({name!r}): unknown data id {data_id!r}; known: "
                                 f"{known}")
            try:
                self.calls.append(("data", data_id))
                self.build.explorable_data(data_id)
            except MissingResult as err:
                raise self.error(f"explorable data {data_id!r} needs result {err.name!r} "
                                 "which is missing") from None
            self.explorable_data.append(data_id)
        fallback = ('<noscript><p class="chart-noscript">This explorable figure needs '
                    'JavaScript.</p></noscript>')
        html = explorable_html(name, self.build.asset(self.root, script), data, self.root,
                               label, inline_markdown(caption) if caption else "", fallback,
                               on_demand)
        self.explorables.append((name, html, self.line_now()))
        return EXPLORABLE_TOKEN.format(len(self.explorables))

    def figref(self, chart_id: str) -> str:
        """'Figure N' linking to the chart's figure on this page (forward references work)."""
        self.figrefs.setdefault(chart_id, self.line_now())
        return f"%%FIGREF-{chart_id}%%"

    def require(self, condition, message: str = "requirement failed") -> str:
        if not condition:
            raise self.error(f"require() failed: {message}")
        return ""

    def url(self, path: str = "") -> str:
        """A site-root-relative path ("reproduce/", "data/results/x.json") from this page."""
        return (self.root + path.lstrip("/")) or "./"

    def link(self, name: str) -> str:
        """The URL of another page, by its file stem or slug; an error if there is none."""
        for other in self.build.pages:
            if name in (other.name, other.slug):
                return self.url(other.url_path)
        known = ", ".join(p.name for p in self.build.pages)
        raise self.error(f"link({name!r}): no such page (pages: {known})")

    def globals(self) -> dict[str, Callable | object]:
        return {**self.build.body_globals(self.page, self.root), "chart": self.chart,
                "explorable": self.explorable, "figref": self.figref, "require": self.require, "url": self.url,
                "link": self.link,
                "page": self.page.meta}

    # -- the pipeline -----------------------------------------------------------------------

    def render(self) -> RenderedBody:
        self.sections = sections = self.build.page_sections(self.page)
        rendered = render_sections(self, sections) if sections is not None else None
        self.rendered_source = rendered if rendered is not None else self._render_whole()
        convert = sections.markdown if sections is not None else markdown_to_html
        html, toc_tokens = convert(self.rendered_source)
        if sections is not None:
            sections.save()
        minutes, after = reading_split(html, self.page)
        html = link_citations(self._place_figures(html))
        content, math_in_content = self._typeset(html)
        toc, math_in_toc = self._typeset(toc_html(toc_tokens))
        return RenderedBody(content, toc, {"reading_minutes": minutes,
                                           "reading_minutes_after": after},
                            bool(self.figures or self.explorables), math_in_content or math_in_toc,
                            bool(self.explorables), self.explorable_data)

    def _render_whole(self) -> str:
        page = self.page
        try:
            self.template = compile_body(self.build.body_env, page.body, page.display_path)
        except Exception as err:  # TemplateSyntaxError
            line = (getattr(err, "lineno", None) or 1) + page.body_offset
            raise RenderError.at(page.display_path, line,
                                 f"{type(err).__name__}: {getattr(err, 'message', err)}") from None
        self.frames = {self.template.filename: (self.template, 0)}
        return render_reporting_lines(self.template, self.globals(), page.display_path,
                                      page.body_offset)

    def _place_figures(self, html: str) -> str:
        placed = [(FIGURE_TOKEN.format(n), figure, line, "chart()")
                  for n, (_, figure, line) in enumerate(self.figures, start=1)]
        placed += [(EXPLORABLE_TOKEN.format(n), figure, line, "explorable()")
                   for n, (_, figure, line) in enumerate(self.explorables, start=1)]
        for token, figure, line, macro in placed:
            html = html.replace(f"<p>{token}</p>", figure)
            at = html.find(token)
            if at >= 0 and _last_paragraph_open(html, at) > html.rfind("</p>", 0, at):
                raise self.error(f"{macro} must stand alone in its own paragraph (a blank "
                                 "line before and after): a <figure> cannot sit inside a <p>",
                                 line)
            html = html.replace(token, figure)
        numbers = {anchor: n for n, (anchor, _, _) in enumerate(self.figures, start=1)}

        def link(match: re.Match) -> str:
            chart_id = match.group(1)
            if chart_id not in self.anchors:
                raise self.error(f"figref({chart_id!r}): no chart with that id on this page",
                                 self.figrefs.get(chart_id))
            anchor = self.anchors[chart_id]
            return f'<a class="figref" href="#{anchor}">Figure {numbers[anchor]}</a>'
        return FIGREF_TOKEN.sub(link, html)

    def _typeset(self, fragment: str) -> tuple[str, bool]:
        found = find_math(fragment)
        if not found:
            return fragment, False
        formulas = [dataclasses.replace(f, macros=self.macros) for _, f in found]
        try:
            typeset = self.build.katex().render_many(formulas)
        except KatexUnavailable as err:
            raise self.error(str(err), self.formula_line(formulas[0])) from None
        for formula, result in zip(formulas, typeset):
            if result.error is not None:
                raise self.error(f"KaTeX: {result.error}", self.formula_line(formula))
            for warning in result.warnings:
                self.build.warn(f"{self.page.display_path}:{self.formula_line(formula)}: "
                                f"KaTeX: {warning}")
        return replace_math(fragment, found, typeset), True

    def formula_line(self, formula: Formula) -> int:
        """Where a formula is in the .md file: found in the source text, else (after Jinja
        changed it) in the rendered body, whose line numbers are close to the source's."""
        tex = formula.tex
        lines = [s.strip() for s in tex.splitlines() if s.strip()]
        candidates = ([tex] if formula.display else [f"${tex}$", f"\\({tex}\\)"])
        candidates += sorted(lines, key=len, reverse=True)[:1]
        source = self.page.source.read_text(encoding="utf-8")
        body_start = len("".join(source.splitlines(keepends=True)[:self.page.body_offset]))
        for candidate in candidates:
            at = source.find(candidate, body_start)
            if at >= 0:
                return source.count("\n", 0, at) + 1
        for candidate in candidates:
            at = self.rendered_source.find(candidate)
            if at >= 0:
                return self.rendered_source.count("\n", 0, at) + 1 + self.page.body_offset
        return self.page.body_offset + 1
