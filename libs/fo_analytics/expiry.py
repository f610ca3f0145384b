"""Every number of one expiry, as arrays over (call, put) × strike plus a dict of scalars."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fo_analytics import batch, views
from fo_analytics.batch import Batch, Params
from fo_analytics.black import Greeks
from fo_analytics.chain import ChainState, ExpiryLayout

Array = NDArray[np.float64]
__all__ = ["ExpiryAnalytics", "Params", "analyse_many"]


@dataclass(slots=True)
class ExpiryAnalytics:
    expiry: date
    layout: ExpiryLayout
    quote: Array  # [field, side, strike]; side 0 = call, 1 = put
    ts: NDArray[np.int64]  # [side, strike]
    iv: Array  # [side, strike]
    codes: NDArray[np.int8]
    greeks: Greeks
    strike_iv: Array
    gex: Array  # [side, strike], ₹ per 1 % move
    buildup: NDArray[np.int8]
    scalars: dict[str, Any]
    batch: Batch | None = None  # the pass it came from (render reads its columns)
    index: int = 0  # its row in that pass


def analyse_many(state: ChainState, expiries: list[date], p: Params) -> dict[date, ExpiryAnalytics]:
    """All of ``expiries`` in one vectorised pass (NaN and inf from bad feeds stay quiet)."""
    keys = tuple(dict.fromkeys(expiries))
    with np.errstate(all="ignore"):
        b = batch.run(state, keys, p)
        rows = views.scalars(b)
    out = {}
    for i, e in enumerate(keys):
        n = b.grid.sizes[i]
        out[e] = ExpiryAnalytics(
            e, b.grid.layouts[i], b.quote[:, :, i, :n], b.ts[:, i, :n], b.iv[:, i, :n],
            b.codes[:, i, :n], Greeks(*(x[:, i, :n] for x in b.greeks)), b.strike_iv[i, :n],
            b.gex[:, i, :n], b.buildup[:, i, :n], rows[i], b, i,
        )  # fmt: skip
    return out
