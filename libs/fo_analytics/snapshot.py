"""Snapshot building: one document per expiry (for the bus codec), plus the symbol summary."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from fo_analytics import conventions as cv
from fo_analytics import render
from fo_analytics.chain import ChainState
from fo_analytics.expiry import ExpiryAnalytics, Params, analyse_many
from fo_analytics.oi import ratio_or_none

UNITS = {
    "oi": "shares",
    "volume": "shares",
    "price": "INR",
    "iv": "fraction per year (0.12 = 12 %)",
    "delta": "per 1 point of the forward (black76) or of spot (nse)",
    "gamma": "per 1 point of the forward (black76) or of spot (nse)",
    "theta": "INR per calendar day",
    "vega": "INR per vol point",
    "rho": "INR per 1 % of rate",
    "gex": "INR of dealer delta per 1 % move",
}


@dataclass(frozen=True, slots=True)
class SnapshotContext:
    """What a cycle needs besides the chain: when, which cycle, which rate and conventions.

    ``iv_model``: "black76" (headline: Black-76 on each expiry's forward) or "nse"
    (Black-Scholes on spot at 10 %, NSE's time convention: reproduces NSE's published IV).
    ``gex_sign``: a key of ``conventions.GEX_SIGNS``.
    """

    now_ns: int
    seq: int
    rate: float
    iv_model: str = "black76"
    gex_sign: str = "dealer_long_calls_short_puts"
    stale_after_s: float = 60.0

    def __post_init__(self) -> None:
        if self.iv_model not in cv.IV_MODELS:
            raise ValueError(f"iv_model must be one of {cv.IV_MODELS}, not {self.iv_model!r}")
        if self.gex_sign not in cv.GEX_SIGNS:
            raise ValueError(f"gex_sign must be one of {tuple(cv.GEX_SIGNS)}")

    def params(self) -> Params:
        rate = self.rate if math.isfinite(self.rate) else 0.0
        return Params(self.now_ns, rate, self.iv_model, self.gex_sign, self.stale_after_s)


def _computed(state: ChainState, ctx: SnapshotContext) -> dict[date, ExpiryAnalytics]:
    """The expiries computed so far for this chain version and these cycle parameters."""
    state.table()  # bring in pending quotes first: that moves ``version``
    key = (state.version, ctx.params())
    if state.cache.get("key") != key:
        state.cache = {"key": key, "items": {}}
    items: dict[date, ExpiryAnalytics] = state.cache["items"]
    return items


def analytics(state: ChainState, expiry: date, ctx: SnapshotContext) -> ExpiryAnalytics:
    """The expiry's analytics, computed once per (chain version, cycle parameters).

    The first expiry asked for in a cycle is computed alone (a single-expiry request stays
    cheap); the next one asked means the caller walks the chain, so every listed expiry not
    done yet is computed in one vectorised pass and kept for the rest of the cycle.
    """
    items = _computed(state, ctx)
    if expiry not in items:
        todo = [expiry]
        if items:
            todo += [e for e in state.expiries() if e not in items]
        items.update(analyse_many(state, todo, ctx.params()))
    return items[expiry]


def _analysed(
    state: ChainState, expiries: list[date], ctx: SnapshotContext
) -> list[ExpiryAnalytics]:
    """Each of ``expiries``; those not computed yet this cycle, in one vectorised pass."""
    items = _computed(state, ctx)
    todo = [e for e in expiries if e not in items]
    if todo:
        items.update(analyse_many(state, todo, ctx.params()))
    return [items[e] for e in expiries]


def chain_snapshots(
    state: ChainState, expiries: list[date], ctx: SnapshotContext
) -> dict[date, dict[str, Any]]:
    """The snapshot of each of ``expiries``, all computed in one vectorised pass."""
    return {a.expiry: _document(state, a, ctx) for a in _analysed(state, expiries, ctx)}


def expiry_snapshot(state: ChainState, expiry: date, ctx: SnapshotContext) -> dict[str, Any]:
    """The chain of one expiry with every analytic (OI and volume in shares).

    ``chain`` is columnar (``layout: "columns"``, see ``fo_bus.chain``): one column per field
    with one entry per strike, the legs under ``CE`` and ``PE``. Numeric columns may be numpy
    arrays (NaN for unknown): publish through ``fo_bus.codec.encode_document``, which writes
    them as JSON lists with null.
    """
    return _document(state, analytics(state, expiry, ctx), ctx)


def _document(state: ChainState, a: ExpiryAnalytics, ctx: SnapshotContext) -> dict[str, Any]:
    spot, spot_ts = state.spot()
    return {
        "symbol": state.symbol,
        "expiry": a.expiry.isoformat(),
        "seq": ctx.seq,
        "ts": ctx.now_ns,
        "spot": spot,
        "spot_ts": spot_ts or None,
        "lot_size": a.layout.lot_size,
        "units": UNITS,
        "rate": ctx.params().rate,
        "layout": "columns",
        "chain": render.chain(a),
        **a.scalars,
    }


def _constant_maturity(points: list[tuple[float, float]], days: float) -> float | None:
    """ATM IV at a fixed maturity: total variance σ²T linear in T between listed expiries."""
    tau = days / 365.0
    for (t0, s0), (t1, s1) in itertools.pairwise(points):
        if t0 <= tau <= t1:
            w = s0 * s0 * t0 + (s1 * s1 * t1 - s0 * s0 * t0) * (tau - t0) / (t1 - t0)
            return math.sqrt(w / tau) if w > 0 else None
    return None


def _term_row(a: ExpiryAnalytics) -> dict[str, Any]:
    s = a.scalars
    return {
        "expiry": a.expiry.isoformat(),
        "T": s["T"],
        "forward": s["forward"],
        "forward_source": s["forward_source"],
        "atm_strike": s["atm_strike"],
        "atm_iv": s["atm_iv"],
        "low_confidence": s["low_confidence"],
    }


def _across(items: list[ExpiryAnalytics], sign: str) -> dict[str, Any]:
    tot = {k: sum(a.scalars["totals"][k] for a in items) for k in ("ce_oi", "pe_oi")}
    vol = {k: sum(a.scalars["totals"][k] for a in items) for k in ("ce_volume", "pe_volume")}
    nets = [a.scalars["gex"]["net"] for a in items if a.scalars["gex"]["net"] is not None]
    points = sorted(
        (a.scalars["T"], a.scalars["atm_iv"])
        for a in items
        if a.scalars["atm_iv"] is not None and a.scalars["T"] > 0
    )
    return {
        "term_structure": [_term_row(a) for a in items],
        "constant_maturity_iv": {f"{d}d": _constant_maturity(points, d) for d in (7, 30)},
        "totals_all": {**tot, **vol},
        "pcr_all": {
            "oi": ratio_or_none(tot["pe_oi"], tot["ce_oi"]),
            "volume": ratio_or_none(vol["pe_volume"], vol["ce_volume"]),
            "scope": "all listed expiries",
        },
        "gex_all": {
            "net": sum(nets) if nets else None,
            "expiries": len(nets),
            "sign_convention": sign,
            "scaling": "each expiry's Γ and F² at its own forward",
        },
    }


def symbol_summary(
    state: ChainState, expiries: list[date], ctx: SnapshotContext, last_id: str, epoch: int
) -> dict[str, Any]:
    """Symbol-level view: spot, listed expiries, across-expiry views and the checkpoint."""
    spot, spot_ts = state.spot()
    live = [a for a in _analysed(state, expiries, ctx) if not a.scalars["expired"]]
    return {
        "symbol": state.symbol,
        "seq": ctx.seq,
        "ts": ctx.now_ns,
        "spot": spot,
        "spot_ts": spot_ts or None,
        "source": state.instruments.source,
        "expiries": [e.isoformat() for e in expiries],
        "current_expiry": live[0].expiry.isoformat() if live else None,
        "rate": ctx.params().rate,
        "iv_model": ctx.iv_model,
        **_across(live, ctx.gex_sign),
        "checkpoint": {"last_id": last_id, "epoch": epoch},
    }
