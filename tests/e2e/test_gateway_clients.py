"""Hundreds of clients, half of them vanishing without a close frame, and Redis restarting.

The gateway runs as its own process; the tests read its /metrics, its RSS and its log.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

import pytest
import redis.asyncio as aioredis

from fo_bus.names import BusNames
from fo_runtime.redis_server import free_port, start_redis_server
from tests.integration.gateway.support import (
    Feed,
    Reader,
    clean_log,
    close_readers,
    gateway_process,
    metric,
    metrics,
    open_readers,
    rss_mb,
)

pytestmark = pytest.mark.e2e
CLIENTS = 500


async def feed_forever(feed: Feed, rate_hz: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await feed.publish()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1 / rate_hz)


async def until(check, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


def abort(reader: Reader) -> None:
    """Vanish: RST the TCP connection, no close frame (a phone losing signal, a killed tab)."""
    sock = reader.conn.transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    reader.conn.transport.abort()


async def abrupt_scenario(redis_url: str, namespace: str, log_dir) -> None:  # type: ignore[no-untyped-def]
    stack = gateway_process(redis_url, namespace, log_dir, LOG_LEVEL="WARNING")
    client = aioredis.Redis.from_url(redis_url)
    feed = Feed(client, BusNames(namespace), pad=2000)
    await feed.publish()
    stop = asyncio.Event()
    publishing = asyncio.create_task(feed_forever(feed, 20, stop))
    url = f"{stack.ws_url}/ws/NIFTY"
    readers = await open_readers(url, CLIENTS)
    gauge = lambda: metric(metrics(stack), "ws_connections_active")  # noqa: E731
    try:
        await until(lambda: gauge() == CLIENTS and all(r.received for r in readers))
        rss: list[float] = []
        for _cycle in range(3):
            half, readers = readers[: CLIENTS // 2], readers[CLIENTS // 2 :]
            for r in half:
                abort(r)
            await until(lambda: gauge() == CLIENTS // 2)
            await close_readers(half)
            rss.append(rss_mb(stack))
            readers += await open_readers(url, CLIENTS // 2)
            await until(lambda: gauge() == CLIENTS)
        start = time.monotonic()
        await until(lambda: all(r.last_at > start for r in readers))  # everyone still served
        assert all(r.closed is None for r in readers)
        assert rss[-1] - rss[0] < 15, rss  # no growth across cycles of 250 vanishing clients
        clean_log(stack)  # no exception escaped
    finally:
        stop.set()
        await publishing
        await close_readers(readers)
        await client.aclose()
        stack.terminate()
    assert metric(metrics_or_empty(stack), "ws_connections_active") == 0


def metrics_or_empty(stack) -> str:  # type: ignore[no-untyped-def]
    try:
        return metrics(stack)
    except OSError:
        return ""


def test_half_of_500_clients_vanish_abruptly(redis_url: str, namespace: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(abrupt_scenario(redis_url, namespace, tmp_path / "logs"))


async def restart_scenario(tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    server = start_redis_server(tmp_path / "redis", port=port)
    stack = gateway_process(server.url, "rr", tmp_path / "logs", LOG_LEVEL="INFO")
    client = aioredis.Redis.from_url(server.url, socket_connect_timeout=0.5)
    feed = Feed(client, BusNames("rr"))
    await feed.publish()
    stop = asyncio.Event()
    publishing = asyncio.create_task(feed_forever(feed, 10, stop))
    readers = await open_readers(f"{stack.ws_url}/ws/NIFTY", 5)
    try:
        await until(lambda: all(r.received for r in readers))
        server.stop()
        await asyncio.sleep(1.0)  # streaming stops; the gateway keeps retrying
        server = start_redis_server(tmp_path / "redis", port=port)
        back = time.monotonic()
        feed.seq = 0  # the restarted Redis lost everything: the pipeline counts from 1 again
        await until(lambda: all(r.last_at > back for r in readers), timeout=5.0)
        latency = max(r.last_at for r in readers) - back
        assert all(r.closed is None for r in readers), "clients keep their sockets"
        assert metric(metrics(stack), "redis_pubsub_reconnects_total") >= 1
        assert latency < 5.0

        # SIGTERM: every client gets 1001 (going away), the process exits 0 in time.
        results = stack.terminate(timeout=5.0)
        await until(lambda: all(r.closed is not None for r in readers), timeout=5.0)
        assert {r.closed for r in readers} == {1001}
        assert results["fo_gateway"][0] == 0 and results["fo_gateway"][1] < 5.0, results
        clean_log(stack)
    finally:
        stop.set()
        await publishing
        await close_readers(readers)
        await client.aclose()
        stack.kill()
        server.stop()


def test_redis_restart_during_streaming_keeps_clients(tmp_path) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(restart_scenario(tmp_path))
