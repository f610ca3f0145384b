"""Ingestor against a real Redis: instruments published, tick batches appended, clean stop."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from tests.helpers import eventually_async

from fo_bus.codec import decode_instruments, decode_tick_batch
from fo_bus.names import BusNames
from fo_ingestor.service import run
from fo_ingestor.settings import IngestorSettings


async def test_simulator_ticks_reach_the_streams(
    redis_url: str, namespace: str, names: BusNames, client: aioredis.Redis
) -> None:
    settings = IngestorSettings(
        redis_url=redis_url, fo_namespace=namespace, symbols="NIFTY,SENSEX", batch_interval_s=0.05
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, stop))

    async def entries() -> list:
        return await client.xrange(names.ticks_stream("SENSEX"), count=50)

    rows = await eventually_async(entries, timeout=10)
    instruments = decode_instruments(await client.get(names.instruments_key("SENSEX")))
    known = instruments.by_token()
    ticks = [t for _, fields in rows for t in decode_tick_batch(fields)]
    assert ticks and all(t.token in known for t in ticks)
    assert any(t.token == instruments.spot_token for t in ticks)
    assert await client.exists(names.health_key("ingestor", settings.instance_id))
    # NIFTY's ticks go to NIFTY's stream only.
    nifty = await eventually_async(lambda: client.xrange(names.ticks_stream("NIFTY"), count=5))
    nifty_tokens = decode_instruments(await client.get(names.instruments_key("NIFTY"))).by_token()
    assert all(t.token in nifty_tokens for _, f in nifty for t in decode_tick_batch(f))

    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert not await client.exists(names.health_key("ingestor", settings.instance_id))


async def test_instruments_come_back_after_redis_loses_them(
    redis_url: str, namespace: str, names: BusNames, client: aioredis.Redis, monkeypatch
) -> None:
    import fo_ingestor.service as service

    monkeypatch.setattr(service, "INSTRUMENTS_REFRESH_S", 0.2)
    settings = IngestorSettings(
        redis_url=redis_url, fo_namespace=namespace, symbols="NIFTY", batch_interval_s=0.05
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, stop))
    key = names.instruments_key("NIFTY")
    first = await eventually_async(lambda: client.get(key))
    await client.delete(key)  # what a Redis restarted without persistence looks like
    assert await eventually_async(lambda: client.get(key), timeout=5) == first
    stop.set()
    await asyncio.wait_for(task, timeout=5)
