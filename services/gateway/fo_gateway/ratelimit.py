"""Rate limits per client address: fixed windows in Redis, in process while Redis is away.

Counters live in Redis so that every gateway replica shares them. A Redis error or a reply
slower than ``REDIS_TIMEOUT_S`` never fails the request: the limiter counts in process for
``FALLBACK_S`` and then tries Redis again (so a blip loosens limits to per replica, it never
turns a request, let alone ``/health``, into a 500).
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from fo_bus.names import BusNames

log = logging.getLogger(__name__)

PERIODS = {"second": 1, "minute": 60, "hour": 3600}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour)\s*$")
REDIS_TIMEOUT_S = 0.25
FALLBACK_S = 5.0
MAX_LOCAL_KEYS = 50_000


@dataclass(frozen=True, slots=True)
class Rate:
    limit: int
    period_s: int

    def __str__(self) -> str:
        unit = {v: k for k, v in PERIODS.items()}[self.period_s]
        return f"{self.limit}/{unit}"


def parse_rate(text: str) -> Rate:
    """``"10/minute"`` → Rate(10, 60); raises ValueError naming the accepted form."""
    match = _RATE.match(text)
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"{text!r} is not a rate like '10/minute' (N ≥ 1 per second|minute|hour)")
    return Rate(int(match.group(1)), PERIODS[match.group(2)])


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after_s: int
    shared: bool  # counted in Redis (True) or in this process (False)


class RateLimiter:
    def __init__(self, client: aioredis.Redis, names: BusNames) -> None:
        self.client = client
        self.names = names
        self._local: dict[tuple[str, str], tuple[int, int]] = {}
        self._redis_after = 0.0  # loop time before which Redis is not tried again
        self.redis_errors = 0

    def key(self, bucket: str, who: str, window: int) -> str:
        return self.names.ratelimit_key(bucket, who, window)

    async def hit(self, bucket: str, who: str, rate: Rate, now: float) -> Decision:
        """Count one request of ``who`` against ``rate`` at wall time ``now``."""
        window = int(now // rate.period_s)
        retry = max(1, math.ceil((window + 1) * rate.period_s - now))
        count, shared = await self._count(bucket, who, window, rate.period_s)
        allowed = count <= rate.limit
        remaining = max(0, rate.limit - count)
        return Decision(allowed, rate.limit, remaining, 0 if allowed else retry, shared)

    async def _count(self, bucket: str, who: str, window: int, period_s: int) -> tuple[int, bool]:
        loop = asyncio.get_running_loop()
        if loop.time() >= self._redis_after:
            key = self.key(bucket, who, window)
            try:
                async with asyncio.timeout(REDIS_TIMEOUT_S):
                    pipe = self.client.pipeline(transaction=False)
                    pipe.incr(key)
                    pipe.expire(key, period_s + 1)
                    count, _ = await pipe.execute()
                return int(count), True
            except (RedisError, OSError, TimeoutError) as exc:
                self.redis_errors += 1
                self._redis_after = loop.time() + FALLBACK_S
                log.warning(
                    "rate limiter: redis unavailable, counting in process",
                    extra={"error": type(exc).__name__, "fallback_s": FALLBACK_S},
                )
        return self._count_locally(bucket, who, window), False

    def _count_locally(self, bucket: str, who: str, window: int) -> int:
        slot = (bucket, who)
        seen_window, count = self._local.get(slot, (window, 0))
        count = count + 1 if seen_window == window else 1
        if slot not in self._local and len(self._local) >= MAX_LOCAL_KEYS:
            self._local.clear()  # a flood of distinct addresses: forget the old windows
        self._local[slot] = (window, count)
        return count
