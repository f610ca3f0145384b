"""Open-interest views of one expiry: PCR and max pain (vectorised, pure)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from fo_analytics import rowwise


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
    (the forward or spot), or the lowest when no reference is known. One expiry of
    ``rowwise.max_pain``, with the payout at the chosen strike.
    """
    k = np.asarray(strikes, dtype=float)
    order = np.argsort(k, kind="stable")
    k = k[order]
    oi = np.stack([np.asarray(call_oi, dtype=float)[order], np.asarray(put_oi, dtype=float)[order]])
    ref = np.array([np.nan if reference is None else reference])
    with np.errstate(invalid="ignore"):
        ((chosen, tied),) = rowwise.max_pain(k[None], np.ones((1, k.size), bool), oi[:, None], ref)
        c, p = np.where(oi > 0, oi, 0.0)  # unknown or negative OI counts as none
    if chosen is None:
        return MaxPain(None, (), None)
    payout = c @ np.maximum(chosen - k, 0.0) + p @ np.maximum(k - chosen, 0.0)
    return MaxPain(chosen, tuple(tied), float(payout))


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
