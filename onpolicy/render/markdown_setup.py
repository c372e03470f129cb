"""Markdown -> HTML: the converter every page, section and caption goes through."""
from __future__ import annotations

import importlib
import os
import sys
import threading
import types

import markdown

MARKDOWN_EXTENSIONS = [
    "pymdownx.arithmatex", "pymdownx.superfences", "pymdownx.highlight", "tables", "footnotes",
    "admonition", "toc", "attr_list", "md_in_html", "smarty", "def_list", "abbr",
]
MARKDOWN_CONFIG = {
    # generic: math is left as \(...\) / \[...\] in span/div.arithmatex for our KaTeX pass
    "pymdownx.arithmatex": {"generic": True},
    "pymdownx.highlight": {"use_pygments": True, "css_class": "highlight", "guess_lang": False},
    "toc": {"permalink": "#", "permalink_title": "Link to this section", "toc_depth": "2-3"},
    "footnotes": {"BACKLINK_TITLE": "Back to the text"},
}


# The classes that Markdown's entry points name for its own extensions (pymdownx's have none:
# Markdown imports the module and calls makeExtension). tests/test_markdown_setup.py checks it.
BUILTIN_EXTENSIONS = {"tables": "TableExtension", "footnotes": "FootnoteExtension",
                      "admonition": "AdmonitionExtension", "toc": "TocExtension",
                      "attr_list": "AttrListExtension", "md_in_html": "MarkdownInHtmlExtension",
                      "smarty": "SmartyExtension", "def_list": "DefListExtension",
                      "abbr": "AbbrExtension"}


class _Markdown(markdown.Markdown):
    """pymdownx's superfences registers "pymdownx.highlight" by its name while it is set up;
    Markdown would search every installed package's entry points for that name (importing
    importlib.metadata and reading each dist-info's entry_points.txt: ~50 ms here) to find
    none, then import the module and call its makeExtension. This does the second step
    alone for pymdownx's names (tests/test_markdown_setup.py: no entry point has one)."""

    def build_extension(self, ext_name, configs):
        if isinstance(ext_name, str) and ext_name.startswith("pymdownx.") and ":" not in ext_name:
            return importlib.import_module(ext_name).makeExtension(**dict(configs))
        return super().build_extension(ext_name, configs)


def new_markdown() -> markdown.Markdown:
    """The extensions made as Markdown makes them from their names, without its search of
    every installed package's entry points for each name (importing importlib.metadata and
    reading each dist-info: some 15 ms of a one-shot build)."""
    built = []
    for name in MARKDOWN_EXTENSIONS:
        config = MARKDOWN_CONFIG.get(name, {})
        if name in BUILTIN_EXTENSIONS:
            module = importlib.import_module(f"markdown.extensions.{name}")
            built.append(getattr(module, BUILTIN_EXTENSIONS[name])(**config))
        else:
            built.append(importlib.import_module(name).makeExtension(**config))
    return _Markdown(extensions=built, output_format="html")


def _import_pymdownx() -> None:
    """pymdownx.util imports urllib.request (http.client, email, ssl: ~14 ms of a one-shot
    build) for two helpers no extension of ours calls, pathname2url and url2pathname. Unless
    something already loaded it, pymdownx is imported against a stand-in holding the same two
    functions (as urllib.request defines them: nturl2path's on Windows, quote/unquote
    elsewhere), which is removed at once: a later `import urllib.request` gets the real one."""
    if "pymdownx.util" in sys.modules or "urllib.request" in sys.modules:
        return
    stand_in = types.ModuleType("urllib.request")
    if os.name == "nt":
        from nturl2path import pathname2url, url2pathname
    else:
        from urllib.parse import quote as pathname2url, unquote as url2pathname
    stand_in.pathname2url, stand_in.url2pathname = pathname2url, url2pathname
    sys.modules["urllib.request"] = stand_in
    try:
        import pymdownx.util  # noqa: F401
    finally:
        del sys.modules["urllib.request"]


_converters = threading.local()


def converter() -> markdown.Markdown:
    """This thread's Markdown instance, reset for a new document (setting one up with its
    extensions costs more than converting a caption)."""
    md = getattr(_converters, "md", None)
    if md is None:
        _import_pymdownx()
        md = _converters.md = new_markdown()
    return md.reset()


def markdown_to_html(text: str) -> tuple[str, list[dict]]:
    """Markdown -> (HTML, toc tokens). Math stays as arithmatex spans/divs."""
    md = converter()
    return md.convert(text), md.toc_tokens


def inline_markdown(text: str) -> str:
    """One paragraph of Markdown (a caption) -> HTML without the surrounding <p>."""
    if not isinstance(text, str):
        raise TypeError(f"expected text in quotes, got {type(text).__name__} {text!r}")
    out = converter().convert(text).strip()
    if out.startswith("<p>") and out.endswith("</p>") and out.count("<p>") == 1:
        out = out[3:-4]
    return out
