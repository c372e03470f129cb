"""The site renderer on small fixture pages and fake results (no torch, no training)."""
from __future__ import annotations

import json
import re
import shutil
import tempfile
import textwrap
from pathlib import Path
from urllib.parse import urlparse

import pytest

from onpolicy.config import ROOT, BuildConfig
from onpolicy.render import RenderError, render_site
from onpolicy.render import katex as katex_module
from onpolicy.render.assets import chart_bundle_names
from onpolicy.render.content import load_content
from onpolicy.render.figures import page_spec
from onpolicy.render.templating import num, percent, sci
from tests.fixtures_results import fake_results, fake_results_meta

ALLOWED_TRACES = {"scatter", "scatter3d", "surface"}  # Chart.js (scatter) and gl3d draw these
ARTICLE_DIR = ROOT / "site_src" / "article"            # the real article's content modules
CHARTS = load_content(ROOT / "site_src", ROOT).figures  # its figures: id -> FigureDef


def page(body: str, title: str = "Test page", extra: str = "") -> str:
    """A page source: front matter (4 lines + extra), so body line 1 is file line 5."""
    return f"---\ntitle: {title}\ndescription: A page for tests.\n{extra}---\n" + \
        textwrap.dedent(body)


ARTICLE_META = "template: article.html\ndate: 2025-05-01\n"


def build(tmp_path: Path, pages: dict[str, str], results: dict | None = None,
          base_url: str = "", cache: Path | None = None, out: str = "out",
          article_modules: bool = True, **overrides) -> tuple[Path, list[str]]:
    """pages: path under the source folder -> text ("p.md", "demo/facts.py", ...).
    article_modules: also give the site the real article's facts and figures modules."""
    site = Path(tempfile.mkdtemp(dir=tmp_path, prefix=out))  # each call: its own pages
    src = site / "src"
    src.mkdir()
    if article_modules:  # its modules, not its page
        shutil.copytree(ARTICLE_DIR, src / "article",
                        ignore=shutil.ignore_patterns("*.md", "__pycache__"))
    for name, text in pages.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text, encoding="utf-8")
    out_dir = site / "out"
    out_dir.mkdir()
    cfg = BuildConfig(root=site, src_dir=src, out_dir=site / "public",
                      templates_dir=ROOT / "templates", static_dir=ROOT / "static",
                      node_modules=ROOT / "node_modules", cache_dir=cache or tmp_path / "cache",
                      base_url=base_url, **overrides)
    results = fake_results() if results is None else results
    warnings = render_site(cfg, results, fake_results_meta(results), out_dir)
    return out_dir, warnings


def render_error(tmp_path: Path, pages: dict[str, str], **kwargs) -> str:
    with pytest.raises(RenderError) as caught:
        build(tmp_path, pages, **kwargs)
    return str(caught.value)


# -- errors point at file:line ----------------------------------------------------------------

def test_bad_front_matter_yaml_reports_file_and_line(tmp_path):
    text = "---\ntitle: T\ndescription: x: y\n---\nbody\n"
    assert render_error(tmp_path, {"bad.md": text}).startswith("src/bad.md:3: front matter YAML")


def test_unclosed_yaml_bracket_points_at_its_line(tmp_path):
    text = "---\ntitle: T\ndescription: [open\n---\nbody\n"
    assert render_error(tmp_path, {"bad.md": text}).startswith("src/bad.md:3:")


def test_missing_front_matter_and_required_fields(tmp_path):
    assert "missing front matter" in render_error(tmp_path, {"a.md": "no front matter\n"})
    message = render_error(tmp_path, {"b.md": "---\ntitle: T\n---\nbody\n"})
    assert message.startswith("src/b.md:1:") and "description" in message
    message = render_error(tmp_path, {"c.md": page("x", extra="template: article.html\n")})
    assert "date" in message


def test_unknown_chart_id_lists_known_ids(tmp_path):
    message = render_error(tmp_path, {"p.md": page("Intro.\n\n{{ chart('nope') }}\n")})
    assert message.startswith("src/p.md:7: unknown chart id 'nope'")
    assert "curves-binary" in message and "dial" in message


