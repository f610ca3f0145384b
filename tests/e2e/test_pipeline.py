"""The whole pipeline as real processes: simulator → ingestor → Redis → worker → gateway → WS."""

from __future__ import annotations

import asyncio
import itertools
import json

import httpx
import pytest
import websockets

from tests.helpers import eventually

pytestmark = pytest.mark.e2e


def hand_pcr(snapshot: dict) -> float | None:
    """From the columnar wire form: OI per strike under chain.CE / chain.PE (null: none)."""
    calls = sum(oi or 0 for oi in snapshot["chain"]["CE"]["oi"])
    puts = sum(oi or 0 for oi in snapshot["chain"]["PE"]["oi"])
    return None if calls == 0 else puts / calls


def hand_max_pain(snapshot: dict) -> set[float]:
    """Every strike with the least total payout to option holders (written out longhand)."""
    cols = snapshot["chain"]
    strikes = cols["strike"]
    payout = {}
    for settle in strikes:
        total = 0.0
        for i, k in enumerate(strikes):
            call_oi = cols["CE"]["oi"][i] or 0
            put_oi = cols["PE"]["oi"][i] or 0
            total += call_oi * max(settle - k, 0) + put_oi * max(k - settle, 0)
        payout[settle] = total
    best = min(payout.values())
    return {k for k, v in payout.items() if v == best}


def check_columns(snapshot: dict) -> None:
    """Every column has one entry per strike; a strike without a leg has nulls only."""
    assert snapshot["v"] == 2 and snapshot["layout"] == "columns"
    cols = snapshot["chain"]
    n = len(cols["strike"])
    assert n > 0 and cols["strike"] == sorted(cols["strike"])
    assert all(len(cols[k]) == n for k in ("iv", "gex_call", "gex_put", "gex_net"))
    for side in ("CE", "PE"):
        assert all(len(v) == n for v in cols[side].values()), side
        for i, tok in enumerate(cols[side]["token"]):
            assert tok is not None or all(v[i] is None for v in cols[side].values())


async def receive_snapshots(url: str, count: int) -> list[dict]:
    async with websockets.connect(url, open_timeout=10) as ws:
        return [json.loads(await asyncio.wait_for(ws.recv(), timeout=10)) for _ in range(count)]


def test_three_processes_stream_consistent_snapshots(make_stack) -> None:
    stack = make_stack(SYMBOLS="NIFTY,BANKNIFTY", SNAPSHOT_INTERVAL_S="1.0")

    chain = eventually(
        lambda: (
            (r := httpx.get(f"{stack.base_url}/api/option-chain/NIFTY", timeout=2)).status_code
            == 200
            and r.json()
        ),
        timeout=15,
    )
    assert chain["symbol"] == "NIFTY"
    check_columns(chain)
    rows = httpx.get(f"{stack.base_url}/api/option-chain/NIFTY?layout=rows", timeout=2).json()
    assert rows["layout"] == "rows"  # the same strikes (the followed contracts do not change)
    assert [row["strike"] for row in rows["strikes"]] == chain["chain"]["strike"]

    snapshots = asyncio.run(receive_snapshots(f"{stack.ws_url}/ws/NIFTY/e2e-client", 3))
    seqs = [s["seq"] for s in snapshots]
    assert all(b > a for a, b in itertools.pairwise(seqs)), seqs
    for snap in snapshots:
        assert snap["symbol"] == "NIFTY"
        check_columns(snap)
        assert snap["pcr"]["oi"] == pytest.approx(hand_pcr(snap), rel=1e-12)
        assert snap["max_pain"]["strike"] in hand_max_pain(snap)
        assert set(snap["max_pain"]["tied"]) == hand_max_pain(snap)

    spot = httpx.get(f"{stack.base_url}/api/spot/NIFTY", timeout=2).json()
    assert spot["spot"] > 0 and spot["symbol"] == "NIFTY"

    results = stack.terminate(timeout=5.0)
    for module, (code, seconds) in results.items():
        assert code == 0, f"{module} exit code {code}\n{stack.logs(module)}"
        assert seconds < 5.0, f"{module} took {seconds:.1f}s to stop"
