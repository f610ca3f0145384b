"""Health: liveness (always answers) with a readiness view of Redis, services and snapshots."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from fo_gateway.deps import SettingsDep

router = APIRouter(tags=["health"])
STALE_AFTER_S = 10.0


async def _readiness(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    reader = request.app.state.reader
    client, names = reader.client, reader.names
    now = time.time_ns()
    view: dict[str, Any] = {"mode": "demo" if settings.demo_mode else "live"}
    try:
        await asyncio.wait_for(client.ping(), timeout=1.0)
        keys = [k async for k in client.scan_iter(match=names.health_pattern(), count=200)]
        beats = await client.mget(keys) if keys else []
        summaries = await client.mget([names.summary_key(s) for s in reader.symbols])
    except (RedisError, OSError, TimeoutError) as exc:
        return view | {"status": "degraded", "redis": {"ok": False, "error": type(exc).__name__}}
    services: dict[str, list[dict[str, Any]]] = {}
    for raw in beats:
        if raw:
            beat = orjson.loads(raw)
            beat["age_s"] = round((now - beat.pop("ts")) / 1e9, 3)
            services.setdefault(beat.pop("service"), []).append(beat)
    symbols = {}
    for symbol, raw in zip(reader.symbols, summaries, strict=True):
        if raw is None:
            symbols[symbol] = {"snapshot": False}
            continue
        summary = orjson.loads(raw)
        age = (now - summary["ts"]) / 1e9
        symbols[symbol] = {"snapshot": True, "age_s": round(age, 3), "seq": summary["seq"]}
    ready = all(s.get("age_s", 1e9) < STALE_AFTER_S for s in symbols.values())
    return view | {
        "status": "ok" if ready else "starting",
        "redis": {"ok": True},
        "services": services,
        "symbols": symbols,
        "fanout": {
            "connected": request.app.state.hub.connected,
            "topics": len(request.app.state.hub.topics),
            "reconnects": request.app.state.hub.reconnects,
        },
    }


@router.get("/health", summary="Liveness with a readiness view; always 200 while the process runs")
async def health(request: Request, settings: SettingsDep) -> dict[str, Any]:
    return await _readiness(request)


@router.get("/health/ready", summary="200 when every symbol has a fresh snapshot, else 503")
async def ready(request: Request) -> JSONResponse:
    view = await _readiness(request)
    return JSONResponse(view, status_code=200 if view["status"] == "ok" else 503)