def test_chart_with_missing_result_names_it(tmp_path):
    results = fake_results()
    del results["dial-ppo"]
    message = render_error(tmp_path, {"p.md": page("{{ chart('dial', alt='a') }}\n")},
                           results=results)
    assert message == "src/p.md:5: chart 'dial' needs result 'dial-ppo' which is missing"


def test_undefined_result_key_reports_line(tmp_path):
    body = "Line one.\n\nValue {{ results['binary-nope'].final_accuracy.mean }}.\n"
    message = render_error(tmp_path, {"p.md": page(body)})
    assert message.startswith("src/p.md:7:")
    assert "no result named 'binary-nope'" in message and "binary-supervised" in message


def test_undefined_name_and_attribute_report_line(tmp_path):
    assert render_error(tmp_path, {"p.md": page("a\n{{ nosuch }}\n")}).startswith("src/p.md:6:")
    message = render_error(tmp_path, {"q.md": page("{{ results['dial-pg'].nope.x }}\n")})
    assert message.startswith("src/q.md:5:") and "nope" in message


def test_jinja_syntax_error_reports_line(tmp_path):
    message = render_error(tmp_path, {"p.md": page("ok\n\n{% if %}\n")})
    assert message.startswith("src/p.md:7: TemplateSyntaxError")


def test_require_false_is_an_error_and_true_renders_nothing(tmp_path):
    body = "{{ require(results['dial-pg'].eps|length > 100, 'the dial needs 100 points') }}\n"
    message = render_error(tmp_path, {"p.md": page("a\n" + body)})
    assert message == "src/p.md:6: require() failed: the dial needs 100 points"
    out, _ = build(tmp_path, {"p.md": page("x{{ require(1 < 2, 'fine') }}y\n")}, out="ok")
    assert "<p>xy</p>" in (out / "p/index.html").read_text()


def test_filter_given_none_reports_line(tmp_path):
    message = render_error(tmp_path, {"p.md": page("a\n\n{{ none | percent }}\n")})
    assert message.startswith("src/p.md:7:") and "percent() got None" in message


def test_broken_tex_reports_line_and_katex_message(tmp_path):
    body = "Fine $x$ here.\n\nStill fine.\n\n$$\n\\frac{1}{\n$$\n"
    message = render_error(tmp_path, {"p.md": page(body)})
    assert message.startswith("src/p.md:10: KaTeX: KaTeX parse error:"), message
    inline = render_error(tmp_path, {"q.md": page("a\n\nb $\\alpha \\notacommand$ c\n")})
    assert inline.startswith("src/q.md:7: KaTeX:") and "notacommand" in inline


def test_figref_and_link_to_unknown_targets_are_errors(tmp_path):
    message = render_error(tmp_path, {"p.md": page("See {{ figref('dial') }}.\n")})
    assert message.startswith("src/p.md:5: figref('dial')")
    assert render_error(tmp_path, {"q.md": page("\n[x]({{ link('nope') }})\n")}).startswith(
        "src/q.md:6: link('nope')")


# -- math -------------------------------------------------------------------------------------

MATH_PAGE = r"""
## Gradient of $\log \pi$

Inline $a < b$ and $p \& q > r$; a matrix $\begin{pmatrix} a & b \\ c & d \end{pmatrix}$.

$$
\nabla_\theta J(\theta)
  = \mathbb{E}_{a \sim \pi_\theta}\left[ r(a) \nabla_\theta \log \pi_\theta(a) \right]
$$

\begin{align*}
x &= 1 \\
y &< 2
\end{align*}
"""


def test_math_is_typeset_at_build_time(tmp_path):
    out, _ = build(tmp_path, {"p.md": page(MATH_PAGE)})
    html = (out / "p/index.html").read_text()
    assert 'class="katex"' in html and 'class="katex-display"' in html
    assert "$$" not in html and "arithmatex" not in html and "\\begin{align*}" not in html.split(
        "<annotation")[0]
    assert html.count('class="math-display"') == 2
    assert "mtable" in html                            # align* and pmatrix became tables
    assert "katex.min.css" in html                     # the page has math: it gets the CSS
    assert "<script" not in html.split("</head>")[1]   # and no math JavaScript


def test_pages_without_math_skip_the_katex_css(tmp_path):
    out, _ = build(tmp_path, {"p.md": page("No math here.\n")})
    assert "katex.min.css" not in (out / "p/index.html").read_text()


