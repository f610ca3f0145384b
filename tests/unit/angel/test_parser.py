"""Parser: every mode's layout, our units, real Angel data, and the failure cases."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from fo_fakeangel.packets import BookLevel, RawQuote, encode
from fo_ingestor.angel.parser import (
    DEPTH,
    LTP,
    QUOTE,
    SNAP_QUOTE,
    MalformedPacket,
    packet_to_tick,
    parse_packet,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "angel"
SAMPLE = json.loads(
    (DATA / "angel-ws2-snapquote-sample-nifty09mar2318050ce-2023-02-15.json").read_text()
)


def _levels(rows: list[dict]) -> list[BookLevel]:
    return [BookLevel(r["quantity"], r["price"], r["no of orders"]) for r in rows]


def real_quote() -> RawQuote:
    """The real tick: the SDK labelled the flag-0 records "buy" (an old SDK's swap); their
    prices (224.20 … 700.00, above the 325.25 LTP… and rising) are asks, so they are sells."""
    s = SAMPLE
    return RawQuote(
        exchange_type=s["exchange_type"],
        token=s["token"],
        sequence_number=s["sequence_number"],
        exchange_timestamp=s["exchange_timestamp"],
        last_traded_price=s["last_traded_price"],
        last_traded_quantity=s["last_traded_quantity"],
        average_traded_price=s["average_traded_price"],
        volume_traded_today=s["volume_trade_for_the_day"],
        total_buy_quantity=s["total_buy_quantity"],
        total_sell_quantity=s["total_sell_quantity"],
        open=s["open_price_of_the_day"],
        high=s["high_price_of_the_day"],
        low=s["low_price_of_the_day"],
        close=s["closed_price"],
        last_traded_timestamp=s["last_traded_timestamp"],
        open_interest=s["open_interest"],
        open_interest_change_percentage=float(s["open_interest_change_percentage"]),
        best_5_buy=_levels(s["best_5_sell_data"]),
        best_5_sell=_levels(s["best_5_buy_data"]),
        upper_circuit=s["upper_circuit_limit"],
        lower_circuit=s["lower_circuit_limit"],
        week_52_high=s["52_week_high_price"],
        week_52_low=s["52_week_low_price"],
    )


def test_real_snap_quote_round_trips_in_angel_units() -> None:
    frame = encode(SNAP_QUOTE, real_quote())
    assert len(frame) == 379
    p = parse_packet(frame)
    assert (p.mode, p.exchange_type, p.token) == (3, 2, "47338")
    assert p.sequence_number == 46136693
    assert p.exchange_timestamp == 1676455199000
    assert p.last_traded_price == 32525 and p.close == 26205
    assert p.open_interest == 100 and p.volume_traded_today == 100
    assert p.total_buy_quantity == 2300.0 and p.total_sell_quantity == 2250.0
    assert [lv.price for lv in p.best_5_buy] == [20060, 20055, 19755, 10200, 20]
    assert [lv.price for lv in p.best_5_sell] == [22420, 22430, 23205, 32000, 70000]
    assert {lv.flag for lv in p.best_5_buy} == {1} and {lv.flag for lv in p.best_5_sell} == {0}
    assert (p.upper_circuit, p.lower_circuit, p.week_52_high, p.week_52_low) == (
        75910,
        5,
        211815,
        0,
    )


def test_real_snap_quote_becomes_a_tick_in_rupees_and_ns() -> None:
    tick = packet_to_tick(parse_packet(encode(SNAP_QUOTE, real_quote())), recv_ns=123)
    # 15-Feb-2023 15:29:59 IST in ns, prices ÷ 100 (PROVENANCE: Angel WS prices are paise)
    assert tick.ts_event == 1676455199000 * 1_000_000 and tick.ts_recv == 123
    assert tick.ltp == 325.25 and tick.prev_close == 262.05
    assert (tick.bid, tick.bid_qty, tick.ask, tick.ask_qty) == (200.60, 50, 224.20, 900)
    assert tick.oi == 100 and tick.volume == 100
    assert tick.prev_oi is None


def test_ltp_and_quote_modes_carry_no_oi_and_no_book() -> None:
    q = RawQuote(2, "43651", 7, 1_700_000_000_000, 12_345, volume_traded_today=650, close=12_000)
    ltp = packet_to_tick(parse_packet(encode(LTP, q)), 1)
    assert ltp.ltp == 123.45 and ltp.oi is None and ltp.volume is None and ltp.bid is None
    quote = packet_to_tick(parse_packet(encode(QUOTE, q)), 1)
    assert quote.volume == 650 and quote.prev_close == 120.0 and quote.oi is None


def test_index_packets_never_report_zero_oi_or_volume() -> None:
    q = RawQuote(1, "99926000", 1, 1_700_000_000_000, 2_590_000)
    tick = packet_to_tick(parse_packet(encode(SNAP_QUOTE, q)), 1)
    assert tick.ltp == 25900.0 and tick.oi is None and tick.volume is None
    assert tick.bid is None and tick.ask is None  # zero-price levels are absent, not 0


def test_depth_mode_reads_timestamp_at_27_and_20_levels() -> None:
    q = RawQuote(
        1,
        "3045",
        exchange_timestamp=1_700_000_000_111,
        packet_received_time=1_700_000_000_222,
        depth_20_buy=[BookLevel(10 + i, 50_000 - i, i) for i in range(20)],
        depth_20_sell=[BookLevel(20 + i, 50_100 + i, i) for i in range(20)],
    )
    p = parse_packet(encode(DEPTH, q))
    assert p.exchange_timestamp == 1_700_000_000_111 and p.packet_received_time == 1_700_000_000_222
    assert len(p.depth_20_buy) == 20 and p.depth_20_sell[19].price == 50_119
    tick = packet_to_tick(p, 5)
    assert (tick.bid, tick.ask, tick.bid_qty, tick.ask_qty) == (500.0, 501.0, 10, 20)


def test_currency_prices_scale_by_ten_million() -> None:
    q = RawQuote(13, "1234", 1, 1, 752_500_000)
    assert packet_to_tick(parse_packet(encode(LTP, q)), 1).ltp == 75.25


def test_longer_frames_are_tolerated() -> None:
    q = RawQuote(2, "43651", 1, 1, 100)
    assert parse_packet(encode(LTP, q) + b"\0" * 9).last_traded_price == 100


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        bytes([3]) + b"\0" * 200,
        bytes([9]) + b"\0" * 400,
        bytes([1, 2]) + b"\0" * 49,
        bytes([1, 2]) + b"\xff" * 25 + b"\0" * 24,
    ],
    ids=["empty", "short-snap", "unknown-mode", "empty-token", "non-ascii-token"],
)
def test_malformed_frames_raise(frame: bytes) -> None:
    with pytest.raises(MalformedPacket):
        parse_packet(frame)


def test_oi_change_is_a_double_not_an_int() -> None:
    q = RawQuote(2, "43651", 1, 1, 100, open_interest_change_percentage=2.5)
    frame = encode(SNAP_QUOTE, q)
    assert parse_packet(frame).open_interest_change_percentage == 2.5
    assert struct.unpack_from("<q", frame, 139)[0] == 4612811918334230528  # what the SDK reports
