"""The article's explorable figures in a real browser (Debian's Chromium through Playwright, as
tests/test_browser.py): nothing of them loads with the page, the page stays under its weight
budget, each one's controls work from the keyboard, and what each draws is checked against its
source: the brake against experiments/brake.py, the dial against the frozen dial results, the
live bandit against bandit-core.js run in Node with the same seed (it is deterministic)."""
from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from experiments.brake import expected_pg_gradient, gradient_zeros

from .conftest import SUB_PATH
from .test_browser import browser  # noqa: F401 - the shared Chromium fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
WEIGHT_BUDGET_GZ = 350_000
ARTICLE = "why-policy-gradients-are-on-policy/"


def _page(browser, width: int = 1280):
    ctx = browser.new_context(viewport={"width": width, "height": 900}, color_scheme="light",
                              reduced_motion="reduce", service_workers="block")
    ctx.set_default_timeout(30_000)
    page = ctx.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.requested = []
    page.on("request", lambda r: page.requested.append(r.url))
    return ctx, page


def _open(page, name: str) -> None:
    """Scroll the explorable into view and wait until its script has built it."""
    page.locator(f"#explore-{name}").scroll_into_view_if_needed()
    page.wait_for_selector(f"#explore-{name}[data-ready=true]")


def _drawn(page, name: str, box: int = 0, dataset: int = 0) -> list[dict]:
    return page.evaluate(
        "([name, box, ds]) => document.querySelectorAll('#explore-' + name + ' .chart-2d')[box]"
        ".charts[0].data.datasets[ds].data", [name, box, dataset])


def test_nothing_loads_before_use_and_the_weight_stays_under_budget(browser, built_site,
                                                                    site_url):
    ctx, page = _page(browser)
    page.goto(site_url + ARTICLE, wait_until="networkidle")
    page.wait_for_timeout(500)
    paths = [urlsplit(u).path[len(SUB_PATH):] for u in page.requested
             if urlsplit(u).path.startswith(SUB_PATH)]
    assert not [p for p in paths if "explore-" in p or "data/explorables/" in p
                or "bandit-core" in p], paths
    total = 0
    for rel in dict.fromkeys(paths):
        target = built_site / rel
        target = target / "index.html" if target.is_dir() else target
        total += len(gzip.compress(target.read_bytes(), 6))
    assert total <= WEIGHT_BUDGET_GZ, f"{total} bytes gzipped before any explorable is used"
    assert not page.errors
    ctx.close()


def test_brake_draws_the_closed_form_and_marks_the_bottom(browser, site_url):
    ctx, page = _page(browser)
    page.goto(site_url + ARTICLE)
    _open(page, "brake")
    # the article's case: uniform actions, rewards +-1: the constant -1/2, no bottom
    assert page.get_attribute("#explore-brake", "data-kind") == "none"
    for point in _drawn(page, "brake"):
        assert point["y"] == pytest.approx(expected_pg_gradient(point["x"], -1.0, 1.0),
                                           rel=1e-9, abs=1e-15)
    assert "never fades: no brake" in page.inner_text("#explore-brake .explorable-readout")
    # keyboard: on-policy (eps 0) the push fades; then eps 0.10, the baseline on, c and r moved
    page.focus("#explore-brake-eps")
    page.keyboard.press("Home")
    page.wait_for_function("() => document.querySelector('#explore-brake-eps').value === '0'")
    page.wait_for_timeout(200)
    assert "It fades to 0 as x \u2192 +\u221e" in page.inner_text(
        "#explore-brake .explorable-readout")
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    page.focus("#explore-brake-use-c")
    page.keyboard.press("Space")
    assert page.is_enabled("#explore-brake-c")  # by the tick itself, not the next redraw
    page.focus("#explore-brake-c")
    for _ in range(10):
        page.keyboard.press("ArrowLeft")
    page.focus("#explore-brake-r")
    for _ in range(20):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('#explore-brake-r').value === '0'")
    page.wait_for_timeout(200)
    r, eps, c = (float(page.input_value(f"#explore-brake-{k}")) for k in ("r", "eps", "c"))
    assert (r, eps, c) == (0.0, pytest.approx(0.1), -0.5)
    zeros = gradient_zeros(r, eps, c)
    assert zeros["kind"] == "bottom"
    assert page.get_attribute("#explore-brake", "data-kind") == "bottom"
    for point in _drawn(page, "brake"):
        assert point["y"] == pytest.approx(expected_pg_gradient(point["x"], r, eps, c),
                                           rel=1e-9, abs=1e-15)
    marked = _drawn(page, "brake", dataset=2)
    assert [m["x"] for m in marked] == pytest.approx([z["x"] for z in zeros["zeros"]])
    text = page.inner_text("#explore-brake .explorable-readout")
    assert f"The bottom is at x = {zeros['zeros'][0]['x']:.2f}" in text
    assert not page.errors
    ctx.close()


def test_dial_slider_shows_the_frozen_runs(browser, site_url):
    results = {m: json.loads((ROOT / "results" / f"dial-{m}.json").read_text())["result"]
               for m in ("pg", "ppo", "is")}
    ctx, page = _page(browser)
    page.goto(site_url + ARTICLE)
    _open(page, "dial")
    page.focus("#explore-dial-eps")
    page.keyboard.press("End")
    page.wait_for_function("() => document.querySelector('#explore-dial').dataset.eps === '1'")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    eps = results["pg"]["eps"]
    want = eps[-3]
    page.wait_for_function(f"() => document.querySelector('#explore-dial').dataset.eps === "
                           f"'{want:g}'")
    index = eps.index(want)
    for n, method in enumerate(("pg", "ppo", "is")):
        run = results[method]["runs"][index]
        # per method: band low, band high, mean (accuracy above, largest |logit| below)
        for box, metric in ((0, "accuracy"), (1, "logit_abs_max")):
            drawn = _drawn(page, "dial", box, 3 * n + 2)
            assert [p["x"] for p in drawn] == run["steps"]
            for point, value in zip(drawn, run[metric]["mean"]):
                assert point["y"] == (None if value is None else pytest.approx(value, rel=1e-3))
    assert f"ε = {want:g}" in page.inner_text("#explore-dial .explorable-readout")
    assert not page.errors
    ctx.close()


