"""WebSocket fan-out: one Redis pub/sub connection per process, conflating per-client slots.

Each topic (symbol, expiry) is subscribed once, on the first local client, and dropped on
the last. Every message reaches each subscriber's one-message slot (newest wins), so a slow
client only ever holds one pending snapshot and never delays the others. Pub/sub loses
messages while reconnecting: after every (re)subscribe the latest snapshot key is re-read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import date

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from fo_bus.codec import DecodeError, peek_seq
from fo_bus.names import BusNames
from fo_runtime.backoff import delays

log = logging.getLogger(__name__)
Topic = tuple[str, date]


@dataclass(eq=False)
class Subscriber:
    """One client's view of one topic: the newest undelivered message, and the last seq sent."""

    topic: Topic
    latest: str | None = None
    last_seq: int = -1
    dropped: int = 0
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, seq: int, message: str) -> None:
        if seq <= self.last_seq:
            return  # already delivered (the resync read and pub/sub can overlap)
        if self.latest is not None:
            self.dropped += 1
        self.latest, self.last_seq = message, seq
        self._ready.set()

    async def next(self) -> str:
        await self._ready.wait()
        self._ready.clear()
        message, self.latest = self.latest, None
        assert message is not None
        return message


class Hub:
    def __init__(self, client: aioredis.Redis, names: BusNames) -> None:
        self.client = client
        self.names = names
        self.topics: dict[Topic, set[Subscriber]] = {}
        self._by_channel: dict[str, Topic] = {}
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.connected = False
        self.reconnects = 0
        self.received = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="fanout-hub")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def subscribe(self, topic: Topic) -> Subscriber:
        sub = Subscriber(topic)
        if topic not in self.topics:
            self.topics[topic] = set()
            self._by_channel[self.names.updates_channel(*topic)] = topic
            self._changed.set()
        self.topics[topic].add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        subs = self.topics.get(sub.topic)
        if subs is None:
            return
        subs.discard(sub)
        if not subs:
            del self.topics[sub.topic]
            del self._by_channel[self.names.updates_channel(*sub.topic)]
            self._changed.set()

    def deliver(self, topic: Topic, data: bytes) -> None:
        try:
            seq = peek_seq(data)
        except (DecodeError, ValueError):
            log.warning("undecodable snapshot ignored", extra={"topic": str(topic)})
            return
        message = data.decode()
        for sub in list(self.topics.get(topic, ())):
            sub.offer(seq, message)

    async def resync(self, topics: list[Topic]) -> None:
        """Deliver the stored snapshot of each topic (after connect or for a new client)."""
        for topic in topics:
            data = await self.client.get(self.names.snapshot_key(*topic))
            if data is not None:
                self.deliver(topic, data)

    async def _run(self) -> None:
        backoff = delays(base=0.2, cap=5.0)
        while True:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                await self._pump(pubsub)
            except (RedisError, OSError) as exc:
                self.connected = False
                self.reconnects += 1
                log.warning("pub/sub lost, reconnecting", extra={"error": type(exc).__name__})
                await asyncio.sleep(next(backoff))
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()

    async def _pump(self, pubsub: aioredis.client.PubSub) -> None:
        subscribed: set[str] = set()
        while True:
            wanted = set(self._by_channel)
            self._changed.clear()
            if wanted - subscribed:
                await pubsub.subscribe(*(wanted - subscribed))
                await self.resync([self._by_channel[c] for c in wanted - subscribed])
            if subscribed - wanted:
                await pubsub.unsubscribe(*(subscribed - wanted))
            subscribed = wanted
            self.connected = True
            if not subscribed:
                await self.client.ping()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=5.0)
                continue
            message = await pubsub.get_message(timeout=0.2)
            if message is not None and message["type"] == "message":
                topic = self._by_channel.get(message["channel"].decode())
                if topic is not None:
                    self.received += 1
                    self.deliver(topic, message["data"])
