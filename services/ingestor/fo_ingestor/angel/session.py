"""Broker session: login (client code + MPIN + TOTP), renewal, profile, logout.

``AngelRest`` turns each REST call (made through the contained SDK, in a thread) into either
the envelope's ``data`` or a typed ``AngelError``. ``AngelSession`` holds one account's tokens
and the policies around them: TOTP timing, one paced login at a time, renewal from the
JWT's ``exp``, a fresh login each trading morning, and re-login on expired-token errors.
Tokens are ``SecretStr`` and never logged.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as dtime
from typing import Any, Final

import pyotp
from pydantic import SecretStr

from fo_ingestor.angel.errors import (
    AngelError,
    AngelProtocolError,
    AngelUnreachable,
    InvalidTotp,
    TokenExpired,
    check_envelope,
    classify_text,
)
from fo_instruments.calendar import IST

log = logging.getLogger(__name__)

TOTP_STEP_S: Final = 30
TOTP_MIN_LEFT_S: Final = 3.0  # avoid the last seconds of a window (spec §1.3)
DAILY_LOGIN: Final = dtime(8, 45)  # IST, after the scrip master refresh at ~08:30
RENEW_BEFORE_S: Final = 300.0
LOGIN_SPACING_S: Final = 1.1  # Angel allows 1 login per second per client code


@dataclass(frozen=True)
class Credentials:
    api_key: SecretStr
    client_code: str
    mpin: SecretStr
    totp_secret: SecretStr

    def __repr__(self) -> str:
        return f"Credentials(client_code={self.client_code!r})"


@dataclass(frozen=True)
class BrokerTokens:
    jwt: SecretStr
    refresh: SecretStr
    feed: SecretStr
    issued_at: float
    expires_at: float | None  # the JWT's ``exp`` (decoded, not verified), if present

    def __repr__(self) -> str:
        return f"BrokerTokens(issued_at={self.issued_at}, expires_at={self.expires_at})"


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT, decoded without verification (only to schedule renewal)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, KeyError, ValueError, TypeError):
        return None


def totp_code(secret: str, now: float) -> tuple[str, float]:
    """The TOTP code at ``now`` and the seconds left in its 30 s window."""
    code = pyotp.TOTP(secret).at(int(now))
    return code, TOTP_STEP_S - (now % TOTP_STEP_S)


def needs_daily_login(logged_in_at: float, now: float) -> bool:
    """True once the day's login time (08:45 IST) has passed since the last login."""
    local_now = datetime.fromtimestamp(now, IST)
    boundary = datetime.combine(local_now.date(), DAILY_LOGIN, tzinfo=IST).timestamp()
    if local_now.timestamp() < boundary:
        boundary -= 86_400
    return logged_in_at < boundary <= now


def tokens_from(data: Any, now: float) -> BrokerTokens:
    try:
        jwt, refresh, feed = data["jwtToken"], data["refreshToken"], data["feedToken"]
    except (KeyError, TypeError):
        raise AngelProtocolError("login reply without jwtToken/refreshToken/feedToken") from None
    jwt = str(jwt).removeprefix("Bearer ").strip()  # store the raw JWT, never "Bearer Bearer"
    return BrokerTokens(
        SecretStr(jwt), SecretStr(str(refresh)), SecretStr(str(feed)), now, jwt_expiry(jwt)
    )


