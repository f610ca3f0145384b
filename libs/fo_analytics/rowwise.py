"""Per-row (one row per expiry) versions of the small 1-D helpers: lerp, gap fill, argmax, pain."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
Mask = NDArray[np.bool_]


def take(a: Array, idx: NDArray[np.intp]) -> Array:
    """a[i, idx[i, j]] (np.take_along_axis on axis 1, without its per-call overhead)."""
    return a[np.arange(a.shape[0])[:, None], idx]


def lerp(x: Array, y: Array, use: Mask, target: Array) -> Array:
    """Per row: y at ``target`` by linear interpolation over the ``use`` points sorted by x
    (stable); NaN where ``target`` is outside their range. Same arithmetic as smile._lerp."""
    rows, width = x.shape
    if width == 0:
        return np.full(rows, np.nan)
    order = np.argsort(np.where(use, x, np.inf), axis=1, kind="stable")
    xs, ys, m = take(x, order), take(y, order), use.sum(axis=1)
    xs = np.where(np.arange(width) < m[:, None], xs, np.inf)
    t = target[:, None]
    hi = np.minimum((xs < t).sum(axis=1), np.maximum(m - 1, 0))[:, None]
    last = take(xs, np.maximum(m - 1, 0)[:, None])[:, 0]
    inside = (m > 0) & (xs[:, 0] <= target) & (target <= last)
    xh, yh = take(xs, hi)[:, 0], take(ys, hi)[:, 0]
    lo = np.maximum(hi - 1, 0)
    xl, yl = take(xs, lo)[:, 0], take(ys, lo)[:, 0]
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


def argmax_at(strikes: Array, score: Array) -> list[float | None]:
    """Per row: the strike of the largest finite score, None when no score is above 0."""
    if score.shape[1] == 0:
        return [None] * score.shape[0]
    s = np.where(np.isfinite(score), score, 0.0)
    pick = take(strikes, np.argmax(s, axis=1)[:, None])[:, 0]
    return [float(k) if m > 0 else None for k, m in zip(pick, s.max(axis=1), strict=True)]


def max_pain(
    strikes: Array, valid: Mask, call_oi: Array, put_oi: Array, reference: Array
) -> list[tuple[float | None, list[float]]]:
    """Per row: (chosen strike, every tied strike) as in oi.max_pain; NaN reference = none."""
    k = np.where(valid, strikes, 0.0)
    c, p = np.where(call_oi > 0, call_oi, 0.0), np.where(put_oi > 0, put_oi, 0.0)
    calls = k * np.cumsum(c, axis=1) - np.cumsum(c * k, axis=1)
    rev = np.cumsum((p * k)[:, ::-1], axis=1)[:, ::-1]
    puts = rev - k * np.cumsum(p[:, ::-1], axis=1)[:, ::-1]
    payout = np.where(valid, calls + puts, np.inf)
    total = c.sum(axis=1) + p.sum(axis=1)
    out: list[tuple[float | None, list[float]]] = []
    for i in range(k.shape[0]):
        if not valid[i].any() or total[i] == 0:
            out.append((None, []))
            continue
        row = payout[i]
        scale = np.abs(k[i]).max() * total[i]
        tied = k[i][row <= row.min() + 1e-12 * scale]
        ref = reference[i]
        chosen = tied[0] if np.isnan(ref) else tied[np.argmin(np.abs(tied - ref))]
        out.append((float(chosen), tied.tolist()))
    return out
