"""Reading what the workers published: summaries, snapshot bytes, and symbol validation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import date
from typing import Any, TypeVar

import orjson
import redis.asyncio as aioredis

from fo_bus.codec import decode_document
from fo_bus.names import BusNames

T = TypeVar("T")
# A request never waits longer than this on Redis (the client's own retries last ~10 s);
# past it the caller gets a 503 with Retry-After, as for any other Redis error.
REDIS_DEADLINE_S = 2.0


class GatewayError(Exception):
    """An error with an HTTP status and a reason the client can act on."""

    def __init__(self, status: int, reason: str, **extra: Any) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.extra = extra
        self.headers: dict[str, str] = {}


class UnknownSymbol(GatewayError):
    def __init__(self, symbol: str, known: list[str]) -> None:
        super().__init__(404, f"unknown symbol {symbol[:40]!r}", known_symbols=known)


class NotReady(GatewayError):
    """No snapshot yet: the pipeline is starting. Retry shortly."""

    def __init__(self, reason: str, retry_after_s: int = 2) -> None:
        super().__init__(503, reason)
        self.headers = {"Retry-After": str(retry_after_s)}


async def bounded(call: Awaitable[T]) -> T:
    """Await a Redis call for at most REDIS_DEADLINE_S (TimeoutError past it)."""
    async with asyncio.timeout(REDIS_DEADLINE_S):
        return await call


class SnapshotReader:
    def __init__(self, client: aioredis.Redis, names: BusNames, symbols: list[str]) -> None:
        self.client = client
        self.names = names
        self.symbols = symbols

    def check_symbol(self, symbol: str) -> str:
        normalised = symbol.upper()
        if normalised not in self.symbols:
            raise UnknownSymbol(symbol, self.symbols)
        return normalised

    async def summary_bytes(self, symbol: str) -> bytes:
        raw = await bounded(self.client.get(self.names.summary_key(symbol)))
        if raw is None:
            raise NotReady(f"no snapshot of {symbol} yet; the pipeline is starting")
        return raw

    async def summary(self, symbol: str) -> dict[str, Any]:
        return decode_document(await self.summary_bytes(symbol), "summary")

    async def resolve_expiry(self, symbol: str, expiry: date | None) -> date:
        """The requested expiry if listed, else the nearest listed one."""
        listed = [date.fromisoformat(e) for e in (await self.summary(symbol))["expiries"]]
        if not listed:
            raise NotReady(f"no live expiry of {symbol} yet")
        if expiry is None:
            return listed[0]
        if expiry not in listed:
            raise GatewayError(
                404,
                f"expiry {expiry.isoformat()} is not followed for {symbol}",
                expiries=[e.isoformat() for e in listed],
            )
        return expiry

    async def heartbeats_and_summaries(
        self,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any] | None]]:
        """Every service heartbeat, and each followed symbol's summary (None when absent or
        unreadable), parsed. Unbounded and raising on Redis errors: callers set the budget."""
        pattern = self.names.health_pattern()
        keys = [k async for k in self.client.scan_iter(match=pattern, count=500)]
        beats = await self.client.mget(keys) if keys else []
        summaries = await self.client.mget([self.names.summary_key(s) for s in self.symbols])
        return [b for b in map(_json_object, beats) if b is not None], [
            _json_object(raw) for raw in summaries
        ]

    async def chain_bytes(self, symbol: str, expiry: date) -> bytes:
        raw = await bounded(self.client.get(self.names.snapshot_key(symbol, expiry)))
        if raw is None:
            raise NotReady(f"no snapshot of {symbol} {expiry.isoformat()} yet")
        return raw


def _json_object(raw: bytes | None) -> dict[str, Any] | None:
    try:
        value = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def published_at(summary: dict[str, Any]) -> object:
    """When a summary was published (wall clock, ns): ``published_ts``, else its ``ts``."""
    return summary.get("published_ts") or summary.get("ts")
