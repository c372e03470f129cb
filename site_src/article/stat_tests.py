"""The two tests the article states when it compares results, written with `math` alone (the
render-only install has no scipy): Welch's t-test for two means, Fisher's exact test for two
counts. Both two-sided. tests/test_science_second_round.py checks them against known values.
"""
from __future__ import annotations

import math


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        for num in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                    -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with df degrees of freedom."""
    return betainc(df / 2.0, 0.5, df / (df + t * t))


def welch(a: list[float], b: list[float]) -> dict:
    """Welch's t-test of mean(a) = mean(b): {"t", "df", "p", "diff"} (diff = mean a - mean b).
    Two identical constant samples give p = 1; two different constants p = 0."""
    a = [float(v) for v in a if v is not None and math.isfinite(v)]
    b = [float(v) for v in b if v is not None and math.isfinite(v)]
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"Welch's test needs two values per group (got {len(a)} and {len(b)})")
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    va = sum((v - ma) ** 2 for v in a) / (len(a) - 1) / len(a)
    vb = sum((v - mb) ** 2 for v in b) / (len(b) - 1) / len(b)
    if va + vb == 0.0:
        return {"t": 0.0 if ma == mb else math.copysign(math.inf, ma - mb),
                "df": float(len(a) + len(b) - 2), "p": 1.0 if ma == mb else 0.0, "diff": ma - mb}
    t = (ma - mb) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / ((va ** 2 / (len(a) - 1) if va else 0.0)
                           + (vb ** 2 / (len(b) - 1) if vb else 0.0))
    return {"t": t, "df": df, "p": t_two_sided_p(t, df), "diff": ma - mb}


def fisher_exact(hits_a: int, n_a: int, hits_b: int, n_b: int) -> float:
    """Two-sided p of Fisher's exact test on the 2x2 table [[hits_a, n_a - hits_a],
    [hits_b, n_b - hits_b]]: the total probability of the tables with the same margins that are
    no more likely than the one observed."""
    total_hits, n = hits_a + hits_b, n_a + n_b

    def prob(k: int) -> float:
        return math.comb(n_a, k) * math.comb(n_b, total_hits - k) / math.comb(n, total_hits)

    observed = prob(hits_a)
    lo, hi = max(0, total_hits - n_b), min(n_a, total_hits)
    return min(1.0, sum(p for p in map(prob, range(lo, hi + 1)) if p <= observed * (1 + 1e-9)))
