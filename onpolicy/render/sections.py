"""Reuse inside one page: its Jinja compiled and its Markdown converted section by section.

A prose edit changes one section of a long article; compiling the whole page's Jinja and
converting its whole Markdown again costs most of such a rebuild. A page body is cut before
each line that starts with "## " (the first chunk, the preamble, holds what comes before the
first such heading, e.g. the article's `set`s and macros):

* Jinja: each chunk is its own template, compiled once per source (the bytecode cache on
  disk, and in memory in a long-lived process such as `serve`) and rendered in order with the
  page's globals plus what the chunks before it assigned at their top level (`set`, `macro`).
  That equals rendering the whole body only when the chunks share no other state, so the
  split is used only when every chunk compiles on its own (no block, comment or expression
  crosses a cut), no chunk has `extends`, `block` or `include`, and a chunk reads a name
  that a later chunk assigns only if it assigns the name itself first and reads it nowhere
  inside a macro or call block (Jinja's top-level names are one variable for the whole body:
  a read before the chunk's own `set` resolves from the context, which holds the earlier
  chunks' values, and a macro reads the variable when it is called). Names read are
  over-approximated: every name loaded anywhere in the chunk.
* Markdown: the rendered text is cut before each "## " line outside fenced code, and each
  piece is converted once per text (pieces joined by a newline give the whole document's
  HTML). Only when nothing links pieces: no footnotes, reference-style links, abbreviations
  or raw HTML blocks, no heading before the first cut, and no id in two pieces (the toc
  extension would have renamed the second). Chart captions are converted once per text too.

Anything else, and any error (which the whole-page path then reports with its usual
message and line), takes the whole-page path. tests/test_sections.py checks that both paths
give the same bytes. The cache of one page (chunk analyses, converted pieces) lives in memory
and in `.cache/sections/<hash of the page path>.json`, keyed by the renderer's code and the
library versions (`salt`), sealed by a checksum and replaced by each render of the page.
"""
from __future__ import annotations

import json
import re
from functools import partial
from pathlib import Path

import jinja2
from jinja2 import nodes

from .. import atomic
from ..contract import sha256
from .pages import Page, inline_markdown, markdown_to_html

CUT = re.compile(r"^## ", re.M)
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# Markdown that links one piece of a document to another, or may span a cut: footnotes,
# reference definitions, abbreviations, raw HTML blocks.
LINKED = re.compile(r"\[\^|^ {0,3}\[[^\]\n]+\]:|^\*\[|^ {0,3}<", re.M)
IDS = re.compile(r'\sid="([^"]*)"')
SCOPES = (nodes.For, nodes.Macro, nodes.CallBlock, nodes.FilterBlock, nodes.With)
VERSION = 4

_MEMORY: dict[str, dict] = {}      # page display path -> its section cache (this process)
_CODE: dict[tuple, object] = {}    # (name, source) -> compiled code of a chunk (this process)


class Unsplittable(Exception):
    """The page takes the whole-page path."""


def cut_jinja(body: str) -> list[tuple[int, str]]:
    """(lines before the chunk, chunk text): the preamble, then one chunk per "## " line."""
    starts = [0] + [m.start() for m in CUT.finditer(body) if m.start() > 0]
    ends = starts[1:] + [len(body)]
    return [(body.count("\n", 0, a), body[a:b]) for a, b in zip(starts, ends)]


def cut_markdown(text: str) -> list[str]:
    """text cut before each "## " line outside fenced code."""
    pieces, start, fence, at = [], 0, None, 0
    for line in text.splitlines(keepends=True):
        opened = FENCE.match(line)
        if opened:
            if fence is None:
                fence = opened.group(1)
            elif opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = None
        elif fence is None and line.startswith("## ") and at > 0:
            pieces.append(text[start:at])
            start = at
        at += len(line)
    pieces.append(text[start:])
    return pieces


