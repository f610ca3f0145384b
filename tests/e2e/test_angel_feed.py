"""FEED=angel end to end: the three services as real processes against the fake Angel (a real
process too, speaking Angel's protocol): user login through the gateway, snapshots on the
WebSocket, and recovery from a dropped socket, a stalled feed, expired tokens and a malformed
packet, without a restart; finally every log line and Redis key is scanned for secrets."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pyotp
import pytest
import redis
import websockets
from pydantic import SecretStr

from fo_bus.names import BusNames
from fo_gateway.tokens import verify_token
from fo_runtime.redis_server import free_port
from tests.helpers import eventually

pytestmark = pytest.mark.e2e

CLIENT = "E2E001"
MPIN = "0917"  # leading zero: can never appear as a JSON number in logs or ticks
MPIN_RE = re.compile(rb"(?<![0-9A-Za-z.])0917(?![0-9A-Za-z])")


@dataclass
class FakeAngelProcess:
    proc: subprocess.Popen[bytes]
    rest_url: str
    ws_url: str
    master_url: str
    api_key: str
    totp_secret: str

    def fault(self, name: str, **params: int) -> None:
        r = httpx.post(f"{self.rest_url}/__fake__/fault/{name}", params=params, timeout=5)
        r.raise_for_status()

    def state(self) -> dict:
        return httpx.get(f"{self.rest_url}/__fake__/state", timeout=5).json()


@pytest.fixture
def fake_angel(tmp_path: Path) -> Iterator[FakeAngelProcess]:
    api_key, secret = f"e2e-{secrets.token_hex(16)}", pyotp.random_base32()
    with open(tmp_path / "fake-angel.log", "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fo_fakeangel",
                "serve",
                "--http-port",
                str(free_port()),
                "--ws-port",
                str(free_port()),
                "--api-key",
                api_key,
                "--client-code",
                CLIENT,
                "--mpin",
                MPIN,
                "--totp-secret",
                secret,
                "--symbols",
                "NIFTY",
                "--expiries",
                "2",
                "--strikes",
                "15",
                "--tick-interval",
                "0.2",
            ],
            stdout=subprocess.PIPE,
            stderr=log,
        )
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        yield FakeAngelProcess(
            proc, ready["rest_url"], ready["ws_url"], ready["master_url"], api_key, secret
        )
    finally:
        if proc.stdout is not None:
            proc.stdout.close()
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


def login(stack, fake: FakeAngelProcess, **override: str) -> httpx.Response:
    body = {
        "api_key": fake.api_key,
        "client_code": CLIENT,
        "password": MPIN,
        "totp_token": fake.totp_secret,
    } | override
    return httpx.post(f"{stack.base_url}/api/auth/login", json=body, timeout=15)


async def two_snapshots(url: str) -> list[dict]:
    async with websockets.connect(url, open_timeout=10) as ws:
        out: list[dict] = []
        while len(out) < 2:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout=15))
            if message.get("type") == "chain":
                out.append(message)
        return out


def test_angel_feed_end_to_end(
    make_stack, fake_angel: FakeAngelProcess, tmp_path: Path, redis_url: str, namespace: str
) -> None:
    fake = fake_angel
    secret_key = secrets.token_hex(32)
    cwd_logs = Path.cwd() / "logs"
    had_logs = cwd_logs.exists()
    stack = make_stack(
        FEED="angel",
        SYMBOLS="NIFTY",
        SECRET_KEY=secret_key,
        ANGEL_API_KEY=fake.api_key,
        ANGEL_REST_URL=fake.rest_url,
        ANGEL_WS_URL=fake.ws_url,
        ANGEL_MASTER_URL=fake.master_url,
        ANGEL_CACHE_DIR=str(tmp_path / "angel-cache"),
        ANGEL_STRIKES_EACH_SIDE="8",
        ANGEL_STALL_TIMEOUT_S="2.5",
        ANGEL_WATCHDOG_HOURS="always",
        ANGEL_HEARTBEAT_S="2",
        ANGEL_SESSION_CHECK_S="5",
        SNAPSHOT_INTERVAL_S="0.5",
        LOGIN_ATTEMPTS_PER_CLIENT="5",
        RATE_LIMIT_LOGIN="100/minute",
    )
    r = redis.Redis.from_url(redis_url)
    names = BusNames(namespace)
    ingestor_pid = stack.processes["fo_ingestor"].pid

    def status() -> dict:
        raw = [r.get(k) for k in r.scan_iter(match=names.health_key("ingestor", "*"))]
        beats = [orjson.loads(x) for x in raw if x]
        return beats[0]["angel"] if beats and "angel" in beats[0] else {}

    def newest_tick_ms() -> int:
        last = r.xrevrange(names.ticks_stream("NIFTY"), count=1)
        return int(last[0][0].split(b"-")[0]) if last else 0

    def resumes_after(change, deadline_s: float) -> float:
        """Seconds until ``change()`` holds and a tick batch newer than that moment lands."""
        t0 = time.time()
        eventually(change, timeout=deadline_s)
        seen = time.time()
        eventually(
            lambda: newest_tick_ms() > seen * 1000, timeout=max(0.1, deadline_s - (seen - t0))
        )
        return time.time() - t0

    # --- login through the gateway: distinct errors, then a session and a JWT -------------
    wrong_totp = login(stack, fake, totp_token=pyotp.random_base32())
    assert (wrong_totp.status_code, wrong_totp.json()["reason"]) == (401, "invalid_totp")
    wrong_mpin = login(stack, fake, password="1111")
    assert (wrong_mpin.status_code, wrong_mpin.json()["reason"]) == (403, "invalid_mpin")
    assert r.get(names.session_key(CLIENT)) is None
    ok = login(stack, fake)
    assert ok.status_code == 200, ok.text
    token = ok.json()["access_token"]
    assert verify_token(SecretStr(secret_key), token) == CLIENT
    assert ok.json()["session"]["name"] == "FAKE USER" and ok.json()["session"]["feed"] is True
    info = httpx.get(
        f"{stack.base_url}/api/auth/session/{CLIENT}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert info.status_code == 200 and info.json()["session"]["client_code"] == CLIENT
    assert httpx.get(f"{stack.base_url}/api/auth/session/{CLIENT}", timeout=5).status_code == 401
    assert (
        httpx.get(
            f"{stack.base_url}/api/auth/session/OTHER1", params={"token": token}, timeout=5
        ).status_code
        == 403
    )

    # --- the first user session drives the feed: snapshots on the WebSocket ----------------
    snaps = asyncio.run(two_snapshots(f"{stack.ws_url}/ws/NIFTY/{CLIENT}?token={token}"))
    assert all(s["symbol"] == "NIFTY" and s["chain"]["strike"] for s in snaps)
    assert snaps[1]["seq"] > snaps[0]["seq"]
    instruments = orjson.loads(r.get(names.instruments_key("NIFTY")))
    assert instruments["source"] == "angel" and instruments["spot_token"] == "99926000"
    assert len(instruments["instruments"]) == 1 + 2 * 17 * 2  # 2 expiries × 17 strikes × CE/PE
    eventually(lambda: status().get("packets", 0) > 0, timeout=10)

    # --- the fake drops the socket: data resumes within 5 s ---------------------------------
    before = status()["connects"]
    fake.fault("close", code=1006)
    took = resumes_after(lambda: status()["connects"] > before, deadline_s=5.0)
    assert took < 5.0

    # --- the fake stalls: the watchdog reconnects -------------------------------------------
    stalls = status()["stalls"]
    fake.fault("stall")
    resumes_after(lambda: status()["stalls"] > stalls, deadline_s=10.0)

    # --- tokens expire: socket goes mute → watchdog → 401 → re-login → resubscribe ---------
    logins = fake.state()["counters"]["logins"]
    generation = status()["session_generation"]
    fake.fault("expire_tokens")
    resumes_after(
        lambda: (
            fake.state()["counters"]["logins"] > logins
            and status()["session_generation"] > generation
        ),
        deadline_s=15.0,
    )
    assert status()["auth_failures"] >= 1
    assert stack.processes["fo_ingestor"].poll() is None
    assert stack.processes["fo_ingestor"].pid == ingestor_pid  # no restart

    # --- a malformed packet is counted and skipped; data keeps flowing ---------------------
    malformed = status()["malformed"]
    fake.fault("malformed")
    resumes_after(lambda: status()["malformed"] == malformed + 1, deadline_s=5.0)

    # --- rate limits: Angel's (plain text) and ours (per client code) -----------------------
    fake.fault("rate_limit_login")
    limited = login(stack, fake)
    assert (limited.status_code, limited.json()["reason"]) == (429, "broker_rate_limited")
    codes = [
        login(stack, fake, client_code="RATE01", password="1111").status_code for _ in range(6)
    ]
    assert codes[:5] == [403] * 5 and codes[5] == 429
    stack.check_alive()

    # --- no secret in any log line or any Redis key written during the run ------------------
    issued = fake.state()["issued_tokens"]
    assert len(issued) >= 6  # two logins' worth of jwt/refresh/feed tokens
    needles = [s.encode() for s in [fake.api_key, fake.totp_secret, secret_key, *issued]]
    blobs: dict[str, bytes] = {
        m: (stack.log_dir / f"{m}.log").read_bytes() for m in stack.processes
    }
    for key in r.scan_iter(match=f"{namespace}:*"):
        kind = r.type(key)
        if kind == b"string":
            blobs[key.decode()] = r.get(key) or b""
        elif kind == b"stream":
            blobs[key.decode()] = b"".join(
                k + v for _id, fields in r.xrange(key) for k, v in fields.items()
            )
        elif kind == b"list":
            blobs[key.decode()] = b"".join(r.lrange(key, 0, -1))
        elif kind == b"hash":
            blobs[key.decode()] = b"".join(k + v for k, v in r.hgetall(key).items())
    assert any(b"login ok" in b for b in blobs.values())  # the logs are really there
    for where, blob in blobs.items():
        for needle in needles:
            assert needle not in blob, f"a secret leaked into {where}"
        assert not MPIN_RE.search(blob), f"the MPIN leaked into {where}"
    assert cwd_logs.exists() == had_logs  # smartapi wrote no ./logs folder
    r.close()
