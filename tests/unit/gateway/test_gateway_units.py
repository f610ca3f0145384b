"""Pure parts of the gateway: admission, rates, conflation, compact view, envelope peeking."""

from __future__ import annotations

import asyncio
import time
from datetime import date

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr
from tests.helpers import eventually_async

from fo_bus.chain import rows
from fo_bus.codec import encode_document, peek_ts
from fo_bus.names import BusNames
from fo_gateway import access
from fo_gateway.access import Admission, Refusal, admit
from fo_gateway.fanout import Client, Hub, Snapshot
from fo_gateway.observability import classify
from fo_gateway.ratelimit import Rate, RateLimiter, parse_rate
from fo_gateway.routes.chain import compact
from fo_gateway.tokens import issue_token
from fo_runtime.redis_server import free_port

SECRET = SecretStr("s" * 40)
T = ("NIFTY", date(2099, 12, 29))


def decide(**kw):  # type: ignore[no-untyped-def]
    args = {
        "client_code": "alice",
        "origin": None,
        "host": "gw:8000",
        "query": {},
        "subprotocols": [],
        "allowed_origins": ["https://app.example"],
        "secret": SECRET,
        "demo_mode": False,
    }
    args.update(kw)
    return admit(**args)


def test_admission_codes() -> None:
    token = issue_token(SECRET, "alice", ttl_s=60)
    refused = decide()
    assert isinstance(refused, Refusal) and refused.code == access.CLOSE_UNAUTHORIZED
    assert refused.reason
    # Client codes are case-insensitive (Angel's are upper case): one canonical form.
    assert decide(demo_mode=True) == Admission("ALICE", authenticated=False, subprotocol=None)
    assert decide(query={"token": token}) == Admission("ALICE", True, None)
    assert decide(subprotocols=["bearer", token]) == Admission("ALICE", True, "bearer")
    upper = issue_token(SECRET, "ABC123", ttl_s=60)
    assert decide(query={"token": upper}, client_code="abc123") == Admission("ABC123", True, None)
    assert decide(subprotocols=["bearer"]).code == access.CLOSE_UNAUTHORIZED
    assert decide(query={"token": token}, client_code="bob").code == access.CLOSE_FORBIDDEN
    assert decide(query={"token": "x.y.z"}).code == access.CLOSE_UNAUTHORIZED
    assert decide(client_code="a b", demo_mode=True).code == access.CLOSE_BAD_REQUEST
    assert decide(origin="https://evil.example", demo_mode=True).code == access.CLOSE_ORIGIN
    assert isinstance(decide(origin="https://app.example", demo_mode=True), Admission)
    assert isinstance(decide(origin="http://gw:8000", demo_mode=True), Admission)  # same origin
    codes = [v for k, v in vars(access).items() if k.startswith("CLOSE_") and isinstance(v, int)]
    assert len(codes) == len(set(codes)) and set(codes) == set(access.CLOSE_CODES)


def test_rates_parse_and_refuse_nonsense() -> None:
    assert parse_rate("10/minute") == Rate(10, 60) and str(Rate(10, 60)) == "10/minute"
    assert parse_rate(" 5 / second ") == Rate(5, 1)
    for bad in ("0/minute", "10/day", "ten/minute", "10", ""):
        with pytest.raises(ValueError, match="not a rate"):
            parse_rate(bad)


def test_paths_are_classified_for_limits() -> None:
    assert classify("/api/auth/login") == "login"
    assert classify("/api/option-chain/NIFTY") == "api"
    assert [classify(p) for p in ("/health", "/health/ready", "/metrics", "/", "/docs")] == [
        None
    ] * 5


