"""The fake's REST side (FastAPI): login, tokens, profile, logout, quote, scrip master, and
``/__fake__`` endpoints to read its state and flip fault switches."""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from fo_fakeangel.state import RATE_LIMIT_TEXT, FakeAngel

ROOT = "/rest"
WAF_PAGE = (
    "<html><head><title>Request Rejected</title></head><body>The requested URL was rejected. "
    "Please consult with your administrator.<br><br>Your support ID is: 1234567890123456789"
    "</body></html>"
)


def ok(data: Any) -> JSONResponse:
    return JSONResponse({"status": True, "message": "SUCCESS", "errorcode": "", "data": data})


def app_error(code: str, message: str, http: int = 200) -> JSONResponse:
    """Envelope A: Angel's application layer."""
    return JSONResponse(
        {"status": False, "message": message, "errorcode": code, "data": None}, status_code=http
    )


def gateway_error(code: str = "AG8001", message: str = "Invalid Token") -> JSONResponse:
    """Envelope B: Angel's API gateway (camelCase keys, ``success``)."""
    return JSONResponse(
        {"success": False, "message": message, "errorCode": code, "data": ""}, status_code=401
    )


def rate_limited() -> PlainTextResponse:
    """Shape C: plain text, reported as HTTP 403."""
    return PlainTextResponse(RATE_LIMIT_TEXT, status_code=403)


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        body = {}
    return body if isinstance(body, dict) else {}


