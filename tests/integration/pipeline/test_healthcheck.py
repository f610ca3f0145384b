"""Container health commands: a fresh heartbeat from this host is healthy; none is not."""

from __future__ import annotations

import socket

import redis

from fo_runtime.healthcheck import heartbeat_present
from fo_runtime.settings import CommonSettings


def test_heartbeat_from_this_host_is_healthy(redis_url: str, namespace: str) -> None:
    settings = CommonSettings(redis_url=redis_url, fo_namespace=namespace)
    host = socket.gethostname()
    assert not heartbeat_present(settings, "worker", host)
    client = redis.Redis.from_url(redis_url)
    client.set(settings.names.health_key("worker", f"{host}-123"), b"{}", ex=10)
    client.set(settings.names.health_key("ingestor", "elsewhere-1"), b"{}", ex=10)
    client.close()
    assert heartbeat_present(settings, "worker", host)
    assert not heartbeat_present(settings, "ingestor", host)


def test_unreachable_redis_is_unhealthy(namespace: str) -> None:
    settings = CommonSettings(redis_url="redis://127.0.0.1:1/0", fo_namespace=namespace)
    assert not heartbeat_present(settings, "worker", socket.gethostname())
