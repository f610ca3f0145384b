"""User login across the bus: the gateway app (in process, real Redis) and the ingestor's
control handler, against the fake Angel; failures map to distinct statuses."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
from collections.abc import AsyncIterator

import httpx
import pyotp
import redis.asyncio as aioredis
from pydantic import SecretStr

from fo_bus.names import BusNames
from fo_fakeangel.server import FakeServer
from fo_gateway.app import create_app
from fo_gateway.settings import GatewaySettings
from fo_ingestor.angel.accounts import SessionRegistry
from fo_ingestor.angel.control import ControlHandler
from fo_ingestor.angel.session import AngelRest

SECRET = secrets.token_hex(32)


@contextlib.asynccontextmanager
async def gateway(
    redis_url: str, namespace: str, **extra: object
) -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(
        redis_url=redis_url,
        fo_namespace=namespace,
        symbols="NIFTY",
        **({"secret_key": SECRET, "angel_api_key": "k"} | extra),
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
            yield http


@contextlib.asynccontextmanager
async def ingestor(
    client: aioredis.Redis, names: BusNames, rest_url: str, secret: str = SECRET
) -> AsyncIterator[ControlHandler]:
    registry = SessionRegistry(AngelRest(rest_url, 1.0), client, names)
    handler = ControlHandler(client, names, SecretStr(secret), registry, "it-ingestor")
    stop = asyncio.Event()
    task = asyncio.create_task(handler.run(stop))
    try:
        yield handler
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


def body(fake: FakeServer, **over: str) -> dict[str, str]:
    c = fake.fake.config
    return {
        "api_key": c.api_key,
        "client_code": c.client_code,
        "password": c.mpin,
        "totp_token": c.totp_secret,
    } | over


async def test_login_round_trip_and_nothing_plain_in_redis(
    fake: FakeServer, redis_url: str, namespace: str, names: BusNames, client: aioredis.Redis
) -> None:
    async with gateway(redis_url, namespace) as http, ingestor(client, names, fake.rest_url) as h:
        bad = await http.post("/api/auth/login", json=body(fake, totp_token=pyotp.random_base32()))
        assert (bad.status_code, bad.json()["reason"]) == (401, "invalid_totp")
        ok = await http.post("/api/auth/login", json=body(fake))
        assert ok.status_code == 200 and ok.json()["token_type"] == "bearer"
        token = ok.json()["access_token"]
        session = await http.get(
            f"/api/auth/session/{fake.fake.config.client_code}",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert session.json()["session"]["feed"] is True and h.handled == 1
        assert await client.xlen(names.control_stream()) == 0  # handled requests are deleted
    c = fake.fake.config
    stored = b"".join(
        [
            await client.get(k) or b""
            async for k in client.scan_iter(f"{namespace}:*")
            if await client.type(k) == b"string"
        ]
    )
    for value in (c.api_key, c.totp_secret, *fake.fake.issued):
        assert value.encode() not in stored


async def test_unreachable_angel_is_503_and_no_ingestor_is_504(
    redis_url: str, namespace: str, names: BusNames, client: aioredis.Redis
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
        login = {
            "api_key": "k",
            "client_code": "C1",
            "password": "1234",
            "totp_token": pyotp.random_base32(),
        }
        async with gateway(redis_url, namespace) as http, ingestor(client, names, dead):
            down = await http.post("/api/auth/login", json=login)
        assert (down.status_code, down.json()["reason"]) == (503, "broker_unreachable")
    async with gateway(redis_url, namespace, login_timeout_s=1.0) as http:
        late = await http.post("/api/auth/login", json=login)
    assert (late.status_code, late.json()["reason"]) == (504, "login_timeout")
    assert "1234" not in late.text and login["totp_token"] not in late.text


async def test_mismatched_secret_keys_fail_closed(
    fake: FakeServer, redis_url: str, namespace: str, names: BusNames, client: aioredis.Redis
) -> None:
    other = secrets.token_hex(32)
    async with (
        gateway(redis_url, namespace) as http,
        ingestor(client, names, fake.rest_url, other) as h,
    ):
        r = await http.post("/api/auth/login", json=body(fake))
    assert r.status_code == 502 and h.rejected == 1 and fake.fake.counters["logins"] == 0


async def test_demo_mode_refuses_and_limits_apply_per_client_code(
    redis_url: str, namespace: str
) -> None:
    login = {"api_key": "k", "client_code": "C1", "password": "1234", "totp_token": "X" * 26}
    async with gateway(redis_url, namespace, angel_api_key=None) as http:
        demo = await http.post("/api/auth/login", json=login)
    assert (demo.status_code, demo.json()["reason"]) == (503, "login_unavailable")
    async with gateway(
        redis_url,
        namespace,
        login_timeout_s=0.1,
        login_attempts_per_client=2,
        rate_limit_login="1000/minute",
    ) as http:
        codes = [(await http.post("/api/auth/login", json=login)).status_code for _ in range(3)]
        other = await http.post("/api/auth/login", json=login | {"client_code": "C2"})
    assert codes == [504, 504, 429] and other.status_code == 504
