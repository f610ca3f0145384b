"""Response models for the OpenAPI schema (the chain itself is served as the stored bytes).

The chain document grows with the analytics (IV, Greeks, GEX…), so these models name the
fields clients can rely on and allow the rest (``extra="allow"``). Its legs are columnar
(``fo_bus.chain``); ``layout=rows`` gives one object per strike instead.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fo_bus import chain as chain_doc
from fo_bus.chain import LEG_FIELDS
from fo_bus.codec import DOCUMENT_VERSIONS

EXPIRY_EXAMPLE = "2026-12-29"
TS_EXAMPLE = 1_798_531_200_000_000_000

LEG_EXAMPLE: dict[str, Any] = {
    "token": "43210",
    "ltp": 112.35,
    "bid": 112.3,
    "ask": 112.45,
    "bid_qty": 1950,
    "ask_qty": 2600,
    "volume": 1_234_500,
    "oi": 5_678_250,
    "oi_change": 412_500,
    "prev_close": 104.1,
    "prev_oi": 5_265_750,
    "ts": TS_EXAMPLE,
    "iv": 0.1182,
    "iv_status": "ok",
    "delta": 0.512,
    "gamma": 0.00041,
    "theta": -14.2,
    "vega": 18.7,
    "rho": 2.9,
    "buildup": "long_buildup",
}


def _columns_of(legs: list[dict[str, Any] | None]) -> dict[str, list[Any]]:
    """Leg dicts (None: no contract at that strike) as the document's columns."""
    return {f: [None if leg is None else leg.get(f) for leg in legs] for f in LEG_FIELDS}


PUT_EXAMPLE = {**LEG_EXAMPLE, "token": "43211", "ltp": 98.1, "delta": -0.488, "rho": -2.7}
CHAIN_EXAMPLE: dict[str, Any] = {
    "v": DOCUMENT_VERSIONS["chain"],
    "type": "chain",
    "symbol": "NIFTY",
    "expiry": EXPIRY_EXAMPLE,
    "seq": 4812,
    "ts": TS_EXAMPLE,
    "spot": 25012.4,
    "spot_ts": TS_EXAMPLE,
    "lot_size": 75,
    "units": {"oi": "shares", "volume": "shares", "price": "INR"},
    "rate": 0.065,
    "layout": "columns",
    "chain": {
        "strike": [25000.0, 25050.0],
        "iv": [0.1182, 0.1175],
        "gex_call": [2_951_000_000.0, 2_100_000_000.0],
        "gex_put": [-1_840_000_000.0, 0.0],
        "gex_net": [1_111_000_000.0, 2_100_000_000.0],
        "CE": _columns_of([LEG_EXAMPLE, {**LEG_EXAMPLE, "token": "43212", "ltp": 86.4}]),
        "PE": _columns_of([PUT_EXAMPLE, None]),  # no put listed at 25050
    },
    "pcr": {"oi": 0.94, "volume": 1.12, "scope": "full chain of this expiry"},
    "max_pain": {"strike": 25000.0, "tied": [25000.0], "rule": "tied strike nearest spot"},
}
ROWS_EXAMPLE: dict[str, Any] = chain_doc.rows(CHAIN_EXAMPLE)


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


Column = list[float | None] | None


class LegColumns(Open):
    """One side's legs, one entry per strike of ``strike`` (the other leg fields alike)."""

    token: list[str | int | None] = Field(
        description="Broker token; null where the strike has no such contract (then every "
        "field of this side is null at that position)"
    )
    ltp: Column = Field(None, description="Last traded price, INR")
    oi: list[int | None] | None = Field(None, description="Open interest in shares")
    volume: list[int | None] | None = Field(None, description="Traded volume today, shares")
    iv: Column = Field(None, description="IV as a fraction; null with iv_status saying why")
    ts: list[int | None] | None = Field(None, description="Exchange time, ns since epoch")


class ChainColumns(Open):
    """The chain of one expiry, by column: every list has one entry per strike."""

    strike: list[float] = Field(description="Strikes, ascending")
    iv: Column = Field(None, description="The strike's headline IV (its OTM leg's)")
    gex_call: Column = None
    gex_put: Column = None
    gex_net: Column = None
    CE: LegColumns | None = Field(None, description="Calls")
    PE: LegColumns | None = Field(None, description="Puts")


class Leg(Open):
    token: str | int | None = Field(None, description="Broker token of the contract")
    ltp: float | None = Field(None, description="Last traded price, INR")
    oi: float | None = Field(None, description="Open interest in shares (null: not known yet)")
    volume: float | None = Field(None, description="Traded volume today, shares")
    ts: int | None = Field(None, description="Exchange time of the last quote, ns since epoch")


