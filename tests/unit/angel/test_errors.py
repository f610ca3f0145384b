"""Every Angel error shape maps to a typed error with the right retry class."""

from __future__ import annotations

import pytest

from fo_ingestor.angel import errors as e

WAF = (
    "<html><head><title>Request Rejected</title></head>"
    "<body>The requested URL was rejected.</body></html>"
)


@pytest.mark.parametrize(
    ("body", "kind", "retryable"),
    [
        (
            {"status": False, "message": "Invalid totp", "errorcode": "AB1050", "data": None},
            e.InvalidTotp,
            False,
        ),
        (
            {
                "status": False,
                "message": "LoginbyPassword is not allowed. Please switch to Login by MPIN now.",
                "errorcode": "AB7001",
                "data": None,
            },
            e.MpinRequired,
            False,
        ),
        (
            {"status": False, "message": "Invalid Email Or Password", "errorcode": "AB1000"},
            e.InvalidCredentials,
            False,
        ),
        (
            {"status": False, "message": "Client Is Block For Trading", "errorcode": "AB1006"},
            e.AccountBlocked,
            False,
        ),
        (
            {"status": False, "message": "Something Went Wrong", "errorcode": "AB1004"},
            e.AngelServerError,
            True,
        ),
        (
            {"status": False, "message": "Invalid Refresh Token", "errorcode": "AB8050"},
            e.RefreshTokenInvalid,
            True,
        ),
        (
            {"status": False, "message": "brand new", "errorcode": "AB9999"},
            e.AngelServerError,
            True,
        ),
        (
            {"success": False, "message": "Invalid Token", "errorCode": "AG8001", "data": ""},
            e.TokenExpired,
            True,
        ),
        (
            {"success": False, "message": "Token Expired", "errorCode": "AG8002", "data": ""},
            e.TokenExpired,
            True,
        ),
        (
            {"success": False, "message": "Invalid API Key", "errorCode": "AG8004", "data": ""},
            e.InvalidApiKey,
            False,
        ),
        ({"error_type": "TokenException", "message": "x"}, e.AngelServerError, True),
        ({"foo": 1}, e.AngelProtocolError, True),
        ([1, 2], e.AngelProtocolError, True),
    ],
    ids=[
        "A-AB1050",
        "A-AB7001",
        "A-AB1000",
        "A-AB1006",
        "A-AB1004",
        "A-AB8050",
        "A-unknown",
        "B-AG8001",
        "B-AG8002",
        "B-AG8004",
        "sdk-shape",
        "no-envelope",
        "not-object",
    ],
)
def test_json_envelopes(body: object, kind: type, retryable: bool) -> None:
    with pytest.raises(kind) as info:
        e.check_envelope(body)
    assert type(info.value) is kind and info.value.retryable is retryable
    assert info.value.reason


def test_success_envelopes_return_data() -> None:
    assert e.check_envelope(
        {"status": True, "message": "SUCCESS", "errorcode": "", "data": {"a": 1}}
    ) == {"a": 1}
    assert e.check_envelope({"success": True, "data": [1]}) == [1]


def test_plain_text_rate_limit_and_html_pages() -> None:
    rate = e.classify_text("Access denied because of exceeding access rate", 403)
    assert isinstance(rate, e.AngelRateLimited) and rate.retryable
    waf = e.classify_text(WAF, 403)
    assert isinstance(waf, e.AngelRejected) and not waf.retryable
    assert isinstance(e.classify_text("<html>502 Bad Gateway</html>", 502), e.AngelServerError)
    assert isinstance(e.classify_text("???"), e.AngelServerError)


def test_reasons_are_distinct_for_what_a_user_can_fix() -> None:
    reasons = {
        cls.reason
        for cls in (e.InvalidTotp, e.InvalidCredentials, e.AngelRateLimited, e.AngelUnreachable)
    }
    assert len(reasons) == 4
