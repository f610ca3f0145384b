"""A batch's arrays as the columns of the chain document (the layout of ``fo_bus.chain``).

Every field is laid out once per batch in one array per kind, legs in [side, expiry, strike]
order, so each expiry's column is a contiguous slice of it. Float columns stay numpy arrays:
``fo_bus.codec.encode_document`` serialises them directly, writing NaN and infinities as null.
An integer column is a numpy int64 slice when every value in it is known, else a list with None
in the gaps; text columns are lists. No Python object is made per leg or per strike.
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
from fo_bus.chain import LEG_FIELDS, STRIKE_FIELDS

_PRICES = ("ltp", "bid", "ask", "prev_close")
_GREEKS = ("delta", "gamma", "theta", "vega", "rho")
_FLOATS = (*_PRICES, "iv", *_GREEKS)
_QTYS = ("bid_qty", "ask_qty", "volume", "oi", "prev_oi")
_INTS = (*_QTYS, "ts", "oi_change")
_TEXTS = ("iv_status", "buildup")
_PLAN = tuple(  # where each leg field comes from, in wire order
    (f, "f", _FLOATS.index(f)) if f in _FLOATS
    else (f, "i", _INTS.index(f)) if f in _INTS
    else (f, "t", _TEXTS.index(f)) if f in _TEXTS
    else (f, "token", 0)
    for f in LEG_FIELDS
)  # fmt: skip
_STATUS = np.asarray(STATUS, dtype=object)
_BUILDUP = np.asarray(BUILDUP, dtype=object)
Array = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class _Static:
    """What stays the same for every batch over one grid: positions, tokens, strikes."""

    grid: Grid  # held so that its id is not reused while cached
    at: NDArray[np.intp]  # flat [expiry, slot] positions of the listed strikes
    absent: NDArray[np.bool_]  # [side, strike]: no contract on that side
    tokens: list[list[list[str | None]]]  # [side][expiry]
    strikes: list[list[float]]  # [expiry]
    offsets: tuple[int, ...]  # first position of each expiry in [expiry, strike] order


_statics: dict[int, _Static] = {}


def _static(g: Grid) -> _Static:
    s = _statics.get(id(g))
    if s is None or s.grid is not g:
        if len(_statics) >= 16:  # grids change when the expiry list does: rarely
            _statics.clear()
        tokens = [[lay.call_token for lay in g.layouts], [lay.put_token for lay in g.layouts]]
        absent = np.array([[t is None for col in side for t in col] for side in tokens], bool)
        offsets = tuple(np.cumsum((0, *g.sizes)).tolist())
        strikes = [lay.strikes.tolist() for lay in g.layouts]
        s = _statics[id(g)] = _Static(g, np.flatnonzero(g.valid), absent, tokens, strikes, offsets)
    return s


@dataclass(frozen=True, slots=True)
class Columns:
    """Every value of a batch by [side, field, strike] (strike: [expiry, strike] order)."""

    static: _Static
    floats: Array  # [side, _FLOATS, strike]; NaN where unknown
    ints: NDArray[np.int64]  # [side, _INTS, strike]
    known: NDArray[np.bool_]  # [side, _INTS, strike]
    complete: NDArray[np.bool_]  # [side, _INTS, expiry]: every value of the slice known
    texts: NDArray[np.object_]  # [side, _TEXTS, strike]
    per_strike: Array  # [STRIKE_FIELDS[1:], strike]


def _by_field(rows: list[Array]) -> Array:
    """[side, field, strike] from one [side, strike] array per field (C order: each
    expiry's column is a contiguous slice, as orjson requires)."""
    out = np.empty((rows[0].shape[0], len(rows), rows[0].shape[1]))
    for j, x in enumerate(rows):
        out[:, j] = x
    return out


def _columns(b: Batch) -> Columns:
    """The batch's values laid out by column, once (a leg that is not listed is null)."""
    cols: Columns | None = b.cache.get("columns")
    if cols is not None:
        return cols
    s = _static(b.grid)
    quote = b.quote.reshape(*b.quote.shape[:2], -1)[:, :, s.at]  # [field, side, strike]
    greeks = [getattr(b.greeks, g) for g in _GREEKS]
    solved = [x.reshape(2, -1)[:, s.at] for x in (b.iv, *greeks)]
    fl = _by_field([quote[COLUMNS[f]] for f in _PRICES] + solved)
    ts = b.ts.reshape(2, -1)[:, s.at].astype(np.float64)
    ts[ts == 0] = np.nan  # no quote yet: no time
    qty = [quote[COLUMNS[f]] for f in _QTYS]
    raw = _by_field([*qty, ts, qty[3] - qty[4]])  # oi_change = oi − prev_oi
    none = s.absent[:, None, :]  # no contract: every field null
    fl[np.broadcast_to(none, fl.shape)] = np.nan
    raw[np.broadcast_to(none, raw.shape)] = np.nan
    known = np.isfinite(raw)
    ints = np.rint(np.where(known, raw, 0.0)).astype(np.int64)
    gaps = np.zeros((*known.shape[:2], known.shape[2] + 1), np.intp)  # unknowns before each
    np.cumsum(~known, axis=2, out=gaps[:, :, 1:])
    complete = np.diff(gaps[:, :, list(s.offsets)], axis=2) == 0
    texts = np.stack([_STATUS[b.codes.reshape(2, -1)[:, s.at]],
                      _BUILDUP[b.buildup.reshape(2, -1)[:, s.at]]], axis=1)  # fmt: skip
    texts[np.broadcast_to(none, texts.shape)] = None
    gex = b.gex.reshape(2, -1)[:, s.at]
    net = np.where(np.isfinite(gex).any(axis=0), np.nansum(gex, axis=0), np.nan)
    per_strike = np.stack([b.strike_iv.reshape(-1)[s.at], gex[0], gex[1], net])
    cols = Columns(s, fl, ints, known, complete, texts, per_strike)
    b.cache["columns"] = cols
    return cols


def _int_column(c: Columns, side: int, j: int, e: int, lo: int, hi: int) -> Any:
    if c.complete[side, j, e]:
        return c.ints[side, j, lo:hi]
    values: list[int | None] = c.ints[side, j, lo:hi].tolist()
    for i in np.flatnonzero(~c.known[side, j, lo:hi]).tolist():
        values[i] = None
    return values


def _side(c: Columns, side: int, e: int, lo: int, hi: int) -> dict[str, Any]:
    floats, texts = c.floats[side, :, lo:hi], c.texts[side, :, lo:hi].tolist()
    out: dict[str, Any] = {}
    for name, kind, j in _PLAN:
        if kind == "f":
            out[name] = floats[j]
        elif kind == "i":
            out[name] = _int_column(c, side, j, e, lo, hi)
        elif kind == "t":
            out[name] = texts[j]
        else:
            out[name] = c.static.tokens[side][e]
    return out


def chain(a: ExpiryAnalytics) -> dict[str, Any]:
    """The ``chain`` object of one expiry: per-strike columns, then ``CE`` and ``PE`` columns."""
    b = a.batch
    if b is None:
        raise ValueError("ExpiryAnalytics without its batch cannot be rendered")
    c = _columns(b)
    e = a.index
    lo, hi = c.static.offsets[e], c.static.offsets[e + 1]
    out: dict[str, Any] = {"strike": c.static.strikes[e]}
    out.update(zip(STRIKE_FIELDS[1:], c.per_strike[:, lo:hi], strict=True))
    out["CE"], out["PE"] = _side(c, 0, e, lo, hi), _side(c, 1, e, lo, hi)
    return out
