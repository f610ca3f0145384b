"""Worker main loop: hold leases, read ticks, and publish snapshots at most once per interval."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from datetime import date

import redis.asyncio as aioredis
from redis.exceptions import RedisError

import fo_analytics
from fo_analytics.chain import ChainState
from fo_analytics.snapshot import SnapshotContext, chain_snapshots, symbol_summary
from fo_bus import chain as chain_doc
from fo_bus.codec import (
    DecodeError,
    decode_document,
    decode_instruments,
    decode_tick_batch,
    encode_document,
)
from fo_instruments.calendar import expiry_close
from fo_runtime.backoff import delays
from fo_runtime.heartbeat import beat_forever
from fo_runtime.lifecycle import wait_or_stop
from fo_runtime.redis import connect
from fo_worker.chains import OwnedSymbol
from fo_worker.leases import Leases
from fo_worker.publisher import SnapshotPublisher
from fo_worker.settings import WorkerSettings

log = logging.getLogger(__name__)
READ_COUNT = 1_000


class Worker:
    def __init__(self, client: aioredis.Redis, settings: WorkerSettings) -> None:
        self.client = client
        self.settings = settings
        self.names = settings.names
        self.leases = Leases(client, self.names, settings.instance_id, settings.lease_ttl_s)
        self.publisher = SnapshotPublisher(client, self.names, settings.history_maxlen)
        self.owned: dict[str, OwnedSymbol] = {}

    def status(self) -> dict[str, object]:
        return {
            "symbols": {
                s.symbol: {
                    "epoch": s.epoch,
                    "seq": s.seq,
                    "ticks_applied": s.ticks_applied,
                    "bad_entries": s.bad_entries,
                    "unknown_tokens": s.state.unknown_tokens,
                }
                for s in self.owned.values()
            }
        }

    async def refresh_leases(self) -> None:
        """Renew held leases, take free ones, adopt changed instrument sets."""
        for symbol in self.settings.symbol_list:
            epoch = await self.leases.acquire_or_renew(symbol)
            held = self.owned.get(symbol)
            if epoch == 0 or (held and held.epoch != epoch):
                if held:
                    log.warning("lease lost", extra={"symbol": symbol})
                    del self.owned[symbol]
                if epoch == 0:
                    continue
            raw = await self.client.get(self.names.instruments_key(symbol))
            if raw is None:
                continue  # the ingestor has not published this symbol yet
            if symbol not in self.owned:
                self.owned[symbol] = await self._restore(symbol, epoch, raw)
                log.info("symbol acquired", extra={"symbol": symbol, "epoch": epoch})
            elif raw != self.owned[symbol].instruments_raw:
                self.owned[symbol].replace_instruments(decode_instruments(raw), raw)
                log.info("instruments changed", extra={"symbol": symbol})

    async def _restore(self, symbol: str, epoch: int, raw: bytes) -> OwnedSymbol:
        """Start from the last published checkpoint: its legs, sequence and stream id."""
        owned = OwnedSymbol(symbol, epoch, ChainState(decode_instruments(raw)), raw)
        summary_raw = await self.client.get(self.names.summary_key(symbol))
        if summary_raw is None:
            return owned
        try:
            summary = decode_document(summary_raw, "summary")
            owned.seq = int(summary["seq"])
            owned.live_expiries = frozenset(date.fromisoformat(e) for e in summary["expiries"])
            owned.last_id = str(summary["checkpoint"]["last_id"])
            for expiry in summary["expiries"]:
                snap_raw = await self.client.get(
                    self.names.snapshot_key(symbol, date.fromisoformat(expiry))
                )
                if snap_raw is None:
                    continue
                for token, leg in chain_doc.legs(decode_document(snap_raw, "chain")):
                    owned.state.restore_leg(token, leg)
            if summary.get("spot") is not None:
                owned.state.restore_leg(
                    owned.state.instruments.spot_token,
                    {"ltp": summary["spot"], "ts": summary.get("spot_ts")},
                )
        except (DecodeError, KeyError, TypeError, ValueError) as exc:
            log.warning("checkpoint unusable, starting fresh", extra={"error": str(exc)})
            owned.last_id, owned.seq = "0-0", 0
        return owned

    async def read(self, block_ms: int) -> None:
        """One XREAD over every owned stream; apply what arrives."""
        if not self.owned:
            await asyncio.sleep(block_ms / 1000)
            return
        streams = {self.names.ticks_stream(s): o.last_id for s, o in self.owned.items()}
        by_stream = {self.names.ticks_stream(s): o for s, o in self.owned.items()}
        response = await self.client.xread(streams, count=READ_COUNT, block=max(block_ms, 1))
        for stream, entries in response or []:
            owned = by_stream.get(stream.decode())
            if owned is None:
                continue
            for entry_id, fields in entries:
                owned.last_id = entry_id.decode()
                try:
                    ticks = decode_tick_batch(fields)
                except DecodeError as exc:
                    owned.bad_entries += 1
                    log.warning(
                        "bad tick entry skipped", extra={"id": owned.last_id, "error": str(exc)}
                    )
                    continue
                for tick in ticks:
                    owned.state.apply(tick)
                owned.ticks_applied += len(ticks)
                owned.dirty = True

    async def publish_due(self, now_ns: int) -> None:
        for owned in list(self.owned.values()):
            if owned.dirty:
                await self._publish(owned, now_ns)

    async def _publish(self, owned: OwnedSymbol, now_ns: int) -> None:
        if self.settings.clock == "feed":  # replayed data is analysed as of its own time
            now_ns = max((q.ts_event for q in owned.state.quotes.values()), default=0) or now_ns
        live = [e for e in owned.state.expiries() if expiry_close(e).timestamp() * 1e9 > now_ns]
        ctx = SnapshotContext(
            now_ns=now_ns,
            seq=owned.seq + 1,
            rate=self.settings.risk_free_rate,
            iv_model=self.settings.iv_model,
            gex_sign=self.settings.gex_sign,
        )
        snapshots = {
            e: encode_document("chain", doc)
            for e, doc in chain_snapshots(owned.state, live, ctx).items()
        }
        summary_doc = symbol_summary(owned.state, live, ctx, owned.last_id, owned.epoch)
        # Wall-clock publish time: freshness for /health even when CLOCK=feed replays old data.
        summary_doc["published_ts"] = time.time_ns()
        summary = encode_document("summary", summary_doc)
        if await self.publisher.publish(
            owned.symbol, self.leases.value(owned.epoch), summary, snapshots
        ):
            owned.seq, owned.dirty = ctx.seq, False
            await self._retire(owned, frozenset(live))
        else:
            log.warning("lease lost before publish", extra={"symbol": owned.symbol})
            del self.owned[owned.symbol]

    async def _retire(self, owned: OwnedSymbol, live: frozenset[date]) -> None:
        """Delete the snapshot keys of expiries that rolled off since the last publish."""
        retired = owned.live_expiries - live
        if retired:
            await self.client.delete(*(self.names.snapshot_key(owned.symbol, e) for e in retired))
            log.info(
                "expiries rolled off",
                extra={"symbol": owned.symbol, "expiries": sorted(map(str, retired))},
            )
        owned.live_expiries = live

    async def release_all(self) -> None:
        for owned in self.owned.values():
            await self.leases.release(owned.symbol, owned.epoch)
        self.owned.clear()


async def run(settings: WorkerSettings, stop: asyncio.Event) -> None:
    started = time.perf_counter()
    fo_analytics.warm_up()
    log.info("analytics warm", extra={"seconds": round(time.perf_counter() - started, 3)})
    client = await connect(settings.redis_url, stop)
    worker = Worker(client, settings)
    heartbeat = asyncio.create_task(
        beat_forever(client, settings.names, "worker", settings.instance_id, worker.status, stop)
    )
    interval_ns = int(settings.snapshot_interval_s * 1e9)
    renew_ns = int(settings.lease_ttl_s * 1e9 / 3)
    next_publish = next_renew = time.monotonic_ns()
    backoff: Iterator[float] | None = None  # set while Redis is failing
    try:
        while not stop.is_set():
            try:
                if time.monotonic_ns() >= next_renew:
                    await worker.refresh_leases()
                    next_renew = time.monotonic_ns() + renew_ns
                wait_ms = (next_publish - time.monotonic_ns()) // 1_000_000
                if wait_ms > 0:
                    await worker.read(min(wait_ms, 250))
                else:
                    await worker.publish_due(time.time_ns())
                    next_publish = max(next_publish + interval_ns, time.monotonic_ns())
                backoff = None
            except (RedisError, OSError) as exc:
                backoff = backoff or delays(base=0.2, cap=5.0)
                delay = next(backoff)
                log.warning(
                    "redis error, retrying",
                    extra={"error": type(exc).__name__, "retry_in_s": round(delay, 2)},
                )
                await wait_or_stop(stop, delay)
    finally:
        stop.set()
        await heartbeat
        with contextlib.suppress(RedisError, OSError):
            await worker.release_all()
        await client.aclose()
