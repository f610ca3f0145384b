"""create_app(settings): the FastAPI application with its Redis client and fan-out hub."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from fo_bus.codec import DecodeError
from fo_gateway.fanout import Hub
from fo_gateway.routes import chain, health, stream
from fo_gateway.settings import GatewaySettings
from fo_gateway.snapshots import GatewayError, SnapshotReader
from fo_runtime.redis import make_client

log = logging.getLogger(__name__)


def create_app(settings: GatewaySettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = make_client(settings.redis_url)
        app.state.reader = SnapshotReader(client, settings.names, settings.symbol_list)
        app.state.hub = Hub(client, settings.names)
        await app.state.hub.start()
        if settings.secret_key_generated:
            log.warning("SECRET_KEY not set: generated a random one for this demo process")
        try:
            yield
        finally:
            await app.state.hub.stop()
            await client.aclose()

    app = FastAPI(
        title="fo-chain gateway",
        summary="Live option-chain analytics for Indian index options: REST and WebSocket.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.origin_list,
        allow_credentials=True,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type"],
    )
    app.include_router(chain.router)
    app.include_router(health.router)
    app.include_router(stream.router)

    @app.get("/", tags=["health"], summary="What this service is and where to look")
    async def root() -> dict[str, object]:
        return {
            "service": "fo-chain gateway",
            "mode": "demo" if settings.demo_mode else "live",
            "symbols": settings.symbol_list,
            "docs": "/docs",
            "health": "/health",
            "option_chain": "/api/option-chain/{symbol}?expiry=YYYY-MM-DD",
            "websocket": "/ws/{symbol}/{client_code}?expiry=YYYY-MM-DD",
        }

    @app.exception_handler(GatewayError)
    async def gateway_error(request: Request, exc: GatewayError) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.reason, **exc.extra}, status_code=exc.status, headers=exc.headers
        )

    @app.exception_handler(RedisError)
    async def redis_down(request: Request, exc: RedisError) -> JSONResponse:
        log.warning("redis error on request", extra={"error": type(exc).__name__})
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

    return app
