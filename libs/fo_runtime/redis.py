"""The one place a Redis client is built, and connecting with retry and backoff."""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from fo_runtime.backoff import delays

log = logging.getLogger(__name__)

# Longest XREAD/BLOCK any service issues, in ms; socket_timeout must exceed it (redis-py 8.1).
MAX_BLOCK_MS = 1_000


def make_client(url: str) -> aioredis.Redis:
    """A client with bytes responses, timeouts above the longest BLOCK, and keepalive."""
    return aioredis.Redis.from_url(
        url,
        decode_responses=False,
        socket_timeout=MAX_BLOCK_MS / 1000 + 5,
        socket_connect_timeout=5,
        socket_keepalive=True,
        health_check_interval=30,
    )


def redacted(url: str) -> str:
    """The URL without its password, for logs."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


async def connect(url: str, stop: asyncio.Event | None = None) -> aioredis.Redis:
    """Connect and PING, retrying with backoff until it answers or ``stop`` is set."""
    client = make_client(url)
    for attempt, delay in enumerate(delays(base=0.2, cap=5.0), start=1):
        try:
            await client.ping()
            if attempt > 1:
                log.info("redis reachable", extra={"redis": redacted(url), "attempts": attempt})
            return client
        except (RedisError, OSError) as exc:
            log.warning(
                "redis unreachable, retrying",
                extra={"redis": redacted(url), "attempt": attempt, "error": type(exc).__name__},
            )
            if stop is not None and stop.is_set():
                break
            await asyncio.sleep(delay)
    await client.aclose()
    raise ConnectionError(f"redis at {redacted(url)} unreachable")
