"""The broker session against the fake's real HTTP endpoints: every error shape, renewal,
and the SDK's side effects contained (no files, no credentials in any log record)."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pyotp
import pytest
from pydantic import SecretStr

from fo_fakeangel.server import FakeServer
from fo_ingestor.angel import errors as e
from fo_ingestor.angel.session import AngelRest, AngelSession, Credentials


def creds(fake: FakeServer, **over: str) -> Credentials:
    c = fake.fake.config
    values = {
        "api_key": c.api_key,
        "client_code": c.client_code,
        "mpin": c.mpin,
        "totp_secret": c.totp_secret,
    } | over
    return Credentials(
        SecretStr(values["api_key"]),
        values["client_code"],
        SecretStr(values["mpin"]),
        SecretStr(values["totp_secret"]),
    )


def session(fake: FakeServer, pacer: dict | None = None, **over: str) -> AngelSession:
    return AngelSession(
        AngelRest(fake.rest_url, 5), creds(fake, **over), pacer=pacer if pacer is not None else {}
    )


async def test_login_renew_profile_and_quote(fake: FakeServer) -> None:
    s = session(fake)
    first = await s.login()
    assert s.info.name == "FAKE USER" and first.jwt.get_secret_value() in fake.fake.sessions
    await s.renew()
    assert s.generation == 2 and s.tokens is not None
    assert s.tokens.refresh.get_secret_value() != first.refresh.get_secret_value()
    assert fake.fake.counters["renewals"] == 1
    data = await s.call(s.rest.quote, "LTP", {"NSE": ["99926000"]})
    spot = fake.fake.quotes["99926000"].last_traded_price / 100
    assert data["fetched"][0]["ltp"] == spot


async def test_expired_token_on_a_secure_call_logs_in_again(fake: FakeServer) -> None:
    s = session(fake)
    await s.login()
    fake.fake.expire_all()  # the gateway answers AG8001 (envelope B) from now on
    with pytest.raises(e.TokenExpired):
        await __import__("asyncio").to_thread(s.rest.profile, fake.fake.config.api_key, s.jwt())
    data = await s.call(s.rest.quote, "LTP", {"NSE": ["99926000"]})
    assert data["fetched"] and s.generation == 2


@pytest.mark.parametrize(
    ("over", "fault", "kind"),
    [
        ({"totp_secret": pyotp.random_base32()}, None, e.InvalidTotp),
        ({"mpin": "1111"}, None, e.InvalidCredentials),
        ({"mpin": "hunter22"}, None, e.MpinRequired),
        ({"api_key": "wrong-key"}, None, e.InvalidApiKey),
        ({}, "rate_limit_login", e.AngelRateLimited),
        ({}, "waf", e.AngelRejected),
        ({}, "login_error", e.AngelServerError),
    ],
    ids=["AB1050", "AB1000", "AB7001", "gateway-AG8004", "plain-text-rate", "html-waf", "AB1004"],
)
async def test_each_error_shape_is_typed(
    fake: FakeServer, over: dict, fault: str | None, kind: type
) -> None:
    if fault == "rate_limit_login":
        fake.fake.faults.rate_limit_login = 1
    elif fault == "waf":
        fake.fake.faults.waf = 1
    elif fault == "login_error":
        fake.fake.faults.login_error = 1
    with pytest.raises(kind):
        await session(fake, **over).login()


async def test_unreachable_and_silent_brokers_are_retryable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connection refused
        s = AngelSession(
            AngelRest(f"http://127.0.0.1:{port}", 1),
            Credentials(SecretStr("k"), "C1", SecretStr("1234"), SecretStr(pyotp.random_base32())),
            pacer={},
        )
        with pytest.raises(e.AngelUnreachable) as info:
            await s.login()
    assert info.value.retryable
    with socket.socket() as silent:  # accepts, never answers: the timeout must fire
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        s.rest = AngelRest(f"http://127.0.0.1:{silent.getsockname()[1]}", 0.5)
        with pytest.raises(e.AngelUnreachable):
            await s.login()


async def test_sdk_writes_no_files_and_logs_no_credentials(
    fake: FakeServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.DEBUG)
    c = fake.fake.config
    pacer: dict[str, float] = {}
    with pytest.raises(e.InvalidCredentials):  # the SDK logs headers + body on this path
        await session(fake, pacer, mpin="1357").login()
    s = session(fake, pacer)  # the same pacer: Angel allows one login per second
    await s.login()
    assert s.tokens is not None
    secrets_ = [
        c.api_key,
        c.totp_secret,
        "1357",
        c.mpin,
        s.tokens.jwt.get_secret_value(),
        s.tokens.refresh.get_secret_value(),
        s.tokens.feed.get_secret_value(),
    ]
    # Every text a record carries (numbers such as its timestamps cannot hold a credential,
    # and a 4-digit MPIN would match them by chance).
    text = "\n".join(
        f"{r.name} {r.getMessage()} "
        + repr({k: v for k, v in r.__dict__.items() if not isinstance(v, int | float)})
        for r in caplog.records
    )
    assert "smartapi logged a message" in text  # the SDK did log; its content was withheld
    for value in secrets_:
        assert value not in text
    assert not (tmp_path / "logs").exists() and not any(tmp_path.iterdir())  # noqa: ASYNC240
