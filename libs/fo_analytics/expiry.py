"""Every number of one expiry, as arrays over (call, put) × strike plus a dict of scalars."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fo_analytics import conventions as cv
from fo_analytics import forward as fw
from fo_analytics import gex, smile
from fo_analytics.black import Greeks, black76_greeks, bs_greeks
from fo_analytics.chain import COLUMNS, ChainState, ExpiryLayout
from fo_analytics.iv import CODE, black_iv
from fo_analytics.oi import buildup, max_pain, ratio_or_none
from fo_analytics.quotes import LegPrices, last_traded, select

Array = NDArray[np.float64]
IS_CALL = np.array([[True], [False]])


@dataclass(frozen=True, slots=True)
class Params:
    """The per-cycle choices (from SnapshotContext)."""

    now_ns: int
    rate: float
    iv_model: str = "black76"
    gex_sign: str = "dealer_long_calls_short_puts"
    stale_after_s: float = 60.0


@dataclass(frozen=True, slots=True)
class Model:
    """What IV and Greeks are computed on: forward, years, rate, and the Greek family."""

    forward: float | None
    years: float
    rate: float
    on_spot: bool  # Black-Scholes on spot (NSE) rather than Black-76 on the forward


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


def _col(quote: Array, name: str) -> Array:
    return quote[COLUMNS[name]]


def _known(x: Array) -> Array:
    """Unknown (NaN) quantities count as 0 in sums."""
    return np.where(np.isnan(x), 0.0, x)


def analyse(state: ChainState, expiry: date, p: Params) -> ExpiryAnalytics:
    values, ts_all = state.table()
    lay = state.layout(expiry)
    rows = np.stack([lay.call_row, lay.put_row])
    quote, ts = values[:, rows], ts_all[rows]
    spot, spot_ts = state.spot()
    years = cv.headline_years(expiry, p.now_ns)
    ref_ns = min(p.now_ns, max(int(ts.max(initial=0)), spot_ts)) or p.now_ns
    prices = select(
        _col(quote, "ltp"), _col(quote, "bid"), _col(quote, "ask"), ts, ref_ns,
        lay.tick_size, p.stale_after_s * 1e9,
    )  # fmt: skip
    growth = math.exp(p.rate * years) if years > 0 else 1.0
    future = float(values[COLUMNS["ltp"], lay.future_row])
    fwd = _forward(lay, prices, growth, future, spot)
    model = _model(p, expiry, fwd.value, spot, years)
    if model.on_spot:
        prices = last_traded(_col(quote, "ltp"))
    iv, codes, greeks = _vols(lay.strikes, prices, model, years)
    s_iv = smile.strike_iv(lay.strikes, model.forward or np.nan, iv[0], iv[1])
    gex_legs, curve = _gex(lay.strikes, s_iv, quote, model, p.gex_sign)
    labels = buildup(
        _col(quote, "oi"), _col(quote, "prev_oi"), _col(quote, "ltp"),
        _col(quote, "prev_close"), lay.lot_size or 1, lay.tick_size,
    )  # fmt: skip
    scalars = {
        "forward": fwd.value,
        "forward_source": fwd.source,
        "forward_strikes": fwd.strikes_used,
        **_time_view(p, years, model),
        **_smile_view(lay.strikes, s_iv, prices, model),
        **_oi_view(lay.strikes, quote, fwd.value if fwd.value is not None else spot),
        "gex": _gex_view(lay.strikes, gex_legs, quote, curve, model, p.gex_sign),
    }
    return ExpiryAnalytics(
        expiry, lay, quote, ts, iv, codes, greeks, s_iv, gex_legs, labels, scalars
    )


def _forward(
    lay: ExpiryLayout, prices: LegPrices, growth: float, future: float, spot: float | None
) -> fw.Forward:
    usable = prices.good_mid[0] & prices.good_mid[1]
    parity = fw.parity_forward(
        lay.strikes, prices.price[0], prices.price[1], prices.spread[0], prices.spread[1],
        usable, growth, lay.tick_size,
    )  # fmt: skip
    return fw.choose_forward(parity, future if math.isfinite(future) else None, spot, growth)


def _model(p: Params, expiry: date, forward: float | None, spot: float | None, yrs: float) -> Model:
    if p.iv_model != "nse":
        return Model(forward, yrs, p.rate, on_spot=False)
    t = cv.nse_years(expiry, p.now_ns) if yrs > 0 else yrs
    f = None if spot is None or t <= 0 else spot * math.exp(cv.NSE_RATE * t)
    return Model(f, t, cv.NSE_RATE, on_spot=True)


def _vols(
    strikes: Array, prices: LegPrices, m: Model, years: float
) -> tuple[Array, NDArray[np.int8], Greeks]:
    codes = prices.codes.copy()
    if years <= 0:
        codes[:] = CODE["expired"]
    f = np.nan if m.forward is None else m.forward
    iv, codes = black_iv(prices.price, f, strikes, m.years, m.rate, IS_CALL, codes)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if m.on_spot:
            spot = f * math.exp(-m.rate * m.years) if m.years > 0 else np.nan
            greeks = bs_greeks(spot, strikes, m.years, m.rate, iv, IS_CALL)
        else:
            greeks = black76_greeks(f, strikes, m.years, m.rate, iv, IS_CALL)
    return iv, codes, greeks


def _gex(
    strikes: Array, s_iv: Array, quote: Array, m: Model, sign_name: str
) -> tuple[Array, gex.GammaCurve | None]:
    if m.forward is None or m.years <= 0:
        return np.full((2, strikes.size), np.nan), None
    sigma = smile.smile_vols(strikes, s_iv, m.forward)
    disc = math.exp(-m.rate * m.years)
    oi = _known(_col(quote, "oi"))
    signs = cv.GEX_SIGNS[sign_name]
    legs = np.stack(
        [gex.leg_gex(m.forward, strikes, m.years, disc, sigma, oi[i], signs[i]) for i in (0, 1)]
    )
    weight = oi[0] * signs[0] + oi[1] * signs[1]
    return legs, gex.GammaCurve(strikes, sigma, weight, m.years, disc)


def _time_view(p: Params, years: float, m: Model) -> dict[str, Any]:
    return {
        "T": years,
        "T_convention": cv.TIME_CONVENTION,
        "model": p.iv_model,
        "model_T": m.years,
        "model_T_convention": cv.NSE_TIME_CONVENTION if m.on_spot else cv.TIME_CONVENTION,
        "model_rate": m.rate,
        "model_forward": m.forward,
        "expired": years <= 0,
        "low_confidence": 0 < years < cv.LOW_CONFIDENCE_YEARS,
    }


def _smile_view(strikes: Array, s_iv: Array, prices: LegPrices, m: Model) -> dict[str, Any]:
    f = m.forward
    if f is None or m.years <= 0 or strikes.size == 0:
        empty = smile.skew(None, None, None)
        move = smile.expected_move(f or 0.0, None, m.years, None)
        return {"atm_strike": None, "atm_iv": None, "skew": empty, "expected_move": move}
    atm = smile.atm_iv(strikes, s_iv, f)
    c25, p25 = smile.delta25(strikes, s_iv, f, m.years)
    straddle = smile.straddle_at_forward(strikes, prices.price[0], prices.price[1], f)
    return {
        "atm_strike": float(strikes[np.argmin(np.abs(strikes - f))]),
        "atm_iv": atm,
        "skew": smile.skew(c25, p25, atm),
        "expected_move": smile.expected_move(f, atm, m.years, straddle),
    }


def _oi_view(strikes: Array, quote: Array, reference: float | None) -> dict[str, Any]:
    oi, vol = _known(_col(quote, "oi")), _known(_col(quote, "volume"))
    ce_oi, pe_oi, ce_vol, pe_vol = (float(x) for x in (*oi.sum(axis=1), *vol.sum(axis=1)))
    pain = max_pain(strikes, oi[0], oi[1], reference=reference)
    return {
        "totals": {"ce_oi": ce_oi, "pe_oi": pe_oi, "ce_volume": ce_vol, "pe_volume": pe_vol},
        "pcr": {
            "oi": ratio_or_none(pe_oi, ce_oi),
            "volume": ratio_or_none(pe_vol, ce_vol),
            "scope": "full chain of this expiry",
        },
        "max_pain": {
            "strike": pain.strike,
            "tied": list(pain.tied),
            "rule": "tied strike nearest the forward",
        },
    }


def _gex_view(
    strikes: Array, legs: Array, quote: Array, curve: gex.GammaCurve | None, m: Model, sign: str
) -> dict[str, Any]:
    oi = _known(_col(quote, "oi"))
    call, put = float(np.nansum(legs[0])), float(np.nansum(legs[1]))
    known = curve is not None
    zero = (
        gex.zero_gamma(curve, m.forward, m.years)
        if curve is not None and m.forward is not None
        else {"level": None, "roots": [], "reason": "no forward or expired"}
    )
    return {
        "call": call if known else None,
        "put": put if known else None,
        "net": call + put if known else None,
        "units": "INR of dealer delta per 1 % move (Γ·OI·F²·0.01, OI in shares)",
        "sign_convention": sign,
        "iv_source": "strike IV (OTM leg), gaps interpolated in log-moneyness",
        "zero_gamma": zero,
        **gex.walls(strikes, legs[0], legs[1], oi[0], oi[1]),
    }
