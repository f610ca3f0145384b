"""Per-row (one row per expiry) versions of the small 1-D helpers: lerp, gap fill, argmax, pain."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
Mask = NDArray[np.bool_]


def take(a: Array, idx: NDArray[np.intp]) -> Array:
    """a[i, idx[i, j]] (np.take_along_axis on axis 1, without its per-call overhead)."""
    return a[np.arange(a.shape[0])[:, None], idx]


def lerp(x: Array, y: Array, use: Mask, target: Array) -> Array:
    """Per row: y at ``target`` by linear interpolation over the ``use`` points sorted by x
    (stable); NaN where ``target`` is outside their range. Same arithmetic as smile._lerp.

    No sort: the upper point is the first smallest x ≥ target, the lower one the last largest
    x < target (their neighbours in a stable sort). A NaN x among the points is the upper one
    (argmin finds NaN first), so its row has no range, as NaN sorts after every number.
    """
    rows, width = x.shape
    if width == 0:
        return np.full(rows, np.nan)
    below = x < target[:, None]
    hi = np.argmin(np.where(use & ~below, x, np.inf), axis=1)
    lo = width - 1 - np.argmax(np.where(use & below, x, -np.inf)[:, ::-1], axis=1)
    base = np.arange(rows) * width
    hi, lo = hi + base, lo + base
    xf, yf, uf = x.ravel(), y.ravel(), use.ravel()
    xh, yh, xl, yl = xf[hi], yf[hi], xf[lo], yf[lo]
    inside = uf[hi] & (xh >= target) & ((uf[lo] & (xl < target)) | (xh == target))
    w = (target - xl) / (xh - xl)
    val = np.where(xh == target, yh, yl + w * (yh - yl))
    return np.where(inside, val, np.nan)


def fill(x: Array, y: Array) -> Array:
    """Per row: NaN gaps of y filled linearly in ascending x, flat ends (np.interp's formula)."""
    width = y.shape[1]
    ok = np.isfinite(y)
    idx = np.arange(width)
    prev = np.maximum.accumulate(np.where(ok, idx, -1), axis=1)
    nxt = np.minimum.accumulate(np.where(ok, idx, width)[:, ::-1], axis=1)[:, ::-1]
    lo = np.where(prev < 0, nxt, prev).clip(0, max(width - 1, 0))
    hi = np.where(nxt >= width, prev, nxt).clip(0, max(width - 1, 0))
    xl, xh, yl, yh = take(x, lo), take(x, hi), take(y, lo), take(y, hi)
    slope = (yh - yl) / (xh - xl)
    out = np.where(ok, y, np.where(lo == hi, yl, slope * (x - xl) + yl))
    out[~ok.any(axis=1)] = np.nan
    return out


def argmax_at(strikes: Array, scores: Array) -> list[list[float | None]]:
    """Per row: for each score (axis 0 of ``scores``, [score, row, slot]) the strike of its
    largest finite value, None when none is above 0."""
    n, rows, width = scores.shape
    if width == 0:
        return [[None] * n for _ in range(rows)]
    s = np.where(np.isfinite(scores), scores, 0.0)
    idx = np.argmax(s, axis=2)
    best = np.take_along_axis(s, idx[:, :, None], axis=2)[:, :, 0]
    pick = np.where(best > 0, strikes[np.arange(rows), idx], np.nan)
    return [[None if math.isnan(k) else k for k in row] for row in pick.T.tolist()]


def max_pain(
    strikes: Array, valid: Mask, call_oi: Array, put_oi: Array, reference: Array
) -> list[tuple[float | None, list[float]]]:
    """Per row: (chosen strike, every tied strike) as in oi.max_pain; NaN reference = none."""
    rows, width = strikes.shape
    if width == 0:
        return [(None, [])] * rows
    k = np.where(valid, strikes, 0.0)
    c, p = np.where(call_oi > 0, call_oi, 0.0), np.where(put_oi > 0, put_oi, 0.0)
    calls = k * np.cumsum(c, axis=1) - np.cumsum(c * k, axis=1)
    rev = np.cumsum((p * k)[:, ::-1], axis=1)[:, ::-1]
    puts = rev - k * np.cumsum(p[:, ::-1], axis=1)[:, ::-1]
    payout = np.where(valid, calls + puts, np.inf)
    total = c.sum(axis=1) + p.sum(axis=1)
    some = valid.any(axis=1) & (total != 0)
    scale = np.abs(k).max(axis=1) * total
    tied = (payout <= (payout.min(axis=1) + 1e-12 * scale)[:, None]) & some[:, None]
    dist = np.where(tied, np.abs(k - reference[:, None]), np.inf)  # NaN: no reference
    chosen = take(k, np.argmin(np.where(np.isnan(dist), 0.0, dist), axis=1)[:, None])[:, 0]
    ties: list[list[float]] = [[] for _ in range(rows)]
    at = np.flatnonzero(tied)
    for i, x in zip((at // width).tolist(), k.ravel()[at].tolist(), strict=True):
        ties[i].append(x)
    return [
        (x, t) if ok else (None, [])
        for x, t, ok in zip(chosen.tolist(), ties, some.tolist(), strict=True)
    ]
