"""Section-by-section rendering of a page (onpolicy/render/sections.py): the split path gives
the same bytes as the whole-page path, on the article and after edits; pages it cannot stand
for take the whole-page path, with the same output, warnings and error messages."""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from onpolicy.render import RenderError, sections
from onpolicy.render.pages import markdown_to_html
from onpolicy.render.site import SiteBuild
from tests.test_incremental import ARTICLE, build, contents, site  # noqa: F401 - fixture


@pytest.fixture
def whole(tmp_path, monkeypatch):
    """build_whole(cfg): the same site built by the whole-page path, in a fresh output and
    cache (the reference), with the section caches of this process set aside."""
    def build_whole(cfg):
        fresh = dataclasses.replace(cfg, out_dir=tmp_path / "whole",
                                    cache_dir=tmp_path / "whole-cache")
        shutil.rmtree(fresh.out_dir, ignore_errors=True)
        shutil.rmtree(fresh.cache_dir, ignore_errors=True)
        shutil.copytree(cfg.cache_dir / "katex", fresh.cache_dir / "katex")
        with monkeypatch.context() as patch:
            patch.setattr(SiteBuild, "page_sections", lambda self, page: None)
            report = build(fresh)
        return fresh.out_dir, report
    return build_whole


@pytest.fixture
def split_used(monkeypatch) -> list[str]:
    """Display paths of the pages rendered section by section."""
    used: list[str] = []
    templates = sections.PageSections.templates

    def recorded(self):
        chunks = templates(self)
        used.append(self.page.display_path)
        return chunks
    monkeypatch.setattr(sections.PageSections, "templates", recorded)
    return used


def forget_memory(monkeypatch) -> None:
    monkeypatch.setattr(sections, "_MEMORY", {})
    monkeypatch.setattr(sections, "_CODE", {})


def edit(cfg, old: str, new: str) -> None:
    page = cfg.src_dir / ARTICLE
    text = page.read_text(encoding="utf-8")
    assert old in text
    page.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_article_renders_by_sections_and_equals_the_whole_page(site, whole, split_used,
                                                                    monkeypatch):
    report = build(site)
    assert any(path.endswith(ARTICLE) for path in split_used)
    assert len(list((site.cache_dir / "sections").glob("*.json"))) >= 1
    reference, reference_report = whole(site)
    assert contents(site.out_dir) == contents(reference)
    assert report.warnings == reference_report.warnings
    # a prose edit in one section, a new section, an edit of the preamble's macros: each from
    # the in-memory cache (as in serve) and from the disk cache alone (a one-shot build)
    edits = [("## Conclusion\n", "## Conclusion\n\nA sentence added in one section.\n"),
             ("## References\n", "## A new section\n\nIt holds one sentence.\n\n## References\n"),
             ("percentage points below", "percentage points under")]
    for n, (old, new) in enumerate(edits):
        edit(site, old, new)
        if n % 2:
            forget_memory(monkeypatch)
        split_used.clear()
        report = build(site)
        assert any(path.endswith(ARTICLE) for path in split_used)
        reference, reference_report = whole(site)
        assert contents(site.out_dir) == contents(reference), old
        assert report.warnings == reference_report.warnings


def test_damaged_section_caches_are_ignored(site, whole, monkeypatch):
    build(site)
    forget_memory(monkeypatch)
    for n, path in enumerate(sorted((site.cache_dir / "sections").glob("*.json"))):
        data = path.read_bytes()
        path.write_bytes(data.replace(b"<p>", b"<p >", 1) if n % 2 == 0 else data[:100])
    edit(site, "## Conclusion\n", "## Conclusion\n\nA sentence after the damage.\n")
    build(site)
    assert contents(site.out_dir) == contents(whole(site)[0])


