"""Worker against a real Redis, on a hand-made three-strike chain with hand-computed answers."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime

import orjson
import pytest
import redis.asyncio as aioredis
from tests.helpers import eventually_async

from fo_bus.codec import encode_instruments, encode_tick_batch
from fo_bus.names import BusNames
from fo_models import Instrument, InstrumentKind, InstrumentSet, Right, Tick
from fo_worker.service import run
from fo_worker.settings import WorkerSettings

EXPIRY = date(2099, 12, 29)  # far enough that the series is live whenever the test runs
SPOT = "99926009"
STRIKES = (100.0, 110.0, 120.0)


def token(strike: float, right: Right) -> str:
    return f"{int(strike)}{right.value}"


def instruments() -> InstrumentSet:
    legs = [
        Instrument(
            token(k, r),
            "BANKNIFTY",
            InstrumentKind.OPTION,
            "NFO",
            f"BN{int(k)}{r.value}",
            30,
            0.05,
            EXPIRY,
            k,
            r,
        )
        for k in STRIKES
        for r in Right
    ]
    spot = Instrument(SPOT, "BANKNIFTY", InstrumentKind.INDEX, "NSE", "BANKNIFTY")
    return InstrumentSet("BANKNIFTY", SPOT, "test", (spot, *legs))


# OI in shares. By hand, payout at settlement X:
#   X=100: puts above 100 pay: put(110) 0·10 + put(120) 450·20 = 9,000
#   X=110: call(100) 300·10 + put(120) 450·10 = 7,500
#   X=120: call(100) 300·20 + call(110) 900·10 = 15,000
# Max pain 110. PCR(OI) = (600 + 0 + 450) / (300 + 900 + 0) = 0.875. PCR(vol) = 60 / 30 = 2.
OI = {(100.0, Right.CALL): 300, (110.0, Right.CALL): 900, (120.0, Right.CALL): 0,
      (100.0, Right.PUT): 600, (110.0, Right.PUT): 0, (120.0, Right.PUT): 450}  # fmt: skip
VOLUME = {(100.0, Right.CALL): 30, (110.0, Right.PUT): 60}


def seed_ticks() -> list[Tick]:
    ticks = [Tick(SPOT, 1, 1, ltp=111.0)]
    for (k, r), oi in OI.items():
        ticks.append(Tick(token(k, r), 1, 1, ltp=5.0, oi=oi, volume=VOLUME.get((k, r), 0)))
    return ticks


def settings(redis_url: str, namespace: str, instance: str, **extra: str) -> WorkerSettings:
    return WorkerSettings(
        **extra,
        redis_url=redis_url, fo_namespace=namespace, symbols="BANKNIFTY",
        snapshot_interval_s=0.1, lease_ttl_s=2.0, instance_id=instance,
    )  # fmt: skip


async def seed(client: aioredis.Redis, names: BusNames, ticks: list[Tick]) -> None:
    await client.set(names.instruments_key("BANKNIFTY"), encode_instruments(instruments()))
    await client.xadd(names.ticks_stream("BANKNIFTY"), encode_tick_batch(ticks))  # type: ignore[arg-type]


async def latest(client: aioredis.Redis, names: BusNames) -> dict | None:
    raw = await client.get(names.snapshot_key("BANKNIFTY", EXPIRY))
    return orjson.loads(raw) if raw else None


async def test_worker_publishes_hand_checked_pcr_and_max_pain(
    redis_url: str, namespace: str, names: BusNames, client: aioredis.Redis
) -> None:
    await seed(client, names, seed_ticks())
    pubsub = client.pubsub()
    await pubsub.subscribe(names.updates_channel("BANKNIFTY", EXPIRY))
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings(redis_url, namespace, "w1"), stop))
    snap = await eventually_async(lambda: latest(client, names), timeout=15)
    assert snap["pcr"]["oi"] == pytest.approx(0.875)
    assert snap["pcr"]["volume"] == pytest.approx(2.0)
    assert snap["max_pain"]["strike"] == 110.0 and snap["max_pain"]["tied"] == [110.0]
    assert snap["totals"]["ce_oi"] == 1200 and snap["totals"]["pe_oi"] == 1050
    assert snap["spot"] == 111.0

    async def published() -> dict | None:
        msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
        return orjson.loads(msg["data"]) if msg else None

    assert (await eventually_async(published))["symbol"] == "BANKNIFTY"

    # A tick without OI must not erase the OI the chain knows.
    await client.xadd(
        names.ticks_stream("BANKNIFTY"),
        encode_tick_batch([Tick(token(110.0, Right.CALL), 2, 2, ltp=7.5)]),  # type: ignore[arg-type]
    )

    async def updated() -> dict | None:
        s = await latest(client, names)
        return s if s and s["chain"]["CE"]["ltp"][1] == 7.5 else None

    chain = (await eventually_async(updated))["chain"]
    assert chain["strike"][1] == 110.0 and chain["CE"]["oi"][1] == 900
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    await pubsub.aclose()


async def test_a_second_worker_takes_over_from_the_checkpoint(
    redis_url: str, namespace: str, names: BusNames, client: aioredis.Redis
) -> None:
    await seed(client, names, seed_ticks())
    stop1, stop2 = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(run(settings(redis_url, namespace, "w1"), stop1))
    second = asyncio.create_task(run(settings(redis_url, namespace, "w2"), stop2))
    snap = await eventually_async(lambda: latest(client, names), timeout=15)
    owner = (await client.get(names.lease_key("BANKNIFTY"))).decode()
    assert owner.split(":")[0] in {"w1", "w2"}
    # Stop the owner; the other takes the symbol over and continues the sequence.
    (stop1 if owner.startswith("w1:") else stop2).set()
    await asyncio.wait_for(first if owner.startswith("w1:") else second, timeout=5)
    seq_before = (await latest(client, names))["seq"]
    # Empty the stream: the legs can now only come back from the snapshot, not a re-read.
    await client.xtrim(names.ticks_stream("BANKNIFTY"), maxlen=0)
    await client.xadd(
        names.ticks_stream("BANKNIFTY"),
        encode_tick_batch([Tick(SPOT, 3, 3, ltp=112.0)]),  # type: ignore[arg-type]
    )

    async def taken_over() -> dict | None:
        s = await latest(client, names)
        return s if s and s["spot"] == 112.0 else None

    after = await eventually_async(taken_over, timeout=15)
    assert after["seq"] > seq_before >= snap["seq"]
    assert after["pcr"]["oi"] == pytest.approx(0.875)  # OI restored from the checkpoint
    # Every leg came back from the columnar snapshot.
    for side in ("CE", "PE"):
        assert after["chain"][side]["token"] == [token(k, Right(side)) for k in STRIKES]
        assert after["chain"][side]["oi"] == [OI[(k, Right(side))] for k in STRIKES]
        assert after["chain"][side]["ltp"] == [5.0, 5.0, 5.0]
    new_owner = (await client.get(names.lease_key("BANKNIFTY"))).decode()
    assert new_owner.split(":")[0] != owner.split(":")[0]
    assert int(new_owner.split(":")[1]) > int(owner.split(":")[1])  # a newer fencing epoch
    stop1.set()
    stop2.set()
    await asyncio.gather(first, second)


async def test_fenced_publish_writes_nothing_without_the_lease(
    redis_url: str, namespace: str, names: BusNames, client: aioredis.Redis
) -> None:
    from fo_worker.publisher import SnapshotPublisher

    await client.set(names.lease_key("BANKNIFTY"), "other:7")
    publisher = SnapshotPublisher(client, names, 100)
    wrote = await publisher.publish("BANKNIFTY", "me:1", b'{"v":1}', {EXPIRY: b'{"seq":1}'})
    assert wrote is False
    assert await client.get(names.snapshot_key("BANKNIFTY", EXPIRY)) is None
    assert await client.get(names.summary_key("BANKNIFTY")) is None


async def test_malformed_entries_are_counted_and_skipped(
    redis_url: str, namespace: str, names: BusNames, client: aioredis.Redis
) -> None:
    await client.set(names.instruments_key("BANKNIFTY"), encode_instruments(instruments()))
    await client.xadd(names.ticks_stream("BANKNIFTY"), {"v": "1", "d": "{broken"})
    await client.xadd(names.ticks_stream("BANKNIFTY"), encode_tick_batch(seed_ticks()))  # type: ignore[arg-type]
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings(redis_url, namespace, "w1"), stop))
    snap = await eventually_async(lambda: latest(client, names), timeout=15)
    assert snap["pcr"]["oi"] == pytest.approx(0.875)

    async def counted() -> bool:
        raw = await client.get(names.health_key("worker", "w1"))
        return raw is not None and orjson.loads(raw)["symbols"]["BANKNIFTY"]["bad_entries"] == 1

    await eventually_async(counted)
    stop.set()
    await asyncio.wait_for(task, timeout=5)


async def test_the_iv_convention_and_gex_sign_come_from_the_settings(
    redis_url: str, namespace: str, names: BusNames, client: aioredis.Redis
) -> None:
    await seed(client, names, seed_ticks())
    stop = asyncio.Event()
    chosen = settings(redis_url, namespace, "w1", iv_model="nse", gex_sign="dealer_short_all")
    task = asyncio.create_task(run(chosen, stop))
    snap = await eventually_async(lambda: latest(client, names), timeout=15)
    assert snap["model"] == "nse" and snap["model_rate"] == 0.10  # NSE's stated rate
    assert snap["gex"]["sign_convention"] == "dealer_short_all"
    stop.set()
    await asyncio.wait_for(task, timeout=5)


async def test_an_expiry_rolls_off_after_its_close_and_its_key_is_deleted(
    redis_url: str, namespace: str, names: BusNames, client: aioredis.Redis
) -> None:
    near = date(2030, 1, 1)  # 15:30 IST on 1 Jan 2030 is 10:00 UTC
    before = int(datetime(2030, 1, 1, 9, 0, tzinfo=UTC).timestamp() * 1e9)
    after = int(datetime(2030, 1, 1, 10, 1, tzinfo=UTC).timestamp() * 1e9)
    legs = [
        Instrument(
            f"n{int(k)}{r.value}",
            "BANKNIFTY",
            InstrumentKind.OPTION,
            "NFO",
            "x",
            30,
            0.05,
            near,
            k,
            r,
        )
        for k in STRIKES
        for r in Right
    ]
    both = InstrumentSet("BANKNIFTY", SPOT, "test", (*instruments().instruments, *legs))
    await client.set(names.instruments_key("BANKNIFTY"), encode_instruments(both))
    ticks = [Tick(SPOT, before, before, ltp=111.0), Tick("n100CE", before, before, ltp=12.0, oi=30)]
    await client.xadd(names.ticks_stream("BANKNIFTY"), encode_tick_batch(ticks))  # type: ignore[arg-type]
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings(redis_url, namespace, "w1", clock="feed"), stop))
    near_key = names.snapshot_key("BANKNIFTY", near)
    await eventually_async(lambda: client.get(near_key), timeout=15)

    await client.xadd(
        names.ticks_stream("BANKNIFTY"),
        encode_tick_batch([Tick(SPOT, after, after, ltp=112.0)]),  # type: ignore[arg-type]
    )

    async def rolled_off() -> bool:
        summary = await client.get(names.summary_key("BANKNIFTY"))
        listed = orjson.loads(summary)["expiries"] if summary else []
        return listed == [EXPIRY.isoformat()] and not await client.exists(near_key)

    await eventually_async(rolled_off, timeout=15)
    assert await client.exists(names.snapshot_key("BANKNIFTY", EXPIRY))
    summary = orjson.loads(await client.get(names.summary_key("BANKNIFTY")))
    assert summary["ts"] == after  # analysed as of the feed's time …
    assert abs(summary["published_ts"] - time.time_ns()) < 60 * 10**9  # … published now
    stop.set()
    await asyncio.wait_for(task, timeout=5)


async def test_the_worker_rides_out_a_redis_restart(
    tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis dies (losing everything) and comes back on the same port: the worker retries,
    takes the symbol again and publishes what the restarted stream brings."""
    from fo_runtime.redis_server import free_port, start_redis_server

    port = free_port()
    server = start_redis_server(tmp_path / "redis", port=port)
    names = BusNames("outage")
    client = aioredis.Redis.from_url(server.url, socket_connect_timeout=0.5)
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings(server.url, "outage", "w1"), stop))
    try:
        await seed(client, names, seed_ticks())
        await eventually_async(lambda: latest(client, names), timeout=15)
        server.stop()
        await eventually_async(
            lambda: any(r.getMessage() == "redis error, retrying" for r in caplog.records),
            timeout=10,
        )
        assert not task.done(), "the worker must not die with Redis"
        server = start_redis_server(tmp_path / "redis", port=port)
        await client.aclose()
        client = aioredis.Redis.from_url(server.url)  # the old connection died with the server
        await seed(client, names, [*seed_ticks(), Tick(SPOT, 4, 4, ltp=115.0)])

        async def back() -> dict | None:
            s = await latest(client, names)
            return s if s and s["spot"] == 115.0 else None

        snap = await eventually_async(back, timeout=15)
        assert snap["pcr"]["oi"] == pytest.approx(0.875)  # the hand-computed chain again
        retries = [r for r in caplog.records if r.getMessage() == "redis error, retrying"]
        assert all(r.retry_in_s <= 5.0 for r in retries)  # backoff capped
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
        await client.aclose()
        server.stop()
