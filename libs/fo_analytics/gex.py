"""Gamma exposure: ₹ of dealer delta per 1 % move, walls, and the zero-gamma level."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fo_analytics.black import black76_gamma

Array = NDArray[np.float64]
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
WEEKLY_YEARS = 10 / 365  # up to here the zero-gamma search spans ±5 % of F, beyond it ±10 %
REFINE_POINTS = 16


def leg_gex(
    forward: float, strikes: Array, years: float, disc: float, sigma: Array, oi: Array, sign: float
) -> Array:
    """sign·Γ(F)·OI·F²·0.01 per leg, OI in shares (contracts × lot); NaN where Γ is unknown."""
    with np.errstate(invalid="ignore", divide="ignore"):
        gamma = black76_gamma(np.full(strikes.shape, forward), strikes, years, disc, sigma)
    return sign * gamma * oi * forward * forward * 0.01


def _argmax_strike(strikes: Array, score: Array) -> float | None:
    s = np.where(np.isfinite(score), score, 0.0)
    if s.size == 0 or not s.max() > 0:
        return None
    return float(strikes[int(np.argmax(s))])


def walls(
    strikes: Array, call_gex: Array, put_gex: Array, call_oi: Array, put_oi: Array
) -> dict[str, Any]:
    """Gamma walls (largest |call GEX|, |put GEX|, unnetted total) and OI walls."""
    c, p = np.abs(call_gex), np.abs(put_gex)
    return {
        "call_wall_gamma": _argmax_strike(strikes, c),
        "put_wall_gamma": _argmax_strike(strikes, p),
        "abs_gamma_strike": _argmax_strike(strikes, np.where(np.isfinite(c), c, 0.0) + p),
        "call_wall_oi": _argmax_strike(strikes, call_oi),
        "put_wall_oi": _argmax_strike(strikes, put_oi),
        "rule": "argmax |GEX| per side; OI walls argmax OI",
    }


class GammaCurve:
    """Total GEX as a function of a hypothetical forward, each strike's IV held fixed."""

    def __init__(
        self, strikes: Array, sigma: Array, weight: Array, years: float, disc: float
    ) -> None:
        ok = np.isfinite(sigma) & (sigma > 0) & np.isfinite(weight) & (weight != 0)
        sq = sigma[ok] * math.sqrt(years)
        self._a = 1.0 / sq
        self._b = (0.5 * sq * sq - np.log(strikes[ok])) * self._a
        self._w = weight[ok] * self._a * disc * _INV_SQRT_2PI
        self.width = float(sq.min()) if sq.size else 0.0

    def __len__(self) -> int:
        return int(self._w.size)

    def at(self, f: Array) -> Array:
        """Σ sign·OI·Γ(f)·f²·0.01 for each hypothetical forward f."""
        d1 = np.log(f)[:, None] * self._a + self._b
        return 0.01 * f * (np.exp(-0.5 * d1 * d1) @ self._w)


def _roots(curve: GammaCurve, lo: float, hi: float, step: float) -> list[float]:
    grid = np.exp(np.arange(math.log(lo), math.log(hi) + 0.5 * step, step))
    y = curve.at(grid)
    nonzero = y != 0  # an exact 0 is underflow far from every strike, not a crossing
    grid, y = grid[nonzero], y[nonzero]
    out = []
    for i in np.flatnonzero(np.sign(y[:-1]) != np.sign(y[1:])):
        a, b = grid[i], grid[i + 1]
        for _ in range(2):  # two rounds of 16 sub-points: the bracket shrinks ~200×
            sub = np.linspace(a, b, REFINE_POINTS)
            ys = curve.at(sub)
            j = int(np.flatnonzero(np.sign(ys[:-1]) * np.sign(ys[1:]) <= 0)[0])
            a, b, ya, yb = sub[j], sub[j + 1], ys[j], ys[j + 1]
        out.append(float(a if ya == yb else a - ya * (b - a) / (yb - ya)))
    return sorted(set(out))


def zero_gamma(curve: GammaCurve, forward: float, years: float) -> dict[str, Any]:
    """Forward level where total GEX changes sign (nearest to F), or None with a reason."""
    half = 0.05 if years <= WEEKLY_YEARS else 0.10
    out: dict[str, Any] = {"level": None, "roots": [], "range_pct": half * 100, "reason": None}
    if len(curve) == 0:
        out["reason"] = "no gamma: no strike with both OI and IV"
        return out
    step = min(max(curve.width / 4.0, 0.0005), 0.01)  # log-space, finer than any gamma peak
    roots = _roots(curve, forward * (1 - half), forward * (1 + half), step)
    if not roots:
        out["reason"] = f"no sign change within ±{half * 100:g} % of the forward"
        return out
    out["roots"] = roots
    out["level"] = min(roots, key=lambda x: abs(x - forward))
    return out