def create_rest_app(fake: FakeAngel) -> FastAPI:
    app = FastAPI(title="fake Angel One SmartAPI", docs_url=None, redoc_url=None)
    cfg = fake.config

    def pre(request: Request) -> Response | None:
        if fake.faults.waf > 0:
            fake.faults.waf -= 1
            return Response(WAF_PAGE, status_code=403, media_type="text/html")
        if request.headers.get("x-privatekey") != cfg.api_key:
            return gateway_error("AG8004", "Invalid API Key")
        return None

    def secure(request: Request, endpoint: str) -> tuple[Any, Response | None]:
        early = pre(request)
        if early is not None:
            return None, early
        session = fake.session_for(request.headers.get("authorization"), time.time())
        if session is None:
            return None, gateway_error()
        if fake.rate_limited(endpoint, session.client_code, time.time()):
            return None, rate_limited()
        return session, None

    @app.post(f"{ROOT}/auth/angelbroking/user/v1/loginByPassword")
    async def login(request: Request) -> Response:
        early = pre(request)
        if early is not None:
            return early
        body = await _json(request)
        client_code = str(body.get("clientcode", "")).upper()
        now = time.time()
        if fake.faults.rate_limit_login > 0 or fake.rate_limited("login", client_code, now):
            fake.faults.rate_limit_login = max(0, fake.faults.rate_limit_login - 1)
            return rate_limited()
        if fake.faults.login_error > 0:
            fake.faults.login_error -= 1
            return app_error("AB1004", "Something Went Wrong, Please Try After Sometime")
        password = str(body.get("password", ""))
        fake.counters["login_failures"] += 1
        if not (password.isdigit() and len(password) == 4):
            return app_error(
                "AB7001", "LoginbyPassword is not allowed. Please switch to Login by MPIN now."
            )
        if client_code != cfg.client_code.upper() or password != cfg.mpin:
            return app_error("AB1000", "Invalid Email Or Password")
        if not fake.totp_ok(str(body.get("totp", ""))):
            return app_error("AB1050", "Invalid totp")
        fake.counters["login_failures"] -= 1
        fake.counters["logins"] += 1
        session = fake.new_session(client_code, now)
        return ok(
            {
                "jwtToken": session.jwt,
                "refreshToken": session.refresh,
                "feedToken": session.feed,
                "state": body.get("state"),
            }
        )

    @app.post(f"{ROOT}/auth/angelbroking/jwt/v1/generateTokens")
    async def generate_tokens(request: Request) -> Response:
        early = pre(request)
        if early is not None:
            return early
        now = time.time()
        old = fake.session_for(request.headers.get("authorization"), now)
        body = await _json(request)
        session = fake.by_refresh(str(body.get("refreshToken", "")), now)
        if old is None:
            return gateway_error()
        if session is None:
            return app_error("AB8050", "Invalid Refresh Token")
        if fake.rate_limited("token", session.client_code, now):
            return rate_limited()
        session.alive = False
        fake.counters["renewals"] += 1
        new = fake.new_session(session.client_code, now)
        return ok({"jwtToken": new.jwt, "refreshToken": new.refresh, "feedToken": new.feed})

    @app.get(f"{ROOT}/secure/angelbroking/user/v1/getProfile")
    async def profile(request: Request) -> Response:
        session, early = secure(request, "profile")
        if early is not None:
            return early
        return ok(
            {
                "clientcode": session.client_code,
                "name": cfg.name,
                "email": "",
                "mobileno": "",
                "exchanges": ["nse_cm", "bse_cm", "nse_fo"],
                "products": ["MARGIN", "MIS"],
                "lastlogintime": "",
                "brokerid": "B2C",
            }
        )

    @app.post(f"{ROOT}/secure/angelbroking/user/v1/logout")
    async def logout(request: Request) -> Response:
        session, early = secure(request, "logout")
        if early is not None:
            return early
        session.alive = False
        return ok("")

    @app.post(f"{ROOT}/secure/angelbroking/market/v1/quote")
    @app.post(f"{ROOT}/secure/angelbroking/market/v1/quote/")
    async def quote(request: Request) -> Response:
        _session, early = secure(request, "quote")
        if early is not None:
            return early
        body = await _json(request)
        mode = str(body.get("mode", "LTP")).upper()
        wanted = body.get("exchangeTokens") or {}
        pairs = [(ex, str(t)) for ex, tokens in wanted.items() for t in tokens]
        if len(pairs) > 50:
            return app_error("AB2001", "Invalid request: quote limit exceeds 50 tokens")
        fetched, unfetched = [], []
        for exchange, token in pairs:
            q = fake.quotes.get(token)
            inst = fake.instruments.get(token)
            if q is None or inst is None:
                unfetched.append(
                    {
                        "exchange": exchange,
                        "symbolToken": token,
                        "message": "Invalid Token",
                        "errorCode": "AB4009",
                    }
                )
                continue
            item: dict[str, Any] = {
                "exchange": exchange,
                "tradingSymbol": inst.trading_symbol,
                "symbolToken": token,
                "ltp": q.last_traded_price / 100,
            }
            if mode in ("OHLC", "FULL"):
                item |= {
                    "open": q.open / 100,
                    "high": q.high / 100,
                    "low": q.low / 100,
                    "close": q.close / 100,
                }
            if mode == "FULL":
                item |= {"tradeVolume": q.volume_traded_today, "opnInterest": q.open_interest}
            fetched.append(item)
        return ok({"fetched": fetched, "unfetched": unfetched})

    @app.get("/OpenAPI_File/files/OpenAPIScripMaster.json")
    async def master() -> Response:
        return Response(json.dumps(fake.master_rows()), media_type="application/json")

    # --- test and developer controls ---------------------------------------------------

    @app.get("/__fake__/state")
    async def state() -> dict[str, Any]:
        return fake.state()

    @app.post("/__fake__/fault/{name}")
    async def fault(
        name: str, count: int = 1, status: int = 401, code: int = 1006
    ) -> dict[str, Any]:
        f = fake.faults
        stream = app.state.stream
        match name:
            case "stall":
                stream.stall_all()
            case "resume":
                stream.resume_all()
            case "close":
                await stream.close_all(code)
            case "reject_handshake":
                f.reject_handshakes.extend([status] * count)
            case "ping_loss":
                f.ping_loss = bool(count)
            case "out_of_order":
                f.out_of_order += count
            case "malformed":
                f.malformed += count
            case "expire_tokens":
                fake.expire_all()
                if cfg.on_expiry == "close":
                    await stream.close_all(1000)
            case "rate_limit_login":
                f.rate_limit_login += count
            case "waf":
                f.waf += count
            case "login_error":
                f.login_error += count
            case _:
                return JSONResponse({"detail": f"unknown fault {name!r}"}, status_code=404)  # type: ignore[return-value]
        return {"ok": True, "fault": name, "faults": f.as_dict()}

    return app