def test_katex_cache_serves_the_second_build_without_node(tmp_path, monkeypatch):
    sent = []
    original = katex_module.KatexRenderer._ask_node
    monkeypatch.setattr(katex_module.KatexRenderer, "_ask_node",
                        lambda self, batch: sent.append(len(batch)) or original(self, batch))
    cache = tmp_path / "shared-cache"
    build(tmp_path, {"p.md": page(MATH_PAGE)}, cache=cache, out="first")
    assert sum(sent) >= 5
    assert list((cache / "katex").rglob("*.json"))

    def no_node(self):
        raise AssertionError("node was started although every formula is cached")
    monkeypatch.setattr(katex_module.KatexRenderer, "_start", no_node)
    out, _ = build(tmp_path, {"p.md": page(MATH_PAGE)}, cache=cache, out="second")
    assert 'class="katex"' in (out / "p/index.html").read_text()


def test_page_macros_reach_katex(tmp_path):
    macros = 'macros: {"\\\\pol": "\\\\pi_\\\\theta"}\n'
    out, _ = build(tmp_path, {"p.md": page("$\\pol$\n", extra=macros)})
    assert "θ" in (out / "p/index.html").read_text()


# -- charts -----------------------------------------------------------------------------------

def all_charts_page() -> str:
    body = "## Charts\n\n" + "\n\n".join(
        f"{{{{ chart('{chart_id}', caption='About {chart_id}: $x^2$.', alt='{chart_id} chart') }}}}"
        for chart_id in CHARTS) + "\n\nSee {{ figref('dial') }}.\n"
    return page(body, extra=ARTICLE_META)


def test_every_chart_builds_from_a_plain_results_dict():
    results = fake_results()
    for chart_id, definition in CHARTS.items():
        figure = definition.build(results)
        assert figure.data, chart_id
        assert {trace.type for trace in figure.data} <= ALLOWED_TRACES, chart_id


def test_chart_placeholders_json_csv_and_numbering(tmp_path):
    out, warnings = build(tmp_path, {"article.md": all_charts_page()})
    html = (out / "article/index.html").read_text()
    sources = re.findall(r'data-chart-src="([^"]+)"', html)
    assert len(sources) == len(CHARTS)
    for number, (chart_id, src) in enumerate(zip(CHARTS, sources), start=1):
        assert src == f"../data/charts/{chart_id}.js"
        figure = json.loads((out / "article" / src).resolve().with_suffix(".json").read_text())
        script = (out / "article" / src).resolve().read_text()
        assert script.startswith("(window.onpolicyCharts=window.onpolicyCharts||{})")
        loaded = json.loads(script.split("]=", 1)[1].rstrip(";\n"))
        # what the page loads is the figure JSON, surfaces at 3 significant digits
        assert loaded == page_spec(figure)
        for got, full in zip(loaded["data"], figure["data"]):
            if full["type"] != "surface":
                assert got == full
            else:
                assert got["z"] == [[float(f"{v:.3g}") for v in row] for row in full["z"]]
        assert {t["type"] for t in figure["data"]} <= ALLOWED_TRACES
        assert "template" not in figure["layout"]
        assert (out / f"data/charts/{chart_id}.csv").read_text().startswith("series,x,y")
        assert f'<span class="figure-number">Figure {number}.</span>' in html
        assert f'aria-label="{chart_id} chart"' in html
        assert f'aria-describedby="fig-{chart_id}-caption"' in html
    assert html.count("<details class=\"chart-data\">") == len(CHARTS)
    assert f'href="#fig-dial">Figure {list(CHARTS).index("dial") + 1}</a>' in html
    assert html.count('class="katex"') >= len(CHARTS)        # captions' math is typeset
    assert "charts.js" in html and all(f'"../static/{name}"' in html
                                     for name in chart_bundle_names(ROOT / 'node_modules').values())
    assert not any("alt text" in w for w in warnings)


def test_missing_alt_text_warns(tmp_path):
    _, warnings = build(tmp_path, {"p.md": page("{{ chart('dial', caption='Dial.') }}\n")})
    assert any(w.startswith("src/p.md:5: chart 'dial' has no alt text") for w in warnings)


def test_pages_without_charts_do_not_load_chart_code(tmp_path):
    out, _ = build(tmp_path, {"p.md": page("Text.\n")})
    html = (out / "p/index.html").read_text()
    assert "charts.js" not in html and "plotly" not in html and "chartjs" not in html