async def test_limiter_counts_in_process_when_redis_is_unreachable() -> None:
    dead = aioredis.Redis(port=free_port(), socket_connect_timeout=0.2)
    limiter = RateLimiter(dead, BusNames("t"))
    rate, now = Rate(3, 60), 120.5
    decisions = [await limiter.hit("api", "1.2.3.4", rate, now) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert not any(d.shared for d in decisions) and limiter.redis_errors == 1
    assert decisions[-1].retry_after_s == 60  # the next window starts at 180 s
    assert (await limiter.hit("api", "5.6.7.8", rate, now)).allowed  # per address
    assert (await limiter.hit("api", "1.2.3.4", rate, now + 60)).allowed  # next window
    await dead.aclose()


def doc(seq: int, ts: int) -> bytes:
    return encode_document("chain", {"symbol": "NIFTY", "expiry": "2099-12-29", "seq": seq,
                                     "ts": ts, "spot_ts": 5, "layout": "columns",
                                     "chain": {"strike": [], "CE": {"token": []},
                                               "PE": {"token": []}}})  # fmt: skip


def test_envelope_peeking_reads_seq_and_ts() -> None:
    snap = Snapshot.parse(doc(12, 1_700_000_000_123_456_789))
    assert (snap.seq, snap.ts) == (12, 1_700_000_000_123_456_789)
    assert snap.text.encode() == snap.data
    assert peek_ts(encode_document("chain", {"seq": 1, "spot_ts": 9})) == 0


async def test_client_outbox_keeps_only_the_newest_snapshot_per_topic() -> None:
    hub = Hub(aioredis.Redis(port=free_port()), BusNames("t"))
    sent: list[str] = []
    gate = asyncio.Event()

    async def slow_send(text: str) -> None:
        sent.append(text)
        await gate.wait()

    client = Client(hub, slow_send, slow_send, abort=lambda: None)
    hub.register(client)
    hub.subscribe(client, T)
    for seq in range(1, 101):
        hub.deliver(T, doc(seq, seq))
    hub.deliver(T, doc(50, 50))  # stale: older seq and ts
    writer = asyncio.create_task(client.run(close=lambda code, reason: asyncio.sleep(0)))
    await asyncio.sleep(0.01)
    assert len(sent) == 1 and client.pending == {}  # seq 100 is in flight
    for seq in range(101, 201):
        hub.deliver(T, doc(seq, seq))
    assert len(client.pending) == 1 and client.pending[T].seq == 200
    assert client.dropped == hub.dropped_conflated == 99 + 99
    hub.deliver(T, doc(1, time.time_ns()))  # pipeline restarted from nothing: later ts wins
    assert client.pending[T].seq == 1
    gate.set()
    await eventually_async(lambda: len(sent) == 2, timeout=2, interval=0.001)
    client.request_close(1000, "bye")
    await asyncio.wait_for(writer, 1)
    assert [Snapshot.parse(t.encode()).seq for t in sent] == [100, 1]
    hub.unregister(client)
    assert not hub.topics and not hub.clients and client.pending == {}


def test_compact_view_keeps_fields_and_a_window_around_spot() -> None:
    n = range(9)  # strikes 100, 110, …, 180; no put at 120; the puts carry no iv
    full = {
        "v": 2,
        "type": "chain",
        "seq": 3,
        "ts": 1,
        "spot": 141.0,
        "layout": "columns",
        "chain": {
            "strike": [100.0 + 10 * i for i in n],
            "iv": [0.1] * 9,
            "gex_net": [1.0] * 9,
            "CE": {"token": [f"c{i}" for i in n], "ltp": list(n), "oi": [2 * i for i in n],
                   "iv": [0.1] * 9},
            "PE": {"token": [None if i == 2 else f"p{i}" for i in n],
                   "ltp": [None if i == 2 else -i for i in n],
                   "oi": [None if i == 2 else 3 * i for i in n]},
        },
        "pcr": {"oi": 1},
    }  # fmt: skip
    out = compact(full, ["ltp", "oi"], 1)
    assert out["compact"] == {"fields": ["ltp", "oi"], "window": 1, "centre_strike": 140.0}
    assert out["layout"] == "columns" and out["pcr"] == {"oi": 1} and out["seq"] == 3
    assert out["chain"] == {
        "strike": [130.0, 140.0, 150.0],
        "CE": {"token": ["c3", "c4", "c5"], "ltp": [3, 4, 5], "oi": [6, 8, 10]},
        "PE": {"token": ["p3", "p4", "p5"], "ltp": [-3, -4, -5], "oi": [9, 12, 15]},
    }
    assert rows(out, ["ltp", "oi"])["strikes"][0]["CE"] == {"ltp": 3, "oi": 6}
    wide = compact(full, ["ltp"], 2)  # the window reaches the strike without a put
    assert wide["chain"]["strike"] == [120.0, 130.0, 140.0, 150.0, 160.0]
    assert wide["chain"]["PE"] == {"token": [None, "p3", "p4", "p5", "p6"],
                                   "ltp": [None, -3, -4, -5, -6]}  # fmt: skip
    assert rows(wide, ["ltp"])["strikes"][0] == {"strike": 120.0, "CE": {"ltp": 2}, "PE": None}
    assert len(compact(full, ["iv"], None)["chain"]["strike"]) == 9
    assert compact(full, ["iv"], 0)["chain"]["PE"] == {"token": ["p4"]}
    assert rows(compact(full, ["iv"], 0), ["iv"])["strikes"][0]["PE"] == {}
    nowhere = compact({**full, "spot": None}, ["oi"], 1)  # no spot: no centre, every strike
    assert nowhere["compact"]["centre_strike"] is None and len(nowhere["chain"]["strike"]) == 9


def test_snapshot_text_hands_out_the_published_bytes() -> None:
    data = doc(3, 4).replace(b'"layout":"columns"', '"layout":"columns","note":"é"'.encode())
    snap = Snapshot.parse(data)
    assert snap.text == data.decode() and snap.text.encode() is data  # no copy per client
    assert snap.text.encode("UTF_8") is data
    assert snap.text.encode("latin-1", "replace") == data.decode().encode("latin-1", "replace")