def _node_reference(method: str, eps: float, seed: int, steps: int) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not found")
    script = """
const core = require(process.argv[1]);
const digits = core.decodeDigits(JSON.parse(require("fs").readFileSync(process.argv[2])).result);
const [method, eps, seed, steps] = JSON.parse(process.argv[3]);
const tr = core.createTrainer({method, eps, rewards: "pm1", seed, hidden: 32, lr: 1e-3,
                               batch: 64, nIn: digits.dim});
const out = [Object.assign({step: 0}, core.evaluate(tr, digits.eval))];
while (tr.t < steps && tr.alive) {
  const d = core.draw(tr, digits.train.n);
  if (core.trainStep(tr, digits.train, d.idx, d.u) && tr.t % 50 === 0)
    out.push(Object.assign({step: tr.t}, core.evaluate(tr, digits.eval)));
}
console.log(JSON.stringify({evals: out, first_nonfinite: tr.firstNonfinite}));
"""
    proc = subprocess.run([node, "-e", script, str(ROOT / "static" / "js" / "bandit-core.js"),
                           str(ROOT / "results" / "bandit-digits.json"),
                           json.dumps([method, eps, seed, steps])],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_live_bandit_runs_stops_and_matches_node(browser, site_url):
    ctx, page = _page(browser)
    page.goto(site_url + ARTICLE)
    _open(page, "bandit")
    assert not [u for u in page.requested if "bandit-digits" in u]  # only on Run
    page.select_option("#explore-bandit-method", "pg_stable")
    page.select_option("#explore-bandit-eps", "1")
    page.fill("#explore-bandit-seed", "3")
    page.click("#explore-bandit button:text-is('Run')")
    page.wait_for_function("() => Number(document.querySelector('#explore-bandit')"
                           ".dataset.step || 0) >= 300")
    page.click("#explore-bandit button:text-is('Stop')")
    assert page.get_attribute("#explore-bandit", "data-state") == "stopped"
    assert [u for u in page.requested if "bandit-digits" in u]
    page.wait_for_timeout(300)
    drawn = _drawn(page, "bandit", 0, 1)  # dataset 0: the frozen curve, 1: this run
    logits = _drawn(page, "bandit", 1, 1)
    assert len(drawn) >= 7 and page.get_attribute("#explore-bandit", "data-frozen") == "true"
    ref = _node_reference("pg_stable", 1.0, 3, drawn[-1]["x"])["evals"]
    assert [p["x"] for p in drawn] == [e["step"] for e in ref]
    assert [p["y"] for p in drawn] == pytest.approx([e["accuracy"] for e in ref], abs=1e-12)
    assert [p["y"] for p in logits] == pytest.approx([e["logitAbsMax"] for e in ref], rel=1e-9)
    status = page.inner_text("#explore-bandit .explorable-readout >> nth=1")
    assert f"{100 * ref[-1]['accuracy']:.1f}%" in status
    page.click("#explore-bandit button:text-is('Reset')")
    assert page.get_attribute("#explore-bandit", "data-state") == "idle"
    assert _drawn(page, "bandit", 0, 1) == []
    assert not page.errors
    ctx.close()


def test_naive_pg_goes_non_finite_in_words(browser, site_url):
    ref = _node_reference("pg_naive", 1.0, 0, 3000)
    assert ref["first_nonfinite"] is not None  # as in the frozen results, it breaks
    ctx, page = _page(browser, width=320)
    page.goto(site_url + ARTICLE)
    _open(page, "bandit")
    page.select_option("#explore-bandit-method", "pg_naive")
    page.click("#explore-bandit button:text-is('Run')")
    page.wait_for_function("() => document.querySelector('#explore-bandit').dataset.state"
                           " === 'nonfinite'", timeout=120_000)
    step = int(page.get_attribute("#explore-bandit", "data-nonfinite-step"))
    assert step == ref["first_nonfinite"]
    text = page.inner_text("#explore-bandit")
    assert "non-finite" in text and "log 0" in text and "NaN" not in text
    drawn = _drawn(page, "bandit", 0, 1)
    assert all(p["y"] is not None for p in drawn) and drawn[-1]["x"] < step
    # 320 px: nothing of the figure sticks out sideways
    assert page.evaluate("() => { const e = document.querySelector('#explore-bandit');"
                         " return e.scrollWidth <= e.clientWidth + 1 && "
                         "document.documentElement.scrollWidth <= window.innerWidth; }")
    assert not page.errors
    ctx.close()


def test_explorables_work_from_file_urls(browser, built_site):
    ctx, page = _page(browser)
    page.goto((built_site / ARTICLE / "index.html").as_uri())
    for name in ("brake", "dial", "bandit"):
        _open(page, name)
    page.click("#explore-bandit button:text-is('Run')")
    page.wait_for_function("() => Number(document.querySelector('#explore-bandit')"
                           ".dataset.step || 0) >= 100")
    page.click("#explore-bandit button:text-is('Stop')")
    assert not page.errors
    ctx.close()