def test_raw_results_are_published(tmp_path):
    out, _ = build(tmp_path, {"p.md": page("x\n")})
    document = json.loads((out / "data/results/binary-pg_random.json").read_text())
    assert document["result"]["method"] == "pg_random"
    assert len(document["inputs_hash"]) == 64 and "provenance" in document


def _registered_schema(name: str) -> dict:
    """The payload schema the experiment package registers for the row (never sniffed)."""
    from experiments.suite import BY_NAME, payload_schema
    from onpolicy.contract import effective_config

    return payload_schema(BY_NAME[name], effective_config(BY_NAME[name]))


def test_fake_results_match_the_result_schema():
    schema = pytest.importorskip("onpolicy.schema")
    for name, payload in fake_results().items():
        document = {"schema": schema.SCHEMA_VERSION, "experiment": name, "inputs_hash": "0" * 64,
                    "inputs": {"config": {}, "sources": {}, "data": {}, "schema": 1},
                    "provenance": {}, "result_sha256": "0" * 64, "result": payload,
                        "document_sha256": "0" * 64}
        assert schema.problems(document, _registered_schema(name)) == [], name


# -- links, pages, feeds ----------------------------------------------------------------------

SITE = {
    "index.md": page("Home. [Article]({{ link('article') }}).\n", title="Home",
                     extra="order: 0\n"),
    "article.md": page("## Part one\n\nText.[^n]\n\n{{ chart('dial', alt='d') }}\n\n"
                       "## Part two\n\n[^n]: A note.\n", title="The article",
                       extra=ARTICLE_META + "order: 1\n"),
    "404.md": page("Not here. [Home]({{ url() }})\n", title="Not found"),
    "draft.md": page("Secret.\n", title="Draft", extra="draft: true\n"),
}


def local_targets(html: str) -> list[str]:
    return re.findall(r'(?:href|src|data-chart-src|data-plotly-src)="([^"#][^"]*)"', html)


def test_relative_links_resolve_at_every_depth(tmp_path):
    out, _ = build(tmp_path, SITE)
    for path in ["index.html", "article/index.html"]:
        html = (out / path).read_text()
        for target in local_targets(html):
            parsed = urlparse(target)
            assert not parsed.scheme and not target.startswith("/"), (path, target)
            resolved = (out / path).parent / parsed.path
            if target.endswith("/") or resolved.is_dir():
                resolved = resolved / "index.html"
            assert resolved.resolve().is_file(), (path, target)
    index = (out / "index.html").read_text()
    article = (out / "article/index.html").read_text()
    assert 'href="static/css/site.css?v=' in index and 'href="article/"' in index
    assert 'href="../static/css/site.css?v=' in article and 'href="../"' in article


def test_no_request_leaves_the_origin(tmp_path):
    out, _ = build(tmp_path, SITE, base_url="https://example.org/repo")
    for html_file in out.rglob("*.html"):
        html = html_file.read_text()
        loads = re.findall(r'<(?:script|img|iframe)[^>]*\ssrc="([^"]+)"', html)
        loads += re.findall(r'<link[^>]*rel="(?:stylesheet|icon)"[^>]*href="([^"]+)"', html)
        assert loads and not [u for u in loads if re.match(r"(https?:)?//", u)], html_file
    for css in (out / "static").rglob("*.css"):
        for url in re.findall(r"url\(([^)]+)\)", css.read_text()):
            url = url.strip("'\"")
            if url.startswith("data:"):
                continue
            assert not re.match(r"(https?:)?//", url), (css, url)
            assert url.endswith(".woff2") and (css.parent / url).is_file(), (css, url)


def test_404_links_resolve_against_the_site_root_as_base(tmp_path):
    """404.html is served at any depth: links are written from the site root and a <base>
    names the root: base_url's path, or (no base_url) one the head script works out."""
    out, _ = build(tmp_path, SITE, base_url="https://example.org/repo/")
    html = (out / "404.html").read_text()
    head = html[:html.index("<link")]
    assert '<base href="/repo/">' in head
    assert 'href="static/css/site.css?v=' in html and 'href="./"' in html
    assert '<meta name="robots" content="noindex">' in html
    out, _ = build(tmp_path, SITE, out="plain")
    html = (out / "404.html").read_text()
    guess, assets = html.index("document.write('<base"), html.index("static/css/site.css?v=")
    assert guess < assets and '<base href="/' not in html
    assert "/static/css/site.css" not in html


