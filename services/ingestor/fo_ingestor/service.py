"""Ingestor main loop: publish instruments, then pump feed batches into the tick streams."""

from __future__ import annotations

import asyncio
import logging
import time

from redis.exceptions import RedisError

from fo_ingestor.feeds import Feed, make_feed
from fo_ingestor.publisher import TickPublisher
from fo_ingestor.settings import IngestorSettings
from fo_runtime.backoff import delays
from fo_runtime.heartbeat import beat_forever
from fo_runtime.lifecycle import wait_or_stop
from fo_runtime.redis import connect

log = logging.getLogger(__name__)


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
        async for batch in feed.batches(stop):
            await _publish_with_retry(publisher, batch, stop)
            last_batch_ns = time.time_ns()
    finally:
        stop.set()
        await heartbeat
        await client.aclose()


async def _publish_with_retry(publisher: TickPublisher, batch: list, stop: asyncio.Event) -> None:
    """Write one batch; on a Redis error back off and retry, so no batch is dropped silently."""
    for delay in delays(base=0.1, cap=5.0):
        try:
            await publisher.publish(batch)
            return
        except (RedisError, OSError) as exc:
            log.warning("tick write failed, retrying", extra={"error": type(exc).__name__})
            if await wait_or_stop(stop, delay):
                return
