"""Who may open a WebSocket: Origin allowlist, access token, client code; the close codes.

Browsers cannot set headers on a WebSocket, so the token travels either as the ``token``
query parameter or as the second ``Sec-WebSocket-Protocol`` entry after ``bearer``
(``new WebSocket(url, ["bearer", token])``); the server then accepts the ``bearer``
subprotocol and never echoes the token. CORS middleware ignores WebSockets, so the Origin
check is done here: a browser page from an origin not in ``ALLOWED_ORIGINS`` is refused
(cross-site WebSocket hijacking); clients that send no Origin (servers, scripts) are not
browsers and pass.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr

from fo_gateway.tokens import InvalidToken, canonical_client_code, verify_token

BEARER = "bearer"
CLIENT_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

# Close codes: 1xxx are the protocol's own, 4xxx mirror the HTTP status they resemble.
CLOSE_GOING_AWAY = 1001  # the server is shutting down: reconnect (with jitter)
CLOSE_POLICY = 1008  # too many malformed messages
CLOSE_TRY_AGAIN = 1013  # this process is at its connection limit: reconnect later
CLOSE_BAD_REQUEST = 4400  # malformed client code or expiry in the URL
CLOSE_UNAUTHORIZED = 4401  # token missing (live mode), malformed, badly signed or expired
CLOSE_FORBIDDEN = 4403  # the token belongs to another client code
CLOSE_NOT_FOUND = 4404  # unknown symbol, or an expiry that is not followed
CLOSE_ORIGIN = 4406  # the page's Origin is not in ALLOWED_ORIGINS
CLOSE_RATE = 4429  # too many sockets from one address, or too many messages on this one

CLOSE_CODES = {
    CLOSE_GOING_AWAY: "server shutting down; reconnect",
    CLOSE_POLICY: "too many malformed messages",
    CLOSE_TRY_AGAIN: "server at its connection limit; retry later",
    CLOSE_BAD_REQUEST: "malformed client code or expiry",
    CLOSE_UNAUTHORIZED: "token missing, invalid or expired",
    CLOSE_FORBIDDEN: "token issued to another client code",
    CLOSE_NOT_FOUND: "unknown symbol or expiry",
    CLOSE_ORIGIN: "origin not allowed",
    CLOSE_RATE: "too many connections or messages",
}


@dataclass(frozen=True, slots=True)
class Refusal:
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class Admission:
    client_code: str
    authenticated: bool
    subprotocol: str | None


def offered_token(query: Mapping[str, str], subprotocols: list[str]) -> tuple[str | None, bool]:
    """The token (query wins) and whether the client offered the ``bearer`` subprotocol."""
    bearer = BEARER in subprotocols
    token = query.get("token") or None
    if token is None and bearer:
        after = subprotocols[subprotocols.index(BEARER) + 1 :]
        token = after[0] if after else None
    return token, bearer


def origin_allowed(origin: str | None, allowed: list[str], host: str | None) -> bool:
    if origin is None:
        return True  # not a browser
    if origin in allowed:
        return True
    parts = urlsplit(origin)
    return host is not None and parts.netloc == host  # same origin as the gateway itself


def admit(
    *,
    client_code: str,
    origin: str | None,
    host: str | None,
    query: Mapping[str, str],
    subprotocols: list[str],
    allowed_origins: list[str],
    secret: SecretStr,
    demo_mode: bool,
) -> Admission | Refusal:
    """Decide on a WebSocket handshake (pure: no I/O, so unit tests cover every branch)."""
    if not origin_allowed(origin, allowed_origins, host):
        return Refusal(CLOSE_ORIGIN, f"origin {origin[:60]!r} not allowed" if origin else "")
    if not CLIENT_CODE.match(client_code):
        return Refusal(CLOSE_BAD_REQUEST, "client code must be 1-64 of A-Z a-z 0-9 _ . -")
    client_code = canonical_client_code(client_code)
    token, bearer = offered_token(query, subprotocols)
    subprotocol = BEARER if bearer else None
    if token is None:
        if demo_mode:
            return Admission(client_code, authenticated=False, subprotocol=subprotocol)
        return Refusal(CLOSE_UNAUTHORIZED, "access token required (query 'token' or bearer)")
    try:
        subject = verify_token(secret, token)
    except InvalidToken as exc:
        return Refusal(CLOSE_UNAUTHORIZED, str(exc))
    if subject != client_code:
        return Refusal(CLOSE_FORBIDDEN, "token was issued to another client code")
    return Admission(client_code, authenticated=True, subprotocol=subprotocol)
