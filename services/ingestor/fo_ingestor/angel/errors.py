"""Typed broker errors, and the one function that maps every Angel error shape onto them.

Angel answers errors in four shapes (spec §1.7): the application envelope
``{"status": false, "errorcode": "AB1050", ...}``, the API gateway's envelope
``{"success": false, "errorCode": "AG8001", ...}``, a plain-text rate-limit reply and an
HTML rejection page. Each error says whether retrying later can help (``retryable``) and
carries a stable ``reason`` the gateway turns into an HTTP status. Messages never include
request bodies, headers or tokens.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AngelError(Exception):
    """Base of every broker error."""

    retryable: ClassVar[bool] = False
    reason: ClassVar[str] = "broker_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return f"{self.message} ({self.code})" if self.code else self.message


class AngelUnreachable(AngelError):
    """No answer: DNS, refused connection, TLS failure or timeout."""

    retryable = True
    reason = "broker_unreachable"


class AngelRateLimited(AngelError):
    """Angel's rate limiter ("Access denied because of exceeding access rate")."""

    retryable = True
    reason = "broker_rate_limited"


class AngelRejected(AngelError):
    """An HTML "Request Rejected" page from Angel's firewall (IP or request blocked)."""

    reason = "broker_rejected"


class AngelServerError(AngelError):
    """Angel failed on its side (AB1004, AB2001, an unparseable reply); back off and retry."""

    retryable = True
    reason = "broker_error"


class InvalidTotp(AngelError):
    """AB1050: the TOTP did not verify (wrong secret, clock drift or a window edge)."""

    reason = "invalid_totp"


class InvalidCredentials(AngelError):
    """Wrong client code or MPIN."""

    reason = "invalid_mpin"


class MpinRequired(InvalidCredentials):
    """AB7001: a web password was sent; the ``password`` field must hold the 4-digit MPIN."""

    reason = "password_not_mpin"


class AccountBlocked(AngelError):
    """AB1006: the client is blocked for trading."""

    reason = "account_blocked"


class InvalidApiKey(AngelError):
    """The SmartAPI key was refused."""

    reason = "invalid_api_key"


class TokenExpired(AngelError):
    """AG8001/AG8002/AG8003/AB1010/AB1011 or a 401 handshake: log in again, then retry."""

    retryable = True
    reason = "token_expired"


class RefreshTokenInvalid(TokenExpired):
    """AB8050/AB8051: the refresh token is dead; only a full login helps."""


class AngelProtocolError(AngelError):
    """A reply we do not understand (not one of the four shapes)."""

    retryable = True
    reason = "broker_error"


# Codes seen in the wild (spec §1.8) plus the documented auth codes. Unknown codes fall back
# to AngelServerError (retryable) so a new code never crashes the ingestor.
_BY_CODE: dict[str, type[AngelError]] = {
    "AB1050": InvalidTotp,
    "AB7001": MpinRequired,
    "AB1000": InvalidCredentials,  # "Invalid Email Or Password" [unverified wording]
    "AB1001": InvalidCredentials,
    "AB1002": InvalidCredentials,
    "AB1032": InvalidCredentials,  # "User Not Found" [unverified]
    "AB1006": AccountBlocked,
    "AB1004": AngelServerError,
    "AB2001": AngelServerError,
    "AB2000": AngelServerError,
    "AG8001": TokenExpired,
    "AG8002": TokenExpired,
    "AG8003": TokenExpired,
    "AB1010": TokenExpired,
    "AB1011": TokenExpired,
    "AB8050": RefreshTokenInvalid,
    "AB8051": RefreshTokenInvalid,
    "AG8004": InvalidApiKey,  # [unverified code]
}

RATE_LIMIT_TEXT = "exceeding access rate"


def error_for_code(code: str | None, message: str | None) -> AngelError:
    """The typed error for an Angel error code and message (never echoes request data)."""
    text = (message or "").strip()[:120] or "Angel reported an error"
    if code in _BY_CODE:
        return _BY_CODE[code](text, code=code)
    lowered = text.lower()
    if "totp" in lowered:
        return InvalidTotp(text, code=code)
    if "api key" in lowered or "apikey" in lowered:
        return InvalidApiKey(text, code=code)
    if "token" in lowered and ("invalid" in lowered or "expired" in lowered):
        return TokenExpired(text, code=code)
    return AngelServerError(text, code=code or None)


def check_envelope(body: Any) -> Any:
    """The ``data`` of a successful envelope A or B; raises the typed error otherwise."""
    if not isinstance(body, dict):
        raise AngelProtocolError(f"expected a JSON object, got {type(body).__name__}")
    if "status" in body:  # shape A: application envelope
        if body["status"] is True:
            return body.get("data")
        raise error_for_code(body.get("errorcode") or None, body.get("message"))
    if "success" in body:  # shape B: API gateway envelope
        if body["success"] is True:
            return body.get("data")
        raise error_for_code(body.get("errorCode") or None, body.get("message"))
    if body.get("error_type"):  # the shape the SDK expects (never seen from Angel)
        raise error_for_code(None, str(body.get("message")))
    raise AngelProtocolError("reply has neither 'status' nor 'success'")


def classify_text(text: str, status: int | None = None) -> AngelError:
    """The error for a reply that is not JSON: shape C (rate limit) or D (HTML rejection)."""
    head = text.strip()[:400]
    if RATE_LIMIT_TEXT in head.lower() or status == 429:
        return AngelRateLimited("Angel rate limit: access denied because of exceeding access rate")
    if head.lower().startswith(("<!doctype", "<html")) or "<html" in head.lower():
        if "rejected" in head.lower():
            return AngelRejected("Angel's firewall rejected the request (HTML 'Request Rejected')")
        return AngelServerError(f"Angel answered with an HTML page (HTTP {status or '?'})")
    return AngelServerError(f"Angel answered with a non-JSON reply (HTTP {status or '?'})")
