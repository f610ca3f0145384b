"""Differential test: our parser against the official SDK's, thousands of packets per mode.

Field by field equal, except where spec §4.4 shows the SDK is wrong: OI change % (the SDK
reads int64; it is a float64) and, in DEPTH mode, the exchange timestamp (the SDK reads
offset 35, the packet-received time; it sits at 27).
"""

from __future__ import annotations

import math
import random
import struct

import pytest

from fo_fakeangel.packets import BookLevel, RawQuote, encode
from fo_ingestor.angel.parser import parse_packet

N = 2_500
I64 = (-(2**63), 2**63 - 1)
ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_"


@pytest.fixture(scope="module")
def sdk_parser():
    from fo_ingestor.angel.sdk import _import_contained

    _import_contained()  # logzero muted and the ipify call refused, as in production
    from SmartApi.smartWebSocketV2 import SmartWebSocketV2

    return SmartWebSocketV2.__new__(SmartWebSocketV2)  # no __init__: it writes ./logs


def _i64(rng: random.Random) -> int:
    return rng.choice([rng.randint(*I64), rng.randint(0, 10**9), 0])


def _f64(rng: random.Random) -> float:
    while True:
        value = (
            struct.unpack("<d", rng.randbytes(8))[0]
            if rng.random() < 0.5
            else rng.uniform(-1e9, 1e9)
        )
        if not math.isnan(value):
            return value


def random_quote(rng: random.Random) -> RawQuote:
    token = "".join(rng.choice(ALNUM) for _ in range(rng.randint(1, 25)))

    def lv() -> BookLevel:
        return BookLevel(_i64(rng), _i64(rng), rng.randint(0, 65535))

    def d20() -> BookLevel:
        i32 = (-(2**31), 2**31 - 1)
        return BookLevel(rng.randint(*i32), rng.randint(*i32), rng.randint(-(2**15), 2**15 - 1))

    return RawQuote(
        rng.choice([1, 2, 3, 4, 5, 7, 13]),
        token,
        *(_i64(rng) for _ in range(6)),
        _f64(rng),
        _f64(rng),
        *(_i64(rng) for _ in range(6)),
        _f64(rng),
        [lv() for _ in range(5)],
        [lv() for _ in range(5)],
        *(_i64(rng) for _ in range(5)),
        [d20() for _ in range(20)],
        [d20() for _ in range(20)],
    )


COMMON = {"subscription_mode": "mode", "exchange_type": "exchange_type", "token": "token"}
HEADER = {
    "sequence_number": "sequence_number",
    "exchange_timestamp": "exchange_timestamp",
    "last_traded_price": "last_traded_price",
}
QUOTE_FIELDS = {
    "last_traded_quantity": "last_traded_quantity",
    "average_traded_price": "average_traded_price",
    "volume_trade_for_the_day": "volume_traded_today",
    "total_buy_quantity": "total_buy_quantity",
    "total_sell_quantity": "total_sell_quantity",
    "open_price_of_the_day": "open",
    "high_price_of_the_day": "high",
    "low_price_of_the_day": "low",
    "closed_price": "close",
}
SNAP_FIELDS = {
    "last_traded_timestamp": "last_traded_timestamp",
    "open_interest": "open_interest",
    "upper_circuit_limit": "upper_circuit",
    "lower_circuit_limit": "lower_circuit",
    "52_week_high_price": "week_52_high",
    "52_week_low_price": "week_52_low",
}


def _levels5(levels) -> list[dict]:
    return [
        {"flag": lv.flag, "quantity": lv.quantity, "price": lv.price, "no of orders": lv.orders}
        for lv in levels
    ]


def _levels20(levels) -> list[dict]:
    return [
        {"quantity": lv.quantity, "price": lv.price, "num_of_orders": lv.orders} for lv in levels
    ]


def _same(a: object, b: object) -> bool:
    return a == b or (
        isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
    )


@pytest.mark.parametrize("mode", [1, 2, 3, 4], ids=["LTP", "QUOTE", "SNAP_QUOTE", "DEPTH"])
def test_our_parser_matches_the_official_sdk(sdk_parser, mode: int) -> None:
    rng = random.Random(20_240_000 + mode)
    fields = dict(COMMON)
    if mode != 4:
        fields |= HEADER
    if mode in (2, 3):
        fields |= QUOTE_FIELDS
    if mode == 3:
        fields |= SNAP_FIELDS
    compared = 0
    for _ in range(N):
        q = random_quote(rng)
        frame = encode(mode, q)
        ours = parse_packet(frame)
        theirs = sdk_parser._parse_binary_data(frame)
        for sdk_key, our_key in fields.items():
            assert _same(getattr(ours, our_key), theirs[sdk_key]), (mode, sdk_key)
            compared += 1
        if mode == 3:
            assert _levels5(ours.best_5_buy) == theirs["best_5_buy_data"]
            assert _levels5(ours.best_5_sell) == theirs["best_5_sell_data"]
            # the one SNAP_QUOTE field the SDK gets wrong: it reinterprets the double as int64
            raw = struct.unpack_from("<q", frame, 139)[0]
            assert theirs["open_interest_change_percentage"] == raw
            assert _same(ours.open_interest_change_percentage, q.open_interest_change_percentage)
        if mode == 4:
            assert _levels20(ours.depth_20_buy) == theirs["depth_20_buy_data"]
            assert _levels20(ours.depth_20_sell) == theirs["depth_20_sell_data"]
            assert ours.packet_received_time == theirs["packet_received_time"]
            # the SDK reads exchange_timestamp at offset 35 (= received time); it sits at 27
            assert theirs["exchange_timestamp"] == q.packet_received_time
            assert ours.exchange_timestamp == q.exchange_timestamp
    assert compared >= N * len(fields)