class StrikeRow(Open):
    strike: float
    CE: Leg | None = Field(None, description="Call leg; null when the call is not followed")
    PE: Leg | None = Field(None, description="Put leg; null when the put is not followed")


class ChainHead(Open):
    """What every form of a chain document starts with."""

    v: int = Field(description="Version of the chain document format")
    type: Literal["chain"]
    symbol: str
    expiry: str = Field(description="Expiry date, YYYY-MM-DD")
    seq: int = Field(description="Worker cycle number of the symbol; rises by 1 per cycle")
    ts: int = Field(description="When the worker built the snapshot, ns since epoch")


class ChainSnapshot(ChainHead):
    """One expiry's chain and analytics, exactly as the worker published it (columnar)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [CHAIN_EXAMPLE]})

    spot: float | None = None
    layout: Literal["columns"]
    chain: ChainColumns


class ChainRows(ChainHead):
    """The same snapshot with one object per strike (``layout=rows``), NSE-like."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [ROWS_EXAMPLE]})

    layout: Literal["rows"]
    strikes: list[StrikeRow]


class CompactInfo(BaseModel):
    fields: list[str] = Field(description="Leg fields kept (and token, in the columnar layout)")
    window: int | None = Field(description="Strikes kept each side of the centre (null: all)")
    centre_strike: float | None = Field(description="Strike nearest the spot")


_COMPACT = chain_doc.window(chain_doc.select_legs(CHAIN_EXAMPLE, ["ltp", "oi"]), 0, 1)
COMPACT_EXAMPLE: dict[str, Any] = {
    **{k: v for k, v in _COMPACT.items() if k != "chain"},
    "compact": {"fields": ["ltp", "oi"], "window": 0, "centre_strike": 25000.0},
    "chain": _COMPACT["chain"],
}


class CompactChain(ChainHead):
    """Selected leg fields and a strike window around the spot (mobile), in either layout."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [COMPACT_EXAMPLE, chain_doc.rows(COMPACT_EXAMPLE, ["ltp", "oi"])]
        },
    )

    compact: CompactInfo
    layout: Literal["columns", "rows"]
    chain: ChainColumns | None = Field(None, description="layout=columns")
    strikes: list[StrikeRow] | None = Field(None, description="layout=rows")


class Spot(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "symbol": "NIFTY",
                    "spot": 25012.4,
                    "ts": TS_EXAMPLE,
                    "source": "simulator",
                    "expiries": [EXPIRY_EXAMPLE],
                }
            ]
        }
    )

    symbol: str
    spot: float | None = Field(description="Index value, INR (null before the first tick)")
    ts: int | None = Field(description="Exchange time of the spot, ns since epoch")
    source: str | None = Field(description="Feed the instruments came from")
    expiries: list[str] = Field(description="Followed expiries, nearest first")


class ErrorBody(Open):
    """Every 4xx/5xx: a reason a person can act on, sometimes with more fields."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [{"detail": "unknown symbol 'NIFTYX'", "known_symbols": ["NIFTY"]}]
        },
    )

    detail: str


class Problem(BaseModel):
    field: str
    problem: str


class ValidationErrorBody(BaseModel):
    detail: str = "invalid request"
    problems: list[Problem]


class Health(Open):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "status": "ok",
                    "live": True,
                    "mode": "demo",
                    "redis": {"ok": True, "latency_ms": 0.4},
                    "symbols": {"NIFTY": {"snapshot": True, "age_s": 0.6, "seq": 4812}},
                    "feed": {"status": "live", "feed": "simulator", "last_batch_age_s": 0.2},
                    "workers": [{"instance": "host-12", "age_s": 1.1}],
                    "fanout": {"connected": True, "clients": 12, "topics": 2},
                }
            ]
        },
    )

    status: Literal["ok", "starting", "degraded"] = Field(
        description="ok: ready to serve; starting: no fresh snapshot yet; degraded: Redis down"
    )
    live: bool = Field(description="Always true: the process answers (liveness)")
    mode: Literal["demo", "live"] = Field(
        description="demo: no broker credentials, simulator data, anonymous WebSockets allowed"
    )


ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Unknown symbol, or an expiry that is not followed"},
    422: {"model": ValidationErrorBody, "description": "A malformed parameter"},
    429: {"model": ErrorBody, "description": "Rate limit exceeded; see Retry-After"},
    503: {"model": ErrorBody, "description": "No snapshot yet or Redis away; see Retry-After"},
}
