"""Writes instrument sets and tick batches to the bus: one stream entry per symbol per batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import redis.asyncio as aioredis

from fo_bus.codec import encode_instruments, encode_tick_batch
from fo_bus.names import BusNames
from fo_models import InstrumentSet, Tick


class TickPublisher:
    def __init__(self, client: aioredis.Redis, names: BusNames, maxlen: int) -> None:
        self.client = client
        self.names = names
        self.maxlen = maxlen
        self.symbol_of: dict[str, str] = {}
        self.instruments: dict[str, bytes] = {}  # symbol → encoded set, as last published
        self.published = 0
        self.unrouted = 0

    async def publish_instruments(self, sets: Iterable[InstrumentSet]) -> None:
        for inst_set in sets:
            for inst in inst_set.instruments:
                self.symbol_of[inst.token] = inst_set.symbol
            self.instruments[inst_set.symbol] = encode_instruments(inst_set)
        await self.republish_instruments()

    async def republish_instruments(self) -> None:
        """Write the followed instruments again (a Redis that restarted empty gets them back)."""
        async with self.client.pipeline(transaction=False) as pipe:
            for symbol, raw in self.instruments.items():
                pipe.set(self.names.instruments_key(symbol), raw)
            await pipe.execute()

    async def publish(self, ticks: Iterable[Tick]) -> int:
        """Append the batch (grouped by symbol) in one round trip; returns ticks written."""
        groups: dict[str, list[Tick]] = defaultdict(list)
        for tick in ticks:
            symbol = self.symbol_of.get(tick.token)
            if symbol is None:
                self.unrouted += 1
                continue
            groups[symbol].append(tick)
        if not groups:
            return 0
        async with self.client.pipeline(transaction=False) as pipe:
            for symbol, batch in groups.items():
                pipe.xadd(
                    self.names.ticks_stream(symbol),
                    encode_tick_batch(batch),  # type: ignore[arg-type]
                    maxlen=self.maxlen,
                    approximate=True,
                )
            await pipe.execute()
        written = sum(len(b) for b in groups.values())
        self.published += written
        return written
