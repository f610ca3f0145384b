"""Prometheus metrics of one gateway process (one registry per app; one uvicorn worker each).

Hot-path counters (messages sent, dropped) are plain integers on the hub, read at scrape time
by a collector: the fan-out loop pays no lock per message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from fo_gateway.observability import HttpMetrics
from fo_gateway.snapshots import published_at

SCRAPE_REDIS_BUDGET_S = 0.5


class GatewayCollector(Collector):
    def __init__(self, state: Any) -> None:
        self.state = state  # app.state: hub, limiter, ws_refused, snapshot_ages

    def collect(self) -> Iterator[Any]:
        hub = getattr(self.state, "hub", None)
        if hub is None:
            return
        yield GaugeMetricFamily(
            "ws_connections_active", "Open WebSocket connections", value=len(hub.clients)
        )
        yield GaugeMetricFamily(
            "ws_topics_active", "(symbol, expiry) topics with local subscribers", len(hub.topics)
        )
        yield CounterMetricFamily(
            "ws_messages_sent", "Snapshots written to WebSocket clients", value=hub.sent
        )
        dropped = CounterMetricFamily(
            "ws_messages_dropped", "Snapshots not delivered, by reason", labels=["reason"]
        )
        dropped.add_metric(["conflated"], hub.dropped_conflated)
        dropped.add_metric(["undecodable"], hub.undecodable)
        yield dropped
        yield CounterMetricFamily(
            "ws_slow_client_disconnects",
            "Clients dropped for not reading within WS_SEND_TIMEOUT_S",
            value=hub.slow_disconnects,
        )
        refused = CounterMetricFamily(
            "ws_refused", "WebSocket handshakes refused, by close code", labels=["code"]
        )
        for code, count in sorted(self.state.ws_refused.items()):
            refused.add_metric([str(code)], count)
        yield refused
        yield CounterMetricFamily(
            "redis_pubsub_messages", "Messages received on the pub/sub connection", hub.received
        )
        yield CounterMetricFamily(
            "redis_pubsub_reconnects", "Pub/sub connection losses", value=hub.reconnects
        )
        limiter = getattr(self.state, "limiter", None)
        errors = hub.redis_errors + (limiter.redis_errors if limiter else 0)
        yield CounterMetricFamily("redis_errors", "Redis errors seen by the gateway", errors)
        yield GaugeMetricFamily("redis_up", "Pub/sub connection up (1) or not (0)", hub.connected)
        ages = GaugeMetricFamily(
            "snapshot_age_seconds", "Age of the latest snapshot of each symbol", labels=["symbol"]
        )
        for symbol, age in sorted(self.state.snapshot_ages.items()):
            ages.add_metric([symbol], age)
        yield ages
        yield from pipeline_families(self.state.heartbeats)


def pipeline_families(heartbeats: list[dict[str, Any]]) -> Iterator[Any]:
    """The counters ingestors and workers report in their heartbeats, as Prometheus families."""
    published = CounterMetricFamily(
        "ingestor_ticks_published", "Ticks written to the streams", labels=["instance"]
    )
    feed = CounterMetricFamily(
        "ingestor_feed_events",
        "Broker feed counters (packets, malformed, out_of_order, reconnects, stalls, …)",
        labels=["instance", "event"],
    )
    applied = CounterMetricFamily(
        "worker_ticks_applied", "Ticks applied to chain state", labels=["instance", "symbol"]
    )
    bad = CounterMetricFamily(
        "worker_bad_entries", "Malformed stream entries skipped", labels=["instance", "symbol"]
    )
    for beat in heartbeats:
        instance = str(beat.get("instance", "?"))
        if beat.get("service") == "ingestor":
            published.add_metric([instance], beat.get("ticks_published", 0))
            for event, value in sorted((beat.get("angel") or {}).items()):
                if isinstance(value, int | float) and not isinstance(value, bool):
                    feed.add_metric([instance, event], value)
        elif beat.get("service") == "worker":
            for symbol, stats in sorted((beat.get("symbols") or {}).items()):
                applied.add_metric([instance, symbol], stats.get("ticks_applied", 0))
                bad.add_metric([instance, symbol], stats.get("bad_entries", 0))
    yield from (published, feed, applied, bad)


class GatewayMetrics:
    def __init__(self, state: Any) -> None:
        self.state = state
        self.registry = CollectorRegistry()
        self.http = HttpMetrics(self.registry)
        self.registry.register(GatewayCollector(state))
        state.snapshot_ages = {}
        state.ws_refused = {}
        state.heartbeats = []

    async def refresh(self) -> None:
        """Read the heartbeats and each symbol's summary time (bounded; on a Redis error the
        previous values stay and the error is counted)."""
        reader = getattr(self.state, "reader", None)
        if reader is None:
            return
        try:
            async with asyncio.timeout(SCRAPE_REDIS_BUDGET_S):
                beats, summaries = await reader.heartbeats_and_summaries()
        except (RedisError, OSError, TimeoutError):
            self.state.hub.redis_errors += 1
            return
        now = time.time_ns()
        for symbol, summary in zip(reader.symbols, summaries, strict=True):
            ts = None if summary is None else published_at(summary)
            if isinstance(ts, int):
                self.state.snapshot_ages[symbol] = (now - ts) / 1e9
            else:
                self.state.snapshot_ages.pop(symbol, None)
        self.state.heartbeats = beats
