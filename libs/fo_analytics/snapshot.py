"""Snapshot building: one JSON-ready document per expiry, plus the symbol summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from fo_analytics.chain import ChainState, Leg, StrikeRow
from fo_analytics.oi import max_pain, ratio_or_none
from fo_models import QUOTE_FIELDS


@dataclass(frozen=True, slots=True)
class SnapshotContext:
    """What a cycle needs besides the chain: when, which cycle, which rate."""

    now_ns: int
    seq: int
    rate: float


def leg_to_dict(leg: Leg | None) -> dict[str, Any] | None:
    if leg is None:
        return None
    values = leg.quote.values if leg.quote else {}
    out: dict[str, Any] = {"token": leg.instrument.token}
    for name in QUOTE_FIELDS:
        out[name] = values.get(name)
    out["ts"] = leg.quote.ts_event if leg.quote else None
    return out


def _oi(leg: Leg | None, name: str) -> float:
    if leg is None or leg.quote is None:
        return 0.0
    return float(leg.quote.values.get(name, 0))


def expiry_snapshot(state: ChainState, expiry: date, ctx: SnapshotContext) -> dict[str, Any]:
    """The chain of one expiry with its OI analytics (OI and volume in shares)."""
    rows: list[StrikeRow] = state.rows(expiry)
    spot, spot_ts = state.spot()
    strikes = [r.strike for r in rows]
    ce_oi = [_oi(r.call, "oi") for r in rows]
    pe_oi = [_oi(r.put, "oi") for r in rows]
    ce_vol = sum(_oi(r.call, "volume") for r in rows)
    pe_vol = sum(_oi(r.put, "volume") for r in rows)
    pain = max_pain(strikes, ce_oi, pe_oi, reference=spot)
    lot = next((leg.instrument.lot_size for r in rows for leg in (r.call, r.put) if leg), None)
    return {
        "symbol": state.symbol,
        "expiry": expiry.isoformat(),
        "seq": ctx.seq,
        "ts": ctx.now_ns,
        "spot": spot,
        "spot_ts": spot_ts or None,
        "lot_size": lot,
        "units": {"oi": "shares", "volume": "shares", "price": "INR"},
        "rate": ctx.rate,
        "strikes": [
            {"strike": r.strike, "CE": leg_to_dict(r.call), "PE": leg_to_dict(r.put)} for r in rows
        ],
        "totals": {
            "ce_oi": sum(ce_oi),
            "pe_oi": sum(pe_oi),
            "ce_volume": ce_vol,
            "pe_volume": pe_vol,
        },
        "pcr": {
            "oi": ratio_or_none(sum(pe_oi), sum(ce_oi)),
            "volume": ratio_or_none(pe_vol, ce_vol),
            "scope": "full chain of this expiry",
        },
        "max_pain": {
            "strike": pain.strike,
            "tied": list(pain.tied),
            "rule": "tied strike nearest spot",
        },
    }


def symbol_summary(
    state: ChainState, expiries: list[date], ctx: SnapshotContext, last_id: str, epoch: int
) -> dict[str, Any]:
    """Symbol-level view: spot, listed expiries and the worker's checkpoint."""
    spot, spot_ts = state.spot()
    return {
        "symbol": state.symbol,
        "seq": ctx.seq,
        "ts": ctx.now_ns,
        "spot": spot,
        "spot_ts": spot_ts or None,
        "source": state.instruments.source,
        "expiries": [e.isoformat() for e in expiries],
        "checkpoint": {"last_id": last_id, "epoch": epoch},
    }