def test_sitemap_feed_and_canonical_use_base_url(tmp_path):
    out, _ = build(tmp_path, SITE, base_url="https://example.org/repo")
    sitemap = (out / "sitemap.xml").read_text()
    assert "<loc>https://example.org/repo/</loc>" in sitemap
    assert "<loc>https://example.org/repo/article/</loc>" in sitemap
    assert "404" not in sitemap and "draft" not in sitemap
    feed = (out / "feed.xml").read_text()
    assert 'rel="self" type="application/atom+xml" href="https://example.org/repo/feed.xml"' in feed
    assert "<id>https://example.org/repo/article/</id>" in feed
    article = (out / "article/index.html").read_text()
    assert '<link rel="canonical" href="https://example.org/repo/article/">' in article
    assert '<meta property="og:url" content="https://example.org/repo/article/">' in article
    assert 'href="../feed.xml"' in article


def test_without_base_url_no_absolute_urls_and_a_warning(tmp_path):
    out, warnings = build(tmp_path, SITE)
    assert not (out / "sitemap.xml").exists() and not (out / "feed.xml").exists()
    assert any("base_url" in w for w in warnings)
    assert "canonical" not in (out / "article/index.html").read_text()


def test_page_layout_features(tmp_path):
    out, _ = build(tmp_path, SITE)
    assert (out / ".nojekyll").is_file() and (out / "static/favicon.svg").is_file()
    assert not (out / "draft").exists()
    html = (out / "article/index.html").read_text()
    assert 'class="toc"' in html and 'href="#part-one"' in html and 'href="#part-two"' in html
    assert 'class="headerlink" href="#part-one"' in html
    assert 'class="footnote"' in html and "min read" in html
    assert '<meta property="og:type" content="article">' in html
    assert "data-theme" in html.split("</head>")[0]  # theme set before first paint
    assert "__livereload" not in html


def test_drafts_render_when_asked(tmp_path):
    out, _ = build(tmp_path, SITE, drafts=True)
    assert '<meta name="robots" content="noindex">' in (out / "draft/index.html").read_text()


def test_facts_and_site_globals_reach_pages(tmp_path):
    facts = "def compute(results):\n    return {'best': 0.9123, 'n': len(results)}\n"
    body = ("Best {{ facts.best | percent }} of {{ facts.n }}; {{ site.pages | length }} pages;"
            " acc {{ results['binary-supervised'].final_accuracy.mean | percent(0) }}.\n")
    out, _ = build(tmp_path, {"p.md": page(body), "numbers/facts.py": facts},
                   article_modules=False)
    expected = f"Best 91.2% of {len(fake_results())}; 1 pages; acc 89%."
    assert expected in (out / "p/index.html").read_text()


# -- filters and assets -----------------------------------------------------------------------

def test_number_filters():
    assert percent(0.9123) == "91.2%" and percent(0.9123, 0) == "91%"
    assert sci(1.234e-9) == "1.2 × 10⁻⁹" and sci(2.5e6, 2, tex=True) == "2.50 \\times 10^{6}"
    assert num(12345) == "12,345" and num(0.12345, 3) == "0.123" and num(2.5) == "2.50"
    with pytest.raises(ValueError):
        percent(float("nan"))


def test_chart_bundles_are_the_pinned_versions(tmp_path):
    """Chart.js (2D) at its package.json pin; plotly.js gl3d (3D) at the version plotly.py
    writes figure JSON for."""
    import plotly

    bundled = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    header = re.compile(r"plotly\.js(?: \([^)]*\))? v(\d+\.\d+\.\d+)")
    python_version = header.search(bundled.read_text(encoding="utf-8")[:400]).group(1)
    pins = json.loads((ROOT / "package.json").read_text())["dependencies"]
    out, _ = build(tmp_path, {"p.md": page("x\n")})
    shipped = sorted(p.name for p in (out / "static").glob("*.min.js"))
    assert shipped == [f"chartjs-{pins['chart.js']}.min.js", f"plotly-gl3d-{python_version}.min.js"]
    assert f"Chart.js v{pins['chart.js']}" in (out / "static" / shipped[0]).read_text()[:200]
    gl3d = (out / "static" / shipped[1]).read_text(encoding="utf-8")[:400]
    assert header.search(gl3d).group(1) == python_version
    assert "plotly.js-basic-dist-min" not in pins


