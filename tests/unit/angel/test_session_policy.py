"""Session policies that need no network: TOTP timing, renewal schedule, daily login, logins."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import datetime
from typing import Any

import pyotp
import pytest
from pydantic import SecretStr

from fo_ingestor.angel.errors import InvalidTotp, TokenExpired
from fo_ingestor.angel.session import (
    AngelSession,
    Credentials,
    jwt_expiry,
    needs_daily_login,
    tokens_from,
    totp_code,
)
from fo_instruments.calendar import IST

SECRET = pyotp.random_base32()


def ist(*args: int) -> float:
    return datetime(*args, tzinfo=IST).timestamp()


def fake_jwt(exp: int) -> str:
    body = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJIUzUxMiJ9.{body}.sig"


def test_totp_matches_pyotp_and_reports_time_left() -> None:
    code, left = totp_code(SECRET, 1_699_999_997.5)
    assert code == pyotp.TOTP(SECRET).at(1_699_999_997) and left == pytest.approx(12.5)


def test_daily_login_boundary_is_0845_ist() -> None:
    assert needs_daily_login(ist(2025, 1, 1, 15, 0), ist(2025, 1, 2, 8, 46))
    assert not needs_daily_login(ist(2025, 1, 1, 15, 0), ist(2025, 1, 2, 8, 44))
    assert not needs_daily_login(ist(2025, 1, 2, 8, 50), ist(2025, 1, 2, 15, 0))


def test_tokens_are_stored_raw_and_expiry_is_decoded() -> None:
    tokens = tokens_from(
        {
            "jwtToken": "Bearer " + fake_jwt(2_000),
            "refreshToken": "refresh-xyz",
            "feedToken": "feed-xyz",
        },
        1.0,
    )
    assert tokens.jwt.get_secret_value() == fake_jwt(2_000) and tokens.expires_at == 2_000
    assert (
        "xyz" not in repr(tokens)
        and fake_jwt(2_000) not in repr(tokens)
        and jwt_expiry("not-a-jwt") is None
    )


class ScriptedRest:
    """Answers login with scripted outcomes; records the TOTP codes it was sent."""

    def __init__(self, outcomes: list[Any]) -> None:
        self.outcomes = outcomes
        self.codes: list[str] = []

    def login(self, api_key: str, client_code: str, mpin: str, totp: str) -> Any:
        self.codes.append(totp)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def profile(self, api_key: str, jwt: str) -> Any:
        raise TokenExpired("no profile in this test")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def session(rest: ScriptedRest, clock: Clock) -> AngelSession:
    creds = Credentials(SecretStr("k"), "C1", SecretStr("1234"), SecretStr(SECRET))
    return AngelSession(rest, creds, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]


GOOD = {"jwtToken": fake_jwt(10**10), "refreshToken": "r", "feedToken": "f"}


def test_login_waits_out_the_last_seconds_of_a_totp_window() -> None:
    clock = Clock(1_699_999_980 + 28.5)  # 1.5 s left in the window
    rest = ScriptedRest([GOOD])
    asyncio.run(session(rest, clock).login())
    assert clock.slept and rest.codes == [pyotp.TOTP(SECRET).at(1_700_000_010)]


def test_invalid_totp_is_retried_once_on_the_next_step_only_when_asked() -> None:
    clock = Clock(1_699_999_985.0)
    rest = ScriptedRest([InvalidTotp("Invalid totp", code="AB1050"), GOOD])
    s = session(rest, clock)
    asyncio.run(s.login(retry_totp=True))
    assert len(rest.codes) == 2 and clock.now >= 1_700_000_010 and s.generation == 1
    rest = ScriptedRest([InvalidTotp("Invalid totp", code="AB1050"), InvalidTotp("Invalid totp")])
    s = session(rest, Clock(1_699_999_985.0))
    with pytest.raises(InvalidTotp):
        asyncio.run(s.login(retry_totp=True))
    assert len(rest.codes) == 2 and s.last_error == "invalid_totp"  # once, never a loop
    rest = ScriptedRest([InvalidTotp("Invalid totp")])
    with pytest.raises(InvalidTotp):
        asyncio.run(session(rest, Clock(1_699_999_985.0)).login())
    assert len(rest.codes) == 1


def test_due_says_renew_before_exp_and_login_after() -> None:
    clock = Clock(ist(2025, 1, 2, 10, 0))
    rest = ScriptedRest([{**GOOD, "jwtToken": fake_jwt(int(clock.now) + 200)}])
    s = session(rest, clock)
    assert s.due(clock.now) == "login"
    asyncio.run(s.login())
    assert s.due(clock.now) == "renew"
    assert s.due(clock.now + 400) == "login"
    assert "1234" not in repr(s.credentials) and SECRET not in repr(s.credentials)
