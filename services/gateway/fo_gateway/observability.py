"""Request ids in logs, the access log, HTTP metrics and rate limits: one ASGI middleware.

Every HTTP response carries ``X-Request-ID`` (the caller's, Cloudflare's ``CF-Ray``, or a new
one); every log line written while the request runs carries it as ``request_id``. Metrics are
labelled by route template (``/api/option-chain/{symbol}``), never by raw path.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fo_gateway.ratelimit import Rate, RateLimiter

log = logging.getLogger("fo_gateway.access")
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
UNMATCHED = "<unmatched>"
EXEMPT_PREFIXES = ("/health", "/metrics", "/docs", "/redoc", "/openapi.json")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to records written while a request is being served."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid = request_id_var.get()
        if rid is not None and not hasattr(record, "request_id"):
            record.request_id = rid
        return True


def install_request_id_logging() -> None:
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ("route", "method", "status")
        self.requests = Counter("http_requests", "HTTP requests served", labels, registry=registry)
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency, from the first byte in to the last byte out",
            labels,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=registry,
        )
        self.rate_limited = Counter(
            "http_rate_limited", "Requests refused with 429", ("bucket",), registry=registry
        )


def classify(path: str) -> str | None:
    """The rate-limit bucket of a path: ``login`` (strict), ``api``, or None (exempt)."""
    if path.startswith(EXEMPT_PREFIXES) or path == "/":
        return None
    if "/login" in path:
        return "login"
    if path.startswith("/api/"):
        return "api"
    return None


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name in (b"x-request-id", b"cf-ray"):
            candidate = value.decode("latin-1")
            if _SAFE_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


class GatewayMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        metrics: HttpMetrics,
        limiter: Callable[[], RateLimiter | None],
        rates: dict[str, Rate],
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.limiter = limiter
        self.rates = rates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # The raw transport lets the fan-out drop a client whose socket stopped draining;
            # ASGI has no "abort", and a close frame would queue behind the unread data.
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            scope.setdefault("extensions", {})["fo.transport"] = transport
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope)
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500
        rid_header = (b"x-request-id", rid.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), rid_header]
            await send(message)

        try:
            bucket = classify(scope["path"])
            limiter = self.limiter()
            if bucket is not None and limiter is not None:
                refused = await self._limit(limiter, bucket, scope, send_with_id)
                if refused:
                    return
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            if status == 429 and template == UNMATCHED and classify(scope["path"]):
                template = "<rate limited>"
            labels = (template, scope["method"], str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(elapsed)
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "route": template,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                    "client": (scope.get("client") or ("-",))[0],
                },
            )
            request_id_var.reset(token)

    async def _limit(self, limiter: RateLimiter, bucket: str, scope: Scope, send: Send) -> bool:
        who = (scope.get("client") or ("unknown",))[0]
        rate = self.rates[bucket]
        decision = await limiter.hit(bucket, who, rate, time.time())
        if decision.allowed:
            return False
        self.metrics.rate_limited.labels(bucket).inc()
        body: dict[str, Any] = {
            "detail": f"rate limit exceeded ({rate} per client address for {bucket} routes)",
            "retry_after_s": decision.retry_after_s,
        }
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"retry-after", str(decision.retry_after_s).encode()),
                    (b"x-ratelimit-limit", str(decision.limit).encode()),
                    (b"x-ratelimit-remaining", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": orjson.dumps(body)})
        return True
