"""The brake explorable's closed form: experiments/brake.py (Python) against
static/js/explore-brake.js (run in Node) on a grid, and the Python one against autograd of the
policy-gradient method's own loss (experiments/methods/policy_gradient.py)."""
from __future__ import annotations

import itertools
import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest

from experiments.brake import expected_pg_gradient, gradient_zeros, sigmoid

ROOT = Path(__file__).resolve().parent.parent
BRAKE_JS = ROOT / "static" / "js" / "explore-brake.js"

XS = [-30 + 60 * i / 96 for i in range(97)]
RS = [-1.0, -0.75, -0.5, -0.1, 0.0, 0.3, 0.5, 1.0]
EPS = [0.0, 0.002, 0.02, 0.1, 0.25, 0.5, 0.9, 1.0]
CS = [0.0, -1.0, -0.5, 0.25, 0.6, 1.0]
SETTINGS = list(itertools.product(RS, EPS, CS))


def _node(script: str):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node not found (it is needed for KaTeX too: install Node.js 20)")
    prelude = f"const M = require({json.dumps(str(BRAKE_JS))});\n"
    proc = subprocess.run([node, "-e", prelude + script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _close(a: float, b: float, rel: float = 1e-9) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b)) or abs(a - b) <= 1e-300


def _size(x: float, r: float, eps: float, c: float) -> float:
    """The size of g's two terms: where they cancel (g = 0 exactly, e.g. r = 1 and eps = 0)
    the last bits of exp() in each language decide what is left, so the relative error is
    measured against the terms, not against their tiny difference."""
    s = sigmoid(x)
    b1, b0 = (1 - eps) * s + eps / 2, (1 - eps) * (1 - s) + eps / 2
    return abs(b1 * (1 - c) * (s - 1)) + abs(b0 * (r - c) * s)


def test_javascript_equals_python_on_a_grid():
    got = _node(f"const xs = {json.dumps(XS)}, settings = {json.dumps(SETTINGS)};\n"
                "console.log(JSON.stringify(settings.map(([r, e, c]) => ({"
                "g: xs.map(x => M.expectedGradient(x, r, e, c)),"
                "zeros: M.gradientZeros(r, e, c)}))));")
    assert len(got) == len(SETTINGS)
    worst = 0.0
    for (r, eps, c), js in zip(SETTINGS, got):
        for x, value in zip(XS, js["g"]):
            py, size = expected_pg_gradient(x, r, eps, c), _size(x, r, eps, c)
            if size:
                worst = max(worst, abs(py - value) / size)
            else:
                assert py == value == 0
        zeros = gradient_zeros(r, eps, c)
        assert js["zeros"]["kind"] == zeros["kind"], (r, eps, c)
        assert [z["kind"] for z in js["zeros"]["zeros"]] == [z["kind"] for z in zeros["zeros"]]
        for a, b in zip(js["zeros"]["zeros"], zeros["zeros"]):
            assert _close(a["x"], b["x"]), (r, eps, c, a, b)
    assert worst <= 1e-9


def test_closed_form_equals_autograd_of_the_method_loss():
    torch = pytest.importorskip("torch")
    from experiments.methods import policy_gradient
    from experiments.policy import Batch

    x = torch.tensor(XS, dtype=torch.float64)
    for r, eps, c in SETTINGS[::5]:
        s = torch.sigmoid(x)
        behaviour = {1: (1 - eps) * s + eps / 2, 0: (1 - eps) * (1 - s) + eps / 2}
        expected = torch.zeros_like(x)
        for action, reward in ((1, 1.0), (0, r)):
            outputs = x.detach().reshape(1, -1, 1).clone().requires_grad_()
            batch = Batch(labels=None, actions=torch.full((1, len(XS)), action),
                          rewards=torch.full((1, len(XS)), reward - c, dtype=torch.float64),
                          behaviour_prob=None)
            loss = policy_gradient.loss(outputs, batch, {"log_prob": "stable"})
            (grad,) = torch.autograd.grad(loss.sum(), outputs)
            expected += behaviour[action] * grad.reshape(-1)
        for xi, want in zip(XS, expected.tolist()):
            assert abs(expected_pg_gradient(xi, r, eps, c) - want) <= 1e-12, (xi, r, eps, c)


def test_the_article_cases():
    for x in XS:
        s = sigmoid(x)
        # uniform actions, the article's rewards: the constant -1/2 (no bottom, no fading)
        assert expected_pg_gradient(x, -1.0, 1.0) == pytest.approx(-0.5, abs=1e-15)
        # on-policy: -2 sigma (1 - sigma), the gradient of the bounded J
        assert expected_pg_gradient(x, -1.0, 0.0) == pytest.approx(-2 * s * (1 - s), abs=1e-15)
    assert gradient_zeros(-1.0, 1.0)["kind"] == "none"
    assert gradient_zeros(-1.0, 0.0)["kind"] == "none"
    assert gradient_zeros(-1.0, 0.05)["kind"] == "none"
    assert gradient_zeros(1.0, 0.3, 1.0)["kind"] == "everywhere"


def test_each_zero_is_a_sign_change_of_the_right_kind():
    seen = set()
    for r, eps, c in SETTINGS:
        zeros = gradient_zeros(r, eps, c)
        seen.add(zeros["kind"])
        for z in zeros["zeros"]:
            assert abs(expected_pg_gradient(z["x"], r, eps, c)) <= 1e-9
            h = 1e-4 * max(1.0, abs(z["x"]))
            left = expected_pg_gradient(z["x"] - h, r, eps, c)
            right = expected_pg_gradient(z["x"] + h, r, eps, c)
            assert (left < 0 < right) if z["kind"] == "bottom" else (left > 0 > right)
        if zeros["kind"] == "none" and eps not in (0.0,):
            # one sign over a wide range of logits
            signs = {math.copysign(1, expected_pg_gradient(x, r, eps, c)) for x in XS
                     if expected_pg_gradient(x, r, eps, c) != 0}
            assert len(signs) == 1, (r, eps, c)
    assert {"none", "bottom"} <= seen
