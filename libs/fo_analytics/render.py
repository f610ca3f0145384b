"""Arrays to JSON-ready lists: NaN becomes None, quantities become ints, one dict per leg.

The columns of every leg of a batch are converted once (one ``tolist`` per field over all
expiries); each expiry's rows are then slices of those lists zipped into plain dicts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from fo_analytics.batch import Batch
from fo_analytics.chain import COLUMNS
from fo_analytics.expiry import ExpiryAnalytics
from fo_analytics.iv import STATUS
from fo_analytics.oi import BUILDUP

_STATUS = np.asarray(STATUS, dtype=object)
_BUILDUP = np.asarray(BUILDUP, dtype=object)
_PRICE_FIELDS = ("ltp", "bid", "ask", "prev_close")
_QTY_FIELDS = ("bid_qty", "ask_qty", "volume", "oi", "prev_oi")
Columns = dict[str, list[Any]]


def floats(a: NDArray[Any]) -> list[Any]:
    """Python floats (row lists for 2-D input), None where the value is NaN or infinite."""
    return _none_where(a.tolist(), ~np.isfinite(a))


def ints(a: NDArray[Any]) -> list[Any]:
    """Python ints (rounded; row lists for 2-D input), None where the value is unknown."""
    ok = np.isfinite(a)
    return _none_where(
        np.where(ok, np.rint(np.where(ok, a, 0.0)), 0).astype(np.int64).tolist(), ~ok
    )


def _none_where(out: list[Any], bad: NDArray[np.bool_]) -> list[Any]:
    idx = np.nonzero(bad)
    if bad.ndim == 1:
        for i in idx[0].tolist():
            out[i] = None
    else:
        for r, c in zip(*(x.tolist() for x in idx), strict=True):
            out[r][c] = None
    return out


def _columns(b: Batch) -> Columns:
    """Every real leg's fields as lists, in [side, expiry, strike] order without padding."""
    cols: Columns | None = b.cache.get("columns")
    if cols is not None:
        return cols
    keep = np.broadcast_to(b.grid.valid, b.ts.shape)  # [side, expiry, slot]
    q = b.quote[:, keep]
    g = b.greeks
    fl = np.stack([*(q[COLUMNS[n]] for n in _PRICE_FIELDS), b.iv[keep],
                   *(x[keep] for x in (g.delta, g.gamma, g.theta, g.vega, g.rho))])  # fmt: skip
    ts = b.ts[keep].astype(np.float64)
    ts[ts == 0] = np.nan
    oi_change = q[COLUMNS["oi"]] - q[COLUMNS["prev_oi"]]
    it = np.stack([*(q[COLUMNS[n]] for n in _QTY_FIELDS), ts, oi_change])
    names = (*_PRICE_FIELDS, "iv", "delta", "gamma", "theta", "vega", "rho")
    cols = dict(zip(names, floats(fl), strict=True))
    cols.update(zip((*_QTY_FIELDS, "ts", "oi_change"), ints(it), strict=True))
    cols["iv_status"] = _STATUS[b.codes[keep]].tolist()
    cols["buildup"] = _BUILDUP[b.buildup[keep]].tolist()
    gex = b.gex[:, b.grid.valid]
    net = np.where(np.isfinite(gex).any(axis=0), np.nansum(gex, axis=0), np.nan)
    siv, gx, nt = floats(b.strike_iv[b.grid.valid]), floats(gex), floats(net)
    cols.update(strike_iv=siv, gex_call=gx[0], gex_put=gx[1], gex_net=nt)
    b.cache["columns"] = cols
    return cols


def _legs(c: Columns, lo: int, hi: int, tokens: list[str | None]) -> list[dict[str, Any] | None]:
    return [
        None
        if tk is None
        else {
            "token": tk,
            "ltp": lp,
            "bid": b,
            "ask": ak,
            "bid_qty": bq,
            "ask_qty": aq,
            "volume": vo,
            "oi": o,
            "prev_close": pc,
            "prev_oi": po,
            "ts": t,
            "oi_change": d,
            "iv": v,
            "iv_status": st,
            "delta": de,
            "gamma": ga,
            "theta": th,
            "vega": ve,
            "rho": rh,
            "buildup": bu,
        }
        for tk, lp, b, ak, bq, aq, vo, o, pc, po, t, d, v, st, de, ga, th, ve, rh, bu in zip(
            tokens,
            c["ltp"][lo:hi],
            c["bid"][lo:hi],
            c["ask"][lo:hi],
            c["bid_qty"][lo:hi],
            c["ask_qty"][lo:hi],
            c["volume"][lo:hi],
            c["oi"][lo:hi],
            c["prev_close"][lo:hi],
            c["prev_oi"][lo:hi],
            c["ts"][lo:hi],
            c["oi_change"][lo:hi],
            c["iv"][lo:hi],
            c["iv_status"][lo:hi],
            c["delta"][lo:hi],
            c["gamma"][lo:hi],
            c["theta"][lo:hi],
            c["vega"][lo:hi],
            c["rho"][lo:hi],
            c["buildup"][lo:hi],
            strict=True,
        )
    ]


def strikes(a: ExpiryAnalytics) -> list[dict[str, Any]]:
    """The ``strikes`` list: both legs, headline IV and GEX (call, put, net) per strike."""
    b = a.batch
    if b is None:
        raise ValueError("ExpiryAnalytics without its batch cannot be rendered")
    c = _columns(b)
    sizes = b.grid.sizes
    lo = sum(sizes[: a.index])
    hi, total = lo + sizes[a.index], sum(sizes)
    lay = a.layout
    calls = _legs(c, lo, hi, lay.call_token)
    puts = _legs(c, total + lo, total + hi, lay.put_token)
    return [
        {"strike": k, "CE": ce, "PE": pe, "iv": v, "gex_call": gc, "gex_put": gp, "gex_net": gn}
        for k, ce, pe, v, gc, gp, gn in zip(
            lay.strikes.tolist(),
            calls,
            puts,
            c["strike_iv"][lo:hi],
            c["gex_call"][lo:hi],
            c["gex_put"][lo:hi],
            c["gex_net"][lo:hi],
            strict=True,
        )
    ]
