"""Content folders: a page's facts.py and figures.py beside it, loaded by the engine.

Errors in an author's module are reported at its file and line; facts and figure ids are one
namespace per site; a folder page keeps the URL its front matter gives it.
"""
from __future__ import annotations

import textwrap

from tests.fixtures_results import fake_results
from tests.test_render import build, page, render_error

FACTS = textwrap.dedent("""\
    BASE = 2


    def compute(results):
        return {"doubled": BASE * len(results)}
""")
FIGURES = textwrap.dedent("""\
    import plotly.graph_objects as go

    from onpolicy.render.figkit import base_figure, figure, need

    from .facts import BASE


    @figure("demo-bars")
    def bars(results):
        fig = base_figure()
        payload = need(results, "binary-supervised")
        fig.add_trace(go.Scatter(x=[0, 1], y=[BASE, payload["final_accuracy"]["mean"]]))
        return fig
""")
DEMO_PAGE = page("Twice: {{ facts.doubled }}. See [home]({{ link('p') }}).\n\n"
                 "{{ chart('demo-bars', caption='Bars.', alt='Two bars') }}\n",
                 extra="slug: a-demo\n")


def test_folder_page_with_its_own_facts_and_figures(tmp_path):
    out, warnings = build(tmp_path, {"p.md": page("Home.\n"), "demo/index.md": DEMO_PAGE,
                                     "demo/facts.py": FACTS, "demo/figures.py": FIGURES},
                          article_modules=False)
    html = (out / "a-demo/index.html").read_text()          # the slug, not the folder name
    doubled = 2 * len(fake_results())                          # the facts.py above
    assert f"Twice: {doubled}." in html and 'href="../p/"' in html
    assert 'data-chart-src="../data/charts/demo-bars.js"' in html
    assert (out / "data/charts/demo-bars.json").is_file()
    assert 'href="../data/results/binary-supervised.json"' in html  # need() recorded it
    assert not list(tmp_path.rglob("__pycache__")), "content modules wrote bytecode"


def test_syntax_error_in_facts_names_file_and_line(tmp_path):
    broken = FACTS.replace("return {", "return {{")
    message = render_error(tmp_path, {"p.md": page("x\n"), "demo/facts.py": broken},
                           article_modules=False)
    assert message.startswith("src/demo/facts.py:5: SyntaxError"), message


def test_exception_in_compute_names_the_raising_line(tmp_path):
    broken = FACTS.replace('return {"doubled"', 'return {"doubled": results["nope"], "x"')
    message = render_error(tmp_path, {"p.md": page("x\n"), "demo/facts.py": broken},
                           article_modules=False)
    assert message.startswith("src/demo/facts.py:5: compute(results) failed: KeyError"), message


def test_exception_in_a_figure_names_its_line(tmp_path):
    broken = FIGURES.replace('payload["final_accuracy"]["mean"]', 'payload["nope"]')
    pages = {"demo/index.md": DEMO_PAGE, "demo/facts.py": FACTS, "demo/figures.py": broken,
             "p.md": page("x\n")}
    message = render_error(tmp_path, pages, article_modules=False)
    assert message.startswith("src/demo/figures.py:12: figure 'demo-bars' failed: KeyError"), \
        message


def test_missing_compute_and_bad_return_are_errors(tmp_path):
    message = render_error(tmp_path, {"p.md": page("x\n"), "demo/facts.py": "X = 1\n"},
                           article_modules=False)
    assert message == "src/demo/facts.py:1: a facts.py must define compute(results) -> dict"
    message = render_error(tmp_path, {"p.md": page("x\n"),
                                      "demo/facts.py": "def compute(results):\n    return 3\n"},
                           article_modules=False)
    assert "returned a int, not a dict of facts" in message


def test_a_fact_or_figure_id_defined_twice_names_both_files(tmp_path):
    pages = {"p.md": page("x\n"), "a/facts.py": FACTS, "b/facts.py": FACTS}
    message = render_error(tmp_path, pages, article_modules=False)
    assert message.startswith("src/b/facts.py:1: fact 'doubled' is also computed by "
                              "src/a/facts.py"), message
    pages = {"p.md": page("x\n"), "a/facts.py": FACTS, "a/figures.py": FIGURES,
             "b/facts.py": "def compute(results):\n    return {}\n", "b/figures.py":
             FIGURES.replace("from .facts import BASE", "BASE = 1")}
    message = render_error(tmp_path, pages, article_modules=False)
    assert "src/b/figures.py:" in message and "figure id 'demo-bars' is also defined at " \
        "src/a/figures.py:" in message, message


def test_unknown_chart_lists_the_site_figures(tmp_path):
    pages = {"demo/facts.py": FACTS, "demo/figures.py": FIGURES,
             "p.md": page("{{ chart('demo-bar') }}\n")}
    message = render_error(tmp_path, pages, article_modules=False)
    assert message == "src/p.md:5: unknown chart id 'demo-bar'; known ids: demo-bars"


def test_an_edited_module_is_loaded_again(tmp_path):
    """The preview server rebuilds in one process: a second load must see the new code."""
    from onpolicy.render.content import load_content

    src = tmp_path / "src"
    (src / "demo").mkdir(parents=True)
    (src / "demo" / "facts.py").write_text(FACTS)
    assert load_content(src, tmp_path).compute_facts({"a": {}}) == {"doubled": 2}
    (src / "demo" / "facts.py").write_text(FACTS.replace("BASE = 2", "BASE = 5"))
    assert load_content(src, tmp_path).compute_facts({"a": {}}) == {"doubled": 5}


EXTRA_FIGURES = textwrap.dedent("""\
    from onpolicy.render.figkit import base_figure, figure


    @figure("demo-extra")
    def extra(results):
        return base_figure()
""")


def test_a_figure_defined_but_never_reachable_fails_the_build(tmp_path):
    """A helper module's figure that figures.py neither imports nor lists does not silently
    vanish: the build names its file and line."""
    listed = FIGURES + "\n\nFIGURES = [bars]\n"
    pages = {"p.md": page("Home.\n"), "demo/index.md": DEMO_PAGE, "demo/facts.py": FACTS,
             "demo/figures.py": listed, "demo/more_figures.py": EXTRA_FIGURES}
    message = render_error(tmp_path, pages, article_modules=False)
    assert message.startswith("src/demo/more_figures.py:4: figure 'demo-extra' is defined but "
                              "never reachable: add it to FIGURES in src/demo/figures.py"), message
    # imported but not listed: the explicit FIGURES list is what counts
    imported = "from .more_figures import extra  # noqa: F401\n" + listed
    (tmp_path / "b").mkdir()
    message = render_error(tmp_path / "b", {**pages, "demo/figures.py": imported},
                           article_modules=False)
    assert "figure 'demo-extra' is defined but never reachable" in message
    (tmp_path / "c").mkdir()
    placed = DEMO_PAGE + "\n{{ chart('demo-extra', caption='Extra.', alt='Nothing') }}\n"
    out, _ = build(tmp_path / "c", {**pages, "demo/index.md": placed,
                                    "demo/figures.py": imported.replace(
                                        "FIGURES = [bars]", "FIGURES = [bars, extra]")},
                   article_modules=False)
    assert (out / "data/charts/demo-extra.json").is_file()
