"""Gateway on a real Redis: REST errors with reasons, stored bytes served, WebSocket updates."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date

import orjson
import pytest
import redis
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from fo_bus.codec import encode_document
from fo_bus.names import BusNames
from fo_gateway.app import create_app
from fo_gateway.settings import GatewaySettings

EXPIRY = date(2099, 12, 29)


@pytest.fixture
def api(redis_url: str, namespace: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.delenv("ANGEL_API_KEY", raising=False)
    settings = GatewaySettings(redis_url=redis_url, fo_namespace=namespace, symbols="NIFTY,SENSEX")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def store(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def publish(store: redis.Redis, names: BusNames, seq: int) -> bytes:
    chain = encode_document("chain", {"symbol": "NIFTY", "expiry": EXPIRY.isoformat(), "seq": seq,
                                      "layout": "columns", "chain": {"strike": []},
                                      "pcr": {"oi": None}})  # fmt: skip
    summary = encode_document("summary", {"symbol": "NIFTY", "seq": seq, "ts": 1, "spot": 25000.5,
                                          "spot_ts": 1, "source": "test",
                                          "expiries": [EXPIRY.isoformat()]})  # fmt: skip
    store.set(names.summary_key("NIFTY"), summary)
    store.set(names.snapshot_key("NIFTY", EXPIRY), chain)
    store.publish(names.updates_channel("NIFTY", EXPIRY), chain)
    return chain


def test_no_snapshot_yet_is_503_with_retry_after(api: TestClient) -> None:
    response = api.get("/api/option-chain/NIFTY")
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "no snapshot" in response.json()["detail"]


def test_unknown_symbol_is_404_listing_known_symbols(api: TestClient) -> None:
    response = api.get("/api/option-chain/NIFTYX")
    assert response.status_code == 404
    assert response.json()["known_symbols"] == ["NIFTY", "SENSEX"]
    assert api.get("/api/spot/FOO").status_code == 404


@pytest.mark.parametrize("bad", ["2026-13-01", "tomorrow", "08-12-2026"])
def test_bad_expiry_is_422(api: TestClient, bad: str) -> None:
    response = api.get(f"/api/option-chain/NIFTY?expiry={bad}")
    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "query.expiry"


def test_snapshot_bytes_are_served_as_stored(
    api: TestClient, store: redis.Redis, names: BusNames
) -> None:
    stored = publish(store, names, seq=5)
    response = api.get("/api/option-chain/nifty")
    assert response.status_code == 200 and response.content == stored
    assert api.get(f"/api/option-chain/NIFTY?expiry={EXPIRY}").content == stored
    missing = api.get("/api/option-chain/NIFTY?expiry=2099-01-01")
    assert missing.status_code == 404 and missing.json()["expiries"] == [EXPIRY.isoformat()]
    assert api.get("/api/spot/NIFTY").json()["spot"] == 25000.5


def test_health_answers_and_root_describes_the_service(api: TestClient) -> None:
    health = api.get("/health")
    assert health.status_code == 200
    assert health.json()["redis"]["ok"] is True and health.json()["mode"] == "demo"
    assert api.get("/health/ready").status_code == 503  # no snapshots yet
    assert api.get("/").json()["docs"] == "/docs"
    assert "/api/option-chain/{symbol}" in api.get("/openapi.json").json()["paths"]


def test_websocket_unknown_symbol_closes_with_4404(api: TestClient) -> None:
    with api.websocket_connect("/ws/NOPE/client") as ws, pytest.raises(WebSocketDisconnect) as err:
        ws.receive_text()
    assert err.value.code == 4404
    assert "NIFTY" in err.value.reason


def test_websocket_sends_latest_snapshot_then_updates(
    api: TestClient, store: redis.Redis, names: BusNames
) -> None:
    publish(store, names, seq=1)
    with api.websocket_connect("/ws/NIFTY/client") as ws:
        assert orjson.loads(ws.receive_text())["seq"] == 1
        # The key is written before the publish, so even a message published before the
        # hub's SUBSCRIBE lands reaches the client through the resync read.
        publish(store, names, seq=2)
        assert orjson.loads(ws.receive_text())["seq"] == 2


def test_summary_is_served_as_stored(api: TestClient, store: redis.Redis, names: BusNames) -> None:
    assert api.get("/api/summary/NIFTY").status_code == 503
    publish(store, names, seq=9)
    response = api.get("/api/summary/NIFTY")
    assert response.status_code == 200
    assert response.content == store.get(names.summary_key("NIFTY"))
    again = api.get("/api/summary/NIFTY", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert api.get("/api/summary/NOPE").status_code == 404


def test_metrics_carry_the_pipeline_counters_from_heartbeats(
    api: TestClient, store: redis.Redis, names: BusNames
) -> None:
    ingestor = {"service": "ingestor", "instance": "i1", "ts": 1, "ticks_published": 1234,
                "angel": {"packets": 50, "malformed": 3, "session": "A1"}}  # fmt: skip
    worker = {"service": "worker", "instance": "w1", "ts": 1,
              "symbols": {"NIFTY": {"ticks_applied": 1200, "bad_entries": 2}}}  # fmt: skip
    store.set(names.health_key("ingestor", "i1"), orjson.dumps(ingestor), ex=30)
    store.set(names.health_key("worker", "w1"), orjson.dumps(worker), ex=30)
    text = api.get("/metrics").text
    assert 'ingestor_ticks_published_total{instance="i1"} 1234.0' in text
    assert 'ingestor_feed_events_total{event="malformed",instance="i1"} 3.0' in text
    assert 'worker_bad_entries_total{instance="w1",symbol="NIFTY"} 2.0' in text
    assert 'worker_ticks_applied_total{instance="w1",symbol="NIFTY"} 1200.0' in text
    assert 'event="session"' not in text  # only numeric counters become metrics


def test_a_replayed_old_chain_counts_as_fresh_by_its_publish_time(
    api: TestClient, store: redis.Redis, names: BusNames
) -> None:
    old = 1_648_445_839 * 10**9  # 28 Mar 2022: the market time of a replayed tape
    body = {"symbol": "NIFTY", "seq": 3, "ts": old, "spot": 1.0, "expiries": []}
    summary = encode_document("summary", {**body, "published_ts": time.time_ns()})
    store.set(names.summary_key("NIFTY"), summary)
    nifty = api.get("/health").json()["symbols"]["NIFTY"]
    assert nifty["fresh"] is True and nifty["age_s"] < 60
