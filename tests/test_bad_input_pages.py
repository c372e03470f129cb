"""Hostile page sources, at the renderer (issue 20): front matter that costs without bound or
has the wrong types, text that would become HTML, links the check missed or wrongly refused.

Each case renders a few fixture pages with tests.test_render's helper (fake results, no
training); a failure must be one RenderError naming file:line, never another exception.
"""
from __future__ import annotations

import re
import time
from dataclasses import replace
from pathlib import Path

import pytest

from onpolicy.config import ROOT, BuildConfig
from onpolicy.render.links import broken_links
from tests.test_render import build, page, render_error

NESTED = "[" * 1500 + "]" * 1500
LAUGHS = ('a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
          + "".join(f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n"
                    for p, n in zip("abcdefgh", "bcdefghi")))


@pytest.mark.parametrize("front, line, why", [
    (f"title: T\ndescription: d\nextra: {NESTED}\n", 4, "nested more than 20 levels deep"),
    ("title: T\ndescription: d\nextra:\n" + "".join("  " * i + "-\n" for i in range(1, 40)),
     24, "nested more than 20 levels deep"),
    (LAUGHS + "title: *i\ndescription: d\n", 3, "alias \\*a: aliases are not allowed"),
    ("title: T\ndescription: d\nextra: '" + "x" * 70_000 + "'\n", 2,
     "front matter is 68 KB; at most 64 KB"),
    ("title: T\ndescription: d\nmacros: [1, 2]\n", 4, "macros must be a mapping of names to "
                                                       "TeX"),
    ("title: T\ndescription: d\nmacros:\n  \\E: 3\n", 4, "macros must be a mapping"),
    ("title: [a, b]\ndescription: d\n", 2, "front matter field 'title' must be text, not list"),
    ("title: T\ndescription: {a: 1}\n", 3, "field 'description' must be text, not dict"),
    ("title: T\ndescription: d\norder: true\n", 4, "field 'order' must be a int"),
], ids=["nested-flow", "nested-block", "alias-bomb", "huge", "macros-list", "macro-number",
        "title-list", "description-mapping", "order-bool"])
def test_front_matter_is_bounded_and_typed(tmp_path, front, line, why):
    started = time.monotonic()
    message = render_error(tmp_path, {"p.md": f"---\n{front}---\n# P\n\nText.\n"},
                           article_modules=False)
    assert message.startswith(f"src/p.md:{line}: "), message
    assert re.search(why, message), message
    assert time.monotonic() - started < 20


def test_site_settings_macros_are_typed(tmp_path):
    message = render_error(tmp_path, {"_site.yaml": "title: S\nmacros: [1]\n",
                                      "p.md": page("Text.\n")}, article_modules=False)
    assert message.startswith("src/_site.yaml:1: macros must be a mapping"), message


HOSTILE = {
    "index.md": page("{% for p in site.pages %}\n"
                     "- [{{ p.title }}]({{ p.url }}) — {{ p.description }}\n"
                     "{% endfor %}\n"
                     "{% macro kbd(k) %}<kbd>{{ k }}</kbd>{% endmacro %}\n"
                     "Press {{ kbd('<Esc>') }}; {{ '<em>opted in</em>' | safe }}.\n",
                     title="Home"),
    "evil.md": '---\ntitle: "It\'s <b>bold</b> & more"\n'
               'description: "<img src=x onerror=alert(1)>"\n---\n# Evil\n\nText.\n',
}


def test_front_matter_text_is_escaped_everywhere_it_becomes_html(tmp_path):
    out, _ = build(tmp_path, HOSTILE, article_modules=False)
    home = (out / "index.html").read_text(encoding="utf-8")
    evil = (out / "evil" / "index.html").read_text(encoding="utf-8")
    for html in (home, evil):
        assert "<img src=x" not in html and "<b>bold</b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in home
    assert "It&rsquo;s &lt;b&gt;bold&lt;/b&gt; &amp; more" in home  # smart quote, escaped tags
    assert "<kbd>&lt;Esc&gt;</kbd>" in home                     # a macro's HTML stays HTML
    assert "<em>opted in</em>" in home                          # | safe: the author's opt-in
    assert 'content="&lt;img src=x onerror=alert(1)&gt;"' in evil


def _links(tmp_path: Path, body: str) -> list[str]:
    pages = {"index.md": page(body, title="Home"),
             "reproduce.md": page("## Steps\n\nText.\n", title="Reproduce"),
             "art/index.md": page("Text. [Back](../reproduce) and [up](../reproduce#steps).\n",
                                  title="Article"),
             "404.md": page("Gone.\n", title="Not found")}
    out, _ = build(tmp_path, pages, article_modules=False)
    (out / "media").mkdir()
    (out / "media" / "clip.mp4").write_bytes(b"\0")
    cfg = BuildConfig(root=out.parent, src_dir=out.parent / "src",
                      templates_dir=ROOT / "templates")
    return broken_links(replace(cfg, out_dir=out), out)


def test_links_from_media_and_frames_are_checked(tmp_path):
    problems = _links(tmp_path, '<iframe src="frames/missing.html"></iframe>\n\n'
                                '<img src="media/clip.mp4" srcset="media/clip.mp4 1x, '
                                'media/big.png 2x" alt="x">\n\n'
                                '<video src="media/nope.mp4" poster="media/poster.png"></video>\n'
                                '\n<video src="media/clip.mp4"></video>\n')
    text = "\n".join(problems)
    for url in ("frames/missing.html", "media/big.png", "media/nope.mp4", "media/poster.png"):
        assert f"broken link '{url}'" in text, text
    assert "'media/clip.mp4'" not in text, text
    assert all(p.startswith("src/index.md:") for p in problems), text


def test_a_link_to_a_pages_directory_needs_no_trailing_slash(tmp_path):
    problems = _links(tmp_path, "[Reproduce](reproduce), [its steps](reproduce#steps), "
                                "[no such part](reproduce#nope).\n")
    assert len(problems) == 1 and "broken link 'reproduce#nope': no anchor #nope on " \
        "reproduce/index.html" in problems[0], problems
