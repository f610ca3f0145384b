"""create_app(settings): the FastAPI application with its Redis clients and fan-out hub."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

from fo_bus.codec import DecodeError
from fo_gateway.fanout import Hub
from fo_gateway.metrics import GatewayMetrics
from fo_gateway.models import ValidationErrorBody
from fo_gateway.observability import GatewayMiddleware, request_id_var
from fo_gateway.ratelimit import RateLimiter, parse_rate
from fo_gateway.routes import auth, chain, health, stream
from fo_gateway.settings import GatewaySettings
from fo_gateway.snapshots import GatewayError, SnapshotReader
from fo_runtime.redis import make_client

log = logging.getLogger(__name__)
REF_TEMPLATE = "#/components/schemas/{model}"

DESCRIPTION = """
Live option-chain analytics for Indian index options (NIFTY, BANKNIFTY, …).

* **REST**: `/api/option-chain/{symbol}` (full snapshot, or `view=compact`), `/api/spot/{symbol}`.
  Snapshot reads carry `ETag` and `Cache-Control`; errors are JSON with a `detail` reason.
* **WebSocket**: `/ws/{symbol}/{client_code}?expiry=YYYY-MM-DD&token=…` — the latest snapshot
  at once, then every update; actions `ping`, `subscribe` (switch symbol/expiry), `resync`.
* **Health**: `/health` (always 200 with a readiness view), `/health/ready`, `/metrics`.
"""


def pubsub_client(url: str) -> aioredis.Redis:
    """The fan-out's own connection: no silent retries (the hub reconnects and resyncs)."""
    return aioredis.Redis.from_url(
        url,
        decode_responses=False,
        retry=Retry(NoBackoff(), 0),
        socket_connect_timeout=2,
        socket_timeout=10,
        socket_keepalive=True,
        health_check_interval=5,
    )


def create_app(settings: GatewaySettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = make_client(settings.redis_url)
        subscriber = pubsub_client(settings.redis_url)
        app.state.reader = SnapshotReader(client, settings.names, settings.symbol_list)
        app.state.limiter = RateLimiter(client, settings.names)
        app.state.hub = Hub(
            client,
            settings.names,
            send_timeout_s=settings.ws_send_timeout_s,
            pubsub_client=subscriber,
        )
        await app.state.hub.start()
        if settings.secret_key_generated:
            log.warning("SECRET_KEY not set: generated a random one for this demo process")
        try:
            yield
        finally:
            await app.state.hub.stop()
            await subscriber.aclose()
            await client.aclose()

    app = FastAPI(
        title="fo-chain gateway",
        summary="Live option-chain analytics for Indian index options: REST and WebSocket.",
        description=DESCRIPTION,
        version="0.2.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.ws_per_ip = {}
    app.state.limiter = None
    metrics = GatewayMetrics(app.state)
    app.state.metrics = metrics
    app.state.registry = metrics.registry
    app.add_middleware(
        GatewayMiddleware,
        metrics=metrics.http,
        limiter=lambda: app.state.limiter,
        rates={
            "api": parse_rate(settings.rate_limit_api),
            "login": parse_rate(settings.rate_limit_login),
        },
    )
    # Outermost, so that 429s and errors carry CORS headers too. Never '*' (settings refuse it).
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.origin_list,
        allow_credentials=True,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "If-None-Match", "X-Request-ID"],
        expose_headers=["ETag", "Retry-After", "X-Request-ID", "X-RateLimit-Limit"],
    )
    app.include_router(chain.router)
    app.include_router(health.router)
    app.include_router(stream.router)
    app.include_router(auth.router)

    @app.get("/", tags=["health"], summary="What this service is and where to look")
    async def root() -> dict[str, object]:
        return {
            "service": "fo-chain gateway",
            "mode": settings.mode,
            "symbols": settings.symbol_list,
            "docs": "/docs",
            "health": "/health",
            "metrics": "/metrics",
            "option_chain": "/api/option-chain/{symbol}?expiry=YYYY-MM-DD",
            "websocket": "/ws/{symbol}/{client_code}?expiry=YYYY-MM-DD",
        }

    @app.exception_handler(GatewayError)
    async def gateway_error(request: Request, exc: GatewayError) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.reason, **exc.extra}, status_code=exc.status, headers=exc.headers
        )

    @app.exception_handler(RedisError)
    @app.exception_handler(TimeoutError)
    async def redis_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("redis error on request", extra={"error": type(exc).__name__})
        if app.state.hub is not None:
            app.state.hub.redis_errors += 1
        return JSONResponse(
            {"detail": "snapshot store unavailable; retry shortly"},
            status_code=503,
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(DecodeError)
    async def bad_document(request: Request, exc: DecodeError) -> JSONResponse:
        return JSONResponse({"detail": "stored snapshot unreadable"}, status_code=502)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()
        ]
        return JSONResponse({"detail": "invalid request", "problems": problems}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Logged with its traceback; the client gets a reason and the id to quote, never a trace.
        log.error("unhandled error", exc_info=exc)
        return JSONResponse(
            {"detail": "internal error", "request_id": request_id_var.get()}, status_code=500
        )

    def openapi() -> dict[str, Any]:
        """FastAPI's schema, with the 422 body this app really sends on every route."""
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            body = ValidationErrorBody.model_json_schema(ref_template=REF_TEMPLATE)
            components.update(body.pop("$defs", {}))
            components["HTTPValidationError"] = body
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.state.hub = None
    return app
