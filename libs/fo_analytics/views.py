"""The per-expiry scalars of a batch (time, smile, OI, GEX), computed row-wise for all at once."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

from fo_analytics import conventions as cv
from fo_analytics import gex, rowwise, smile
from fo_analytics.batch import Batch, _known
from fo_analytics.oi import ratio_or_none

Array = NDArray[np.float64]


def _opt(x: float) -> float | None:
    return None if math.isnan(x) else x


def scalars(b: Batch) -> list[dict[str, Any]]:
    """One dict of scalars per expiry of the batch, in its order."""
    oi = _known(b.col("oi"))
    times, smiles, ois, gexes = _time(b), _smile(b), _oi(b, oi), _gex(b, oi)
    return [
        {
            "forward": fw.value,
            "forward_source": fw.source,
            "forward_strikes": fw.strikes_used,
            **t,
            **s,
            **o,
            "gex": x,
        }
        for fw, t, s, o, x in zip(b.forwards, times, smiles, ois, gexes, strict=True)
    ]


def _time(b: Batch) -> list[dict[str, Any]]:
    conv = cv.NSE_TIME_CONVENTION if b.on_spot else cv.TIME_CONVENTION
    return [
        {
            "T": y,
            "T_convention": cv.TIME_CONVENTION,
            "model": b.params.iv_model,
            "model_T": t,
            "model_T_convention": conv,
            "model_rate": b.model_r,
            "model_forward": _opt(f),
            "expired": y <= 0,
            "low_confidence": 0 < y < cv.LOW_CONFIDENCE_YEARS,
        }
        for y, t, f in zip(b.years.tolist(), b.model_t.tolist(), b.model_f.tolist(), strict=True)
    ]


def _smile_points(b: Batch) -> tuple[Array, Array, Array, Array]:
    """ATM IV, 25-delta call and put IV and the ATM straddle of every row, in one lerp."""
    k, f, t, s_iv = b.grid.strikes, b.model_f, b.model_t, b.strike_iv
    fc = f[:, None]
    ok = np.isfinite(s_iv)
    sq = s_iv * np.sqrt(np.where(t > 0, t, np.nan))[:, None]
    nd1 = ndtr((np.log(fc / k) + 0.5 * sq * sq) / sq)
    call, put = b.prices.price
    x = np.concatenate([np.log(k / fc), nd1, nd1 - 1.0, k])
    y = np.concatenate([s_iv, s_iv, s_iv, call + put])
    both = np.isfinite(call) & np.isfinite(put)
    use = np.concatenate([ok, ok & (k >= fc), ok & (k <= fc), both])
    at = np.concatenate([np.repeat([0.0, 0.25, -0.25], f.size), f])
    atm, c25, p25, straddle = rowwise.lerp(x, y, use, at).reshape(4, f.size)
    return atm, c25, p25, straddle


def _smile(b: Batch) -> list[dict[str, Any]]:
    k, f = b.grid.strikes, b.model_f
    atm, c25, p25, straddle = (v.tolist() for v in _smile_points(b))
    strike: list[float | None] = [None] * f.size
    if k.size:
        near = np.argmin(np.where(b.grid.valid, np.abs(k - f[:, None]), np.inf), axis=1)
        strike = rowwise.take(k, near[:, None])[:, 0].tolist()
    rows = zip(f.tolist(), b.model_t.tolist(), b.grid.sizes, atm, c25, p25, straddle, strike,
               strict=True)  # fmt: skip
    out = []
    for fi, ti, size, a_, c_, p_, st, ks in rows:
        if math.isnan(fi) or ti <= 0 or size == 0:
            move = smile.expected_move(0.0 if math.isnan(fi) else fi, None, ti, None)
            empty = smile.skew(None, None, None)
            out.append({"atm_strike": None, "atm_iv": None, "skew": empty, "expected_move": move})
            continue
        a = _opt(a_)
        out.append({
            "atm_strike": ks,
            "atm_iv": a,
            "skew": smile.skew(_opt(c_), _opt(p_), a),
            "expected_move": smile.expected_move(fi, a, ti, _opt(st)),
        })  # fmt: skip
    return out


def _oi(b: Batch, oi: Array) -> list[dict[str, Any]]:
    ce_oi, pe_oi = oi.sum(axis=2).tolist()
    ce_vol, pe_vol = _known(b.col("volume")).sum(axis=2).tolist()
    ref = np.array([np.nan if x.value is None else x.value for x in b.forwards], float)
    spot = np.nan if b.spot is None else b.spot
    pains = rowwise.max_pain(b.grid.strikes, b.grid.valid, oi, np.where(np.isnan(ref), spot, ref))
    return [
        {
            "totals": {"ce_oi": co, "pe_oi": po, "ce_volume": cv_, "pe_volume": pv},
            "pcr": {
                "oi": ratio_or_none(po, co),
                "volume": ratio_or_none(pv, cv_),
                "scope": "full chain of this expiry",
            },
            "max_pain": {"strike": strike, "tied": tied, "rule": "tied strike nearest the forward"},
        }
        for co, po, cv_, pv, (strike, tied) in zip(ce_oi, pe_oi, ce_vol, pe_vol, pains, strict=True)
    ]


def _gex(b: Batch, oi: Array) -> list[dict[str, Any]]:
    k, legs = b.grid.strikes, b.gex
    live = np.isfinite(b.model_f) & (b.model_t > 0)
    zero = gex.zero_gammas(b.curves, b.model_f, b.model_t, live)
    call, put = np.where(np.isnan(legs), 0.0, legs).sum(axis=2).tolist()
    score = np.empty((5, *k.shape))  # |GEX| of calls, puts, both; OI of calls, puts
    c, p = np.abs(legs, out=score[:2])
    np.add(np.where(np.isfinite(c), c, 0.0), p, out=score[2])
    score[3:] = oi
    walls = rowwise.argmax_at(k, score)
    out = []
    for known, ca, pu, z, (cw, pw, ab, co, po) in zip(
        live.tolist(), call, put, zero, walls, strict=True
    ):
        out.append({
            "call": ca if known else None,
            "put": pu if known else None,
            "net": ca + pu if known else None,
            "units": "INR of dealer delta per 1 % move (Γ·OI·F²·0.01, OI in shares)",
            "sign_convention": b.params.gex_sign,
            "iv_source": "strike IV (OTM leg), gaps interpolated in log-moneyness",
            "zero_gamma": z,
            "call_wall_gamma": cw, "put_wall_gamma": pw, "abs_gamma_strike": ab,
            "call_wall_oi": co, "put_wall_oi": po,
            "rule": "argmax |GEX| per side; OI walls argmax OI",
        })  # fmt: skip
    return out
