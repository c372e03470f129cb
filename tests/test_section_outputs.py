"""Rendered sections reused from one build to the next (onpolicy/render/section_outputs.py): a
prose edit renders only the edited section, and whatever is replayed equals what the
whole-page path renders, byte for byte, after edits of a section, of a value a later section
computes from, of a macro, of a fact and of a figure module."""
from __future__ import annotations

import json

import pytest

from onpolicy.render import section_outputs, sections
from tests.test_incremental import ARTICLE, build, contents, site  # noqa: F401 - fixture
from tests.test_sections import edit, forget_memory, whole  # noqa: F401 - fixture

PAGE = """---
title: Sections cache
description: A page for the section cache's tests.
---
{% set base = facts.near_pp %}
{% macro shout(text) %}{{ text | upper }}!{% endmacro %}
Intro: {{ base }}.

## One

{% set doubled = base * 2 %}
One says {{ doubled }}.

## Two

Two says {{ doubled + 1 }}, {{ shout("two") }}

## Three

Three stands alone.
"""


@pytest.fixture
def counted(monkeypatch) -> dict[str, int]:
    """How many sections were replayed and how many rendered (and kept) in the last build."""
    counts = {"replayed": 0, "rendered": 0}
    replay, store = section_outputs._replay, sections.PageSections.store_output

    def replayed(body, entry, start):
        counts["replayed"] += 1
        return replay(body, entry, start)

    def stored(self, key, entry):
        counts["rendered"] += 1
        return store(self, key, entry)
    monkeypatch.setattr(section_outputs, "_replay", replayed)
    monkeypatch.setattr(sections.PageSections, "store_output", stored)
    return counts


def rebuilt(cfg, counted) -> None:
    counted.update(replayed=0, rendered=0)
    build(cfg)


def page_html(cfg) -> str:
    return (cfg.out_dir / "sections-cache" / "index.html").read_text(encoding="utf-8")


def test_a_prose_edit_renders_one_section_and_equals_the_whole_page(site, whole, counted):
    build(site)
    edit(site, "## Conclusion\n", "## Conclusion\n\nA sentence added in one section.\n")
    rebuilt(site, counted)
    assert counted["replayed"] > 10
    # the edited section, and the preamble (its macros are never kept)
    assert counted["rendered"] <= 3
    reference, _ = whole(site)
    assert contents(site.out_dir) == contents(reference)


def test_a_section_with_reused_charts_renders_their_figures_as_the_whole_page(site, whole,
                                                                               counted):
    """Its charts are reused from the last build and described from their files only now
    (figures.describe_reused), a 2D and a 3D one."""
    build(site)
    edit(site, "The binary cross-entropy gradient with respect to the logit",
         "The gradient of the binary cross-entropy with respect to the logit")
    edit(site, "Greedy accuracy on held-out digits during training, binary task.",
         "Greedy accuracy on held-out digits while training, binary task.")
    rebuilt(site, counted)
    assert counted["replayed"] > 10 and counted["rendered"] <= 4
    reference, _ = whole(site)
    assert contents(site.out_dir) == contents(reference)


@pytest.mark.parametrize("from_disk", [False, True])
def test_values_macros_facts_and_figure_modules_are_seen(site, whole, counted, monkeypatch,
                                                         from_disk):
    page = site.src_dir / "sections-cache.md"
    page.write_text(PAGE, encoding="utf-8")
    build(site)
    assert "Two says 11.0, TWO!" in page_html(site)

    def check(expected: str) -> None:
        if from_disk:  # a one-shot build: only the disk cache
            forget_memory(monkeypatch)
        rebuilt(site, counted)
        assert expected in page_html(site)
        reference, _ = whole(site)
        assert contents(site.out_dir) == contents(reference)

    # a value two sections later computes from, through a section in between
    page.write_text(PAGE.replace("{% set base = facts.near_pp %}",
                                 "{% set base = facts.near_pp + 1 %}"), encoding="utf-8")
    check("Two says 13.0, TWO!")
    assert "Three stands alone." in page_html(site) and counted["replayed"] >= 1
    # a macro defined in the preamble, used by a later section
    page.write_text(PAGE.replace("| upper }}!", "| upper }}?"), encoding="utf-8")
    check("Two says 11.0, TWO?")
    # a fact: the content module changes
    facts = site.src_dir / "article" / "facts.py"
    facts.write_text(facts.read_text(encoding="utf-8").replace("NEAR_PP = 5.0", "NEAR_PP = 6.0"),
                     encoding="utf-8")
    check("Two says 13.0, TWO?")
    # a figure module: no section of any page is replayed (charts may have changed)
    build(site)
    figures = site.src_dir / "article" / "figures.py"
    figures.write_text(figures.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    check("Two says 13.0, TWO?")
    assert counted["replayed"] == 0


def test_a_section_assigning_a_macro_is_never_kept():
    assert section_outputs.plain({"a": [1, 2.5, "x", None, True], "b": {"c": "d"}})
    assert not section_outputs.plain({"a": (1, 2)})
    assert not section_outputs.plain({"m": lambda: 1})
    assert not section_outputs.plain({1: "non-text key"})
    value = {"a": [section_outputs.Markup("<b>x</b>"), "<b>x</b>"], "b": {"c": 1.5}}
    assert section_outputs.plain(value)
    back = section_outputs._decoded(json.loads(json.dumps(section_outputs._encoded(value))))
    assert back == value and [type(v) for v in back["a"]] == [type(v) for v in value["a"]]
