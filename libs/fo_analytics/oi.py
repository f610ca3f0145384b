"""Open-interest views of one expiry: PCR and max pain (vectorised, pure)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


def ratio_or_none(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when the denominator is 0 (never a fake 0)."""
    return None if denominator == 0 else float(numerator) / float(denominator)


@dataclass(frozen=True, slots=True)
class MaxPain:
    strike: float | None
    tied: tuple[float, ...]
    payout: float | None  # in OI units × rupees at the chosen strike


def max_pain(
    strikes: ArrayLike, call_oi: ArrayLike, put_oi: ArrayLike, reference: float | None
) -> MaxPain:
    """Strike that minimises the total payout to option holders at expiry.

    Payout(X) = Σ call_oi(K)·max(X − K, 0) + Σ put_oi(K)·max(K − X, 0) over listed strikes.
    Every tied strike is reported; the chosen one is the tied strike nearest ``reference``
    (the forward or spot), or the lowest when no reference is known.
    """
    k = np.asarray(strikes, dtype=float)
    c, p = np.asarray(call_oi, dtype=float), np.asarray(put_oi, dtype=float)
    with np.errstate(invalid="ignore"):  # unknown or negative OI (a bad feed) counts as none
        c, p = np.where(c > 0, c, 0.0), np.where(p > 0, p, 0.0)
    if k.size == 0 or (c.sum() + p.sum()) == 0:
        return MaxPain(None, (), None)
    order = np.argsort(k, kind="stable")
    k, c, p = k[order], c[order], p[order]
    # O(n) with running sums: calls below X pay X·ΣC − ΣC·K, puts above X pay ΣP·K − X·ΣP.
    calls = k * np.cumsum(c) - np.cumsum(c * k)
    puts = np.cumsum((p * k)[::-1])[::-1] - k * np.cumsum(p[::-1])[::-1]
    payout = calls + puts
    best = payout.min()
    scale = np.abs(k).max() * (c.sum() + p.sum())  # size of the terms: rounding is ~1e-16 of it
    tied = k[payout <= best + 1e-12 * scale]
    chosen = tied[0] if reference is None else tied[np.argmin(np.abs(tied - reference))]
    return MaxPain(float(chosen), tuple(float(x) for x in tied), float(best))


# OI build-up per leg: the option's own premium change against its own OI change.
BUILDUP: tuple[str | None, ...] = (
    None,  # inputs missing (no OI, previous OI, LTP or previous close)
    "neutral",  # below the noise thresholds
    "long_buildup",  # price ↑, OI ↑
    "short_buildup",  # price ↓, OI ↑
    "short_covering",  # price ↑, OI ↓
    "long_unwinding",  # price ↓, OI ↓
)
BUILDUP_OI_PCT = 0.02  # |ΔOI| must be ≥ 2 % of the previous OI ...
BUILDUP_MIN_LOTS = 5  # ... and ≥ 5 lots
BUILDUP_MIN_TICKS = 2  # |Δprice| must be ≥ 2 ticks


def buildup(
    oi: ArrayLike, prev_oi: ArrayLike, ltp: ArrayLike, prev_close: ArrayLike, lot: int, tick: float
) -> np.ndarray:
    """Index into BUILDUP per leg (OI in shares, prices in rupees)."""
    with np.errstate(invalid="ignore", over="ignore"):  # inf − inf: unknown, not a warning
        d_oi = np.asarray(oi, dtype=float) - np.asarray(prev_oi, dtype=float)
        d_px = np.asarray(ltp, dtype=float) - np.asarray(prev_close, dtype=float)
        known = np.isfinite(d_oi) & np.isfinite(d_px)
        oi_move = np.abs(d_oi) >= np.maximum(
            BUILDUP_OI_PCT * np.asarray(prev_oi, dtype=float), BUILDUP_MIN_LOTS * lot
        )
        px_move = np.abs(d_px) >= BUILDUP_MIN_TICKS * tick - 1e-9
        up_oi, up_px = d_oi > 0, d_px > 0
    label = np.where(up_oi, np.where(up_px, 2, 3), np.where(up_px, 4, 5))
    label = np.where(oi_move & px_move, label, 1)
    return np.where(known, label, 0).astype(np.int8)
