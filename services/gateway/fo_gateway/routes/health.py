"""Health: ``/health`` (liveness, always 200, with the readiness view), ``/health/live``,
``/health/ready`` (503 until ready) and ``/metrics`` (Prometheus text format).

The readiness view: Redis reachable (with its latency), the fan-out's pub/sub connection,
each symbol's snapshot age and seq, the feed's status from the ingestor heartbeat, and the
workers' heartbeats. It never takes longer than ``READINESS_BUDGET_S`` and never raises:
Render restarts a web service whose health check fails, and restarting the gateway does not
bring Redis back, so the platform check (``/health``) stays 200 while the process runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from fo_gateway.models import Health
from fo_gateway.snapshots import published_at

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])
STALE_AFTER_S = 10.0  # a symbol whose last snapshot is older is not ready
FEED_LIVE_WITHIN_S = 10.0  # the ingestor wrote a batch this recently: the feed is live
READINESS_BUDGET_S = 1.0


def _age_s(now_ns: int, ts: object) -> float | None:
    return round((now_ns - ts) / 1e9, 3) if isinstance(ts, int) and ts > 0 else None


async def collect(app: Any) -> dict[str, Any]:
    """Read the pipeline's state from Redis (bounded in time); raises on Redis errors."""
    reader, hub = app.state.reader, app.state.hub
    client = reader.client
    async with asyncio.timeout(READINESS_BUDGET_S):
        started = time.perf_counter()
        await client.ping()
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        beats, summaries = await reader.heartbeats_and_summaries()
    now = time.time_ns()
    services: dict[str, list[dict[str, Any]]] = {}
    for beat in beats:
        if isinstance(beat.get("service"), str):
            beat["age_s"] = _age_s(now, beat.pop("ts", None))
            services.setdefault(beat.pop("service"), []).append(beat)
    symbols: dict[str, dict[str, Any]] = {}
    for symbol, summary in zip(reader.symbols, summaries, strict=True):
        if summary is None:
            symbols[symbol] = {"snapshot": False}
            continue
        age = _age_s(now, published_at(summary))
        symbols[symbol] = {
            "snapshot": True,
            "age_s": age,
            "seq": summary.get("seq"),
            "fresh": age is not None and age < STALE_AFTER_S,
        }
    return {
        "redis": {"ok": True, "latency_ms": latency_ms},
        "symbols": symbols,
        "feed": _feed(services.get("ingestor", []), now),
        "workers": services.get("worker", []),
        "services": {name: len(beats) for name, beats in services.items()},
        "fanout": _fanout(hub),
    }


def _feed(ingestors: list[dict[str, Any]], now: int) -> dict[str, Any]:
    if not ingestors:
        return {"status": "down", "reason": "no ingestor heartbeat"}
    freshest = max(ingestors, key=lambda b: b.get("last_batch_ts") or 0)
    batch_age = _age_s(now, freshest.get("last_batch_ts"))
    live = batch_age is not None and batch_age < FEED_LIVE_WITHIN_S
    return {
        "status": "live" if live else "idle",
        "feed": freshest.get("feed"),
        "last_batch_age_s": batch_age,
        "instances": len(ingestors),
        **({"detail": freshest["status"]} if "status" in freshest else {}),
    }


def _fanout(hub: Any) -> dict[str, Any]:
    return {
        "connected": hub.connected,
        "clients": len(hub.clients),
        "topics": len(hub.topics),
        "reconnects": hub.reconnects,
    }


async def readiness(request: Request) -> dict[str, Any]:
    app = request.app
    settings = app.state.settings
    view: dict[str, Any] = {
        "live": True,
        "mode": settings.mode,
        "instance": settings.instance_id,
    }
    try:
        state = await collect(app)
    except (RedisError, OSError, TimeoutError) as exc:
        app.state.hub.redis_errors += 1
        return view | {
            "status": "degraded",
            "redis": {"ok": False, "error": type(exc).__name__},
            "fanout": _fanout(app.state.hub),
        }
    except Exception as exc:  # the health view must never turn into a 500
        log.exception("health view failed")
        return view | {"status": "degraded", "error": type(exc).__name__}
    fresh = all(s.get("fresh") for s in state["symbols"].values())
    ready = fresh and state["fanout"]["connected"]
    return view | {"status": "ok" if ready else "starting"} | state


@router.get(
    "/health",
    summary="Liveness (always 200 while the process runs) with the readiness view",
    response_model=Health,
)
async def health(request: Request) -> JSONResponse:
    return JSONResponse(await readiness(request))


@router.get("/health/live", summary="Liveness only: no dependency is checked")
async def live(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    return {"live": True, "mode": settings.mode}


@router.get(
    "/health/ready",
    summary="200 when Redis answers and every symbol has a fresh snapshot, else 503",
    response_model=Health,
    responses={503: {"model": Health, "description": "Not ready; the body says why"}},
)
async def ready(request: Request) -> JSONResponse:
    view = await readiness(request)
    return JSONResponse(view, status_code=200 if view["status"] == "ok" else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(request: Request) -> Response:
    await request.app.state.metrics.refresh()
    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)
