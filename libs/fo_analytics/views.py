"""The per-expiry scalars of a batch (time, smile, OI, GEX), computed row-wise for all at once."""

from __future__ import annotations

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
    return None if np.isnan(x) else float(x)


def scalars(b: Batch) -> list[dict[str, Any]]:
    """One dict of scalars per expiry of the batch, in its order."""
    times, smiles, ois, gexes = _time(b), _smile(b), _oi(b), _gex(b)
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


def _smile(b: Batch) -> list[dict[str, Any]]:
    k, f, t, s_iv = b.grid.strikes, b.model_f, b.model_t, b.strike_iv
    fc = f[:, None]
    ok = np.isfinite(s_iv)
    atm = rowwise.lerp(np.log(k / fc), s_iv, ok, np.zeros_like(f))
    sq = s_iv * np.sqrt(np.where(t > 0, t, np.nan))[:, None]
    nd1 = ndtr((np.log(fc / k) + 0.5 * sq * sq) / sq)
    c25 = rowwise.lerp(nd1, s_iv, ok & (k >= fc), np.full_like(f, 0.25))
    p25 = rowwise.lerp(nd1 - 1.0, s_iv, ok & (k <= fc), np.full_like(f, -0.25))
    call, put = b.prices.price
    both = np.isfinite(call) & np.isfinite(put)
    straddle = rowwise.lerp(k, call + put, both, f)
    near = np.argmin(np.where(b.grid.valid, np.abs(k - fc), np.inf), axis=1) if k.size else None
    out = []
    for i, size in enumerate(b.grid.sizes):
        if np.isnan(f[i]) or t[i] <= 0 or size == 0:
            move = smile.expected_move(0.0 if np.isnan(f[i]) else f[i], None, t[i], None)
            empty = smile.skew(None, None, None)
            out.append({"atm_strike": None, "atm_iv": None, "skew": empty, "expected_move": move})
            continue
        a, fi = _opt(atm[i]), float(f[i])
        out.append({
            "atm_strike": float(k[i, near[i]]),  # type: ignore[index]
            "atm_iv": a,
            "skew": smile.skew(_opt(c25[i]), _opt(p25[i]), a),
            "expected_move": smile.expected_move(fi, a, float(t[i]), _opt(straddle[i])),
        })  # fmt: skip
    return out


def _oi(b: Batch) -> list[dict[str, Any]]:
    oi, vol = _known(b.col("oi")), _known(b.col("volume"))
    ce_oi, pe_oi = oi.sum(axis=2).tolist()
    ce_vol, pe_vol = vol.sum(axis=2).tolist()
    ref = np.array([np.nan if x.value is None else x.value for x in b.forwards], float)
    spot = np.nan if b.spot is None else b.spot
    pains = rowwise.max_pain(
        b.grid.strikes, b.grid.valid, oi[0], oi[1], np.where(np.isnan(ref), spot, ref)
    )
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


def _gex(b: Batch) -> list[dict[str, Any]]:
    k, legs = b.grid.strikes, b.gex
    oi = _known(b.col("oi"))
    live = np.isfinite(b.model_f) & (b.model_t > 0)
    zero = gex.zero_gammas(b.curves, b.model_f, b.model_t, live)
    call, put = np.nansum(legs[0], axis=1).tolist(), np.nansum(legs[1], axis=1).tolist()
    c, p = np.abs(legs[0]), np.abs(legs[1])
    walls = zip(
        rowwise.argmax_at(k, c), rowwise.argmax_at(k, p),
        rowwise.argmax_at(k, np.where(np.isfinite(c), c, 0.0) + p),
        rowwise.argmax_at(k, oi[0]), rowwise.argmax_at(k, oi[1]), strict=True,
    )  # fmt: skip
    out = []
    for i, (cw, pw, ab, co, po) in enumerate(walls):
        known = bool(live[i])
        out.append({
            "call": call[i] if known else None,
            "put": put[i] if known else None,
            "net": call[i] + put[i] if known else None,
            "units": "INR of dealer delta per 1 % move (Γ·OI·F²·0.01, OI in shares)",
            "sign_convention": b.params.gex_sign,
            "iv_source": "strike IV (OTM leg), gaps interpolated in log-moneyness",
            "zero_gamma": zero[i],
            "call_wall_gamma": cw, "put_wall_gamma": pw, "abs_gamma_strike": ab,
            "call_wall_oi": co, "put_wall_oi": po,
            "rule": "argmax |GEX| per side; OI walls argmax OI",
        })  # fmt: skip
    return out
