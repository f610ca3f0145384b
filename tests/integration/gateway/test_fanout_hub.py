"""The fan-out hub's pub/sub pump on a real Redis, at the moments where awaits interleave."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from tests.helpers import eventually_async
from tests.integration.gateway.conftest import EXPIRY, EXPIRY2, Publisher

from fo_bus.names import BusNames
from fo_gateway.fanout import Client, Hub

OLD, NEW = ("NIFTY", EXPIRY), ("NIFTY", EXPIRY2)


@pytest.fixture
async def hub(client: aioredis.Redis, names: BusNames) -> AsyncIterator[Hub]:
    hub = Hub(client, names)
    await hub.start()
    yield hub
    await hub.stop()


async def test_a_topic_dropped_while_the_pump_subscribes_to_it_keeps_the_pump_alive(
    hub: Hub, client: aioredis.Redis, names: BusNames, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client switches topics while the pump awaits SUBSCRIBE for the one it leaves (a
    dashboard flicking through expiries). The pump must carry on and serve the new topic."""
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    dashboard = Client(hub, send, send, abort=lambda: None)
    hub.register(dashboard)
    writer = asyncio.create_task(dashboard.run(close=lambda code, reason: asyncio.sleep(0)))
    real_subscribe = PubSub.subscribe
    old_channel = names.updates_channel(*OLD).encode()

    async def subscribe_then_switch(self: PubSub, *channels: Any, **kw: Any) -> None:
        await real_subscribe(self, *channels, **kw)
        if old_channel in channels:  # the dashboard moves on during this await
            hub.unsubscribe(dashboard, OLD)
            hub.subscribe(dashboard, NEW)

    monkeypatch.setattr(PubSub, "subscribe", subscribe_then_switch)
    hub.subscribe(dashboard, OLD)
    publisher = Publisher(client, names)

    seqs = iter(range(1, 1000))

    async def new_topic_served() -> bool:
        await publisher.publish(expiry=EXPIRY2, seq=next(seqs))
        return bool(sent)

    await eventually_async(new_topic_served, timeout=5)
    assert [orjson.loads(t.encode())["expiry"] for t in sent[:1]] == [EXPIRY2.isoformat()]
    assert hub.connected and hub.reconnects == 0, "the pump failed and had to start over"
    assert dashboard.topics == {NEW}
    dashboard.request_close(1000, "bye")
    await asyncio.wait_for(writer, 2)
    hub.unregister(dashboard)
