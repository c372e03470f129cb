"""The brake, in closed form: the expected vanilla-PG gradient with respect to the logit on the
binary bandit, under the behaviour b_eps = (1 - eps) pi + eps uniform. Torch-free: the article's
"brake" explorable computes the same formula in JavaScript (static/js/explore-brake.js), and
tests/test_explore_brake.py checks the two against each other and this one against autograd of
experiments/methods/policy_gradient.py's loss.

Definitions (the article's notation): one digit whose label is y = 1, so the right action is
a = 1; logit x, pi(1|x) = sigma(x). The right action earns +1, the wrong one earns r (r = -1 is
the article's reward scheme, r = 0 the {0, 1} scheme). With a baseline c the surrogate is
L = -(R(a) - c) log pi(a|x), so dL/dx = (R(a) - c)(sigma(x) - a), and

    g(x) = E_{a ~ b_eps}[dL/dx]
         = b_eps(1) (1 - c) (sigma(x) - 1) + b_eps(0) (r - c) sigma(x),
    b_eps(1) = (1 - eps) sigma(x) + eps / 2,   b_eps(0) = (1 - eps) (1 - sigma(x)) + eps / 2.

In s = sigma(x), g is the quadratic  k (A - B) s^2 + (k (B - A) + e (A + B)) s - A e  with
k = 1 - eps, e = eps / 2, A = 1 - c, B = r - c. Its limits are g -> -e A as x -> -inf and
g -> e B as x -> +inf: off-policy (eps > 0) the gradient fades on the right only when r = c.
"""
from __future__ import annotations

import math


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def expected_pg_gradient(x: float, r: float, eps: float, baseline: float = 0.0) -> float:
    """g(x) = E_{a ~ b_eps}[d/dx -(R(a) - c) log pi(a|x)] for a digit with label 1."""
    s = sigmoid(x)
    b1 = (1.0 - eps) * s + eps / 2.0
    b0 = (1.0 - eps) * (1.0 - s) + eps / 2.0
    return b1 * (1.0 - baseline) * (s - 1.0) + b0 * (r - baseline) * s


def _logit(s: float) -> float:
    return math.log(s) - math.log1p(-s)


def gradient_zeros(r: float, eps: float, baseline: float = 0.0) -> dict:
    """Where g vanishes at a finite logit.

    Returns {"kind": "none" | "bottom" | "top" | "everywhere", "zeros": [{"x", "kind"}]}: a
    zero is a "bottom" when g goes from negative to positive there (the expected loss has a
    minimum: gradient descent comes to rest), a "top" otherwise (it pushes away). The first
    zero's kind is the overall kind; "none" means g keeps one sign over every finite logit."""
    k, e = 1.0 - eps, eps / 2.0
    a_, b_ = 1.0 - baseline, r - baseline
    quad, lin, const = k * (a_ - b_), k * (b_ - a_) + e * (a_ + b_), -a_ * e
    scale = max(abs(quad), abs(lin), abs(const))
    if scale == 0.0:
        return {"kind": "everywhere", "zeros": []}
    if a_ == 0.0 or b_ == 0.0:
        # g = B s (k (1 - s) + e) or -A (1 - s) (k s + e): zeros at s = 0 or 1 (infinite
        # logits) and outside [0, 1] only; solving numerically would put one at x ~ +-37
        return {"kind": "none", "zeros": []}
    tol = 1e-12 * scale
    roots: list[float] = []
    if abs(quad) <= tol:
        if abs(lin) > tol:
            roots = [-const / lin]
    else:
        disc = lin * lin - 4.0 * quad * const
        if disc >= 0.0:
            # the numerically stable pair: q = -(lin + sign(lin) sqrt(disc)) / 2
            q = -0.5 * (lin + math.copysign(math.sqrt(disc), lin))
            roots = [q / quad] + ([const / q] if q != 0.0 else [])
    zeros = []
    for s in sorted(set(roots)):
        if 0.0 < s < 1.0:
            slope = 2.0 * quad * s + lin  # dg/ds; dg/dx has its sign
            if abs(slope) <= tol:
                continue  # a double root: g touches zero without changing sign
            zeros.append({"x": _logit(s), "kind": "bottom" if slope > 0 else "top"})
    return {"kind": zeros[0]["kind"] if zeros else "none", "zeros": zeros}
