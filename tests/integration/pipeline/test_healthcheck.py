"""Container health commands: a fresh heartbeat from this process's host or instance is
healthy; none, or only a look-alike's, is not."""

from __future__ import annotations

import socket

import pytest
import redis

from fo_runtime.healthcheck import heartbeat_pattern, heartbeat_present, main
from fo_runtime.settings import CommonSettings


def beat(redis_url: str, settings: CommonSettings, service: str, instance: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set(settings.names.health_key(service, instance), b"{}", ex=10)
    client.close()


def test_a_heartbeat_of_this_host_is_healthy(redis_url: str, namespace: str) -> None:
    settings = CommonSettings(redis_url=redis_url, fo_namespace=namespace)
    host = socket.gethostname()
    worker = heartbeat_pattern(settings, "worker", None)
    assert not heartbeat_present(settings, worker)
    beat(redis_url, settings, "worker", f"{host}0-77")  # another host whose name extends ours
    beat(redis_url, settings, "ingestor", f"{host}-123")
    assert not heartbeat_present(settings, worker)
    beat(redis_url, settings, "worker", f"{host}-123")  # the default id: <hostname>-<pid>
    assert heartbeat_present(settings, worker)


def test_instance_id_is_matched_exactly(redis_url: str, namespace: str) -> None:
    settings = CommonSettings(redis_url=redis_url, fo_namespace=namespace)
    beat(redis_url, settings, "worker", "w10")
    beat(redis_url, settings, "worker", "w[1]")
    assert not heartbeat_present(settings, heartbeat_pattern(settings, "worker", "w1"))
    assert not heartbeat_present(settings, heartbeat_pattern(settings, "worker", "w?0"))
    assert heartbeat_present(settings, heartbeat_pattern(settings, "worker", "w10"))
    assert heartbeat_present(settings, heartbeat_pattern(settings, "worker", "w[1]"))


def test_the_command_exits_by_health(
    redis_url: str, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = CommonSettings(redis_url=redis_url, fo_namespace=namespace)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("FO_NAMESPACE", namespace)
    monkeypatch.setenv("INSTANCE_ID", "w1")
    beat(redis_url, settings, "worker", "w10")
    assert main(["worker"]) == 1
    beat(redis_url, settings, "worker", "w1")
    assert main(["worker"]) == 0


def test_unreachable_redis_is_unhealthy(namespace: str) -> None:
    settings = CommonSettings(redis_url="redis://127.0.0.1:1/0", fo_namespace=namespace)
    assert not heartbeat_present(settings, heartbeat_pattern(settings, "worker", None))