def _root_stores(body: list, found: set[str]) -> None:
    """Names assigned in the template's own scope (not inside loops, macros or calls)."""
    for node in body:
        if isinstance(node, (nodes.Assign, nodes.AssignBlock)):
            targets = [node.target, *node.target.find_all(nodes.Name)]
            found.update(n.name for n in targets if isinstance(n, nodes.Name))
        elif isinstance(node, nodes.Macro):
            found.add(node.name)
        elif isinstance(node, (nodes.Import, nodes.FromImport, nodes.Extends, nodes.Block,
                               nodes.Include)):
            raise Unsplittable(type(node).__name__)
        elif isinstance(node, nodes.Stmt) and not isinstance(node, SCOPES):
            _root_stores(list(node.iter_child_nodes()), found)


def analyse(ast: nodes.Template) -> dict:
    if any(True for _ in ast.find_all((nodes.Extends, nodes.Block, nodes.Include))):
        raise Unsplittable("extends/block/include")
    stores: set[str] = set()
    _root_stores(ast.body, stores)
    reads = {n.name for n in ast.find_all(nodes.Name) if n.ctx == "load"}
    deferred = {n.name for body in ast.find_all((nodes.Macro, nodes.CallBlock))
                for n in body.find_all(nodes.Name) if n.ctx == "load"}  # read when called
    return {"stores": sorted(stores), "reads": sorted(reads), "deferred": sorted(deferred)}


