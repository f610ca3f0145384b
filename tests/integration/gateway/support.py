"""Helpers for gateway tests that run the gateway as its own process (tests/e2e/test_gateway_*)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import statistics
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import psutil
import redis.asyncio as aioredis
from redis.exceptions import RedisError
from tests.e2e.stack import Stack
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from fo_bus.codec import encode_document, peek_ts
from fo_bus.names import BusNames

EXPIRY = date(2099, 12, 29)


def gateway_process(redis_url: str, namespace: str, log_dir: Path, **env: str) -> Stack:
    base = {"SYMBOLS": "NIFTY", "WS_MAX_CONNECTIONS_PER_IP": "0", "LOG_LEVEL": "INFO"}
    return Stack(redis_url, namespace, log_dir, base | env, services=("fo_gateway",)).start()


def rss_mb(stack: Stack) -> float:
    return psutil.Process(stack.processes["fo_gateway"].pid).memory_info().rss / 2**20


def metrics(stack: Stack) -> str:
    with urllib.request.urlopen(f"{stack.base_url}/metrics", timeout=5) as resp:
        return resp.read().decode()


def metric(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def clean_log(stack: Stack) -> str:
    """The gateway's log, asserted free of tracebacks and errors."""
    text = (stack.log_dir / "fo_gateway.log").read_text(errors="replace")
    assert "Traceback" not in text and '"level":"ERROR"' not in text, text[-4000:]
    return text


@dataclass
class Feed:
    """Publishes chain documents the way the worker does (SET + PUBLISH), ts = publish time."""

    client: aioredis.Redis
    names: BusNames
    symbol: str = "NIFTY"
    pad: int = 0
    seq: int = 0
    errors: int = 0

    def document(self) -> bytes:
        body = {"symbol": self.symbol, "expiry": EXPIRY.isoformat(), "seq": self.seq,
                "ts": time.time_ns(), "layout": "columns", "chain": {"strike": []},
                "pad": "x" * self.pad}  # fmt: skip
        return encode_document("chain", body)

    async def publish(self) -> bool:
        self.seq += 1
        doc = self.document()
        summary = {"symbol": self.symbol, "seq": self.seq, "ts": time.time_ns(), "spot": 1.0,
                   "spot_ts": 1, "source": "test", "expiries": [EXPIRY.isoformat()]}  # fmt: skip
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.set(self.names.summary_key(self.symbol), encode_document("summary", summary))
            pipe.set(self.names.snapshot_key(self.symbol, EXPIRY), doc)
            pipe.publish(self.names.updates_channel(self.symbol, EXPIRY), doc)
            await pipe.execute()
        except (RedisError, OSError):
            self.errors += 1
            return False
        return True

    async def run(self, count: int, rate_hz: float) -> None:
        """Publish ``count`` documents at ``rate_hz`` (in ticks of 10 ms)."""
        start = time.monotonic()
        for i in range(count):
            due = start + i / rate_hz
            delay = due - time.monotonic()
            if delay > 0.002:
                await asyncio.sleep(delay)
            await self.publish()


@dataclass
class Reader:
    """A client that reads everything and records publish-to-receipt latency."""

    conn: ClientConnection
    latencies: list[float] = field(default_factory=list)
    received: int = 0
    last_at: float = 0.0
    closed: int | None = None
    task: asyncio.Task[None] | None = None

    async def loop(self) -> None:
        try:
            async for message in self.conn:
                now = time.time_ns()
                data = message.encode() if isinstance(message, str) else message
                ts = peek_ts(data)
                if b'"type":"chain"' in data[:40] and ts:
                    self.latencies.append((now - ts) / 1e6)
                    self.received += 1
                    self.last_at = time.monotonic()
        except ConnectionClosed as exc:
            self.closed = exc.rcvd.code if exc.rcvd else 1006
        else:
            self.closed = self.conn.close_code

    def start(self) -> Reader:
        self.task = asyncio.create_task(self.loop())
        return self

    def reset(self) -> None:
        self.latencies.clear()


async def open_readers(url: str, count: int, batch: int = 50) -> list[Reader]:
    readers: list[Reader] = []
    for first in range(0, count, batch):
        conns = await asyncio.gather(
            *(
                connect(f"{url}/c{first + i}", compression=None, max_size=None, open_timeout=20)
                for i in range(min(batch, count - first))
            )
        )
        readers += [Reader(c).start() for c in conns]
    return readers


async def close_readers(readers: list[Reader]) -> None:
    for r in readers:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(r.conn.close(), 2)
        if r.task:
            r.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await r.task


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50": statistics.median(values), "p90": percentile(values, 0.9)}
