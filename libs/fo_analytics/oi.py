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
    c = np.nan_to_num(np.asarray(call_oi, dtype=float))
    p = np.nan_to_num(np.asarray(put_oi, dtype=float))
    if k.size == 0 or (c.sum() + p.sum()) == 0:
        return MaxPain(None, (), None)
    diff = k[:, None] - k[None, :]  # rows: settlement X, columns: strike K
    payout = np.maximum(diff, 0.0) @ c + np.maximum(-diff, 0.0) @ p
    best = payout.min()
    tied = k[np.isclose(payout, best, rtol=1e-12, atol=0.0)]
    chosen = tied[0] if reference is None else tied[np.argmin(np.abs(tied - reference))]
    return MaxPain(float(chosen), tuple(float(x) for x in tied), float(best))
