"""``POST /api/auth/login`` and ``GET /api/auth/session/{client_code}``.

A login is sealed and handed to the ingestor over the bus (the only process that talks to
Angel); on success the gateway answers with a short-lived JWT signed with SECRET_KEY and the
session's public info. Each failure has its own status and ``reason``; attempts are limited
per client code and per client address (counters in Redis, shared by all replicas).
Credentials are never logged, stored in plain text or echoed.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, SecretStr, field_validator
from redis.exceptions import RedisError

from fo_gateway.control import BadReply, LoginTimeout, request_login
from fo_gateway.deps import SettingsDep
from fo_gateway.tokens import InvalidToken, canonical_client_code, issue_token, verify_token

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/auth", tags=["auth"])

# reason (from the ingestor) → HTTP status. Distinct statuses for the cases a user can fix.
STATUS_OF_REASON = {
    "invalid_totp": 401,
    "invalid_api_key": 401,
    "invalid_mpin": 403,
    "password_not_mpin": 403,
    "account_blocked": 403,
    "bad_request": 400,
    "too_many_attempts": 429,
    "broker_rate_limited": 429,
    "broker_rejected": 502,
    "broker_error": 502,
    "token_expired": 502,
    "broker_unreachable": 503,
    "login_unavailable": 503,
    "login_timeout": 504,
}
MESSAGES = {
    "invalid_totp": "the TOTP did not verify: check the TOTP secret and the clock",
    "invalid_mpin": "wrong client code or MPIN",
    "password_not_mpin": "the password must be the 4-digit MPIN",
    "invalid_api_key": "Angel refused the API key",
    "account_blocked": "the Angel account is blocked",
    "too_many_attempts": "too many login attempts; retry later",
    "broker_rate_limited": "Angel's rate limit was hit; retry in a few seconds",
    "broker_unreachable": "Angel One is unreachable; retry later",
    "broker_rejected": "Angel One rejected the request",
    "broker_error": "Angel One failed to answer; retry later",
    "login_timeout": "the broker session service did not answer in time",
    "login_unavailable": "broker login is disabled in demo mode (no ANGEL_API_KEY)",
}


class LoginRequest(BaseModel):
    api_key: SecretStr = Field(description="Your SmartAPI key.")
    client_code: str = Field(min_length=1, max_length=32, description="Angel client code.")
    password: SecretStr = Field(
        description="Your 4-digit MPIN (Angel no longer accepts passwords)."
    )
    totp_token: SecretStr = Field(description="Your TOTP secret (the base32 QR value).")

    @field_validator("client_code")
    @classmethod
    def _code(cls, value: str) -> str:
        value = canonical_client_code(value)
        if not value.isalnum():
            raise ValueError("must be letters and digits")
        return value


def _error(reason: str, retry_after: int | None = None, message: str | None = None) -> JSONResponse:
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    return JSONResponse(
        {"detail": message or MESSAGES.get(reason, reason), "reason": reason},
        status_code=STATUS_OF_REASON.get(reason, 502),
        headers=headers,
    )


async def _over_limit(request: Request, client_code: str, limit: int, window_s: int) -> int:
    """Seconds to wait when ``client_code`` is over its limit, else 0.

    The window opens at the code's first attempt and lasts ``window_s`` (a counter whose TTL is
    set only when it is created), so attempts are never split across a clock boundary.
    """
    reader = request.app.state.reader
    key = reader.names.login_attempts_key(client_code)
    try:
        async with reader.client.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=window_s, nx=True)
            pipe.incr(key)
            pipe.ttl(key)
            _, count, ttl = await pipe.execute()
    except (RedisError, OSError):
        return 0  # a Redis blip never locks users out; the ingestor still paces Angel
    return max(int(ttl), 1) if int(count) > limit else 0


@router.post("/login", summary="Log in to Angel One (client code + MPIN + TOTP)")
async def login(body: LoginRequest, request: Request, settings: SettingsDep) -> JSONResponse:
    if settings.demo_mode:
        return _error("login_unavailable")
    # Per address, the RATE_LIMIT_LOGIN middleware applies; this guards one account from many.
    wait = await _over_limit(
        request,
        body.client_code,
        settings.login_attempts_per_client,
        settings.login_attempts_window_s,
    )
    if wait:
        log.info("login attempts limited", extra={"client_code": body.client_code})
        return _error("too_many_attempts", retry_after=wait)
    assert settings.secret_key is not None
    credentials = {
        "api_key": body.api_key.get_secret_value(),
        "client_code": body.client_code,
        "password": body.password.get_secret_value(),
        "totp_token": body.totp_token.get_secret_value(),
    }
    try:
        reply = await request_login(
            request.app.state.reader.client,
            request.app.state.reader.names,
            settings.secret_key,
            credentials,
            settings.login_timeout_s,
        )
    except LoginTimeout:
        log.warning("login: no reply from an ingestor", extra={"client_code": body.client_code})
        return _error("login_timeout")
    except BadReply:
        log.error("login: reply sealed with another SECRET_KEY (ingestor and gateway differ)")
        return _error("broker_error", message="ingestor and gateway SECRET_KEY differ")
    if not reply.get("ok"):
        reason = str(reply.get("reason", "broker_error"))
        log.info("login refused", extra={"client_code": body.client_code, "reason": reason})
        retry = reply.get("retry_after_s")
        return _error(reason, retry_after=int(retry) if retry else None)
    ttl = settings.access_token_ttl_s
    token = issue_token(settings.secret_key, body.client_code, ttl)
    log.info("login ok", extra={"client_code": body.client_code})
    return JSONResponse(
        {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": ttl,
            "client_code": body.client_code,
            "session": reply.get("session", {}),
        }
    )


@router.get("/session/{client_code}", summary="The broker session of a logged-in client")
async def session(
    client_code: str,
    request: Request,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
    token: Annotated[str | None, Query(description="Access token, if not in a header")] = None,
) -> JSONResponse:
    raw = (authorization or "").removeprefix("Bearer ").strip() or (token or "")
    if not raw:
        return JSONResponse(
            {"detail": "access token required", "reason": "no_token"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    assert settings.secret_key is not None
    try:
        subject = verify_token(settings.secret_key, raw)
    except InvalidToken as exc:
        return JSONResponse(
            {"detail": str(exc), "reason": "invalid_token"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    code = canonical_client_code(client_code)
    if subject != code:
        return JSONResponse(
            {"detail": "token belongs to another client", "reason": "forbidden"}, status_code=403
        )
    reader = request.app.state.reader
    stored = await reader.client.get(reader.names.session_key(code))
    if stored is None:
        return JSONResponse(
            {"detail": "no broker session for this client", "reason": "no_session"}, status_code=404
        )
    info: dict[str, Any] = orjson.loads(stored)
    return JSONResponse({"client_code": code, "active": True, "session": info})
