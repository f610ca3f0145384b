"""Arrays to JSON-ready columns: NaN becomes None, quantities become ints, one list per field.

Every field of every leg of a batch is converted to Python values once, into one object array
per batch (numpy holds them, so the garbage collector never walks them); each expiry's chain is
then one ``tolist`` of a slice of it per side (the columnar layout of ``fo_bus.chain``): no
Python object per leg or per strike, and no intermediate lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fo_analytics.batch import Batch, Grid
from fo_analytics.chain import COLUMNS
from fo_analytics.expiry import ExpiryAnalytics
from fo_analytics.iv import STATUS
from fo_analytics.oi import BUILDUP

# The order of a side's columns on the wire (fo_bus.chain.LEG_FIELDS; a test keeps them equal).
LEG_FIELDS = (
    "token", "ltp", "bid", "ask", "bid_qty", "ask_qty", "volume", "oi", "oi_change",
    "prev_close", "prev_oi", "ts", "iv", "iv_status", "delta", "gamma", "theta", "vega", "rho",
    "buildup",
)  # fmt: skip
STRIKE_FIELDS = ("strike", "iv", "gex_call", "gex_put", "gex_net")
_STATUS = np.asarray(STATUS, dtype=object)
_BUILDUP = np.asarray(BUILDUP, dtype=object)
_PRICES = ("ltp", "bid", "ask", "prev_close")
_QTYS = ("bid_qty", "ask_qty", "volume", "oi", "prev_oi")
_FLOAT_ROWS = [LEG_FIELDS.index(n) for n in (*_PRICES, "iv", "delta", "gamma", "theta", "vega",
                                              "rho")]  # fmt: skip
_INT_ROWS = [LEG_FIELDS.index(n) for n in (*_QTYS, "ts", "oi_change")]
_TOKEN, _IV_STATUS, _BUILDUP_ROW = (LEG_FIELDS.index(n) for n in ("token", "iv_status", "buildup"))
Array = NDArray[np.float64]
Objects = NDArray[np.object_]


def floats(a: Array) -> Objects:
    """Python floats in an object array of the same shape, None where NaN or infinite."""
    out = a.astype(object)
    out[~np.isfinite(a)] = None
    return out


def ints(a: Array) -> Objects:
    """Python ints (rounded) in an object array of the same shape, None where unknown."""
    ok = np.isfinite(a)
    out = np.rint(np.where(ok, a, 0.0)).astype(np.int64).astype(object)
    out[~ok] = None
    return out


@dataclass(frozen=True, slots=True)
class _Static:
    """What stays the same for every batch over one grid: positions, tokens, strikes."""

    grid: Grid  # held so that its id is not reused while cached
    legs: NDArray[np.intp]  # flat [side, expiry, slot] positions of the listed strikes' legs
    strikes_at: NDArray[np.intp]  # flat [expiry, slot] positions of the strikes
    tokens: Objects  # in the order of ``legs``; None where a strike lists one side only
    absent: NDArray[np.bool_] | None  # where ``tokens`` is None (None: every leg listed)
    offsets: tuple[int, ...]  # first position of each expiry in [expiry, strike] order
    strikes: Objects  # the strikes as Python floats


_statics: dict[int, _Static] = {}


def _static(g: Grid) -> _Static:
    s = _statics.get(id(g))
    if s is None or s.grid is not g:
        if len(_statics) >= 16:  # grids change when the expiry list does: rarely
            _statics.clear()
        at = np.flatnonzero(g.valid)
        lays = g.layouts
        tokens = [t for lay in lays for t in lay.call_token]
        tokens += [t for lay in lays for t in lay.put_token]
        objs = np.empty(len(tokens), dtype=object)
        objs[:] = tokens
        absent = np.equal(objs, None) if None in tokens else None
        offsets = tuple(np.cumsum((0, *g.sizes)).tolist())
        legs = np.concatenate([at, at + g.valid.size])
        strikes = floats(g.strikes.reshape(-1)[at])
        s = _statics[id(g)] = _Static(g, legs, at, objs, absent, offsets, strikes)
    return s


@dataclass(frozen=True, slots=True)
class Columns:
    """Every value of a batch as Python objects: ``legs[field, leg]`` in [side, expiry, strike]
    order (fields as LEG_FIELDS), ``strikes[field, strike]`` in [expiry, strike] order."""

    legs: Objects
    strikes: Objects
    offsets: tuple[int, ...]


def _columns(b: Batch) -> Columns:
    """The batch's values, converted once (a leg that is not listed is None in every field)."""
    cols: Columns | None = b.cache.get("columns")
    if cols is not None:
        return cols
    s = _static(b.grid)
    n = s.legs.size
    quote = b.quote.reshape(b.quote.shape[0], -1)
    g = b.greeks
    fl = np.empty((len(_FLOAT_ROWS), n))
    fl[:4] = quote[[COLUMNS[f] for f in _PRICES]][:, s.legs]
    for i, x in enumerate((b.iv, g.delta, g.gamma, g.theta, g.vega, g.rho), start=4):
        fl[i] = x.reshape(-1)[s.legs]
    it = np.empty((len(_INT_ROWS), n))
    it[:5] = quote[[COLUMNS[f] for f in _QTYS]][:, s.legs]
    it[5] = b.ts.reshape(-1)[s.legs]
    it[5][it[5] == 0] = np.nan  # no quote yet: no time
    it[6] = it[3] - it[4]  # oi - prev_oi
    legs = np.empty((len(LEG_FIELDS), n), dtype=object)
    legs[_TOKEN] = s.tokens
    legs[_FLOAT_ROWS] = floats(fl)
    legs[_INT_ROWS] = ints(it)
    legs[_IV_STATUS] = _STATUS[b.codes.reshape(-1)[s.legs]]
    legs[_BUILDUP_ROW] = _BUILDUP[b.buildup.reshape(-1)[s.legs]]
    if s.absent is not None:
        legs[:, s.absent] = None
    gex = b.gex.reshape(2, -1)[:, s.strikes_at]
    net = np.where(np.isfinite(gex).any(axis=0), np.nansum(gex, axis=0), np.nan)
    per_strike = np.empty((len(STRIKE_FIELDS), s.strikes_at.size), dtype=object)
    per_strike[0] = s.strikes
    per_strike[1:] = floats(np.stack([b.strike_iv.reshape(-1)[s.strikes_at], gex[0], gex[1], net]))
    cols = b.cache["columns"] = Columns(legs, per_strike, s.offsets)
    return cols


def chain(a: ExpiryAnalytics) -> dict[str, Any]:
    """The ``chain`` object of one expiry: per-strike columns, then ``CE`` and ``PE`` columns."""
    b = a.batch
    if b is None:
        raise ValueError("ExpiryAnalytics without its batch cannot be rendered")
    c = _columns(b)
    lo, hi, total = c.offsets[a.index], c.offsets[a.index + 1], c.offsets[-1]
    out = dict(zip(STRIKE_FIELDS, c.strikes[:, lo:hi].tolist(), strict=True))
    out["CE"] = dict(zip(LEG_FIELDS, c.legs[:, lo:hi].tolist(), strict=True))
    out["PE"] = dict(zip(LEG_FIELDS, c.legs[:, total + lo : total + hi].tolist(), strict=True))
    return out
