"""Which price an option leg is worth now: the mid of a two-sided quote, else a fresh LTP."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from fo_analytics.iv import CODE

Array = NDArray[np.float64]


class LegPrices(NamedTuple):
    price: Array  # NaN when the leg has no usable price
    spread: Array  # ask − bid of a usable two-sided quote, else NaN
    good_mid: NDArray[np.bool_]  # tight two-sided quote: fit for the forward
    codes: NDArray[np.int8]  # 0, or no_quote / stale / wide_spread


def select(
    ltp: Array,
    bid: Array,
    ask: Array,
    ts: NDArray[np.int64],
    ref_ns: int,
    tick: float,
    stale_ns: float,
) -> LegPrices:
    """Mid of a two-sided quote (flagged ``wide_spread`` beyond max(3 ticks, 10 % of mid)),
    else the LTP if it is fresh, else nothing.

    Only tight mids are ``good_mid`` (fit for the forward). Crossed quotes (bid > ask) are
    discarded. An LTP older than ``stale_ns`` before ``ref_ns`` is stale and is not used.
    A wide mid beats a fresh LTP: on real chains the LTP of a wide book can be far off it.
    """
    with np.errstate(invalid="ignore"):
        two_sided = (bid > 0) & (ask > 0) & (ask >= bid) & np.isfinite(bid) & np.isfinite(ask)
        mid = 0.5 * (bid + ask)
        spread = np.where(two_sided, ask - bid, np.nan)
        tight = two_sided & (spread <= np.maximum(3.0 * tick, 0.1 * mid))
        has_ltp = (ltp > 0) & np.isfinite(ltp)
        fresh = has_ltp & ((ref_ns - ts) <= stale_ns)
    wide = two_sided & ~tight
    price = np.where(two_sided, mid, np.where(fresh, ltp, np.nan))
    codes = np.zeros(ltp.shape, np.int8)
    codes[wide] = CODE["wide_spread"]
    codes[~two_sided & has_ltp & ~fresh] = CODE["stale"]
    codes[~two_sided & ~has_ltp] = CODE["no_quote"]
    return LegPrices(price, spread, tight, codes)


def last_traded(ltp: Array) -> LegPrices:
    """NSE's choice: the last traded price as it is (no quote logic)."""
    with np.errstate(invalid="ignore"):
        ok = (ltp > 0) & np.isfinite(ltp)
    codes = np.where(ok, 0, CODE["no_quote"]).astype(np.int8)
    nan = np.full(ltp.shape, np.nan)
    return LegPrices(np.where(ok, ltp, np.nan), nan, np.zeros(ltp.shape, bool), codes)
