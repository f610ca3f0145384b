"""Access tokens: short-lived JWTs (HS256) signed with SECRET_KEY, subject = client code."""

from __future__ import annotations

import time

import jwt
from pydantic import SecretStr

ALGORITHM = "HS256"
ISSUER = "fo-chain"


class InvalidToken(Exception):
    """The token is missing, malformed, expired, or signed with another key."""


def canonical_client_code(code: str) -> str:
    """Client codes are case-insensitive: `` abc123`` and ``ABC123`` are one client."""
    return code.strip().upper()


def issue_token(secret: SecretStr, client_code: str, ttl_s: int, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    subject = canonical_client_code(client_code)
    claims = {"sub": subject, "iat": issued, "exp": issued + ttl_s, "iss": ISSUER}
    return jwt.encode(claims, secret.get_secret_value(), algorithm=ALGORITHM)


def verify_token(secret: SecretStr, token: str) -> str:
    """The token's subject (canonical client code); raises InvalidToken with a reason otherwise."""
    try:
        claims = jwt.decode(
            token,
            secret.get_secret_value(),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["sub", "exp", "iat", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("invalid token") from exc
    return canonical_client_code(str(claims["sub"]))
