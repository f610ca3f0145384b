"""Gamma exposure: ₹ of dealer delta per 1 % move, walls, and the zero-gamma level."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from fo_analytics.black import INV_SQRT_2PI, black76_gamma

Array = NDArray[np.float64]
Mask = NDArray[np.bool_]
WEEKLY_YEARS = 10 / 365  # up to here the zero-gamma search spans ±5 % of F, beyond it ±10 %
ROOT_TOL = 1e-8  # Newton stops at a step below this in log f: then ~1e-14 off (quadratic)
NEWTON_STEPS = 8  # from the secant point it takes 3 (quadratic convergence)
BISECTIONS = 40  # a grid step is at most 0.01 in log f: 2⁻⁴⁰ of it is ≈ 1e-14
BLOCK = 10_240  # grid points × strikes evaluated at once: small enough to stay in cache


def gex_per_share(forward: Array, strikes: Array, years: Array, disc: Array, sigma: Array) -> Array:
    """Γ(F)·F²·0.01 per strike: ₹ of delta per 1 % move for one share long (call or put alike,
    as Γ is); times OI in shares and the convention's sign it is a leg's GEX. NaN: Γ unknown.

    ``forward``, ``years`` and ``disc`` broadcast against ``strikes`` (one per expiry row).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        gamma = black76_gamma(forward, strikes, years, disc, sigma)
    return gamma * forward * forward * 0.01


class GammaCurves:
    """Total GEX of each row (expiry) as a function of a hypothetical forward, IV held fixed.

    Per strike: sign·OI·Γ(f)·f²·0.01 = 0.01·f·w·exp(c·(log f − m)²), w = 0 where it adds nothing.
    """

    def __init__(
        self, strikes: Array, sigma: Array, weight: Array, years: Array, disc: Array
    ) -> None:
        ok = np.isfinite(sigma) & (sigma > 0) & np.isfinite(weight) & (weight != 0)
        ok &= np.isfinite(strikes) & (years > 0)[:, None]
        sq = np.where(ok, sigma * np.sqrt(np.where(years > 0, years, 1.0))[:, None], 1.0)
        self._m = np.where(ok, np.log(np.where(ok, strikes, 1.0)) - 0.5 * sq * sq, 0.0)
        self._c = np.where(ok, -0.5 / (sq * sq), 0.0)  # d1 = (log f − m)/σ√T: −d1²/2 = c·(…)²
        self._w = np.where(ok, weight * (1.0 / sq) * disc[:, None] * INV_SQRT_2PI, 0.0)
        self.count = ok.sum(axis=1)
        self.width = np.where(
            self.count > 0, np.where(ok, sq, np.inf).min(axis=1, initial=np.inf), 0.0
        )


class _Packed(NamedTuple):
    """Some rows of a GammaCurves, widest first, each with its ``count`` strikes of w ≠ 0 first."""

    rows: NDArray[np.intp]
    m: Array
    c: Array
    w: Array
    count: NDArray[np.intp]


def _pack(curves: GammaCurves, rows: NDArray[np.intp]) -> _Packed:
    """``rows`` packed: the zero weights (no OI or no IV) of each row left out of its count."""
    rows = rows[np.argsort(-curves.count[rows], kind="stable")]
    width = curves._w.shape[1]
    at = np.argsort(curves._w[rows] == 0, axis=1, kind="stable") + (rows * width)[:, None]
    m, c, w = (v.ravel()[at] for v in (curves._m, curves._c, curves._w))
    return _Packed(rows, m, c, w, curves.count[rows])


