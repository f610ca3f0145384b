"""Reading what the workers published: summaries, snapshot bytes, and symbol validation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import date
from typing import Any, TypeVar

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

    async def chain_bytes(self, symbol: str, expiry: date) -> bytes:
        raw = await bounded(self.client.get(self.names.snapshot_key(symbol, expiry)))
        if raw is None:
            raise NotReady(f"no snapshot of {symbol} {expiry.isoformat()} yet")
        return raw
