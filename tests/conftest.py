"""Fixtures: a real Redis (REDIS_URL, else testcontainers, else a redis-server we start)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from fo_bus.names import BusNames
from fo_runtime.redis_server import start_redis_server


def _testcontainers_redis() -> tuple[str, object] | None:
    """A Redis container when a Docker engine answers; None otherwise."""
    if not (os.environ.get("DOCKER_HOST") or Path("/var/run/docker.sock").exists()):
        return None  # no engine to ask
    try:
        try:
            from testcontainers.community.redis import RedisContainer  # type: ignore
        except ImportError:
            from testcontainers.redis import RedisContainer  # type: ignore
        container = RedisContainer("redis:7.2")
        container.start()
    except Exception:
        return None
    host, port = container.get_container_host_ip(), container.get_exposed_port(6379)
    return f"redis://{host}:{port}/0", container


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    found = _testcontainers_redis()
    if found is not None:
        url, container = found
        yield url
        container.stop()  # type: ignore[attr-defined]
        return
    server = start_redis_server(tmp_path_factory.mktemp("redis"))
    yield server.url
    server.stop()


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    """A namespace of our own for one test; its keys are deleted afterwards."""
    ns = f"t{uuid.uuid4().hex[:10]}"
    yield ns
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{ns}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def names(namespace: str) -> BusNames:
    return BusNames(namespace)


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    c = aioredis.Redis.from_url(redis_url)
    yield c
    await c.aclose()


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]
