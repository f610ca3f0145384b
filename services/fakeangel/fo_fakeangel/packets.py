"""Encode WebSocket V2 binary packets, written from the offset tables of spec §4.4.

Deliberately independent of the ingestor's parser: every field is placed at its documented
offset with ``struct.pack_into`` on a zeroed buffer of the mode's fixed size.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

SIZES = {1: 51, 2: 123, 3: 379, 4: 443}


@dataclass
class BookLevel:
    quantity: int
    price: int  # paise
    orders: int


@dataclass
class RawQuote:
    """Every field any mode can carry, in Angel's units (paise, epoch ms, shares)."""

    exchange_type: int
    token: str
    sequence_number: int = 0
    exchange_timestamp: int = 0
    last_traded_price: int = 0
    last_traded_quantity: int = 0
    average_traded_price: int = 0
    volume_traded_today: int = 0
    total_buy_quantity: float = 0.0
    total_sell_quantity: float = 0.0
    open: int = 0
    high: int = 0
    low: int = 0
    close: int = 0
    last_traded_timestamp: int = 0
    open_interest: int = 0
    open_interest_change_percentage: float = 0.0
    best_5_buy: Sequence[BookLevel] = field(default_factory=list)
    best_5_sell: Sequence[BookLevel] = field(default_factory=list)
    upper_circuit: int = 0
    lower_circuit: int = 0
    week_52_high: int = 0
    week_52_low: int = 0
    packet_received_time: int = 0
    depth_20_buy: Sequence[BookLevel] = field(default_factory=list)
    depth_20_sell: Sequence[BookLevel] = field(default_factory=list)


def _put(buf: bytearray, offset: int, fmt: str, value: object) -> None:
    struct.pack_into("<" + fmt, buf, offset, value)


def _token(buf: bytearray, token: str) -> None:
    raw = token.encode("ascii")
    if not 0 < len(raw) <= 25:
        raise ValueError("token must be 1..25 ASCII characters")
    buf[2 : 2 + len(raw)] = raw  # the rest stays NUL


def encode(mode: int, q: RawQuote) -> bytes:
    """The binary frame of ``q`` in ``mode`` (1 LTP, 2 QUOTE, 3 SNAP_QUOTE, 4 DEPTH)."""
    buf = bytearray(SIZES[mode])
    _put(buf, 0, "B", mode)
    _put(buf, 1, "B", q.exchange_type)
    _token(buf, q.token)
    if mode == 4:
        _put(buf, 27, "q", q.exchange_timestamp)
        _put(buf, 35, "q", q.packet_received_time)
        for side, base in ((q.depth_20_buy, 43), (q.depth_20_sell, 243)):
            for i, lvl in enumerate(list(side)[:20]):
                _put(buf, base + 10 * i, "i", lvl.quantity)
                _put(buf, base + 10 * i + 4, "i", lvl.price)
                _put(buf, base + 10 * i + 8, "h", lvl.orders)
        return bytes(buf)
    _put(buf, 27, "q", q.sequence_number)
    _put(buf, 35, "q", q.exchange_timestamp)
    _put(buf, 43, "q", q.last_traded_price)
    if mode >= 2:
        _put(buf, 51, "q", q.last_traded_quantity)
        _put(buf, 59, "q", q.average_traded_price)
        _put(buf, 67, "q", q.volume_traded_today)
        _put(buf, 75, "d", q.total_buy_quantity)
        _put(buf, 83, "d", q.total_sell_quantity)
        _put(buf, 91, "q", q.open)
        _put(buf, 99, "q", q.high)
        _put(buf, 107, "q", q.low)
        _put(buf, 115, "q", q.close)
    if mode == 3:
        _put(buf, 123, "q", q.last_traded_timestamp)
        _put(buf, 131, "q", q.open_interest)
        _put(buf, 139, "d", q.open_interest_change_percentage)
        records = [(1, lvl) for lvl in list(q.best_5_buy)[:5]]
        records += [(1, BookLevel(0, 0, 0))] * (5 - len(records))
        sells = [(0, lvl) for lvl in list(q.best_5_sell)[:5]]
        records += sells + [(0, BookLevel(0, 0, 0))] * (5 - len(sells))
        for i, (flag, lvl) in enumerate(records):
            at = 147 + 20 * i
            _put(buf, at, "H", flag)
            _put(buf, at + 2, "q", lvl.quantity)
            _put(buf, at + 10, "q", lvl.price)
            _put(buf, at + 18, "H", lvl.orders)
        _put(buf, 347, "q", q.upper_circuit)
        _put(buf, 355, "q", q.lower_circuit)
        _put(buf, 363, "q", q.week_52_high)
        _put(buf, 371, "q", q.week_52_low)
    return bytes(buf)
