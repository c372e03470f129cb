"""explorable(): the engine's generic hook for an article's explorable figures
(onpolicy/render/explorables.py): the placeholder, its data files, and the errors."""
from __future__ import annotations

import json

from tests.fixtures_results import fake_results
from tests.test_render import build, page, render_error

DIAL = ("{{ explorable('dial', script='js/explore-dial.js', data='dial-curves', "
        "label='the runs', caption='From the *dial*.') }}\n")


def test_placeholder_data_files_and_scripts(tmp_path):
    out, _ = build(tmp_path, {"p.md": page("Intro.\n\n" + DIAL)})
    html = (out / "p/index.html").read_text()
    assert '<figure class="explorable" id="explore-dial" data-explorable="dial"' in html
    assert 'data-explorable-data-src="../data/explorables/dial-curves.js"' in html
    assert 'data-explorable-src="../static/js/explore-dial.js?v=' in html
    assert "<em>dial</em>" in html and "explorables.js" in html and "chartjs-" in html
    script = (out / "data/explorables/dial-curves.js").read_text()
    assert script.startswith('(window.onpolicyExplorableData=window.onpolicyExplorableData||{})'
                             '["dial-curves"]=')
    data = json.loads((out / "data/explorables/dial-curves.json").read_text())
    assert data["eps"] == fake_results()["dial-pg"]["eps"]
    assert [m["key"] for m in data["methods"]] == ["pg", "ppo", "is"]
    # a page without explorables loads no loader
    out2, _ = build(tmp_path, {"q.md": page("Nothing here.\n")}, out="plain")
    assert "explorables.js" not in (out2 / "q/index.html").read_text()


def test_on_demand_data_is_written_but_not_loaded_with_the_page(tmp_path):
    body = ("{{ explorable('bandit', script='js/explore-bandit.js', data='bandit-frozen', "
            "on_demand='bandit-digits', label='run it') }}\n")
    out, _ = build(tmp_path, {"p.md": page(body)})
    html = (out / "p/index.html").read_text()
    assert 'data-explorable-demand-src="../data/explorables/bandit-digits.js"' in html
    assert (out / "data/explorables/bandit-digits.js").is_file()
    assert "<script src=\"../data/explorables" not in html


def test_errors_name_the_page_and_line(tmp_path):
    bad_data = "{{ explorable('x', script='js/x.js', data='nope', label='l') }}\n"
    message = render_error(tmp_path, {"p.md": page(bad_data)})
    assert message.startswith("src/p.md:5: explorable('x'): unknown data id 'nope'")
    assert "dial-curves" in message
    message = render_error(tmp_path, {"p.md": page("{{ explorable('x', label='l') }}\n")})
    assert message.startswith("src/p.md:5: explorable('x'): give script=")
    message = render_error(tmp_path, {"p.md": page(DIAL + "\n" + DIAL)})
    assert "explorable('dial') is placed twice" in message
    message = render_error(tmp_path, {"p.md": page("Text " + DIAL.strip() + " more.\n")})
    assert message.startswith("src/p.md:5: explorable() must stand alone")
    results = fake_results()
    del results["dial-ppo"]
    message = render_error(tmp_path, {"p.md": page(DIAL)}, results=results)
    assert message == ("src/p.md:5: explorable data 'dial-curves' needs result 'dial-ppo' "
                       "which is missing")
