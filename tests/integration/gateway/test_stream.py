"""The WebSocket on a real gateway and Redis: admission, close codes, protocol, fan-out."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from pydantic import SecretStr
from tests.helpers import eventually_async
from tests.integration.gateway.conftest import EXPIRY, EXPIRY2, Publisher
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from fo_gateway.tokens import issue_token

SECRET = "k" * 40
LIVE = {"angel_api_key": "live-key", "secret_key": SECRET}


def ws(url: str, **kw: Any) -> Any:
    return connect(url, open_timeout=5, compression=None, max_size=None, **kw)


async def recv_json(conn: ClientConnection, wait_s: float = 5.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(conn.recv(), wait_s))


async def close_of(url: str, **kw: Any) -> tuple[int, str]:
    """Connect and read until the server closes; the close code and reason it sent."""
    async with ws(url, **kw) as conn:
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(conn.recv(), 5)
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def next_chain(conn: ClientConnection, wait_s: float = 5.0) -> dict[str, Any]:
    """The next ``chain`` message (skipping control messages)."""
    deadline = time.monotonic() + wait_s
    while True:
        msg = await recv_json(conn, max(0.05, deadline - time.monotonic()))
        if msg["type"] == "chain":
            return msg


async def publish_until_seen(conn: ClientConnection, pub: Publisher, first_seq: int, **kw: Any):
    """Publish rising seqs until one arrives (the pub/sub subscription is asynchronous)."""
    for seq in range(first_seq, first_seq + 100):
        await pub.publish(seq=seq, **kw)
        try:
            msg = await next_chain(conn, wait_s=0.3)
        except TimeoutError:
            continue
        return msg
    raise AssertionError("no update arrived")


async def test_latest_snapshot_at_once_then_updates_as_stored_text(start_gateway, publisher):
    gw = await start_gateway()
    stored = await publisher.publish(seq=7)
    async with ws(f"{gw.ws}/ws/NIFTY/alice") as conn:
        first = await asyncio.wait_for(conn.recv(), 5)
        assert isinstance(first, str) and first.encode() == stored  # text frame, same bytes
        update = await publish_until_seen(conn, publisher, 8)
        assert update["seq"] >= 8 and update["type"] == "chain" and update["v"] == 2
        assert {"ts", "symbol", "expiry", "layout", "chain", "pcr"} <= set(update)
        assert update["layout"] == "columns" and update["chain"]["strike"]


async def test_binary_format_sends_the_stored_bytes(start_gateway, publisher):
    gw = await start_gateway()
    stored = await publisher.publish(seq=3)
    async with ws(f"{gw.ws}/ws/NIFTY/bob?format=binary") as conn:
        assert await asyncio.wait_for(conn.recv(), 5) == stored


async def test_live_mode_requires_a_token_for_that_client_code(start_gateway, publisher):
    gw = await start_gateway(**LIVE)
    await publisher.publish(seq=1)
    secret = SecretStr(SECRET)
    base = f"{gw.ws}/ws/NIFTY"
    assert await close_of(f"{base}/alice") == (
        4401,
        "access token required (query 'token' or bearer)",
    )
    assert (await close_of(f"{base}/alice?token=not-a-jwt"))[0] == 4401
    expired = issue_token(secret, "alice", ttl_s=60, now=time.time() - 3600)
    assert await close_of(f"{base}/alice?token={expired}") == (4401, "token expired")
    forged = issue_token(SecretStr("x" * 40), "alice", ttl_s=60)
    assert await close_of(f"{base}/alice?token={forged}") == (4401, "invalid token")
    bobs = issue_token(secret, "bob", ttl_s=60)
    assert (await close_of(f"{base}/alice?token={bobs}"))[0] == 4403

    good = issue_token(secret, "alice", ttl_s=60)
    async with ws(f"{base}/alice?token={good}") as conn:
        assert (await next_chain(conn))["seq"] == 1
    async with ws(f"{base}/alice", subprotocols=["bearer", good]) as conn:
        assert conn.subprotocol == "bearer"  # the token itself is never echoed
        assert (await next_chain(conn))["seq"] == 1


async def test_demo_mode_accepts_anonymous_codes_and_checks_given_tokens(start_gateway, publisher):
    gw = await start_gateway()
    await publisher.publish(seq=1)
    async with ws(f"{gw.ws}/ws/NIFTY/anyone") as conn:
        assert (await next_chain(conn))["seq"] == 1
    assert (await close_of(f"{gw.ws}/ws/NIFTY/anyone?token=garbage"))[0] == 4401
    assert (await close_of(f"{gw.ws}/ws/NIFTY/bad%20code"))[0] == 4400
    health = await asyncio.to_thread(_get_json, f"{gw.http}/health")
    assert health["mode"] == "demo"


def _get_json(url: str) -> Any:
    import httpx

    return httpx.get(url, timeout=5).json()


async def test_origin_is_checked_against_allowed_origins(start_gateway, publisher):
    gw = await start_gateway(allowed_origins="https://app.example.com")
    await publisher.publish(seq=1)
    code, reason = await close_of(f"{gw.ws}/ws/NIFTY/eve", origin="https://evil.example.net")
    assert code == 4406 and "evil.example.net" in reason
    async with ws(f"{gw.ws}/ws/NIFTY/ann", origin="https://app.example.com") as conn:
        assert (await next_chain(conn))["seq"] == 1
    async with ws(f"{gw.ws}/ws/NIFTY/ann") as conn:  # no Origin: not a browser
        assert (await next_chain(conn))["seq"] == 1


async def test_url_errors_close_with_distinct_codes(start_gateway, publisher):
    gw = await start_gateway()
    await publisher.publish(seq=1)
    code, reason = await close_of(f"{gw.ws}/ws/NOPE/c1")
    assert code == 4404 and "NIFTY" in reason
    assert (await close_of(f"{gw.ws}/ws/NIFTY/c1?expiry=2099-02-30"))[0] == 4400
    code, reason = await close_of(f"{gw.ws}/ws/NIFTY/c1?expiry=2099-01-01")
    assert code == 4404 and "not followed" in reason


async def test_ping_errors_and_limits_on_the_socket(start_gateway, publisher):
    gw = await start_gateway()
    await publisher.publish(seq=1)
    async with ws(f"{gw.ws}/ws/NIFTY/p1") as conn:
        await next_chain(conn)
        await conn.send(json.dumps({"action": "ping", "id": 42}))
        assert (await recv_json(conn)) | {"ts": 0} == {"type": "pong", "id": 42, "ts": 0}
        await conn.send("ping")
        assert (await recv_json(conn))["type"] == "pong"
        await conn.send("{not json")
        assert (await recv_json(conn))["code"] == "bad_json"
        await conn.send(json.dumps({"action": "teleport"}))
        error = await recv_json(conn)
        assert error["type"] == "error" and error["code"] == "unknown_action"
        await conn.send(json.dumps([1, 2]))
        assert (await recv_json(conn))["code"] == "bad_message"
        await conn.send(json.dumps({"action": "subscribe", "symbol": "DOGE"}))
        assert (await recv_json(conn))["code"] == "unknown_symbol"
        await conn.send(json.dumps({"action": "subscribe", "expiry": "soon"}))
        assert (await recv_json(conn))["code"] == "bad_expiry"
    # Oversized: the protocol layer refuses it with 1009.
    async with ws(f"{gw.ws}/ws/NIFTY/p2") as conn:
        await next_chain(conn)
        await conn.send(json.dumps({"action": "ping", "pad": "x" * 64_000}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(conn.recv(), 5)
        assert closed.value.rcvd.code == 1009
    # A client that keeps sending garbage is closed with 1008 after MAX_BAD_MESSAGES.
    async with ws(f"{gw.ws}/ws/NIFTY/p3") as conn:
        await next_chain(conn)
        for _ in range(11):
            await conn.send("nope")
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(conn.recv(), 5)
        assert closed.value.rcvd.code == 1008
    # Flooding: more than the burst in no time closes with 4429.
    async with ws(f"{gw.ws}/ws/NIFTY/p4") as conn:
        await next_chain(conn)
        for i in range(60):
            await conn.send(json.dumps({"action": "ping", "id": i}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(conn.recv(), 5)
        assert closed.value.rcvd.code == 4429


async def test_switch_expiry_and_symbol_without_reconnecting(start_gateway, publisher):
    gw = await start_gateway()
    await publisher.publish(seq=1)
    await publisher.publish(seq=1, expiry=EXPIRY2)
    await publisher.publish(symbol="BANKNIFTY", seq=5)
    async with ws(f"{gw.ws}/ws/NIFTY/sw") as conn:
        assert (await next_chain(conn))["expiry"] == EXPIRY.isoformat()
        await conn.send(json.dumps({"action": "subscribe", "expiry": EXPIRY2.isoformat()}))
        ack = await recv_json(conn)
        assert ack["type"] == "subscribed" and ack["expiry"] == EXPIRY2.isoformat()
        snap = await next_chain(conn)
        assert (snap["symbol"], snap["expiry"]) == ("NIFTY", EXPIRY2.isoformat())

        await conn.send(json.dumps({"action": "subscribe", "symbol": "banknifty"}))
        ack = await recv_json(conn)
        assert (ack["type"], ack["symbol"], ack["expiry"]) == (
            "subscribed",
            "BANKNIFTY",
            EXPIRY.isoformat(),
        )
        snap = await next_chain(conn)
        assert (snap["symbol"], snap["seq"]) == ("BANKNIFTY", 5)
        # Only the new topic flows now: NIFTY updates (of either expiry, the second being the
        # topic this socket left) never reach it again.
        for seq in range(2, 5):
            await publisher.publish(seq=seq)
            await publisher.publish(seq=seq, expiry=EXPIRY2)
        update = await publish_until_seen(conn, publisher, 6, symbol="BANKNIFTY")
        assert update["symbol"] == "BANKNIFTY"
        # Under load an update can arrive after the next was published: read up to the stored
        # one, so the resync below has exactly one answer.
        stored = await publisher.client.get(publisher.names.snapshot_key("BANKNIFTY", EXPIRY))
        while update["seq"] < json.loads(stored)["seq"]:
            update = await next_chain(conn)
            assert update["symbol"] == "BANKNIFTY"

        await conn.send(json.dumps({"action": "resync"}))
        again = await next_chain(conn)
        assert (again["symbol"], again["seq"]) == ("BANKNIFTY", update["seq"])
    hub = gw.app.state.hub
    await eventually_async(lambda: not hub.clients and not hub.topics, timeout=5)


async def test_idle_clients_get_heartbeats(start_gateway, publisher):
    gw = await start_gateway()
    gw.app.state.hub.keepalive_s = 0.3
    await publisher.publish(seq=1)
    async with ws(f"{gw.ws}/ws/NIFTY/idle") as conn:
        await next_chain(conn)
        beat = await recv_json(conn, wait_s=5)
        assert beat["type"] == "heartbeat" and beat["ts"] > 0


async def test_connection_caps(start_gateway, publisher):
    gw = await start_gateway(ws_max_connections_per_ip=2)
    await publisher.publish(seq=1)
    async with ws(f"{gw.ws}/ws/NIFTY/a") as one, ws(f"{gw.ws}/ws/NIFTY/b") as two:
        await next_chain(one)
        await next_chain(two)
        assert (await close_of(f"{gw.ws}/ws/NIFTY/c"))[0] == 4429
    gw2 = await start_gateway(ws_max_connections=1)
    async with ws(f"{gw2.ws}/ws/NIFTY/a") as one:
        await next_chain(one)
        assert (await close_of(f"{gw2.ws}/ws/NIFTY/b"))[0] == 1013


async def test_shutdown_closes_clients_with_1001(start_gateway, publisher):
    gw = await start_gateway()
    await publisher.publish(seq=1)
    async with ws(f"{gw.ws}/ws/NIFTY/a") as one, ws(f"{gw.ws}/ws/NIFTY/b") as two:
        await next_chain(one)
        await next_chain(two)
        gw.server.should_exit = True
        for conn in (one, two):
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(conn.recv(), 5)
            assert closed.value.rcvd.code == 1001
    await asyncio.wait_for(gw.task, 5)
