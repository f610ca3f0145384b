"""The forward of one expiry: put-call parity over near-ATM strikes, else the future, else spot."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
PARITY_STRIKES = 10  # strikes nearest the parity ATM that enter the fit


class Forward(NamedTuple):
    value: float | None
    source: str | None  # "parity", "future", "spot" or None
    strikes_used: int


def _weighted_median(x: Array, w: Array) -> float:
    order = np.argsort(x)
    cum = np.cumsum(w[order])
    return float(x[order][np.searchsorted(cum, 0.5 * cum[-1])])


def parity_forward(
    strikes: Array,
    call: Array,
    put: Array,
    call_spread: Array,
    put_spread: Array,
    usable: NDArray[np.bool_],
    growth: float,
    tick: float,
) -> tuple[float | None, int]:
    """F from F_k = K + e^{rT}(C − P) on the strikes nearest K* = argmin |C − P|.

    Each F_k is weighted by its quote quality, 1/(e^{rT}·√(s_C² + s_P²) + tick)², the
    weighted median sets the centre, F_k further than twice their own error plus two ticks
    from it are dropped, and the rest are averaged with the same weights.
    """
    idx = np.flatnonzero(usable)
    if idx.size == 0:
        return None, 0
    diff = call[idx] - put[idx]
    centre = strikes[idx[np.argmin(np.abs(diff))]]
    near = idx[np.argsort(np.abs(strikes[idx] - centre), kind="stable")[:PARITY_STRIKES]]
    f_k = strikes[near] + growth * (call[near] - put[near])
    err = growth * np.hypot(call_spread[near], put_spread[near]) + tick
    w = 1.0 / (err * err)
    med = _weighted_median(f_k, w)
    keep = np.abs(f_k - med) <= 2.0 * err + 2.0 * tick
    return float(np.sum(w[keep] * f_k[keep]) / np.sum(w[keep])), int(keep.sum())


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
