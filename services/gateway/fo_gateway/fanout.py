"""WebSocket fan-out: one Redis pub/sub connection per process, conflating per-client outboxes.

Each topic (symbol, expiry) is subscribed once, on the first local client, and dropped on the
last. A published snapshot is decoded to text once and the same object is offered to every
subscribed client's outbox, which keeps only the newest snapshot per topic (plus a few control
replies): a slow client holds at most one pending snapshot per topic and never delays the
others, because only its own writer task ever awaits its socket.

A client whose socket has not accepted a message for ``send_timeout_s`` is dropped by the
reaper (its transport is aborted: a close frame would queue behind the unread data), and
everything it held is freed. Pub/sub loses messages while reconnecting: after every
(re)subscribe the latest snapshot key is re-read and offered again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from fo_bus.codec import DecodeError, peek_seq, peek_ts
from fo_bus.names import BusNames
from fo_runtime.backoff import delays

log = logging.getLogger(__name__)
Topic = tuple[str, date]
MAX_CONTROL = 32  # queued control replies; a client that floods pings without reading is dropped
KEEPALIVE_S = 15.0  # an idle client gets a heartbeat message this often (below proxy idle cuts)
RECONNECT_CAP_S = 1.0  # pub/sub reconnect backoff cap: data is back within ~1 s of Redis


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One published document: its order keys, its stored bytes, and the text decoded once."""

    seq: int
    ts: int
    data: bytes
    text: str

    @classmethod
    def parse(cls, data: bytes) -> Snapshot:
        return cls(peek_seq(data), peek_ts(data), data, EncodedText.of(data))

    def newer_than(self, seq: int, ts: int) -> bool:
        """Later seq, or later timestamp: a worker that restarted from nothing (Redis lost
        its data) counts seq from 1 again, but its clock still moves forward."""
        return self.seq > seq or self.ts > ts


class EncodedText(str):
    """A str that remembers its UTF-8 bytes: ``encode()`` returns them without copying.

    uvicorn's WebSocket protocol encodes every text frame it sends (``text.encode()``): with
    thousands of clients that is one 30 KB copy per client per snapshot. With this str the
    bytes the worker published go to every client as they are, still as a text frame (which
    a browser hands to ``JSON.parse`` directly). Anything else sees an ordinary str.
    """

    _utf8: bytes

    @classmethod
    def of(cls, data: bytes) -> EncodedText:
        text = cls(data.decode())
        text._utf8 = data
        return text

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
            return self._utf8
        return str(self).encode(encoding, errors)


def control(kind: str, **fields: Any) -> str:
    """A control message of the socket protocol (text, same envelope keys as snapshots)."""
    return orjson.dumps({"type": kind, "ts": time.time_ns(), **fields}).decode()


class Client:
    """One WebSocket's outbox and writer. Only the writer task ever sends on the socket."""

    __slots__ = (
        "_wake",
        "abort",
        "binary",
        "close_request",
        "control",
        "dropped",
        "hub",
        "last",
        "last_send",
        "peer",
        "pending",
        "send_bytes",
        "send_text",
        "sending_since",
        "sent",
        "topics",
    )

    def __init__(
        self,
        hub: Hub,
        send_text: Callable[[str], Awaitable[None]],
        send_bytes: Callable[[bytes], Awaitable[None]],
        abort: Callable[[], None],
        *,
        binary: bool = False,
        peer: str = "",
    ) -> None:
        self.hub = hub
        self.send_text = send_text
        self.send_bytes = send_bytes
        self.abort = abort
        self.binary = binary
        self.peer = peer
        self.topics: set[Topic] = set()
        self.pending: dict[Topic, Snapshot] = {}
        self.last: dict[Topic, tuple[int, int]] = {}
        self.control: deque[str] = deque()
        self.close_request: tuple[int, str] | None = None
        self.sending_since = 0.0
        self.last_send = time.monotonic()
        self.sent = 0
        self.dropped = 0
        self._wake = asyncio.Event()

    def offer(self, topic: Topic, snap: Snapshot) -> None:
        seq, ts = self.last.get(topic, (-1, -1))
        if not snap.newer_than(seq, ts):
            return  # already delivered (the resync read and pub/sub can overlap)
        if topic in self.pending:
            self.dropped += 1
            self.hub.dropped_conflated += 1
        self.pending[topic] = snap
        self.last[topic] = (snap.seq, snap.ts)
        self._wake.set()

    def forget(self, topic: Topic) -> None:
        """Stop tracking a topic: its pending snapshot goes, and a later resubscribe resends."""
        self.pending.pop(topic, None)
        self.last.pop(topic, None)

    def say(self, message: str) -> bool:
        """Queue a control reply; False when the client lets replies pile up unread."""
        if len(self.control) >= MAX_CONTROL:
            return False
        self.control.append(message)
        self._wake.set()
        return True

    def request_close(self, code: int, reason: str) -> None:
        if self.close_request is None:
            self.close_request = (code, reason)
            self._wake.set()

    async def run(self, close: Callable[[int, str], Awaitable[None]]) -> None:
        """Write until the socket fails or a close is requested (then send the close frame)."""
        hub = self.hub
        loop_time = asyncio.get_running_loop().time
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.close_request is None and (self.control or self.pending):
                self.sending_since = loop_time()
                if self.control:
                    await self.send_text(self.control.popleft())
                else:
                    _topic, snap = self.pending.popitem()
                    if self.binary:
                        await self.send_bytes(snap.data)
                    else:
                        await self.send_text(snap.text)
                    self.sent += 1
                    hub.sent += 1
                self.sending_since = 0.0
                self.last_send = time.monotonic()
            if self.close_request is not None:
                self.sending_since = loop_time()
                await close(*self.close_request)
                self.sending_since = 0.0
                return


