"""Converters on real files (gzipped copies in tests/data/real): units, missing data, times.

Expected values come from the raw files, read here with the standard library, and from the
lot sizes of the time (NIFTY 50 in March 2022, BANKNIFTY 20 in April 2020, MIDCPNIFTY 75 and
NIFTY 50 in February 2023), never from the converter.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from tests.helpers import TEST_DATA

from fo_feeds.convert import ConvertError, ConvertOptions, convert_file, snapshots_to_tape
from fo_feeds.tape import load_tape, write_tape
from fo_models import InstrumentKind, Right

REAL = TEST_DATA / "real"
IST = ZoneInfo("Asia/Kolkata")


def ns(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=IST).timestamp()) * 1_000_000_000


def raw_json(name: str) -> dict:
    return json.loads(gzip.decompress((REAL / name).read_bytes()))


def raw_text(name: str) -> str:
    return gzip.decompress((REAL / name).read_bytes()).decode()


def by_leg(snapshot) -> dict:
    ticks = {t.token: t for t in snapshot.ticks}
    return {(i.expiry, i.strike, i.right.value): (i, ticks[i.token]) for i in snapshot.instruments
            if i.kind is InstrumentKind.OPTION}  # fmt: skip


def test_nse_2022_layout_in_shares_and_rupees_with_zero_prices_missing() -> None:
    name = "nse-oc-nifty-2022-03-28T104719.json.gz"
    doc = raw_json(name)
    snap = convert_file(REAL / name)
    assert snap.symbol == "NIFTY" and snap.ts_ns == ns(2022, 3, 28, 10, 47, 19)
    assert snap.spot == 17022.5 and snap.ticks[0].ltp == 17022.5
    legs = by_leg(snap)
    listed = 0
    for row in doc["records"]["data"]:
        expiry = datetime.strptime(row["expiryDate"], "%d-%b-%Y").date()
        for right in ("CE", "PE"):
            key = (expiry, float(row["strikePrice"]), right)
            if right not in row:
                assert key not in legs  # a missing leg stays missing
                continue
            listed += 1
            raw, (inst, tick) = row[right], legs[key]
            assert inst.lot_size == 50
            assert tick.oi == round(raw["openInterest"] * 50)
            assert tick.volume == raw["totalTradedVolume"] * 50
            assert tick.ltp == (raw["lastPrice"] or None)
            assert tick.bid == (raw["bidprice"] or None)
            assert tick.ask == (raw["askPrice"] or None)
            assert tick.ts_event == snap.ts_ns
    assert listed == len(legs) == 1676  # PROVENANCE: 957 rows, 1676 legs
    # Fractional OI from a lot-size change: 319.5 contracts of 50 = 15,975 shares.
    assert legs[(date(2023, 6, 29), 8500.0, "CE")][1].oi == 15_975
    assert sum(t.ltp is None for _, t in legs.values()) > 0


def test_nse_2020_layout_two_captures_make_a_two_step_tape(tmp_path: Path) -> None:
    names = ["nse-oc-banknifty-2020-04-17T1530-capA.json.gz",
             "nse-oc-banknifty-2020-04-17T1530-capB.json.gz"]  # fmt: skip
    snaps = [convert_file(REAL / n) for n in names]
    assert [s.spot for s in snaps] == [20742.8, 20681.45]
    assert all(s.ts_ns == ns(2020, 4, 17, 15, 30) for s in snaps)
    header, batches = snapshots_to_tape(snaps)
    tape = load_tape(write_tape(tmp_path / "bn.tape.gz", header, batches))
    assert len(tape.batches) == 2 and tape.batches[0].ticks[0]["ltp"] == 20742.8
    legs_a = {(r["expiryDate"], r["strikePrice"], k) for r in raw_json(names[0])["records"]["data"]
              for k in ("CE", "PE") if k in r}  # fmt: skip
    legs_b = {(r["expiryDate"], r["strikePrice"], k) for r in raw_json(names[1])["records"]["data"]
              for k in ("CE", "PE") if k in r}  # fmt: skip
    (inst_set,) = tape.header.instrument_sets
    options = [i for i in inst_set.instruments if i.kind is InstrumentKind.OPTION]
    assert len(options) == len(legs_a | legs_b)
    assert {i.lot_size for i in options} == {20}
    assert inst_set.spot_token == "99926009"  # Angel's Nifty Bank index token


def test_udiff_bhavcopy_oi_in_shares_volume_from_contracts() -> None:
    name = "nse-fo-bhavcopy-udiff-banknifty-2025-01-01.csv.gz"
    rows = list(csv.DictReader(io.StringIO(raw_text(name))))
    snap = convert_file(REAL / name)
    assert snap.symbol == "BANKNIFTY" and snap.spot == 51060.60
    assert snap.ts_ns == ns(2025, 1, 1, 15, 30)
    ticks = {t.token: t for t in snap.ticks}
    kinds = {i.token: i for i in snap.instruments}
    futures = [r for r in rows if r["FinInstrmTp"] == "IDF"]
    assert len(futures) == 3 and all(kinds[r["FinInstrmId"]].kind is InstrumentKind.FUTURE
                                     for r in futures)  # fmt: skip
    for r in rows:
        tick, inst = ticks[r["FinInstrmId"]], kinds[r["FinInstrmId"]]
        assert tick.oi == int(r["OpnIntrst"])  # already shares
        assert tick.volume == int(r["TtlTradgVol"]) * int(r["NewBrdLotQty"])
        assert tick.ltp == (float(r["LastPric"]) or None)
        assert tick.prev_oi == int(r["OpnIntrst"]) - int(r["ChngInOpnIntrst"])
        assert inst.lot_size == int(r["NewBrdLotQty"])
        if r["FinInstrmTp"] == "IDO":
            assert inst.strike == float(r["StrkPric"]) and inst.right == Right(r["OptnTp"])


def test_udiff_two_days_in_time_order() -> None:
    names = ["nse-fo-bhavcopy-udiff-banknifty-2025-01-02.csv.gz",
             "nse-fo-bhavcopy-udiff-banknifty-2025-01-01.csv.gz"]  # fmt: skip
    _, batches = snapshots_to_tape([convert_file(REAL / n) for n in names])
    assert [b.t for b in batches] == [ns(2025, 1, 1, 15, 30), ns(2025, 1, 2, 15, 30)]
    assert [b.ticks[0]["ltp"] for b in batches] == [51060.60, 51605.55]


def test_angel_dump_strike_quirk_and_lot() -> None:
    snap = convert_file(REAL / "angel-snapquote-chain-midcpnifty-2023-02-17.txt.gz")
    assert snap.symbol == "MIDCPNIFTY" and snap.ts_ns == ns(2023, 2, 17, 15, 30)
    assert snap.spot is None and all(t.token != "99926074" for t in snap.ticks)  # no spot known
    legs = by_leg(snap)
    # Raw line: 06MAR2023/27696775/655300/20.4/80500/985.4/42250/447850 (strike 8050 × 10)
    call = legs[(date(2023, 3, 6), 8050.0, "CE")]
    put = legs[(date(2023, 3, 6), 8050.0, "PE")]
    assert (call[1].ltp, call[1].oi, call[1].volume) == (20.4, 655_300, 27_696_775)
    assert (put[1].ltp, put[1].oi, put[1].volume) == (985.4, 42_250, 447_850)
    assert call[0].lot_size == 75
    assert max(k for _, k, _ in legs) < 10_000


def test_angel_dump_zero_price_is_missing_but_zero_oi_is_kept() -> None:
    snap = convert_file(REAL / "angel-snapquote-chain-nifty-2023-02-17.txt.gz")
    legs = by_leg(snap)
    # Raw line: 23MAR2023/0/0/342.3/18350/0.0/0/0
    put = legs[(date(2023, 3, 23), 18350.0, "PE")][1]
    assert put.ltp is None and put.oi == 0 and put.volume == 0
    assert legs[(date(2023, 3, 23), 18350.0, "CE")][1].ltp == 342.3
    assert legs[(date(2023, 3, 23), 18350.0, "CE")][0].lot_size == 50


def test_wrong_kind_and_unknown_files_are_refused_by_name(tmp_path: Path) -> None:
    json_file = REAL / "nse-oc-nifty-2022-03-28T104719.json.gz"
    with pytest.raises(ConvertError) as err:
        convert_file(json_file, ConvertOptions(kind="udiff"))
    assert str(err.value).startswith(str(json_file)) and "NSE option-chain JSON" in str(err.value)
    notes = tmp_path / "notes.md"
    notes.write_text("# just some notes\n")
    with pytest.raises(ConvertError, match="not a recognised input"):
        convert_file(notes)
    other_json = tmp_path / "upstox.json"
    other_json.write_text('{"status": "success", "data": []}')
    with pytest.raises(ConvertError, match="not a recognised input"):
        convert_file(other_json)
    header, batches = snapshots_to_tape([convert_file(json_file)])
    tape = write_tape(tmp_path / "x.tape.gz", header, batches)
    with pytest.raises(ConvertError, match="already a tape"):
        convert_file(tape)
    with pytest.raises(ConvertError, match="cannot read"):
        convert_file(tmp_path / "absent.json")