class PageSections:
    """The section cache of one page during one render."""

    def __init__(self, env: jinja2.Environment, page: Page, cache_dir: Path, salt: str,
                 shared: str = ""):
        self.env = env
        self.page = page
        self.salt = salt
        self.shared = shared  # the page's inputs but its text (no outputs are kept without it)
        self.sources: list[str] = []
        self.facts: list[dict] = []
        self.path = Path(cache_dir) / "sections" / f"{sha256(page.display_path)[:16]}.json"
        old = _MEMORY.get(page.display_path)
        if old is None or old.get("salt") != salt:
            old = self._load()
        self.old = old
        self.new = {"version": VERSION, "salt": salt, "chunks": {}, "markdown": {},
                    "inline": {}, "outputs": {}}

    def _load(self) -> dict:
        try:
            entry = json.loads(self.path.read_text(encoding="utf-8"))
            if entry["check"] == sha256(entry["data"]):
                data = json.loads(entry["data"])
                if data["version"] == VERSION and data["salt"] == self.salt:
                    return data
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return {"version": VERSION, "salt": self.salt, "chunks": {}, "markdown": {},
                "inline": {}, "outputs": {}}

    # -- Jinja ----------------------------------------------------------------------------------

    def _chunk(self, index: int, source: str) -> tuple:
        """(a function giving the chunk's template, its analysis): the analysis from the cache
        when the chunk was seen before, the code only when the chunk is rendered."""
        name = f"{self.page.display_path}#{index}"
        key = sha256(f"{name}\0{source}")
        facts = self.old["chunks"].get(key)
        if facts is None:
            try:
                ast = self.env.parse(source, name, name)
                facts = analyse(ast)
                if (name, source) not in _CODE:
                    _CODE[(name, source)] = self.env.compile(ast, name, name)
            except jinja2.TemplateError as err:
                raise Unsplittable(str(err)) from None
        self.new["chunks"][key] = facts
        return partial(self._template, name, source), facts

    def _template(self, name: str, source: str) -> jinja2.Template:
        code = _CODE.get((name, source))
        cache = self.env.bytecode_cache
        if code is None and cache is not None:
            bucket = cache.get_bucket(self.env, name, name, source)
            if bucket.code is None:
                bucket.code = self.env.compile(source, name, name)
                cache.set_bucket(bucket)
            code = bucket.code
        if code is None:
            code = self.env.compile(source, name, name)
        _CODE[(name, source)] = code
        return self.env.template_class.from_code(self.env, code, self.env.make_globals(None))

    def templates(self) -> list[tuple]:
        """(a function giving the template, lines before it in the body) per chunk;
        Unsplittable if they cannot stand for the whole body."""
        chunks = cut_jinja(self.page.body)
        if len(chunks) < 2:
            raise Unsplittable("one section")
        compiled = [(*self._chunk(i, text), offset) for i, (offset, text) in enumerate(chunks)]
        last: dict[str, int] = {}   # name -> the last chunk that assigns it at its top level
        for i, (_, facts, _) in enumerate(compiled):
            last.update(dict.fromkeys(facts["stores"], i))
        for j, (_, facts, _) in enumerate(compiled):
            for name in facts["reads"]:
                if last.get(name, -1) > j and (name not in facts["stores"]
                                               or name in facts["deferred"]):
                    raise Unsplittable(f"{name!r} is read before a later section assigns it")
        self.sources = [text for _, text in chunks]
        self.facts = [facts for _, facts, _ in compiled]
        return [(template, offset) for template, _, offset in compiled]

    # -- rendered sections (section_outputs.py) ----------------------------------------------

    def output_key(self, index: int, keys: list[str], before: list) -> str:
        """keys: those of the chunks before this one."""
        reads = set(self.facts[index]["reads"])
        needs = [keys[k] for k in range(index) if reads.intersection(self.facts[k]["stores"])]
        return sha256(json.dumps([self.salt, self.shared, self.sources[index], needs, before]))

    def output(self, key: str, start: int) -> dict | None:
        """The kept output of a chunk starting at source line `start`, if any."""
        entry = self.new["outputs"].get(key) or self.old["outputs"].get(key)
        if entry is not None and entry["warned_at"] not in (None, start):
            return None
        if entry is not None:
            self.new["outputs"][key] = entry
        return entry

    def store_output(self, key: str, entry: dict | None) -> None:
        if entry is not None and self.shared:
            self.new["outputs"][key] = entry

    # -- Markdown -------------------------------------------------------------------------------

    def markdown(self, text: str) -> tuple[str, list[dict]]:
        """markdown_to_html(text), piece by piece when the pieces stand alone."""
        pieces = cut_markdown(text)
        if len(pieces) < 2 or LINKED.search(text):
            return markdown_to_html(text)
        done = []
        for piece in pieces:
            key = sha256(piece)
            entry = self.new["markdown"].get(key) or self.old["markdown"].get(key)
            if entry is None:
                entry = list(markdown_to_html(piece))
            self.new["markdown"][key] = entry
            done.append(entry)
        seen: set[str] = set()
        for i, (html, toc) in enumerate(done):
            ids = set(IDS.findall(html))
            if (i == 0 and toc) or ids & seen:
                return markdown_to_html(text)
            seen |= ids
        return "\n".join(html for html, _ in done if html), [t for _, toc in done for t in toc]

    def inline(self, text: str) -> str:
        """inline_markdown(text) (a chart's caption), kept by the sha256 of its text."""
        key = sha256(text)
        html = self.new["inline"].get(key) or self.old["inline"].get(key)
        self.new["inline"][key] = html = html if html is not None else inline_markdown(text)
        return html

    def save(self) -> None:
        """Best effort: remember this render's chunks and pieces (in memory and on disk)."""
        _MEMORY[self.page.display_path] = self.new
        for (name, source) in list(_CODE):  # keep only this page's current chunks
            if name.startswith(f"{self.page.display_path}#") and \
                    sha256(f"{name}\0{source}") not in self.new["chunks"]:
                del _CODE[(name, source)]
        if self.new == self.old:
            return
        data = json.dumps(self.new, separators=(",", ":"))
        try:
            atomic.write_text(self.path, json.dumps({"check": sha256(data), "data": data}),
                              durable=False)  # sealed by its checksum: no fsync needed
        except OSError:
            pass
