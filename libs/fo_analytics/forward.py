"""The forward of one expiry: put-call parity over near-ATM strikes, else the future, else spot."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from fo_analytics.rowwise import take

Array = NDArray[np.float64]
PARITY_STRIKES = 10  # strikes nearest the parity ATM that enter the fit


class Forward(NamedTuple):
    value: float | None
    source: str | None  # "parity", "future", "spot" or None
    strikes_used: int


def choose_forward(
    parity: tuple[float | None, int], future: float | None, spot: float | None, growth: float
) -> Forward:
    """Parity if it was fitted, else the same-expiry future, else spot carried at the rate."""
    value, used = parity
    if value is not None and math.isfinite(value) and value > 0:
        return Forward(value, "parity", used)
    if future is not None and math.isfinite(future) and future > 0:
        return Forward(future, "future", 0)
    if spot is not None and math.isfinite(spot) and spot > 0:
        return Forward(spot * growth, "spot", 0)
    return Forward(None, None, 0)


def parity_forwards(
    strikes: Array,
    call: Array,
    put: Array,
    call_spread: Array,
    put_spread: Array,
    usable: NDArray[np.bool_],
    growth: Array,
    tick: Array,
) -> tuple[Array, NDArray[np.intp]]:
    """F from F_k = K + e^{rT}(C − P) on the strikes nearest K* = argmin |C − P|, per row.

    Each row is one expiry; returns (F or NaN, strikes used) per row. Each F_k is weighted by
    its quote quality, 1/(e^{rT}·√(s_C² + s_P²) + tick)², the weighted median sets the centre,
    F_k further than twice their own error plus two ticks from it are dropped, and the rest
    are averaged with the same weights.
    """
    rows, width = strikes.shape
    if width == 0:
        return np.full(rows, np.nan), np.zeros(rows, np.intp)
    centre = take(strikes, np.argmin(np.where(usable, np.abs(call - put), np.inf), 1)[:, None])
    dist = np.where(usable, np.abs(strikes - centre), np.inf)
    near = np.argsort(dist, axis=1, kind="stable")[:, :PARITY_STRIKES]
    sel = np.isfinite(take(dist, near))
    g, t = growth[:, None], tick[:, None]
    f_k = take(strikes, near) + g * (take(call, near) - take(put, near))
    err = g * np.hypot(take(call_spread, near), take(put_spread, near)) + t
    w = np.where(sel, 1.0 / (err * err), 0.0)
    f_k = np.where(sel, f_k, np.inf)
    order = np.argsort(f_k, axis=1)
    cum = np.cumsum(take(w, order), axis=1)
    pick = np.argmax(cum >= 0.5 * cum[:, -1:], axis=1)[:, None]
    med = take(take(f_k, order), pick)
    keep = sel & (np.abs(f_k - med) <= 2.0 * err + 2.0 * t)
    wk = np.where(keep, w, 0.0)
    value = np.sum(wk * np.where(keep, f_k, 0.0), axis=1) / np.sum(wk, axis=1)
    return np.where(sel.any(axis=1), value, np.nan), keep.sum(axis=1)
