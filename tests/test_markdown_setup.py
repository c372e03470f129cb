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


def test_no_entry_point_search():
    """Setting a converter up reads no package's entry points (superfences names
    pymdownx.highlight; no installed package has an entry point of a pymdownx name, so
    Markdown would have imported the module, as we do)."""
    import subprocess
    import sys
    from importlib import metadata

    assert not [ep for ep in metadata.entry_points(group="markdown.extensions")
                if ep.name.startswith("pymdownx.")]
    probe = ("import sys; from onpolicy.render.markdown_setup import markdown_to_html; "
             "markdown_to_html('```python\\nx = 1\\n```\\n'); "
             "print('importlib.metadata' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "False"


def test_pymdownx_is_set_up_without_urllib_request_and_keeps_its_url_helpers():
    """markdown_setup imports pymdownx against a stand-in for urllib.request (its import costs
    ~14 ms of a one-shot build): in a fresh process, converting a page leaves urllib.request
    unloaded, pymdownx's helpers answer as urllib.request's would, and a later import of
    urllib.request gets the real module."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from onpolicy.render.markdown_setup import markdown_to_html\n"
        "html, _ = markdown_to_html('# T\\n\\n$x$ and `a`\\n\\n```python\\nx = 1\\n```\\n')\n"
        "assert 'highlight' in html and 'arithmatex' in html, html\n"
        "assert 'urllib.request' not in sys.modules\n"
        "import pymdownx.util as u\n"
        "import urllib.request as r\n"
        "assert hasattr(r, 'urlopen')\n"
        "for p in ('a b/c%d.txt', '/x/y z', 'é'):\n"
        "    assert u.pathname2url(p) == r.pathname2url(p)\n"
        "    assert u.url2pathname(r.pathname2url(p)) == r.url2pathname(r.pathname2url(p))\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
