"""Arrays to JSON-ready lists: NaN becomes None, quantities become ints, one dict per leg."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from fo_analytics.chain import COLUMNS
from fo_analytics.expiry import ExpiryAnalytics
from fo_analytics.iv import STATUS
from fo_analytics.oi import BUILDUP

_STATUS = np.asarray(STATUS, dtype=object)
_BUILDUP = np.asarray(BUILDUP, dtype=object)


def floats(a: NDArray[Any]) -> list[Any]:
    """Python floats, None where the value is NaN or infinite."""
    out = a.tolist()
    for i in np.flatnonzero(~np.isfinite(a)).tolist():
        out[i] = None
    return out


def ints(a: NDArray[Any]) -> list[Any]:
    """Python ints (rounded), None where the value is unknown."""
    ok = np.isfinite(a)
    out = np.where(ok, np.rint(a), 0).astype(np.int64).tolist()
    for i in np.flatnonzero(~ok).tolist():
        out[i] = None
    return out


def _side(a: ExpiryAnalytics, side: int) -> list[dict[str, Any]]:
    q = a.quote[:, side]
    col = COLUMNS
    g = a.greeks
    oi, prev_oi = q[col["oi"]], q[col["prev_oi"]]
    ts = a.ts[side].astype(np.float64)
    ts[ts == 0] = np.nan
    iv = a.iv[side]
    tokens = a.layout.call_token if side == 0 else a.layout.put_token
    cols = (
        floats(q[col["ltp"]]), floats(q[col["bid"]]), floats(q[col["ask"]]),
        ints(q[col["bid_qty"]]), ints(q[col["ask_qty"]]), ints(q[col["volume"]]),
        ints(oi), floats(q[col["prev_close"]]), ints(prev_oi), ints(ts),
        ints(oi - prev_oi), floats(iv), _STATUS[a.codes[side]].tolist(),
        floats(g.delta[side]), floats(g.gamma[side]), floats(g.theta[side]),
        floats(g.vega[side]), floats(g.rho[side]), _BUILDUP[a.buildup[side]].tolist(),
    )  # fmt: skip
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
            tokens, *cols, strict=True
        )
    ]


def strikes(a: ExpiryAnalytics) -> list[dict[str, Any]]:
    """The ``strikes`` list: both legs, headline IV and GEX (call, put, net) per strike."""
    gex_c, gex_p = a.gex[0], a.gex[1]
    cols = (
        a.layout.strikes.tolist(), _side(a, 0), _side(a, 1), floats(a.strike_iv),
        floats(gex_c), floats(gex_p), floats(np.nansum(a.gex, axis=0)),
    )  # fmt: skip
    known = np.isfinite(a.gex).any(axis=0)
    net = [n if k else None for n, k in zip(cols[-1], known.tolist(), strict=True)]
    return [
        {"strike": k, "CE": ce, "PE": pe, "iv": v, "gex_call": gc, "gex_put": gp, "gex_net": gn}
        for k, ce, pe, v, gc, gp, gn in zip(*cols[:-1], net, strict=True)
    ]
