"""Our WebSocket V2 client against the fake's real endpoint: headers and subscribe, handshake
401 → re-login, 429 → long backoff, ping loss, stall watchdog, abrupt close, out-of-order and
malformed packets, E1001 text errors."""

from __future__ import annotations

import asyncio
import contextlib

from pydantic import SecretStr
from tests.helpers import eventually_async

from fo_fakeangel.server import FakeServer
from fo_ingestor.angel.feed import SequenceFilter
from fo_ingestor.angel.parser import MalformedPacket, parse_packet
from fo_ingestor.angel.session import AngelRest, AngelSession, Credentials
from fo_ingestor.angel.ws import AngelWsClient, FeedAuth, WsConfig, WsStats, subscribe_messages


class Harness:
    def __init__(self, fake: FakeServer, **config: float) -> None:
        c = fake.fake.config
        self.fake = fake
        self.session = AngelSession(
            AngelRest(fake.rest_url, 5),
            Credentials(
                SecretStr(c.api_key), c.client_code, SecretStr(c.mpin), SecretStr(c.totp_secret)
            ),
            pacer={},
        )
        self.stats = WsStats()
        self.packets: list = []
        self.sequences = SequenceFilter()
        options = [t for t, i in fake.fake.instruments.items() if i.kind.value == "option"]
        self.subs = [(2, 1, "99926000")] + [(3, 2, t) for t in options[:6]]
        cfg = WsConfig(
            fake.ws_url,
            heartbeat_s=0.3,
            ping_interval_s=0.5,
            ping_timeout_s=0.5,
            stall_timeout_s=1.0,
            backoff_base_s=0.1,
            backoff_cap_s=0.5,
            rate_limit_backoff_s=1.5,
        )
        for key, value in config.items():
            setattr(cfg, key, value)
        self.client = AngelWsClient(
            cfg,
            self.subs,
            self.auth,
            self.session.relogin,
            lambda: self.session.generation,
            self.on_frame,
            self.stats,
        )
        self.stop = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def auth(self) -> FeedAuth:
        if self.session.tokens is None:
            await self.session.login()
        t = self.session.tokens
        assert t is not None
        c = self.fake.fake.config
        return FeedAuth(
            c.api_key,
            c.client_code,
            t.jwt.get_secret_value(),
            t.feed.get_secret_value(),
            self.session.generation,
        )

    def on_frame(self, frame: bytes, recv_ns: int) -> None:
        try:
            p = parse_packet(frame)
        except MalformedPacket:
            self.stats.malformed += 1
            return
        if not self.sequences.fresh(p, self.session.generation):  # the feed's own filter
            self.stats.out_of_order += 1
            return
        self.packets.append(p)

    def __enter__(self) -> Harness:
        self.task = asyncio.create_task(self.client.run(self.stop))
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()

    async def close(self) -> None:
        self.stop.set()
        if self.task:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.task, 5)

    async def more_packets(self, than: int | None = None, timeout: float = 5) -> None:  # noqa: ASYNC109
        floor = len(self.packets) if than is None else than

        async def check() -> bool:
            return len(self.packets) > floor

        await eventually_async(check, timeout=timeout)


async def until(predicate, timeout: float = 5) -> None:  # noqa: ASYNC109
    async def check() -> bool:
        return bool(predicate())

    await eventually_async(check, timeout=timeout)


def test_subscribe_messages_batch_by_mode_and_size() -> None:
    subs = [(3, 2, str(i)) for i in range(1200)] + [(2, 1, "99926000")]
    messages = [__import__("json").loads(m) for m in subscribe_messages(subs)]
    assert [m["params"]["mode"] for m in messages] == [2, 3, 3, 3]
    assert [sum(len(g["tokens"]) for g in m["params"]["tokenList"]) for m in messages] == [
        1,
        500,
        500,
        200,
    ]
    assert all(m["action"] == 1 and len(m["correlationID"]) <= 10 for m in messages)


async def test_streams_snapshots_then_ticks_for_subscribed_tokens_only(fake: FakeServer) -> None:
    h = Harness(fake)
    with h:
        await h.more_packets(than=30)
    await h.close()
    tokens = {p.token for p in h.packets}
    assert tokens <= {t for _m, _e, t in h.subs} and "99926000" in tokens
    assert {p.mode for p in h.packets if p.token == "99926000"} == {2}
    assert {p.mode for p in h.packets if p.token != "99926000"} == {3}
    assert h.stats.connects == 1 and h.stats.reconnects == 0


async def test_abrupt_close_reconnects_and_resubscribes(fake: FakeServer) -> None:
    h = Harness(fake)
    with h:
        await h.more_packets(than=10)
        await fake.stream.close_all(1006)
        await until(lambda: h.stats.connects == 2)
        await h.more_packets()
    await h.close()
    assert h.stats.reconnects >= 1


async def test_handshake_401_logs_in_again_and_429_backs_off(fake: FakeServer) -> None:
    h = Harness(fake)
    with h:
        await h.more_packets(than=5)
        generation = h.session.generation
        fake.fake.faults.reject_handshakes.extend([401])
        await fake.stream.close_all(1006)
        await until(lambda: h.stats.auth_failures == 1 and h.session.generation == generation + 1)
        await until(lambda: h.stats.connects == 2)
        fake.fake.faults.reject_handshakes.extend([429])
        await fake.stream.close_all(1006)
        await until(lambda: h.stats.rate_limited == 1)
        loop = asyncio.get_running_loop()
        refused_at = loop.time()
        await until(lambda: h.stats.connects == 3, timeout=5)
        assert loop.time() - refused_at >= 1.2  # the long 429 backoff, not the short one
        await h.more_packets()
    await h.close()


async def test_stall_and_ping_loss_force_a_reconnect(fake: FakeServer) -> None:
    h = Harness(fake)
    with h:
        await h.more_packets(than=5)
        fake.stream.stall_all()
        await until(lambda: h.stats.stalls == 1 and h.stats.connects == 2)
        await h.more_packets()
        fake.fake.faults.ping_loss = True
        await until(lambda: h.stats.connects == 3, timeout=8)
        fake.fake.faults.ping_loss = False
        await h.more_packets()
    await h.close()


async def test_out_of_order_and_malformed_packets_are_dropped_and_counted(fake: FakeServer) -> None:
    h = Harness(fake)
    with h:
        await h.more_packets(than=10)
        fake.fake.faults.out_of_order = 3
        fake.fake.faults.malformed = 2
        await until(lambda: h.stats.out_of_order == 3 and h.stats.malformed == 2)
        await h.more_packets()
        conn = next(iter(fake.stream.conns))
        await conn.ws.send("ping")  # harmless: the server ignores its own pings
        await conn.ws.send(
            '{"correlationID":"x","errorCode":"E1001","errorMessage":"Invalid Request Payload"}'
        )
        await until(lambda: h.stats.server_errors == 1)
    await h.close()
    seqs: dict[str, int] = {}
    for p in h.packets:  # what reached us is strictly increasing per token
        assert p.sequence_number > seqs.get(p.token, 0)
        seqs[p.token] = p.sequence_number