def test_katex_fonts_are_woff2_only(tmp_path):
    out, _ = build(tmp_path, {"p.md": page("x\n")})
    css = (out / "static/katex/katex.min.css").read_text()
    assert ".ttf" not in css and ".woff)" not in css and "woff2" in css
    fonts = {p.suffix for p in (out / "static/katex/fonts").iterdir()}
    assert fonts == {".woff2"}


def test_chart_must_stand_alone_but_may_be_a_list_item(tmp_path):
    message = render_error(tmp_path, {"p.md": page("Text {{ chart('dial', alt='d') }} more.\n")})
    assert message.startswith("src/p.md:5: chart() must stand alone")
    out, _ = build(tmp_path, {"p.md": page("- {{ chart('dial', alt='d') }}\n")}, out="list")
    assert '<li><figure class="chart-figure' in (out / "p/index.html").read_text()


def test_same_chart_twice_gets_distinct_anchors(tmp_path):
    body = "{{ chart('dial', alt='a') }}\n\n{{ chart('dial', alt='b') }}\n"
    html = (build(tmp_path, {"p.md": page(body)})[0] / "p/index.html").read_text()
    assert 'id="fig-dial"' in html and 'id="fig-dial-2"' in html


def test_katex_output_is_made_valid_html(tmp_path):
    """KaTeX emits Private Use Area glyphs (\\neq) and negative CSS heights (\\bigg|_x), which
    the HTML validator rejects; the renderer rewrites both without changing the look."""
    out, _ = build(tmp_path, {"p.md": page("$a \\neq b$ and $\\bigg|_{y=a}$\n")})
    html = (out / "p/index.html").read_text()
    assert not re.search("[\ue000-\uf8ff]", html) and "height:-" not in html
    assert '<span class="pua-e020"></span>' in html
    css = (out / "static/katex/katex.min.css").read_text()
    assert '.katex .pua-e020::before{content:"\\e020"}' in css


def test_negative_heights_go_only_where_a_property_starts():
    """valid_html drops "height:-..." only as a property of its own, as the look-behind
    pattern (?<![\\w-])height:-... did: not inside "line-height:-" or "xheight:-"."""
    from onpolicy.render.katex import valid_html
    cases = {'style="height:-0.5em;"': 'style=""',
             'a;height:-1.25em': 'a;',
             'line-height:-1em;': 'line-height:-1em;',
             '_height:-1em; éheight:-2em; 1height:-3em;': '_height:-1em; éheight:-2em; 1height:-3em;',
             'top:0; height:-2em;vertical-align:0': 'top:0; vertical-align:0',
             'height:-2em': ''}
    for given, expected in cases.items():
        assert valid_html.__wrapped__(given) == expected, given


def test_quick_and_stale_builds_say_so_on_the_page(tmp_path):
    results = fake_results()
    pages = {"p.md": page("x\n")}
    html = (build(tmp_path, pages)[0] / "p/index.html").read_text()
    assert "build-banner" not in html
    src = Path(tempfile.mkdtemp(dir=tmp_path)) / "out"
    src.mkdir()
    meta = fake_results_meta(results)
    meta["dial-pg"]["stale"] = True
    meta["binary-pg_random"]["quick"] = True
    cfg = BuildConfig(root=tmp_path, src_dir=next(tmp_path.glob("out*/src")),
                      templates_dir=ROOT / "templates", static_dir=ROOT / "static",
                      cache_dir=tmp_path / "cache", quick=True)
    render_site(cfg, results, meta, src)
    html = (src / "p/index.html").read_text()
    assert "Quick build:</strong> 1 result(s) come from tiny runs" in html
    assert "(binary-pg_random); the others are the frozen results" in html
    assert "1 result(s) are out of date" in html and "dial-pg" in html


