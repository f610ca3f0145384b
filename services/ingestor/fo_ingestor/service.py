"""Ingestor main loop: publish instruments, then pump feed batches into the tick streams."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from fo_ingestor.feeds import Feed, make_feed
from fo_ingestor.publisher import TickPublisher
from fo_ingestor.settings import IngestorSettings
from fo_runtime.backoff import delays
from fo_runtime.heartbeat import beat_forever
from fo_runtime.lifecycle import wait_or_stop
from fo_runtime.redis import connect

log = logging.getLogger(__name__)
INSTRUMENTS_REFRESH_S = 15.0  # how soon a Redis that lost its data has the instruments again


async def run(settings: IngestorSettings, stop: asyncio.Event, feed: Feed | None = None) -> None:
    feed = feed or make_feed(settings)
    client = await connect(settings.redis_url, stop)
    publisher = TickPublisher(client, settings.names, settings.stream_maxlen)
    last_batch_ns = 0

    def status() -> dict[str, object]:
        return {
            "feed": feed.name,
            "symbols": settings.symbol_list,
            "ticks_published": publisher.published,
            "ticks_unrouted": publisher.unrouted,
            "last_batch_ts": last_batch_ns,
            **(feed.status() if hasattr(feed, "status") else {}),
        }

    heartbeat = asyncio.create_task(
        beat_forever(client, settings.names, "ingestor", settings.instance_id, status, stop)
    )
    try:
        start = getattr(feed, "start", None)  # a broker feed logs in and picks contracts first
        if start is not None:
            await start(client, stop, publisher.publish_instruments)
        else:
            await publisher.publish_instruments(feed.instrument_sets())
        log.info("instruments published", extra={"feed": feed.name, "symbols": settings.symbols})
        refreshed = time.monotonic()
        async for batch in feed.batches(stop):
            await _publish_with_retry(publisher, batch, stop)
            last_batch_ns = time.time_ns()
            if time.monotonic() - refreshed > INSTRUMENTS_REFRESH_S:
                await _with_retry(publisher.republish_instruments, stop)
                refreshed = time.monotonic()
    finally:
        stop.set()
        await heartbeat
        await client.aclose()


async def _publish_with_retry(publisher: TickPublisher, batch: list, stop: asyncio.Event) -> None:
    """Write one batch; on a Redis error back off and retry, so no batch is dropped silently."""
    await _with_retry(lambda: publisher.publish(batch), stop)


async def _with_retry(write: Callable[[], Awaitable[object]], stop: asyncio.Event) -> None:
    """Run a Redis write until it succeeds or the service stops, backing off between tries."""
    for delay in delays(base=0.1, cap=5.0):
        try:
            await write()
            return
        except (RedisError, OSError) as exc:
            log.warning("redis write failed, retrying", extra={"error": type(exc).__name__})
            if await wait_or_stop(stop, delay):
                return
