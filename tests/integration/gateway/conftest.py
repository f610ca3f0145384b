"""A real gateway (uvicorn, in this test's event loop) on a real Redis, and a test publisher."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import redis.asyncio as aioredis

from fo_bus.codec import encode_document
from fo_bus.names import BusNames
from fo_gateway.__main__ import GatewayServer, server_config
from fo_gateway.app import create_app
from fo_gateway.settings import GatewaySettings
from fo_runtime.redis_server import free_port

EXPIRY = date(2099, 12, 29)
EXPIRY2 = date(2100, 1, 26)


def chain_document(
    symbol: str, expiry: date, seq: int, strikes: int = 3, no_put: int | None = None, **extra: Any
) -> bytes:
    """A columnar chain document; ``no_put``: the index of a strike that lists no put."""
    spot = 25_000.0
    n = range(strikes)
    put = [i != no_put for i in n]

    def puts(values: list[Any]) -> list[Any]:
        return [v if ok else None for v, ok in zip(values, put, strict=True)]

    chain = {
        "strike": [spot + 50 * (i - strikes // 2) for i in n],
        "iv": [0.1 + 0.001 * i for i in n],
        "CE": {"token": [f"{i}C" for i in n], "ltp": [100.0 + i for i in n],
               "oi": [1000 * i for i in n], "volume": [10 * i for i in n], "ts": [1 for _ in n]},
        "PE": {"token": puts([f"{i}P" for i in n]), "ltp": puts([90.0 - i for i in n]),
               "oi": puts([900 * i for i in n]), "volume": puts([9 * i for i in n]),
               "ts": puts([1 for _ in n])},
    }  # fmt: skip
    body = {"symbol": symbol, "expiry": expiry.isoformat(), "seq": seq, "ts": time.time_ns(),
            "spot": spot, "layout": "columns", "chain": chain, "pcr": {"oi": 0.9},
            **extra}  # fmt: skip
    return encode_document("chain", body)


@dataclass
class Publisher:
    """Writes what the worker writes: summary, snapshot key, and the same bytes on pub/sub."""

    client: aioredis.Redis
    names: BusNames

    async def publish(
        self, symbol: str = "NIFTY", expiry: date = EXPIRY, seq: int = 1, **kw: Any
    ) -> bytes:
        doc = chain_document(symbol, expiry, seq, **kw)
        summary = encode_document(
            "summary",
            {"symbol": symbol, "seq": seq, "ts": time.time_ns(), "spot": 25_000.0, "spot_ts": 1,
             "source": "test", "expiries": [EXPIRY.isoformat(), EXPIRY2.isoformat()]},
        )  # fmt: skip
        pipe = self.client.pipeline(transaction=False)
        pipe.set(self.names.summary_key(symbol), summary)
        pipe.set(self.names.snapshot_key(symbol, expiry), doc)
        pipe.publish(self.names.updates_channel(symbol, expiry), doc)
        await pipe.execute()
        return doc


@dataclass
class Gateway:
    server: GatewayServer
    task: asyncio.Task[None]
    port: int
    settings: GatewaySettings

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def app(self) -> Any:
        return self.server.gateway_app


@pytest.fixture
def publisher(client: aioredis.Redis, names: BusNames) -> Publisher:
    return Publisher(client, names)


@pytest.fixture
async def start_gateway(
    redis_url: str, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., Any]]:
    """``await start_gateway(**settings)``: a gateway serving on a free port until the test ends."""
    monkeypatch.delenv("ANGEL_API_KEY", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    started: list[Gateway] = []

    async def start(**overrides: Any) -> Gateway:
        values: dict[str, Any] = {
            "redis_url": redis_url,
            "fo_namespace": namespace,
            "symbols": "NIFTY,BANKNIFTY",
            "host": "127.0.0.1",
            "port": free_port(),
            "log_level": "WARNING",
        }
        values.update(overrides)
        settings = GatewaySettings(**values)
        app = create_app(settings)
        server = GatewayServer(server_config(app, settings), app)
        task = asyncio.create_task(server.serve())
        deadline = time.monotonic() + 10
        while not server.started:
            if task.done() or time.monotonic() > deadline:
                raise AssertionError("gateway did not start")
            await asyncio.sleep(0.01)
        gw = Gateway(server, task, settings.port, settings)
        started.append(gw)
        return gw

    yield start
    for gw in started:
        gw.server.should_exit = True
        await asyncio.wait_for(gw.task, timeout=10)