# Pages the split may or may not stand for: either way, the bytes of the whole-page path.
# Their Jinja is rendered by sections but for JINJA_WHOLE's (Jinja's top-level names are one
# variable for the whole body: a later `set` changes what a macro reads when called); the
# last five are cut for Jinja but converted whole by Markdown.
CASES = {
    "assigned again": "{% set x = 1 %}\n\n## A\n\n{% set x = 2 %}{{ x }}\n\n## B\n\n{{ x }}\n",
    "read, then assigned again": "{% set x = 1 %}{{ x }}\n\n## A\n\n{{ x }}{% set x = 2 %}"
                                 "{{ x }}\n\n## B\n\n{{ x }}{% set x = 3 %}{{ x }}\n",
    "a macro reads an earlier name": "{% set x = 1 %}{% macro m() %}{{ x }}{% endmacro %}\n\n"
                                     "## A\n\n{{ m() }}\n\n## B\n\n{{ m() }}\n",
    "read before assigned": "{{ later is defined }}\n\n## B\n\n{% set later = 2 %}{{ later }}\n",
    "a macro reads a later assignment": "{% set x = 1 %}{% macro m() %}{{ x }}{% endmacro %}"
                                        "\n\n## A\n\n{{ m() }}\n\n## B\n\n{% set x = 2 %}"
                                        "{{ m() }}\n",
    "block across a cut": "{% if true %}\n\n## A\n\nin the if\n{% endif %}\n\n## B\n\ntext\n",
    "footnotes": "Text[^1].\n\n## A\n\nMore.\n\n[^1]: A note.\n",
    "raw html": "<div>\n\n## A\n\n</div>\n\n## B\n\ntext\n",
    "reference link": "[a link][r]\n\n## A\n\n[r]: https://example.org/\n",
    "same slug": "## A\n\ntext\n\n## A\n\nmore\n",
    "id before the cut": "Intro {: #a }\n\n## A\n\ntext\n",
}
JINJA_WHOLE = ("read before assigned", "a macro reads a later assignment", "block across a cut")


@pytest.mark.parametrize("name", CASES)
def test_pages_render_as_the_whole_page_path_would(site, whole, split_used, name):
    page = site.src_dir / "extra.md"
    page.write_text("---\ntitle: Extra\ndescription: A test page.\n---\n" + CASES[name],
                    encoding="utf-8")
    build(site)
    assert any(path.endswith("extra.md") for path in split_used) == (name not in JINJA_WHOLE)
    assert contents(site.out_dir) == contents(whole(site)[0])


def test_errors_and_warnings_name_the_same_lines(site, whole):
    page = site.src_dir / "extra.md"
    head = "---\ntitle: Extra\ndescription: A test page.\n---\n"
    page.write_text(head + '{% macro fig() %}{{ chart("slices-categorical") }}{% endmacro %}\n\n'
                    "## A\n\ntext\n\n## B\n\n{{ fig() }}\n", encoding="utf-8")
    report = build(site)
    assert any("extra.md:5: chart 'slices-categorical' has no alt text" in warning
               for warning in report.warnings)        # the line in the macro, as before
    assert report.warnings == whole(site)[1].warnings
    for bad in ("{{ require(false, 'stop here') }}", "{{ facts.no_such_fact }}", "{{ 1 / 0 }}"):
        page.write_text(head + "Intro.\n\n## A\n\ntext\n\n## B\n\nline\n" + bad + "\n",
                        encoding="utf-8")
        with pytest.raises(RenderError) as split_error:
            build(site)
        with pytest.raises(RenderError) as whole_error:
            whole(site)
        assert str(split_error.value).replace(str(site.out_dir), "") == \
            str(whole_error.value).replace(str(site.out_dir), "")
        assert "extra.md:14:" in str(split_error.value)


def test_markdown_cuts_only_outside_fenced_code():
    text = "Intro\n\n## A\n\n```text\n## not a heading\n```\n\n## B\n\nend\n"
    pieces = sections.cut_markdown(text)
    assert pieces == ["Intro\n\n", "## A\n\n```text\n## not a heading\n```\n\n", "## B\n\nend\n"]
    assert "\n".join(markdown_to_html(p)[0] for p in pieces) == markdown_to_html(text)[0]


def test_jinja_cuts_keep_line_offsets():
    body = "a\n{% set x = 1 %}\n## A\ntext\n## B\n"
    assert sections.cut_jinja(body) == [(0, "a\n{% set x = 1 %}\n"), (2, "## A\ntext\n"),
                                        (4, "## B\n")]


def test_library_versions_are_importlib_metadatas():
    """The unit keys read the libraries' versions from their dist-info folders (importing
    importlib.metadata would cost more than a prose edit's render); the same answers."""
    from importlib import metadata

    from onpolicy.render.unit_keys import LIBRARIES, library_versions
    assert library_versions() == {name: metadata.version(name) for name in LIBRARIES}
