"""Student's t quantile for integer degrees of freedom (df = tasks − 1), exact to float precision.

Hand-written on purpose: perpass needs one function of scipy (`scipy.special.stdtrit`), and scipy is
a 35 MB wheel whose import costs 0.6 s on every `card`/`decide`/`report`. For integer df the t
distribution function has a closed form (Abramowitz & Stegun 26.7.3-4) — a finite series in
cos θ with θ = atan(t / √df) — so the quantile is that series inverted by bisection on θ.
"""

from __future__ import annotations

import math
from functools import lru_cache
from statistics import NormalDist

LARGE_DF = 2000  # above this one Cornish-Fisher term is within 1e-5 (relative), and the series grows slow


def central_probability(theta: float, df: int) -> float:
    """P(|T| ≤ √df · tan θ) for T ~ t(df), θ in [0, π/2)."""
    s, c = math.sin(theta), math.cos(theta)
    c2 = c * c
    if df % 2 == 1:
        term, total = 1.0, 1.0 if df > 1 else 0.0
        for j in range(1, (df - 1) // 2):  # 1 + (2/3)c² + (2·4)/(3·5)c⁴ + … up to c^(df−3)
            term *= c2 * (2 * j) / (2 * j + 1)
            total += term
        return 2 / math.pi * (theta + s * c * total)
    term, total = 1.0, 1.0
    for j in range(1, df // 2):  # 1 + (1/2)c² + (1·3)/(2·4)c⁴ + … up to c^(df−2)
        term *= c2 * (2 * j - 1) / (2 * j)
        total += term
    return s * total


@lru_cache(maxsize=512)
def t_quantile(p: float, df: int) -> float:
    """The p-quantile of Student's t with `df` (≥ 1) degrees of freedom."""
    if not 0 < p < 1:
        raise ValueError(f"p={p} must lie strictly between 0 and 1")
    if df < 1:
        raise ValueError(f"df={df} must be at least 1")
    if p == 0.5:
        return 0.0
    if df > LARGE_DF:
        z = NormalDist().inv_cdf(p)
        return z + (z**3 + z) / (4 * df)
    target = abs(2 * p - 1)
    lo, hi = 0.0, math.pi / 2
    for _ in range(200):  # bisection on θ: central_probability rises monotonically from 0 to 1
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if central_probability(mid, df) < target:
            lo = mid
        else:
            hi = mid
    t = math.sqrt(df) * math.tan((lo + hi) / 2)
    return t if p > 0.5 else -t
