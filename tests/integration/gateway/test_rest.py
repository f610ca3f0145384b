"""REST, health, metrics and rate limits on a real gateway and Redis (and Redis going away)."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import orjson
import pytest
from tests.integration.gateway.conftest import EXPIRY, EXPIRY2

from fo_runtime.redis_server import start_redis_server


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = (
        rf"^{re.escape(name)}(?:\{{{re.escape(want)}\}})? ([0-9.e+-]+)$"
        if want
        else (rf"^{re.escape(name)} ([0-9.e+-]+)$")
    )
    found = re.search(pattern, text, re.M)
    return float(found.group(1)) if found else 0.0


async def test_snapshot_reads_carry_etag_and_revalidate(start_gateway, publisher):
    gw = await start_gateway()
    stored = await publisher.publish(seq=4)
    async with httpx.AsyncClient(base_url=gw.http) as http:
        first = await http.get("/api/option-chain/NIFTY")
        assert first.status_code == 200 and first.content == stored
        etag = first.headers["etag"]
        assert "-4-" in etag and first.headers["cache-control"] == "public, max-age=1"
        again = await http.get("/api/option-chain/NIFTY", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        await publisher.publish(seq=5)
        changed = await http.get("/api/option-chain/NIFTY", headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag
        assert first.headers["x-request-id"]
        traced = await http.get("/api/spot/NIFTY", headers={"X-Request-ID": "abc-123"})
        assert traced.headers["x-request-id"] == "abc-123"


async def test_compact_view_for_mobile(start_gateway, publisher):
    gw = await start_gateway()
    await publisher.publish(seq=9, strikes=11)
    full = orjson.loads(await publisher.client.get(publisher.names.snapshot_key("NIFTY", EXPIRY)))
    cols = full["chain"]
    at = min(range(len(cols["strike"])), key=lambda i: abs(cols["strike"][i] - full["spot"]))
    centre = cols["strike"][at]
    params = {"view": "compact", "fields": "ltp,oi", "strikes": 2}
    async with httpx.AsyncClient(base_url=gw.http) as http:
        r = await http.get("/api/option-chain/NIFTY", params=params)
        assert r.status_code == 200 and r.headers["etag"]
        body = r.json()
        assert body["compact"] == {"fields": ["ltp", "oi"], "window": 2, "centre_strike": centre}
        assert body["layout"] == "columns"
        assert body["chain"]["strike"] == [centre + 50 * k for k in range(-2, 3)]
        window = slice(at - 2, at + 3)
        for side in ("CE", "PE"):  # the columns sliced, token kept beside the named fields
            assert body["chain"][side] == {
                f: cols[side][f][window] for f in ("token", "ltp", "oi")
            }, side
        assert body["seq"] == 9 and body["pcr"] == full["pcr"]
        rows = await http.get("/api/option-chain/NIFTY", params={**params, "layout": "rows"})
        assert rows.status_code == 200 and rows.headers["etag"] != r.headers["etag"]
        per_strike = rows.json()
        assert per_strike["layout"] == "rows" and "chain" not in per_strike
        assert per_strike["compact"] == body["compact"]
        assert [row["strike"] for row in per_strike["strikes"]] == body["chain"]["strike"]
        got = next(r for r in per_strike["strikes"] if r["strike"] == centre)
        assert got["CE"] == {"ltp": cols["CE"]["ltp"][at], "oi": cols["CE"]["oi"][at]}
        default = (await http.get("/api/option-chain/NIFTY?view=compact")).json()
        assert default["compact"]["fields"] == ["ltp", "oi", "volume"]  # the defaults present
        assert set(default["chain"]["CE"]) == {"token", "ltp", "oi", "volume"}
        other = await http.get(f"/api/option-chain/NIFTY?view=compact&expiry={EXPIRY2}")
        assert other.status_code == 503  # listed but not published yet: retry


async def test_rows_layout_gives_one_object_per_strike(start_gateway, publisher):
    gw = await start_gateway()
    stored = await publisher.publish(seq=6, strikes=5, no_put=1)
    cols = orjson.loads(stored)["chain"]
    async with httpx.AsyncClient(base_url=gw.http) as http:
        columns = await http.get("/api/option-chain/NIFTY?layout=columns")
        assert columns.content == stored  # the stored bytes, as without a layout
        plain = await http.get("/api/option-chain/NIFTY")
        assert plain.headers["etag"] == columns.headers["etag"]
        r = await http.get("/api/option-chain/NIFTY?layout=rows")
        assert r.status_code == 200 and r.headers["etag"] != columns.headers["etag"]
        body = r.json()
        assert body["layout"] == "rows" and "chain" not in body
        assert (body["v"], body["type"], body["seq"], body["pcr"]) == (2, "chain", 6, {"oi": 0.9})
        assert [row["strike"] for row in body["strikes"]] == cols["strike"]
        assert [row["strike"] for row in body["strikes"]] == [24_900.0 + 50 * i for i in range(5)]
        # Written out by hand from the publisher's document: strike 24,950 lists no put.
        assert body["strikes"][1] == {
            "strike": 24_950.0,
            "CE": {"token": "1C", "ltp": 101.0, "oi": 1000, "volume": 10, "ts": 1},
            "PE": None,
            "iv": 0.101,
        }
        for i, row in enumerate(body["strikes"]):  # every value equal to its column's
            assert row["iv"] == cols["iv"][i]
            for side in ("CE", "PE"):
                if cols[side]["token"][i] is None:
                    assert row[side] is None
                else:
                    assert row[side] == {f: v[i] for f, v in cols[side].items()}
        again = await http.get(
            "/api/option-chain/NIFTY?layout=rows", headers={"If-None-Match": r.headers["etag"]}
        )
        assert again.status_code == 304
        ignored = await http.get("/api/option-chain/NIFTY?layout=rows&fields=ltp&strikes=1")
        assert ignored.content == r.content  # fields and strikes: compact view only
        assert ignored.headers["etag"] == r.headers["etag"]
        bad = await http.get("/api/option-chain/NIFTY?view=compact&layout=rows&fields=teleport")
        assert bad.status_code == 400
        assert bad.json()["available"] == ["ltp", "oi", "token", "ts", "volume"]
        await publisher.publish(seq=7, strikes=5)
        later = await http.get("/api/option-chain/NIFTY?layout=rows")
        assert later.json()["seq"] == 7 and later.json()["strikes"][1]["PE"]["token"] == "1P"


async def test_an_older_chain_version_is_served_but_not_reshaped(start_gateway, publisher):
    gw = await start_gateway()
    await publisher.publish(seq=3)
    old = orjson.dumps({"v": 1, "type": "chain", "symbol": "NIFTY", "expiry": EXPIRY.isoformat(),
                        "seq": 4, "ts": 1, "strikes": []})  # fmt: skip
    await publisher.client.set(publisher.names.snapshot_key("NIFTY", EXPIRY), old)
    async with httpx.AsyncClient(base_url=gw.http) as http:
        assert (await http.get("/api/option-chain/NIFTY")).content == old  # as stored
        r = await http.get("/api/option-chain/NIFTY?layout=rows")
        assert r.status_code == 503 and r.headers["retry-after"]
        assert "cannot be reshaped" in r.json()["detail"]


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/api/option-chain/NOPE", 404, "unknown symbol"),
        ("/api/option-chain/NIFTY?expiry=2026-02-30", 422, "invalid request"),
        ("/api/option-chain/NIFTY?expiry=1999-01-01", 404, "not followed"),
        ("/api/option-chain/NIFTY?view=giant", 422, "invalid request"),
        ("/api/option-chain/NIFTY?layout=sideways", 422, "invalid request"),
        ("/api/option-chain/NIFTY?view=compact&strikes=-1", 422, "invalid request"),
        ("/api/option-chain/NIFTY?view=compact&strikes=99999999999999999999", 422, "invalid"),
        ("/api/option-chain/NIFTY?view=compact&fields=ltp,,;drop", 400, "fields must be"),
        ("/api/option-chain/NIFTY?view=compact&fields=teleport", 400, "unknown leg field"),
        ("/api/option-chain/" + "N" * 5000, 404, "unknown symbol"),
        ("/api/nothing-here", 404, "Not Found"),
    ],
)
async def test_bad_input_gets_a_reason_never_a_trace(start_gateway, publisher, path, status, says):
    gw = await start_gateway()
    await publisher.publish(seq=1)
    async with httpx.AsyncClient(base_url=gw.http) as http:
        r = await http.get(path)
    assert r.status_code == status, r.text
    assert says in r.json()["detail"] and "Traceback" not in r.text


async def test_cors_allows_listed_origins_only(start_gateway, publisher):
    gw = await start_gateway(allowed_origins="https://app.example.com")
    await publisher.publish(seq=1)
    async with httpx.AsyncClient(base_url=gw.http) as http:
        ok = await http.get("/api/spot/NIFTY", headers={"Origin": "https://app.example.com"})
        assert ok.headers["access-control-allow-origin"] == "https://app.example.com"
        assert ok.headers["access-control-allow-credentials"] == "true"
        assert "ETag" in ok.headers["access-control-expose-headers"]
        evil = await http.get("/api/spot/NIFTY", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in evil.headers


async def test_rate_limits_are_shared_in_redis_and_strict_on_login(start_gateway, publisher):
    # Hourly windows: a fixed-window count must not straddle a window edge mid-test.
    gw = await start_gateway(rate_limit_api="5/hour", rate_limit_login="2/hour")
    await publisher.publish(seq=1)
    async with httpx.AsyncClient(base_url=gw.http) as http:
        codes = [(await http.get("/api/spot/NIFTY")).status_code for _ in range(7)]
        assert codes == [200] * 5 + [429] * 2
        limited = await http.get("/api/spot/NIFTY")
        assert int(limited.headers["retry-after"]) >= 1 and "rate limit" in limited.json()["detail"]
        login = [(await http.post("/api/auth/login", json={})).status_code for _ in range(3)]
        assert login[-1] == 429 and 429 not in login[:2]
        health = [(await http.get("/health")).status_code for _ in range(10)]
        assert health == [200] * 10  # exempt
        text = (await http.get("/metrics")).text
    keys = [
        k
        async for k in publisher.client.scan_iter(match=f"{publisher.names.namespace}:ratelimit:*")
    ]
    assert keys, "counters live in Redis so replicas share them"
    assert metric(text, "http_rate_limited_total", bucket="api") == 3


async def test_metrics_describe_http_and_websocket_traffic(start_gateway, publisher):
    gw = await start_gateway()
    await publisher.publish(seq=1)
    from websockets.asyncio.client import connect

    async with httpx.AsyncClient(base_url=gw.http) as http:
        await http.get("/api/option-chain/NIFTY")
        await http.get("/api/option-chain/NOPE")
        async with connect(f"{gw.ws}/ws/NIFTY/m1") as one, connect(f"{gw.ws}/ws/NIFTY/m2") as two:
            await asyncio.wait_for(one.recv(), 5)
            await asyncio.wait_for(two.recv(), 5)
            text = (await http.get("/metrics")).text
        route = "/api/option-chain/{symbol}"
        assert metric(text, "http_requests_total", route=route, method="GET", status="200") == 1
        assert metric(text, "http_requests_total", route=route, method="GET", status="404") == 1
        assert (
            metric(
                text, "http_request_duration_seconds_count", route=route, method="GET", status="200"
            )
            == 1
        )
        assert metric(text, "ws_connections_active") == 2
        assert metric(text, "ws_messages_sent_total") == 2
        assert metric(text, "redis_up") == 1
        assert 0 <= metric(text, "snapshot_age_seconds", symbol="NIFTY") < 60
        for name in ("ws_messages_dropped_total", "ws_slow_client_disconnects_total",
                     "redis_errors_total", "redis_pubsub_reconnects_total"):  # fmt: skip
            assert f"\n{name}" in text, name
        await asyncio.sleep(0)
        after = (await http.get("/metrics")).text
        assert metric(after, "ws_connections_active") == 0


async def test_health_is_live_with_a_readiness_view(start_gateway, publisher, client, names):
    gw = await start_gateway()
    async with httpx.AsyncClient(base_url=gw.http) as http:
        starting = await http.get("/health")
        assert starting.status_code == 200 and starting.json()["status"] == "starting"
        assert (await http.get("/health/ready")).status_code == 503
        await client.set(names.health_key("ingestor", "i1"), json.dumps(
            {"service": "ingestor", "instance": "i1", "ts": 1, "feed": "simulator",
             "last_batch_ts": __import__("time").time_ns()}))  # fmt: skip
        await client.set(names.health_key("worker", "w1"), json.dumps(
            {"service": "worker", "instance": "w1", "ts": 1}))  # fmt: skip
        await publisher.publish(seq=3)
        await publisher.publish(symbol="BANKNIFTY", seq=3)
        view = (await http.get("/health/ready")).json()
        assert view["status"] == "ok" and view["mode"] == "demo" and view["live"] is True
        assert view["symbols"]["NIFTY"]["seq"] == 3 and view["symbols"]["NIFTY"]["age_s"] < 60
        assert view["feed"]["status"] == "live" and view["feed"]["feed"] == "simulator"
        assert [w["instance"] for w in view["workers"]] == ["w1"]
        assert (await http.get("/health/live")).json() == {"live": True, "mode": "demo"}


async def test_redis_away_degrades_but_never_500s(start_gateway, tmp_path, namespace):
    server = start_redis_server(tmp_path / "redis")
    try:
        gw = await start_gateway(redis_url=server.url, rate_limit_api="3/minute")
        async with httpx.AsyncClient(base_url=gw.http) as http:
            assert (await http.get("/health")).json()["redis"]["ok"] is True
            server.stop()
            health = await http.get("/health")
            assert health.status_code == 200 and health.json()["status"] == "degraded"
            assert (await http.get("/health/ready")).status_code == 503
            codes = [(await http.get("/api/spot/NIFTY")).status_code for _ in range(5)]
            # Redis is gone: the store answers 503, and the limit still holds, counted in process.
            assert codes == [503, 503, 503, 429, 429], codes
            assert (await http.get("/metrics")).status_code == 200
    finally:
        server.stop()
