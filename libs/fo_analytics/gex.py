"""Gamma exposure: ₹ of dealer delta per 1 % move, walls, and the zero-gamma level."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fo_analytics.black import black76_gamma
from fo_analytics.rowwise import take

Array = NDArray[np.float64]
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
WEEKLY_YEARS = 10 / 365  # up to here the zero-gamma search spans ±5 % of F, beyond it ±10 %
REFINE_POINTS = 16


def leg_gex(
    forward: Array, strikes: Array, years: Array, disc: Array, sigma: Array, oi: Array, sign: float
) -> Array:
    """sign·Γ(F)·OI·F²·0.01 per leg, OI in shares (contracts × lot); NaN where Γ is unknown.

    ``forward``, ``years`` and ``disc`` broadcast against ``strikes`` (one per expiry row).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        gamma = black76_gamma(forward, strikes, years, disc, sigma)
    return sign * gamma * oi * forward * forward * 0.01


class GammaCurves:
    """Total GEX of each row (expiry) as a function of a hypothetical forward, IV held fixed."""

    def __init__(
        self, strikes: Array, sigma: Array, weight: Array, years: Array, disc: Array
    ) -> None:
        ok = np.isfinite(sigma) & (sigma > 0) & np.isfinite(weight) & (weight != 0)
        ok &= np.isfinite(strikes) & (years > 0)[:, None]
        sq = np.where(ok, sigma * np.sqrt(np.where(years > 0, years, 1.0))[:, None], 1.0)
        a = 1.0 / sq
        self._a = np.where(ok, a, 0.0)
        self._b = np.where(ok, (0.5 * sq * sq - np.log(np.where(ok, strikes, 1.0))) * a, 0.0)
        self._w = np.where(ok, weight * a * disc[:, None] * _INV_SQRT_2PI, 0.0)
        self.count = ok.sum(axis=1)
        self.width = np.where(
            self.count > 0, np.where(ok, sq, np.inf).min(axis=1, initial=np.inf), 0.0
        )

    def at(self, f: Array, row: NDArray[np.intp]) -> Array:
        """Σ sign·OI·Γ(f)·f²·0.01 for each hypothetical forward f of curve ``row``."""
        d1 = np.log(f)[:, None] * self._a[row] + self._b[row]
        return 0.01 * f * np.einsum("ij,ij->i", np.exp(-0.5 * d1 * d1), self._w[row])


def _grid(curves: GammaCurves, forward: Array, half: Array, rows: list[int]) -> tuple[Array, Array]:
    step = np.clip(curves.width / 4.0, 0.0005, 0.01)  # log-space, finer than any gamma peak
    parts = [
        np.exp(np.arange(math.log(forward[i] * (1 - half[i])),
                         math.log(forward[i] * (1 + half[i])) + 0.5 * step[i], step[i]))
        for i in rows
    ]  # fmt: skip
    sizes = [p.size for p in parts]
    return np.concatenate(parts), np.repeat(np.asarray(rows, np.intp), sizes)


def _roots(
    curves: GammaCurves, forward: Array, half: Array, rows: list[int]
) -> tuple[Array, Array]:
    """Every sign change of every curve on its grid, refined by two rounds of 16 sub-points."""
    grid, rid = _grid(curves, forward, half, rows)
    y = curves.at(grid, rid)
    nonzero = y != 0  # an exact 0 is underflow far from every strike, not a crossing
    grid, y, rid = grid[nonzero], y[nonzero], rid[nonzero]
    s = np.sign(y)
    br = np.flatnonzero((s[:-1] != s[1:]) & (rid[:-1] == rid[1:]))
    a, b, r = grid[br], grid[br + 1], rid[br]
    ya, yb = y[br], y[br + 1]
    pos = np.arange(REFINE_POINTS)
    for _ in range(2):  # the bracket shrinks ~200×
        sub = a[:, None] + pos * ((b - a) / (REFINE_POINTS - 1))[:, None]
        sub[:, -1] = b
        ys = curves.at(sub.ravel(), np.repeat(r, REFINE_POINTS)).reshape(sub.shape)
        j = np.argmax(np.sign(ys[:, :-1]) * np.sign(ys[:, 1:]) <= 0, axis=1)[:, None]
        a, b, ya, yb = (
            take(sub, j)[:, 0],
            take(sub, j + 1)[:, 0],
            take(ys, j)[:, 0],
            take(ys, j + 1)[:, 0],
        )
    with np.errstate(all="ignore"):
        root = np.where(ya == yb, a, a - ya * (b - a) / (yb - ya))
    return root, r


def zero_gammas(
    curves: GammaCurves, forward: Array, years: Array, live: NDArray[np.bool_]
) -> list[dict[str, Any]]:
    """Per row: forward level where total GEX changes sign (nearest to F), or None with a reason."""
    half = np.where(years <= WEEKLY_YEARS, 0.05, 0.10)
    rows = [i for i in range(forward.size) if live[i] and curves.count[i] > 0]
    root, rid = _roots(curves, forward, half, rows) if rows else (np.zeros(0), np.zeros(0, np.intp))
    out = []
    for i in range(forward.size):
        if not live[i]:
            out.append({"level": None, "roots": [], "reason": "no forward or expired"})
            continue
        z: dict[str, Any] = {
            "level": None,
            "roots": [],
            "range_pct": float(half[i]) * 100,
            "reason": None,
        }
        roots = sorted(set(root[rid == i].tolist()))
        if curves.count[i] == 0:
            z["reason"] = "no gamma: no strike with both OI and IV"
        elif not roots:
            z["reason"] = f"no sign change within ±{float(half[i]) * 100:g} % of the forward"
        else:
            f = float(forward[i])
            z["roots"], z["level"] = roots, min(roots, key=lambda x: abs(x - f))
        out.append(z)
    return out
