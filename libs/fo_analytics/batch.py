"""Every leg of several expiries in one vectorised pass, as [side, expiry, strike] arrays."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fo_analytics import conventions as cv
from fo_analytics import forward as fw
from fo_analytics import gex, rowwise, smile
from fo_analytics.black import Greeks, black76_greeks, bs_greeks
from fo_analytics.chain import COLUMNS, ChainState, ExpiryLayout
from fo_analytics.iv import CODE, black_iv
from fo_analytics.oi import buildup
from fo_analytics.quotes import LegPrices, last_traded, select

Array = NDArray[np.float64]
IS_CALL = np.array([[[True]], [[False]]])


@dataclass(frozen=True, slots=True)
class Grid:
    """Static shape of some expiries, padded to the widest: slot j of row e is its j-th strike."""

    expiries: tuple[date, ...]
    layouts: tuple[ExpiryLayout, ...]
    strikes: Array  # [expiry, slot]; NaN past an expiry's last strike
    valid: NDArray[np.bool_]  # [expiry, slot]
    rows: NDArray[np.intp]  # [side, expiry, slot] rows of the quote table (padding: the NaN row)
    sizes: tuple[int, ...]
    tick: Array  # [expiry]
    lot: Array  # [expiry]
    future_row: NDArray[np.intp]  # [expiry]


def grid(state: ChainState, expiries: tuple[date, ...]) -> Grid:
    """The padded layout of ``expiries`` (built once per list of expiries and kept)."""
    g = state.grids.get(expiries)
    if g is None:
        g = state.grids[expiries] = _build_grid(state, expiries)
    return g


def _build_grid(state: ChainState, expiries: tuple[date, ...]) -> Grid:
    lays = tuple(state.layout(e) for e in expiries)
    sizes = tuple(lay.strikes.size for lay in lays)
    width, missing = max(sizes, default=0), state.missing_row
    strikes = np.full((len(lays), width), np.nan)
    rows = np.full((2, len(lays), width), missing, dtype=np.intp)
    for i, lay in enumerate(lays):
        n = sizes[i]
        strikes[i, :n], rows[0, i, :n], rows[1, i, :n] = lay.strikes, lay.call_row, lay.put_row
    return Grid(
        expiries, lays, strikes, np.isfinite(strikes), rows, sizes,
        np.array([lay.tick_size for lay in lays], float),
        np.array([lay.lot_size or 1 for lay in lays], float),
        np.array([lay.future_row for lay in lays], np.intp),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Params:
    """The per-cycle choices (from SnapshotContext)."""

    now_ns: int
    rate: float
    iv_model: str = "black76"
    gex_sign: str = "dealer_long_calls_short_puts"
    stale_after_s: float = 60.0


@dataclass(slots=True)
class Batch:
    """The per-leg results of one pass; ``[..., e, :sizes[e]]`` is expiry e."""

    grid: Grid
    params: Params
    quote: Array  # [field, side, expiry, slot]
    ts: NDArray[np.int64]  # [side, expiry, slot]
    spot: float | None
    years: Array  # headline T per expiry
    forwards: list[fw.Forward]
    model_f: Array  # the model's forward per expiry (NaN: none)
    model_t: Array
    model_r: float
    on_spot: bool
    prices: LegPrices
    iv: Array
    codes: NDArray[np.int8]
    greeks: Greeks
    strike_iv: Array  # [expiry, slot]
    gex: Array  # [side, expiry, slot]
    curves: gex.GammaCurves
    buildup: NDArray[np.int8]
    cache: dict[str, Any] = field(default_factory=dict)  # render's columns, built once

    def col(self, name: str) -> Array:
        return self.quote[COLUMNS[name]]


def _known(x: Array) -> Array:
    return np.where(np.isnan(x), 0.0, x)


def run(state: ChainState, expiries: tuple[date, ...], p: Params) -> Batch:
    """IV, Greeks, forwards, GEX and build-up of every leg of ``expiries`` (call under errstate)."""
    g = grid(state, expiries)
    values, ts_all = state.table()
    quote, ts = values[:, g.rows], ts_all[g.rows]
    spot, spot_ts = state.spot()
    years = np.array([cv.headline_years(e, p.now_ns) for e in expiries], float)
    last = np.maximum(ts.max(axis=(0, 2), initial=0), spot_ts)
    ref = np.minimum(p.now_ns, last)
    ref = np.where(ref == 0, p.now_ns, ref)[:, None]
    col = COLUMNS
    prices = select(quote[col["ltp"]], quote[col["bid"]], quote[col["ask"]], ts, ref,
                    g.tick[:, None], p.stale_after_s * 1e9)  # fmt: skip
    growth = np.where(years > 0, np.exp(p.rate * np.where(years > 0, years, 0.0)), 1.0)
    fwds = _forwards(g, prices, growth, values[col["ltp"], g.future_row], spot)
    mf, mt, mr = _models(p, expiries, fwds, spot, years)
    on_spot = p.iv_model == "nse"
    if on_spot:
        prices = last_traded(quote[col["ltp"]])
    iv, codes, greeks = _vols(g.strikes, prices, mf, mt, mr, years, on_spot)
    s_iv = smile.strike_iv(g.strikes, mf[:, None], iv[0], iv[1])
    legs, curves = _gex(g, s_iv, quote, mf, mt, mr, p.gex_sign)
    labels = buildup(quote[col["oi"]], quote[col["prev_oi"]], quote[col["ltp"]],
                     quote[col["prev_close"]], g.lot[:, None], g.tick[:, None])  # fmt: skip
    return Batch(g, p, quote, ts, spot, years, fwds, mf, mt, mr, on_spot, prices, iv, codes, greeks,
                 s_iv, legs, curves, labels)  # fmt: skip


def _forwards(
    g: Grid, prices: LegPrices, growth: Array, future: Array, spot: float | None
) -> list[fw.Forward]:
    usable = prices.good_mid[0] & prices.good_mid[1]
    value, used = fw.parity_forwards(
        g.strikes, prices.price[0], prices.price[1], prices.spread[0], prices.spread[1],
        usable, growth, g.tick,
    )  # fmt: skip
    return [
        fw.choose_forward(
            (None if math.isnan(v) else v, u), f if math.isfinite(f) else None, spot, gr
        )
        for v, u, f, gr in zip(value.tolist(), used.tolist(), future.tolist(), growth.tolist(),
                               strict=True)
    ]  # fmt: skip


def _models(
    p: Params, expiries: tuple[date, ...], fwds: list[fw.Forward], spot: float | None, yrs: Array
) -> tuple[Array, Array, float]:
    """The model's forward, T and rate per expiry (Black-76 on F, or NSE's on spot)."""
    if p.iv_model != "nse":
        f = np.array([np.nan if x.value is None else x.value for x in fwds], float)
        return f, yrs, p.rate
    t = np.array(
        [cv.nse_years(e, p.now_ns) if y > 0 else y for e, y in zip(expiries, yrs, strict=True)]
    )
    ok = (t > 0) & (spot is not None)
    f = np.where(ok, (spot or 0.0) * np.exp(cv.NSE_RATE * np.where(ok, t, 0.0)), np.nan)
    return f, t, cv.NSE_RATE


def _vols(
    strikes: Array, prices: LegPrices, f: Array, t: Array, r: float, years: Array, on_spot: bool
) -> tuple[Array, NDArray[np.int8], Greeks]:
    codes = prices.codes.copy()
    codes[:, years <= 0] = CODE["expired"]
    fc, tc = f[:, None], t[:, None]
    iv, codes = black_iv(prices.price, fc, strikes, tc, r, IS_CALL, codes)
    if on_spot:
        spot = np.where(tc > 0, fc * np.exp(-r * tc), np.nan)
        return iv, codes, bs_greeks(spot, strikes, tc, r, iv, IS_CALL)
    return iv, codes, black76_greeks(fc, strikes, tc, r, iv, IS_CALL)


def _gex(
    g: Grid, s_iv: Array, quote: Array, f: Array, t: Array, r: float, sign_name: str
) -> tuple[Array, gex.GammaCurves]:
    live = np.isfinite(f) & (t > 0)
    fc, tc = f[:, None], np.where(live, t, 0.0)[:, None]
    sigma = rowwise.fill(np.log(g.strikes / fc), s_iv)
    disc = np.exp(-r * tc)
    oi = _known(quote[COLUMNS["oi"]])
    signs = cv.GEX_SIGNS[sign_name]
    per_share = gex.gex_per_share(fc, g.strikes, tc, disc, sigma)
    legs = np.stack([per_share * oi[0] * signs[0], per_share * oi[1] * signs[1]])
    legs[:, ~live] = np.nan
    weight = oi[0] * signs[0] + oi[1] * signs[1]
    return legs, gex.GammaCurves(g.strikes, sigma, weight, np.where(live, t, 0.0), disc[:, 0])
