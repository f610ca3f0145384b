"""The feed seam: every source yields instrument sets once, then batches of canonical ticks."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Protocol

from fo_feeds.player import schedule
from fo_feeds.simulator import MarketSimulator, SimulatorConfig
from fo_feeds.tape import load_tape
from fo_ingestor.settings import IngestorSettings
from fo_models import InstrumentSet, Tick
from fo_runtime.lifecycle import wait_or_stop

log = logging.getLogger(__name__)


class Feed(Protocol):
    name: str

    def instrument_sets(self) -> list[InstrumentSet]: ...

    def batches(self, stop: asyncio.Event) -> AsyncIterator[list[Tick]]: ...


class SimulatorFeed:
    """The market simulator driven by the wall clock, one step per batch interval."""

    name = "simulator"

    def __init__(self, settings: IngestorSettings) -> None:
        config = SimulatorConfig(
            seed=settings.sim_seed,
            expiries=settings.sim_expiries,
            strikes_each_side=settings.sim_strikes,
            market_hours_only=settings.sim_market_hours_only,
            holidays=tuple(settings.holiday_list),
        )
        self.interval = settings.batch_interval_s
        self.sim = MarketSimulator(settings.symbol_list, time.time_ns(), config)

    def instrument_sets(self) -> list[InstrumentSet]:
        return self.sim.instrument_sets()

    async def batches(self, stop: asyncio.Event) -> AsyncIterator[list[Tick]]:
        while not await wait_or_stop(stop, self.interval):
            yield self.sim.step(time.time_ns())


class ReplayFeed:
    """A tape played with its original timestamps: at its pace × ``REPLAY_SPEED`` (0 = as fast
    as possible; gaps over 10 s are shortened to 10 s), optionally looping. After the end the
    feed idles (the data stays on the bus) until the service is stopped. The tape is read and
    validated in full before anything is published, so a bad tape writes nothing."""

    name = "replay"
    FAST_GROUP_TICKS = 5_000  # ticks per yielded batch when playing as fast as possible

    def __init__(self, settings: IngestorSettings) -> None:
        if settings.tape is None:
            raise FeedUnavailable("FEED=replay needs TAPE=<path of a .tape.gz file>")
        self.tape = load_tape(settings.tape)
        self.path = settings.tape
        self.speed = settings.replay_speed
        self.loop = settings.replay_loop
        self.interval = settings.batch_interval_s
        wanted = set(settings.symbol_list)
        self.sets = [s for s in self.tape.header.instrument_sets if s.symbol in wanted]
        tokens = {i.token for s in self.sets for i in s.instruments} | {
            s.spot_token for s in self.sets
        }
        self.batch_list: list[tuple[int, list[Tick]]] = [
            (b.t, [Tick.from_wire(w) for w in b.ticks if w["token"] in tokens])
            for b in self.tape.batches
        ]
        self.rounds = 0

    def instrument_sets(self) -> list[InstrumentSet]:
        return list(self.sets)

    async def batches(self, stop: asyncio.Event) -> AsyncIterator[list[Tick]]:
        while not stop.is_set():
            async for group in self._one_round(stop):
                yield group
            self.rounds += 1
            log.info("tape finished", extra={"tape": str(self.path), "round": self.rounds})
            if not self.loop:
                break
            await asyncio.sleep(0)
        await stop.wait()  # keep the service up: the replayed state stays served

    async def _one_round(self, stop: asyncio.Event) -> AsyncIterator[list[Tick]]:
        batches = self.batch_list
        if not batches:
            return
        if not self.speed:
            group: list[Tick] = []
            for _, ticks in batches:
                group.extend(ticks)
                if len(group) >= self.FAST_GROUP_TICKS:
                    yield group
                    group = []
                    if stop.is_set():
                        return
            if group:
                yield group
            return
        due = schedule([t for t, _ in batches], self.speed)
        wall0 = time.monotonic()
        i = 0
        while i < len(batches):
            wait = wall0 + due[i] - time.monotonic()
            if wait > 0 and await wait_or_stop(stop, min(wait, self.interval)):
                return
            if wait > 0:
                continue
            elapsed = time.monotonic() - wall0
            group = list(batches[i][1])
            i += 1
            while i < len(batches) and due[i] <= elapsed:
                group.extend(batches[i][1])
                i += 1
            yield group


class FeedUnavailable(RuntimeError):
    """The selected feed cannot run with the given settings."""


def make_feed(settings: IngestorSettings) -> Feed:
    if settings.feed == "simulator":
        return SimulatorFeed(settings)
    if settings.feed == "replay":
        return ReplayFeed(settings)
    if settings.feed == "angel":
        from fo_ingestor.angel.feed import AngelFeed  # lazy: Angel code only for FEED=angel

        return AngelFeed(settings)
    raise FeedUnavailable(
        f"FEED={settings.feed} is not available yet; use FEED=simulator or FEED=replay"
    )
