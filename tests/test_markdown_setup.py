"""The converter is built from extension instances (render/markdown_setup.py) so that Markdown
never searches the installed packages' entry points; it must be the converter Markdown builds
from the extensions' names, with the same settings and the same output."""
from __future__ import annotations

from pathlib import Path

import markdown

from onpolicy.render.markdown_setup import MARKDOWN_CONFIG, MARKDOWN_EXTENSIONS, new_markdown

ROOT = Path(__file__).resolve().parent.parent


def by_name() -> markdown.Markdown:
    return markdown.Markdown(extensions=MARKDOWN_EXTENSIONS, extension_configs=MARKDOWN_CONFIG,
                             output_format="html")


def test_the_same_extensions_with_the_same_settings():
    ours, theirs = new_markdown(), by_name()
    assert [type(e) for e in ours.registeredExtensions] == \
        [type(e) for e in theirs.registeredExtensions]
    assert [e.getConfigs() for e in ours.registeredExtensions] == \
        [e.getConfigs() for e in theirs.registeredExtensions]


def test_the_same_html_for_every_page():
    sources = sorted((ROOT / "site_src").rglob("*.md"))
    assert sources
    for source in sources:
        text = source.read_text(encoding="utf-8")
        ours, theirs = new_markdown(), by_name()
        assert ours.convert(text) == theirs.convert(text), source
        assert ours.toc_tokens == theirs.toc_tokens, source