class Hub:
    def __init__(
        self,
        client: aioredis.Redis,
        names: BusNames,
        send_timeout_s: float = 10.0,
        keepalive_s: float = KEEPALIVE_S,
        pubsub_client: aioredis.Redis | None = None,
    ) -> None:
        self.client = client
        self.pubsub_client = pubsub_client or client
        self.names = names
        self.send_timeout_s = send_timeout_s
        self.keepalive_s = keepalive_s
        self.topics: dict[Topic, set[Client]] = {}
        self.clients: set[Client] = set()
        self._by_channel: dict[bytes, Topic] = {}
        self._changed = asyncio.Event()
        self._emptied = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.connected = False
        self.accepting = True
        # Counters, read by the /metrics collector (plain ints: no lock on the hot path).
        self.reconnects = 0
        self.redis_errors = 0
        self.received = 0
        self.sent = 0
        self.dropped_conflated = 0
        self.slow_disconnects = 0
        self.undecodable = 0

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(), name="fanout-hub"),
            asyncio.create_task(self._reap(), name="fanout-reaper"),
        ]

    async def stop(self, timeout_s: float = 3.0) -> None:
        """Cancel the background tasks and wait for them, but never longer than ``timeout_s``."""
        for task in self._tasks:
            task.cancel()
        if not self._tasks:
            return
        _, pending = await asyncio.wait(self._tasks, timeout=timeout_s)
        for task in pending:
            log.warning("fan-out task did not stop in time", extra={"task": task.get_name()})

    async def close_all(self, code: int, reason: str, grace_s: float) -> int:
        """Stop accepting, ask every client's writer to send a close frame, wait up to
        ``grace_s``, then abort the sockets still open. Returns how many were aborted."""
        self.accepting = False
        for c in list(self.clients):
            c.request_close(code, reason)
        if self.clients:
            self._emptied.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace_s):
                    await self._emptied.wait()
        stuck = list(self.clients)
        for c in stuck:
            c.abort()
        return len(stuck)

    # -- clients and topics -----------------------------------------------------------------

    def register(self, client: Client) -> None:
        self.clients.add(client)

    def unregister(self, client: Client) -> None:
        for topic in list(client.topics):
            self.unsubscribe(client, topic)
        self.clients.discard(client)
        if not self.clients:
            self._emptied.set()
        client.pending.clear()
        client.control.clear()

    def subscribe(self, client: Client, topic: Topic) -> None:
        subs = self.topics.get(topic)
        if subs is None:
            subs = self.topics[topic] = set()
            self._by_channel[self.names.updates_channel(*topic).encode()] = topic
            self._changed.set()
        subs.add(client)
        client.topics.add(topic)

    def unsubscribe(self, client: Client, topic: Topic) -> None:
        client.topics.discard(topic)
        client.forget(topic)
        subs = self.topics.get(topic)
        if subs is None:
            return
        subs.discard(client)
        if not subs:
            del self.topics[topic]
            del self._by_channel[self.names.updates_channel(*topic).encode()]
            self._changed.set()

    def deliver(self, topic: Topic, data: bytes, only: Client | None = None) -> None:
        try:
            snap = Snapshot.parse(data)
        except (DecodeError, ValueError, UnicodeDecodeError):
            self.undecodable += 1
            log.warning("undecodable snapshot ignored", extra={"topic": str(topic)})
            return
        if only is not None:
            if topic in only.topics:
                only.offer(topic, snap)
            return
        for c in self.topics.get(topic, ()):
            c.offer(topic, snap)

    async def resync(self, topics: list[Topic], only: Client | None = None) -> None:
        """Offer the stored snapshot of each topic (after (re)connect, or to one new client)."""
        if not topics:
            return
        try:
            values = await self.client.mget([self.names.snapshot_key(*t) for t in topics])
        except (RedisError, OSError):
            self.redis_errors += 1
            raise
        for topic, data in zip(topics, values, strict=True):
            if data is not None:
                self.deliver(topic, data, only)

    # -- background tasks -------------------------------------------------------------------

    async def _run(self) -> None:
        backoff = delays(base=0.1, cap=RECONNECT_CAP_S)
        while True:
            pubsub = self.pubsub_client.pubsub(ignore_subscribe_messages=True)
            try:
                await self._pump(pubsub)
            except Exception as exc:
                if isinstance(exc, (RedisError, OSError)):
                    self.redis_errors += 1
                    if self.connected:
                        log.warning(
                            "pub/sub lost, reconnecting", extra={"error": type(exc).__name__}
                        )
                        backoff = delays(base=0.1, cap=RECONNECT_CAP_S)  # a fresh outage
                else:  # a bug must not silence every dashboard for good: log it, start over
                    log.exception("fan-out pump failed, restarting")
                self.connected = False
                self.reconnects += 1
                await asyncio.sleep(next(backoff))
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()

    async def _pump(self, pubsub: aioredis.client.PubSub) -> None:
        """Subscribe to what the clients want, resync, and deliver until the connection fails.

        The pub/sub client has no retries of its own: redis-py would otherwise reconnect and
        resubscribe silently, and the snapshots published meanwhile would never be resent.
        """
        subscribed: set[bytes] = set()
        await self.pubsub_client.ping()
        if self.reconnects:
            log.info("pub/sub connected again", extra={"reconnects": self.reconnects})
        self.connected = True
        while True:
            wanted = set(self._by_channel)
            self._changed.clear()
            if added := wanted - subscribed:
                # The topics are read before the await: a client may drop one meanwhile (its
                # resync then reaches no one, and the next round unsubscribes it).
                topics = [self._by_channel[c] for c in added]
                await pubsub.subscribe(*added)
                await self.resync(topics)
            if subscribed - wanted:
                await pubsub.unsubscribe(*(subscribed - wanted))
            subscribed = wanted
            if not subscribed:
                await self.pubsub_client.ping()
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
                # that lands as the event fires, and stop() would then wait forever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(2.0):
                        await self._changed.wait()
                continue
            message = await pubsub.get_message(timeout=0.2)
            while message is not None:
                if message["type"] == "message":
                    topic = self._by_channel.get(message["channel"])
                    if topic is not None:
                        self.received += 1
                        self.deliver(topic, message["data"])
                if self._changed.is_set():
                    break
                # Drain what is already buffered before looking at subscriptions again.
                message = await pubsub.get_message(timeout=0)

    async def _reap(self) -> None:
        """Drop clients stuck in a send; send heartbeats to idle ones."""
        loop = asyncio.get_running_loop()
        interval = min(1.0, self.send_timeout_s / 4)
        while True:
            await asyncio.sleep(interval)
            now, wall = loop.time(), time.monotonic()
            for c in list(self.clients):
                if c.sending_since and now - c.sending_since > self.send_timeout_s:
                    self.slow_disconnects += 1
                    log.info(
                        "slow client disconnected",
                        extra={"peer": c.peer, "stuck_s": round(now - c.sending_since, 1)},
                    )
                    c.sending_since = 0.0
                    c.abort()
                elif (
                    not c.sending_since
                    and wall - c.last_send > self.keepalive_s
                    and not c.control
                    and not c.pending
                ):
                    c.say(control("heartbeat"))
                    c.last_send = wall