class AngelRest:
    """Blocking REST calls through the contained SDK; every failure is a typed AngelError."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def _call(
        self, api_key: str, route: str, method: str, params: dict[str, Any], jwt: str | None = None
    ) -> Any:
        import requests

        from fo_ingestor.angel.sdk import smartconnect_class

        client = smartconnect_class()(api_key, self.base_url, self.timeout_s)
        client.access_token = jwt
        try:
            body = client._request(route, method, params)
        except requests.RequestException as exc:
            raise AngelUnreachable(f"Angel unreachable ({type(exc).__name__})") from None
        except Exception as exc:  # the SDK's DataException for non-JSON replies (shapes C, D)
            text = str(exc)
            start = text.find("b'")
            raise classify_text(text[start + 2 :] if start >= 0 else text) from None
        return check_envelope(body)

    def login(self, api_key: str, client_code: str, mpin: str, totp: str) -> Any:
        params = {"clientcode": client_code, "password": mpin, "totp": totp}
        return self._call(api_key, "api.login", "POST", params)

    def renew(self, api_key: str, jwt: str, refresh: str) -> Any:
        return self._call(api_key, "api.token", "POST", {"refreshToken": refresh}, jwt)

    def profile(self, api_key: str, jwt: str) -> Any:
        return self._call(api_key, "api.user.profile", "GET", {}, jwt)

    def logout(self, api_key: str, jwt: str, client_code: str) -> Any:
        return self._call(api_key, "api.logout", "POST", {"clientcode": client_code}, jwt)

    def quote(
        self, api_key: str, jwt: str, mode: str, exchange_tokens: dict[str, list[str]]
    ) -> Any:
        params = {"mode": mode, "exchangeTokens": exchange_tokens}
        return self._call(api_key, "api.market.data", "POST", params, jwt)


@dataclass
class SessionInfo:
    """What may be shown about a session: no token, no credential."""

    client_code: str
    name: str | None = None
    exchanges: list[str] = field(default_factory=list)
    logged_in_at: float | None = None
    expires_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "client_code": self.client_code,
            "name": self.name,
            "exchanges": self.exchanges,
            "logged_in_at": self.logged_in_at,
            "expires_at": self.expires_at,
        }


class AngelSession:
    """One account's live session. ``generation`` increases on every new token set."""

    def __init__(
        self,
        rest: AngelRest,
        credentials: Credentials,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Any] = asyncio.sleep,
        pacer: dict[str, float] | None = None,
    ) -> None:
        self.rest = rest
        self.credentials = credentials
        self.clock = clock
        self.sleep = sleep
        self.tokens: BrokerTokens | None = None
        self.info = SessionInfo(credentials.client_code)
        self.generation = 0
        self.logins = 0
        self.renewals = 0
        self.last_error: str | None = None
        self._lock = asyncio.Lock()
        self._pacer = pacer if pacer is not None else {}  # client code → last login time
        self.changed = asyncio.Event()

    @property
    def client_code(self) -> str:
        return self.credentials.client_code

    async def _pace(self) -> None:
        last = self._pacer.get(self.client_code, 0.0)
        wait = last + LOGIN_SPACING_S - self.clock()
        if wait > 0:
            await self.sleep(wait)
        self._pacer[self.client_code] = self.clock()

    async def _login_once(self) -> BrokerTokens:
        creds = self.credentials
        await self._pace()
        code, left = totp_code(creds.totp_secret.get_secret_value(), self.clock())
        if left < TOTP_MIN_LEFT_S:
            await self.sleep(left + 0.05)
            code, _ = totp_code(creds.totp_secret.get_secret_value(), self.clock())
        try:
            data = await asyncio.to_thread(
                self.rest.login,
                creds.api_key.get_secret_value(),
                creds.client_code,
                creds.mpin.get_secret_value(),
                code,
            )
        finally:  # space the next login from this one's answer, not its start
            self._pacer[self.client_code] = self.clock()
        return tokens_from(data, self.clock())

    async def login(self, retry_totp: bool = False) -> BrokerTokens:
        """A fresh login. With ``retry_totp``, an AB1050 is retried once on the next TOTP step
        (clock edge), never in a loop."""
        async with self._lock:
            try:
                try:
                    tokens = await self._login_once()
                except InvalidTotp:
                    if not retry_totp:
                        raise
                    left = TOTP_STEP_S - (self.clock() % TOTP_STEP_S)
                    log.warning(
                        "TOTP refused; retrying once on the next step",
                        extra={"client_code": self.client_code, "wait_s": round(left, 1)},
                    )
                    await self.sleep(left + 0.5)
                    tokens = await self._login_once()
            except AngelError as exc:
                self.last_error = exc.reason
                raise
            self._install(tokens)
            self.logins += 1
            await self._load_profile()
            log.info(
                "broker login ok",
                extra={"client_code": self.client_code, "generation": self.generation},
            )
            return tokens

    async def relogin(self, seen_generation: int) -> None:
        """Log in again unless someone already did since ``seen_generation`` (dedupes the
        401s of several connections)."""
        if self.generation > seen_generation:
            return
        await self.login(retry_totp=True)

    async def renew(self) -> None:
        """generateTokens; replaces all three tokens. Falls back to a full login when the
        refresh token is refused."""
        tokens = self.tokens
        if tokens is None:
            await self.login(retry_totp=True)
            return
        async with self._lock:
            try:
                data = await asyncio.to_thread(
                    self.rest.renew,
                    self.credentials.api_key.get_secret_value(),
                    tokens.jwt.get_secret_value(),
                    tokens.refresh.get_secret_value(),
                )
            except TokenExpired:
                data = None
            if data is not None:
                self._install(tokens_from(data, self.clock()))
                self.renewals += 1
                log.info("broker tokens renewed", extra={"client_code": self.client_code})
                return
        await self.login(retry_totp=True)

    def _install(self, tokens: BrokerTokens) -> None:
        self.tokens = tokens
        self.generation += 1
        self.last_error = None
        self.info.logged_in_at = tokens.issued_at
        self.info.expires_at = tokens.expires_at
        self.changed.set()

    async def _load_profile(self) -> None:
        try:
            data = await asyncio.to_thread(
                self.rest.profile,
                self.credentials.api_key.get_secret_value(),
                self.jwt(),
            )
        except AngelError as exc:
            log.warning("broker profile unavailable", extra={"reason": exc.reason})
            return
        if isinstance(data, dict):
            self.info.name = data.get("name")
            self.info.exchanges = list(data.get("exchanges") or [])

    def jwt(self) -> str:
        if self.tokens is None:
            raise TokenExpired("not logged in")
        return self.tokens.jwt.get_secret_value()

    def due(self, now: float) -> str | None:
        """What the session needs at ``now``: "login", "renew" or None."""
        if self.tokens is None:
            return "login"
        if needs_daily_login(self.tokens.issued_at, now):
            return "login"
        exp = self.tokens.expires_at
        if exp is not None and exp - now < RENEW_BEFORE_S:
            return "renew" if exp > now else "login"
        return None

    async def maintain(self) -> None:
        match self.due(self.clock()):
            case "login":
                await self.login(retry_totp=True)
            case "renew":
                await self.renew()

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """A secure REST call with the live JWT; on an expired token, log in once and retry."""
        generation = self.generation
        try:
            return await asyncio.to_thread(
                fn, self.credentials.api_key.get_secret_value(), self.jwt(), *args
            )
        except TokenExpired:
            await self.relogin(generation)
            return await asyncio.to_thread(
                fn, self.credentials.api_key.get_secret_value(), self.jwt(), *args
            )
