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
    (stable); NaN where ``target`` is outside their range.

    No sort: the upper point is the first smallest x ≥ target, the lower one the last largest
    x < target (their neighbours in a stable sort). A NaN x among the points is the upper one
    (argmin finds NaN first), so its row has no range, as NaN sorts after every number.
    """
    rows, width = x.shape
    if width == 0:
        return np.full(rows, np.nan)
    low = use & (x < target[:, None])
    above, below = np.where(use ^ low, x, np.inf), np.where(low, x, -np.inf)
    base = np.arange(rows) * width
    hi = np.argmin(above, axis=1) + base
    lo = base + (width - 1) - np.argmax(below[:, ::-1], axis=1)
    xh, xl, yh, yl = above.ravel()[hi], below.ravel()[lo], y.ravel()[hi], y.ravel()[lo]
    on = xh == target
    inside = (xh < np.inf) & ((xl > -np.inf) | on)  # a point each side, or one on target
    w = (target - xl) / (xh - xl)
    return np.where(inside, np.where(on, yh, yl + w * (yh - yl)), np.nan)


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
    pick = np.where(s.max(axis=2) > 0, strikes[np.arange(rows), np.argmax(s, axis=2)], np.nan)
    return [[None if math.isnan(k) else k for k in row] for row in pick.T.tolist()]


def max_pain(
    strikes: Array, valid: Mask, oi: Array, reference: Array
) -> list[tuple[float | None, list[float]]]:
    """Per row: (chosen strike, every tied strike) from ``oi`` as [call/put,
    row, slot]; a NaN reference is none."""
    rows, width = strikes.shape
    if width == 0:
        return [(None, [])] * rows
    k = np.where(valid, strikes, 0.0)
    cp = np.where(oi > 0, oi, 0.0)  # unknown or negative OI counts as none
    (c, p), (ck, pk) = cp, cp * k
    calls = k * np.cumsum(c, axis=1) - np.cumsum(ck, axis=1)
    puts = np.cumsum(pk[:, ::-1], axis=1)[:, ::-1] - k * np.cumsum(p[:, ::-1], axis=1)[:, ::-1]
    payout = np.where(valid, calls + puts, np.inf)
    total = c.sum(axis=1) + p.sum(axis=1)
    some = valid.any(axis=1) & (total != 0)
    scale = np.abs(k).max(axis=1) * total
    tied = (payout <= (payout.min(axis=1) + 1e-12 * scale)[:, None]) & some[:, None]
    ties: list[list[float]] = [[] for _ in range(rows)]
    at = np.flatnonzero(tied)
    for i, x in zip((at // width).tolist(), k.ravel()[at].tolist(), strict=True):
        ties[i].append(x)
    return [
        (t[0] if math.isnan(r) else min(t, key=lambda x: abs(x - r)), t) if t else (None, [])
        for t, r in zip(ties, reference.tolist(), strict=True)
    ]
