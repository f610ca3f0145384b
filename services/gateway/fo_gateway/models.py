"""Response models for the OpenAPI schema (the chain itself is served as the stored bytes).

The chain document grows with the analytics (IV, Greeks, GEX…), so these models name the
fields clients can rely on and allow the rest (``extra="allow"``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EXPIRY_EXAMPLE = "2026-12-29"
TS_EXAMPLE = 1_798_531_200_000_000_000

LEG_EXAMPLE = {
    "token": "43210",
    "ltp": 112.35,
    "bid": 112.3,
    "ask": 112.45,
    "bid_qty": 1950,
    "ask_qty": 2600,
    "volume": 1_234_500,
    "oi": 5_678_250,
    "ts": TS_EXAMPLE,
}
CHAIN_EXAMPLE: dict[str, Any] = {
    "v": 1,
    "type": "chain",
    "symbol": "NIFTY",
    "expiry": EXPIRY_EXAMPLE,
    "seq": 4812,
    "ts": TS_EXAMPLE,
    "spot": 25012.4,
    "spot_ts": TS_EXAMPLE,
    "lot_size": 75,
    "units": {"oi": "shares", "volume": "shares", "price": "INR"},
    "strikes": [{"strike": 25000.0, "CE": LEG_EXAMPLE, "PE": {**LEG_EXAMPLE, "ltp": 98.1}}],
    "pcr": {"oi": 0.94, "volume": 1.12, "scope": "full chain of this expiry"},
    "max_pain": {"strike": 25000.0, "tied": [25000.0], "rule": "tied strike nearest spot"},
}


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


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


class ChainSnapshot(Open):
    """One expiry's chain and analytics, exactly as the worker published it."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [CHAIN_EXAMPLE]})

    v: int = Field(description="Schema version of the document")
    type: Literal["chain"]
    symbol: str
    expiry: str = Field(description="Expiry date, YYYY-MM-DD")
    seq: int = Field(description="Worker cycle number of the symbol; rises by 1 per cycle")
    ts: int = Field(description="When the worker built the snapshot, ns since epoch")
    spot: float | None = None
    strikes: list[StrikeRow]


class CompactInfo(BaseModel):
    fields: list[str] = Field(description="Leg fields kept")
    window: int | None = Field(description="Strikes kept each side of the centre (null: all)")
    centre_strike: float | None = Field(description="Strike nearest the spot")


class CompactChain(Open):
    """The chain with selected leg fields and a strike window around the spot (mobile)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    **{k: v for k, v in CHAIN_EXAMPLE.items() if k != "strikes"},
                    "compact": {"fields": ["ltp", "oi"], "window": 1, "centre_strike": 25000.0},
                    "strikes": [
                        {"strike": 25000.0, "CE": {"ltp": 112.35, "oi": 5678250}, "PE": None}
                    ],
                }
            ]
        },
    )

    v: int
    type: Literal["chain"]
    symbol: str
    expiry: str
    seq: int
    ts: int
    compact: CompactInfo
    strikes: list[StrikeRow]


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
