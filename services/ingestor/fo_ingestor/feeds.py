"""The feed seam: every source yields instrument sets once, then batches of canonical ticks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Protocol

from fo_feeds.simulator import MarketSimulator, SimulatorConfig
from fo_ingestor.settings import IngestorSettings
from fo_models import InstrumentSet, Tick
from fo_runtime.lifecycle import wait_or_stop


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
        )
        self.interval = settings.batch_interval_s
        self.sim = MarketSimulator(settings.symbol_list, time.time_ns(), config)

    def instrument_sets(self) -> list[InstrumentSet]:
        return self.sim.instrument_sets()

    async def batches(self, stop: asyncio.Event) -> AsyncIterator[list[Tick]]:
        while not await wait_or_stop(stop, self.interval):
            yield self.sim.step(time.time_ns())


class FeedUnavailable(RuntimeError):
    """The selected feed cannot run with the given settings."""


def make_feed(settings: IngestorSettings) -> Feed:
    if settings.feed == "simulator":
        return SimulatorFeed(settings)
    raise FeedUnavailable(f"FEED={settings.feed} is not available yet; use FEED=simulator")
