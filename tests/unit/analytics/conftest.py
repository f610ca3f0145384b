"""Shared helpers for the analytics tests: oracle paths and NSE option-chain JSON → ChainState."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from fo_analytics.chain import ChainState
from fo_analytics.snapshot import SnapshotContext, expiry_snapshot
from fo_bus.codec import decode_document, encode_document
from fo_instruments.calendar import IST
from fo_models import Instrument, InstrumentKind, InstrumentSet, Right, Tick

REPO = Path(__file__).resolve().parents[3]
SHARED = REPO.parent / "shared"
LOCAL_DATA = REPO / "tests" / "data" / "analytics"
SPOT_TOKEN = "SPOT"


def shared_file(*parts: str) -> Path:
    """A file under ../shared, or a skip that says what is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared oracle/real data folder is not mounted")
    return path


def nse_files() -> list[Path]:
    """Every NSE option-chain JSON under ../shared/data/real (empty when absent)."""
    folder = SHARED / "data" / "real"
    return sorted(folder.glob("nse-oc-*.json")) if folder.exists() else []


@dataclass
class NseChain:
    state: ChainState
    now_ns: int
    records: dict[str, Any]
    lot: int
    expiries: list[date]


def _lot_size(rows: list[dict[str, Any]]) -> int:
    """Quantities in NSE JSON are shares: the gcd of all quoted quantities is the lot size."""
    lot = 0
    for leg in _legs(rows):
        for key in ("bidQty", "askQty", "totalBuyQuantity", "totalSellQuantity"):
            lot = math.gcd(lot, int(leg.get(key) or 0))
    return lot or 1


def _legs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row[side] for row in rows for side in ("CE", "PE") if side in row]


def nse_expiry(text: str) -> date:
    return datetime.strptime(text, "%d-%b-%Y").date()


def nse_now_ns(records: dict[str, Any]) -> int:
    stamp = datetime.strptime(records["timestamp"], "%d-%b-%Y %H:%M:%S").replace(tzinfo=IST)
    return int(stamp.timestamp()) * 1_000_000_000


def token(side: str, expiry: date, strike: float) -> str:
    return f"{side}:{expiry.isoformat()}:{strike:g}"


def _tick(leg: dict[str, Any], tok: str, lot: int, now_ns: int) -> Tick:
    oi, change = float(leg["openInterest"]), float(leg["changeinOpenInterest"])
    return Tick(
        token=tok,
        ts_event=now_ns,
        ts_recv=now_ns,
        ltp=float(leg["lastPrice"]),
        bid=float(leg["bidprice"]),
        ask=float(leg["askPrice"]),
        bid_qty=int(leg["bidQty"]),
        ask_qty=int(leg["askQty"]),
        volume=int(leg["totalTradedVolume"]) * lot,  # contracts → shares
        oi=round(oi * lot),  # contracts (lots) → shares
        prev_close=float(leg["lastPrice"]) - float(leg["change"]),
        prev_oi=round((oi - change) * lot),
    )


def load_nse(path: Path) -> NseChain:
    """ChainState holding every leg of an NSE option-chain JSON, ticks stamped at its time."""
    records = json.loads(path.read_text())["records"]
    rows = records["data"]
    lot = _lot_size(rows)
    symbol = _legs(rows)[0]["underlying"]
    now_ns = nse_now_ns(records)
    insts = [Instrument(SPOT_TOKEN, symbol, InstrumentKind.INDEX, "NSE", symbol)]
    ticks = [Tick(SPOT_TOKEN, now_ns, now_ns, ltp=float(records["underlyingValue"]))]
    for row in rows:
        expiry, strike = nse_expiry(row["expiryDate"]), float(row["strikePrice"])
        for side in ("CE", "PE"):
            if side not in row:
                continue
            tok = token(side, expiry, strike)
            insts.append(option(tok, symbol, lot, expiry, strike, side))
            ticks.append(_tick(row[side], tok, lot, now_ns))
    state = ChainState(InstrumentSet(symbol, SPOT_TOKEN, "nse-json", tuple(insts)))
    for tick in ticks:
        state.apply(tick)
    expiries = sorted({nse_expiry(e) for e in records["expiryDates"]})
    return NseChain(state, now_ns, records, lot, expiries)


def option(tok: str, symbol: str, lot: int, expiry: date, strike: float, side: str) -> Instrument:
    """An index option on the NFO segment with the 0.05 tick."""
    return Instrument(
        tok, symbol, InstrumentKind.OPTION, "NFO", tok, lot, 0.05, expiry, strike, Right(side)
    )


def real_chain_files() -> list[Path]:
    """NSE files to replay: the shared folder's, else the local copy in tests/data."""
    return nse_files() or sorted(LOCAL_DATA.glob("nse-oc-*.json"))


def synthetic_chain(
    expiry: date,
    legs: dict[tuple[str, float], dict[str, float]],
    *,
    spot: float | None = None,
    lot: int = 75,
    now_ns: int = 0,
    symbol: str = "NIFTY",
) -> ChainState:
    """A ChainState from {(side, strike): quote fields}; every tick stamped ``now_ns``."""
    insts = [Instrument(SPOT_TOKEN, symbol, InstrumentKind.INDEX, "NSE", symbol)]
    ticks = [] if spot is None else [Tick(SPOT_TOKEN, now_ns, now_ns, ltp=spot)]
    for (side, strike), fields in legs.items():
        tok = token(side, expiry, strike)
        insts.append(option(tok, symbol, lot, expiry, strike, side))
        if fields:
            ticks.append(
                Tick.from_wire({"token": tok, "ts_event": now_ns, "ts_recv": now_ns, **fields})
            )
    state = ChainState(InstrumentSet(symbol, SPOT_TOKEN, "test", tuple(insts)))
    for tick in ticks:
        state.apply(tick)
    return state


def expiry_ns(expiry: date, days_before: float) -> int:
    """``days_before`` calendar days before 15:30 IST on ``expiry``, in ns."""
    close = datetime.combine(expiry, datetime.min.time().replace(hour=15, minute=30), tzinfo=IST)
    return round((close.timestamp() - days_before * 86_400) * 1e9)


def published(doc: dict[str, Any]) -> dict[str, Any]:
    """A chain document as the worker publishes it: through the bus codec (orjson), so float
    columns are lists with null for NaN, quantities ints, as clients receive them."""
    return decode_document(encode_document("chain", doc), "chain")


def published_snapshot(state: ChainState, expiry: date, ctx: SnapshotContext) -> dict[str, Any]:
    """The expiry's snapshot as published (see ``published``)."""
    return published(expiry_snapshot(state, expiry, ctx))
