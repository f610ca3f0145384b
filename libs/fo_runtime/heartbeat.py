"""Heartbeats: each instance rewrites a key with a TTL; readers treat a missing key as dead."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from fo_bus.names import BusNames
from fo_runtime.lifecycle import wait_or_stop

log = logging.getLogger(__name__)

INTERVAL_S = 2.0
TTL_S = 10


async def beat_forever(
    client: aioredis.Redis,
    names: BusNames,
    service: str,
    instance: str,
    status: Callable[[], dict[str, Any]],
    stop: asyncio.Event,
) -> None:
    """Write ``{service, instance, ts, **status()}`` every INTERVAL_S until stopped."""
    key = names.health_key(service, instance)
    while True:
        body = {"service": service, "instance": instance, "ts": time.time_ns(), **status()}
        try:
            await client.set(key, orjson.dumps(body, default=str), ex=TTL_S)
        except (RedisError, OSError) as exc:
            log.warning("heartbeat failed", extra={"error": type(exc).__name__})
        if await wait_or_stop(stop, INTERVAL_S):
            break
    with contextlib.suppress(RedisError, OSError):
        await client.delete(key)