def _sums(p: _Packed, x: Array, row: NDArray[np.intp]) -> Array:
    """Σ w·exp(c·(x − m)²) at each log forward x of packed row ``row`` (its GEX over 0.01·f),
    by blocks of consecutive points (rows in order) over the strikes of their widest row."""
    out, i = np.empty(x.size), 0
    while i < x.size:
        width = int(p.count[row[i]])
        r = row[i : i + max(BLOCK // width, 1)]
        q = p.m[r, :width]
        np.subtract(q, x[i : i + r.size, None], out=q)
        np.square(q, out=q)
        q *= p.c[r, :width]
        np.exp(q, out=q)
        out[i : i + r.size] = np.vecdot(q, p.w[r, :width])
        i += r.size
    return out


def _grid(
    curves: GammaCurves, forward: Array, half: Array, rows: NDArray[np.intp]
) -> tuple[Array, NDArray[np.intp]]:
    """log f on each row's log-spaced grid (np.arange's values) over F·(1 ± half), and the
    position in ``rows`` of each point."""
    step = np.clip(curves.width[rows] / 4.0, 0.0005, 0.01)  # finer than any gamma peak
    f, h = forward[rows], half[rows]
    start = np.log(f * (1 - h))
    n = np.ceil((np.log(f * (1 + h)) + 0.5 * step - start) / step).astype(np.intp)
    delta = (start + step) - start  # np.arange fills start + i·delta
    i = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    return np.repeat(start, n) + i * np.repeat(delta, n), np.repeat(np.arange(rows.size), n)


def _solve(
    p: _Packed, lo: Array, hi: Array, ylo: Array, yhi: Array, row: NDArray[np.intp]
) -> Array:
    """The root in each bracket [lo, hi] of log f (y(lo), y(hi) of opposite signs): Newton's
    method from the secant point, or bisection where it does not settle inside the bracket."""
    width = int(p.count[row].max(initial=1))
    m, c, w = p.m[row, :width], p.c[row, :width], p.w[row, :width]
    slope_w = -2.0 * w * c  # ds/dx = −Σ slope_w·(x − m)·exp(c·(x − m)²)
    x, step = lo - ylo * (hi - lo) / (yhi - ylo), np.full_like(lo, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):  # a flat point: bisection takes it
        for _ in range(NEWTON_STEPS):
            t = x[:, None] - m
            e = np.exp(c * t * t)
            step = np.vecdot(e, w) / np.vecdot(e * t, slope_w)  # −s / (ds/dx)
            x = x + step
            if np.abs(step).max(initial=0.0) <= ROOT_TOL:
                break
    bad = ~((np.abs(step) <= ROOT_TOL) & (x >= lo) & (x <= hi))
    if bad.any():
        x[bad] = _bisect(m[bad], c[bad], w[bad], lo[bad], hi[bad], ylo[bad] < 0)
    return x


def _bisect(m: Array, c: Array, w: Array, lo: Array, hi: Array, rising: Mask) -> Array:
    """The root in each bracket [lo, hi] by bisection (``rising``: negative below it)."""
    for _ in range(BISECTIONS):
        x = 0.5 * (lo + hi)
        t = x[:, None] - m
        below = (np.vecdot(np.exp(c * t * t), w) < 0) == rising
        lo, hi = np.where(below, x, lo), np.where(below, hi, x)
    return 0.5 * (lo + hi)


def _roots(
    curves: GammaCurves, forward: Array, half: Array, rows: NDArray[np.intp]
) -> tuple[Array, NDArray[np.intp]]:
    """Every sign change of every curve of ``rows`` on its grid, solved to ROOT_TOL, and its row."""
    p = _pack(curves, rows)
    x, pos = _grid(curves, forward, half, p.rows)
    y = 0.01 * np.exp(x) * _sums(p, x, pos)
    nonzero = y != 0  # an exact 0 is underflow far from every strike, not a crossing
    x, y, pos = x[nonzero], y[nonzero], pos[nonzero]
    s = np.sign(y)
    br = np.flatnonzero((s[:-1] != s[1:]) & (pos[:-1] == pos[1:]))
    root = _solve(p, x[br], x[br + 1], y[br], y[br + 1], pos[br])
    return np.exp(root), p.rows[pos[br]]


def zero_gammas(
    curves: GammaCurves, forward: Array, years: Array, live: NDArray[np.bool_]
) -> list[dict[str, Any]]:
    """Per row: forward level where total GEX changes sign (nearest to F), or None with a reason."""
    half = np.where(years <= WEEKLY_YEARS, 0.05, 0.10)
    w = curves._w  # a row whose weights all have one sign has no sign change to look for
    mixed = (w.max(axis=1, initial=0.0) > 0) & (w.min(axis=1, initial=0.0) < 0)
    rows = np.flatnonzero(live & (curves.count > 0) & mixed)
    found: dict[int, set[float]] = {}
    if rows.size:
        root, rid = _roots(curves, forward, half, rows)
        for i, x in zip(rid.tolist(), root.tolist(), strict=True):
            found.setdefault(i, set()).add(x)
    out = []
    for i, (f, h, ok, n) in enumerate(
        zip(forward.tolist(), half.tolist(), live.tolist(), curves.count.tolist(), strict=True)
    ):
        if not ok:
            out.append({"level": None, "roots": [], "reason": "no forward or expired"})
            continue
        z: dict[str, Any] = {"level": None, "roots": [], "range_pct": h * 100, "reason": None}
        roots = sorted(found.get(i, ()))
        if n == 0:
            z["reason"] = "no gamma: no strike with both OI and IV"
        elif not roots:
            z["reason"] = f"no sign change within ±{h * 100:g} % of the forward"
        else:
            z["roots"], z["level"] = roots, min(roots, key=lambda x: abs(x - f))
        out.append(z)
    return out
