"""A client that stops reading while 10,000 updates are published does not hurt the others.

Gateway as its own process; five reading clients measure publish-to-receipt latency first
without, then with a client that never reads (a tiny receive buffer, so its socket backs up
quickly). Their latency stays within 2x, the gateway's memory stays bounded, and the slow
client is dropped after WS_SEND_TIMEOUT_S and counted.
"""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import connect

from fo_bus.names import BusNames
from tests.integration.gateway.support import (
    Feed,
    clean_log,
    close_readers,
    gateway_process,
    metric,
    metrics,
    open_readers,
    rss_mb,
    summary,
)

pytestmark = pytest.mark.e2e
READERS = 5
RATE_HZ = 1000
PAD = 4000  # ~4 KB documents: the stuck socket fills its buffers within a couple of seconds
SLACK_MS = 1.0  # timer granularity on a loaded machine; latencies here are a few ms


async def scenario(redis_url: str, namespace: str, log_dir) -> None:  # type: ignore[no-untyped-def]
    stack = gateway_process(redis_url, namespace, log_dir, WS_SEND_TIMEOUT_S="2")
    client = aioredis.Redis.from_url(redis_url)
    feed = Feed(client, BusNames(namespace), pad=PAD)
    await feed.publish()
    readers = await open_readers(f"{stack.ws_url}/ws/NIFTY", READERS)
    try:
        await feed.run(300, RATE_HZ)  # warm-up
        for r in readers:
            r.reset()
        await feed.run(2_000, RATE_HZ)
        await asyncio.sleep(0.2)
        baseline = summary([x for r in readers for x in r.latencies])

        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", stack.port))
        slow = await connect(
            f"{stack.ws_url}/ws/NIFTY/slow", sock=sock, max_queue=1, compression=None
        )  # …and never reads
        rss_before = rss_mb(stack)
        for r in readers:
            r.reset()
        started = time.monotonic()
        await feed.run(10_000, RATE_HZ)
        elapsed = time.monotonic() - started
        await asyncio.sleep(0.2)
        loaded = summary([x for r in readers for x in r.latencies])
        rss_after = rss_mb(stack)
        text = metrics(stack)

        assert feed.errors == 0 and elapsed < 30
        assert all(r.closed is None for r in readers), "reading clients keep their sockets"
        assert loaded["n"] >= 0.9 * READERS * 10_000, loaded  # conflation drops little here
        assert loaded["p50"] <= 2 * baseline["p50"] + SLACK_MS, (baseline, loaded)
        assert loaded["p90"] <= 2 * baseline["p90"] + SLACK_MS, (baseline, loaded)
        assert rss_after - rss_before < 25, (rss_before, rss_after)
        assert metric(text, "ws_slow_client_disconnects_total") == 1, text
        assert metric(text, "ws_connections_active") == READERS
        with pytest.raises(Exception):  # noqa: B017 - reset by the server: any error
            async with asyncio.timeout(10):
                while True:
                    await slow.recv()
        clean_log(stack)
    finally:
        await close_readers(readers)
        await client.aclose()
        stack.terminate()


def test_a_client_that_stops_reading_is_dropped_without_slowing_the_others(
    redis_url: str, namespace: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(scenario(redis_url, namespace, tmp_path / "logs"))