def test_missing_fact_suggests_near_names(tmp_path):
    facts = "def compute(results):\n    return {'binary_pg_random_final': 0.5}\n"
    message = render_error(tmp_path, {"p.md": page("{{ facts.binary_pg_randm_final }}\n"),
                                      "numbers/facts.py": facts}, article_modules=False)
    assert message == ("src/p.md:5: UndefinedError: no fact named 'binary_pg_randm_final' "
                       "(did you mean: binary_pg_random_final)")


def test_citations_link_to_their_reference_entries():
    from onpolicy.render.citations import link_citations
    html = ('<p>As shown (Williams, 1992; see also LeCun et al., 1998) and (Nobody, 2001).</p>'
            '<h2 id="references">References</h2><ol>'
            '<li>Ronald J. Williams. Simple gradients. <em>ML</em> 8 (1992). '
            '<a href="https://doi.org/10.1007/BF00992696">doi</a></li>'
            '<li>Yann LeCun, Léon Bottou. Gradient-based learning (1998).</li></ol>')
    out = link_citations(html)
    assert '<a class="citation" href="#ref-williams1992">Williams, 1992</a>' in out
    assert '<a class="citation" href="#ref-lecun1998">LeCun et al., 1998</a>' in out
    assert "(Nobody, 2001)" in out  # no entry: left as text
    assert '<li id="ref-williams1992">' in out and '<li id="ref-lecun1998">' in out


def test_figure_data_tables_hold_the_numbers(tmp_path):
    out, _ = build(tmp_path, {"article.md": all_charts_page()})
    html = (out / "article/index.html").read_text()
    details = re.findall(r'<details class="chart-data">(.*?)</details>', html, re.S)
    assert len(details) == len(CHARTS)
    for chart_id, block in zip(CHARTS, details):
        rows = re.findall(r"<tr>(.*?)</tr>", block, re.S)
        cells = re.findall(r"<td>([^<]*)</td>", block)
        assert len(rows) >= 3 and cells, chart_id
        assert sum(bool(re.search(r"\d", c)) for c in cells) >= len(cells) // 2, chart_id
        assert "<caption>" in block, chart_id


def test_reading_time_counts_the_main_line_and_the_appendices_apart(tmp_path):
    """Front matter reading_until: the byline's minutes stop at the first heading whose id
    starts with it; what follows is counted apart. Without it, the whole page counts."""
    words = lambda n: " ".join(["word"] * n)  # noqa: E731
    body = (f"## Main {{: #main }}\n\n{words(660)}\n\n## Appendix A {{: #appendix-a }}\n\n"
            f"{words(440)}\n\n## Appendix B {{: #appendix-b }}\n\n{words(440)}\n")
    pages = {"split.md": page(body, title="Split", extra=ARTICLE_META + "reading_until: appendix-\n"),
             "whole.md": page(body, title="Whole", extra=ARTICLE_META)}
    out, _ = build(tmp_path, pages, article_modules=False)

    def byline(name):
        html = (out / name / "index.html").read_text()
        return re.search(r'<span class="reading-time">(.*?)</span>', html).group(1)
    assert byline("split") == "4 min read (appendices: 5 min more)"  # 662 / 220; 884 / 220
    assert byline("whole") == "8 min read"                            # 1,548 words
    bad = {"typo.md": page(body, title="Typo", extra=ARTICLE_META + "reading_until: apendix-\n")}
    message = render_error(tmp_path, bad, article_modules=False)
    assert "typo.md:1" in message and "'apendix-'" in message and "no heading" in message
    bad = {"num.md": page(body, title="Num", extra=ARTICLE_META + "reading_until: 3\n")}
    assert "reading_until" in render_error(tmp_path, bad, article_modules=False)


def test_last_paragraph_open_is_the_last_regex_match():
    """The backward search finds what max(PARAGRAPH_OPEN.finditer(html, 0, end)) found."""
    import random
    from onpolicy.render.body import PARAGRAPH_OPEN, _last_paragraph_open
    rng = random.Random(0)
    bits = ["<p>", "<p class=x>", "<pre>", "<p\n>", "</p>", "x", "<p", "%%FIGURE-1%%", "<P>"]
    for _ in range(2000):
        html = "".join(rng.choice(bits) for _ in range(rng.randint(0, 12)))
        for end in range(len(html) + 1):
            expected = max((m.start() for m in PARAGRAPH_OPEN.finditer(html, 0, end)),
                           default=-1)
            assert _last_paragraph_open(html, end) == expected, (html, end)
