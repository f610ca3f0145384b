"""Real NSE option chains replayed through the running services (ingestor → worker → gateway).

The tape is converted by the ``fo-tape`` console script from gzipped copies of the raw NSE
responses kept in tests/data/real. Every expected value is computed here from the raw JSON,
longhand: spot is the file's ``underlyingValue``; OI and volume are summed per expiry in
contracts and turned into shares with the lot size of the time (NIFTY 50 in March 2022,
BANKNIFTY 20 in April 2020); max pain is the strike with the least payout to holders.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import httpx
import pytest
import websockets

from tests.helpers import TEST_DATA, eventually

pytestmark = pytest.mark.e2e

REAL = TEST_DATA / "real"
NIFTY_2022 = REAL / "nse-oc-nifty-2022-03-28T104719.json.gz"  # 2022 layout, intraday
BANKNIFTY_A = REAL / "nse-oc-banknifty-2020-04-17T1530-capA.json.gz"  # 2020 layout, capture 1
BANKNIFTY_B = REAL / "nse-oc-banknifty-2020-04-17T1530-capB.json.gz"  # same day, capture 2
LOT = {"NIFTY": 50, "BANKNIFTY": 20}  # contract size then (shares per lot)


def raw(path: Path) -> dict:
    return json.loads(gzip.decompress(path.read_bytes()))


def legs_of(doc: dict) -> dict[tuple[date, float, str], dict]:
    """Every listed leg of a raw NSE response, keyed by (expiry, strike, CE/PE)."""
    out = {}
    for row in doc["records"]["data"]:
        expiry = datetime.strptime(row["expiryDate"], "%d-%b-%Y").date()
        for right in ("CE", "PE"):
            if right in row:
                out[(expiry, float(row["strikePrice"]), right)] = row[right]
    return out


def expected_per_expiry(legs: dict[tuple[date, float, str], dict], lot: int) -> dict[date, dict]:
    by_expiry: dict[date, dict] = {}
    for (expiry, strike, right), leg in legs.items():
        e = by_expiry.setdefault(
            expiry, {"strikes": set(), "oi": {"CE": {}, "PE": {}}, "vol": {"CE": 0, "PE": 0}}
        )
        e["strikes"].add(strike)
        e["oi"][right][strike] = leg["openInterest"]
        e["vol"][right] += leg["totalTradedVolume"]
    for e in by_expiry.values():
        ce_oi, pe_oi = sum(e["oi"]["CE"].values()), sum(e["oi"]["PE"].values())
        e["ce_oi_shares"], e["pe_oi_shares"] = ce_oi * lot, pe_oi * lot
        e["pcr_oi"] = pe_oi / ce_oi if ce_oi else None
        e["pcr_volume"] = e["vol"]["PE"] / e["vol"]["CE"] if e["vol"]["CE"] else None
        payout = {}
        for settle in e["strikes"]:
            total = 0.0
            for k, oi in e["oi"]["CE"].items():
                total += oi * max(settle - k, 0)
            for k, oi in e["oi"]["PE"].items():
                total += oi * max(k - settle, 0)
            payout[settle] = total
        least = min(payout.values())
        e["max_pain"] = {k for k, v in payout.items() if abs(v - least) <= 1e-9 * max(least, 1)}
    return by_expiry


def check_snapshot(snap: dict, spot: float, exp: dict) -> None:
    assert snap["spot"] == spot
    strikes = snap["chain"]["strike"]
    assert len(strikes) == len(exp["strikes"])
    assert set(strikes) == exp["strikes"]
    assert snap["totals"]["ce_oi"] == pytest.approx(exp["ce_oi_shares"], rel=1e-12, abs=1)
    assert snap["totals"]["pe_oi"] == pytest.approx(exp["pe_oi_shares"], rel=1e-12, abs=1)
    if exp["pcr_oi"] is None:
        assert snap["pcr"]["oi"] is None
    else:
        assert snap["pcr"]["oi"] == pytest.approx(exp["pcr_oi"], rel=1e-9)
    if exp["pcr_volume"] is None:
        assert snap["pcr"]["volume"] is None
    else:
        assert snap["pcr"]["volume"] == pytest.approx(exp["pcr_volume"], rel=1e-9)
    if exp["ce_oi_shares"] + exp["pe_oi_shares"] > 0:
        assert snap["max_pain"]["strike"] in exp["max_pain"]
        assert set(snap["max_pain"]["tied"]) == exp["max_pain"]


async def first_ws_snapshot(url: str) -> dict:
    async with websockets.connect(url, open_timeout=10) as ws:
        return json.loads(await asyncio.wait_for(ws.recv(), timeout=10))


def test_real_nse_chains_replayed_through_the_stack(make_stack, tmp_path: Path) -> None:
    tape = tmp_path / "real.tape.gz"
    fo_tape = Path(sys.executable).with_name("fo-tape")
    done = subprocess.run(
        [str(fo_tape), "convert", str(NIFTY_2022), str(BANKNIFTY_A), str(BANKNIFTY_B),
         "-o", str(tape)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr

    nifty_raw = raw(NIFTY_2022)
    bank_a, bank_b = raw(BANKNIFTY_A), raw(BANKNIFTY_B)
    expected = {
        "NIFTY": (
            nifty_raw["records"]["underlyingValue"],
            expected_per_expiry(legs_of(nifty_raw), LOT["NIFTY"]),
        ),
        # Two captures of one day: a leg only the first capture lists keeps its last value.
        "BANKNIFTY": (
            bank_b["records"]["underlyingValue"],
            expected_per_expiry(legs_of(bank_a) | legs_of(bank_b), LOT["BANKNIFTY"]),
        ),
    }

    stack = make_stack(
        FEED="replay", TAPE=str(tape), CLOCK="feed", SYMBOLS="NIFTY,BANKNIFTY",
        SNAPSHOT_INTERVAL_S="0.2", REPLAY_SPEED="0",
    )  # fmt: skip

    for symbol, (spot, per_expiry) in expected.items():
        wanted = sorted(e.isoformat() for e in per_expiry)

        def summary(
            symbol: str = symbol, wanted: list[str] = wanted, spot: float = spot
        ) -> dict | None:
            stack.check_alive()
            r = httpx.get(f"{stack.base_url}/api/spot/{symbol}", timeout=2)
            body = r.json() if r.status_code == 200 else None
            return body if body and body["spot"] == spot and body["expiries"] == wanted else None

        eventually(summary, timeout=30)
        for expiry, exp in per_expiry.items():
            r = httpx.get(
                f"{stack.base_url}/api/option-chain/{symbol}",
                params={"expiry": expiry.isoformat()},
                timeout=5,
            )
            assert r.status_code == 200, r.text
            snap = r.json()
            assert snap["symbol"] == symbol and snap["expiry"] == expiry.isoformat()
            check_snapshot(snap, spot, exp)

        nearest = min(per_expiry)
        url = f"{stack.ws_url}/ws/{symbol}/e2e-replay?expiry={nearest.isoformat()}"
        snap = asyncio.run(first_ws_snapshot(url))
        assert snap["symbol"] == symbol and snap["expiry"] == nearest.isoformat()
        check_snapshot(snap, spot, per_expiry[nearest])

    stack.check_alive()  # the tape is over; the services stay up and keep serving it
