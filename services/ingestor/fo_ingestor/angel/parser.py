"""WebSocket V2 binary packets → raw packets → canonical ticks (pure; spec §4.4).

``parse_packet`` decodes one binary frame exactly as laid out by Angel (little-endian,
prices in paise, exchange time in epoch milliseconds). ``packet_to_tick`` converts once to
our units: rupees, shares, nanoseconds; a field the mode does not carry stays ``None``.
Two places where the official python SDK is wrong are done right here: the OI change %
at offset 139 is a float64, and the DEPTH exchange timestamp sits at offset 27.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from fo_models import Tick

LTP: Final = 1
QUOTE: Final = 2
SNAP_QUOTE: Final = 3
DEPTH: Final = 4
PACKET_SIZE: Final = {LTP: 51, QUOTE: 123, SNAP_QUOTE: 379, DEPTH: 443}
MODE_NAMES: Final = {LTP: "LTP", QUOTE: "QUOTE", SNAP_QUOTE: "SNAP_QUOTE", DEPTH: "DEPTH"}

# Exchange types (WS) and the scrip master's exch_seg they stand for.
EXCHANGE_TYPES: Final = {"NSE": 1, "NFO": 2, "BSE": 3, "BFO": 4, "MCX": 5, "NCDEX": 7, "CDS": 13}
CASH_SEGMENTS: Final = frozenset({1, 3})
CURRENCY_SEGMENT: Final = 13

_HEADER = struct.Struct("<BB25sqqq")  # mode, exchange, token, sequence, exch ts, ltp
_QUOTE = struct.Struct("<qqqddqqqq")  # from offset 51
_SNAP = struct.Struct("<qqd")  # from offset 123: ltt, oi, oi change %
_LEVEL5 = struct.Struct("<HqqH")  # 20-byte best-5 record
_CIRCUITS = struct.Struct("<qqqq")  # from offset 347
_DEPTH_HEAD = struct.Struct("<BB25sqq")  # mode, exchange, token, exch ts, received time
_LEVEL20 = struct.Struct("<iih")  # 10-byte depth-20 record


class MalformedPacket(ValueError):
    """A binary frame that is not a packet we can decode (short, unknown mode, bad token)."""


@dataclass(frozen=True, slots=True)
class Level:
    """One order-book level: quantity in shares, price in paise, number of orders."""

    quantity: int
    price: int
    orders: int
    flag: int | None = None  # best-5 records only: 1 = buy, 0 = sell


@dataclass(frozen=True, slots=True)
class AngelPacket:
    """One decoded frame in Angel's own units (paise, epoch ms). Absent fields are None."""

    mode: int
    exchange_type: int
    token: str
    sequence_number: int | None
    exchange_timestamp: int
    last_traded_price: int | None
    last_traded_quantity: int | None = None
    average_traded_price: int | None = None
    volume_traded_today: int | None = None
    total_buy_quantity: float | None = None
    total_sell_quantity: float | None = None
    open: int | None = None
    high: int | None = None
    low: int | None = None
    close: int | None = None
    last_traded_timestamp: int | None = None
    open_interest: int | None = None
    open_interest_change_percentage: float | None = None
    best_5_buy: tuple[Level, ...] = ()
    best_5_sell: tuple[Level, ...] = ()
    upper_circuit: int | None = None
    lower_circuit: int | None = None
    week_52_high: int | None = None
    week_52_low: int | None = None
    packet_received_time: int | None = None
    depth_20_buy: tuple[Level, ...] = ()
    depth_20_sell: tuple[Level, ...] = ()


def _token(raw: bytes) -> str:
    text = raw.split(b"\0", 1)[0]
    if not text:
        raise MalformedPacket("empty token")
    try:
        return text.decode("ascii")
    except UnicodeDecodeError:
        raise MalformedPacket("token is not ASCII") from None


def _split_best5(records: list[Level]) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
    """Buy records carry flag 1, sell records flag 0; fall back to position (5 + 5) otherwise."""
    buys = tuple(r for r in records if r.flag == 1)
    sells = tuple(r for r in records if r.flag == 0)
    if len(buys) + len(sells) != len(records) or len(buys) != 5:
        return tuple(records[:5]), tuple(records[5:])
    return buys, sells


def parse_packet(data: bytes) -> AngelPacket:
    """Decode one binary frame; raises MalformedPacket. Longer frames than the mode's size
    are tolerated (the extra bytes are ignored), shorter ones are not."""
    if not data:
        raise MalformedPacket("empty frame")
    mode = data[0]
    size = PACKET_SIZE.get(mode)
    if size is None:
        raise MalformedPacket(f"unknown subscription mode {mode}")
    if len(data) < size:
        raise MalformedPacket(f"{MODE_NAMES[mode]} frame of {len(data)} bytes; expected {size}")
    if mode == DEPTH:
        _, exchange, token, exch_ts, received = _DEPTH_HEAD.unpack_from(data, 0)
        buy = tuple(Level(*_LEVEL20.unpack_from(data, 43 + 10 * i)) for i in range(20))
        sell = tuple(Level(*_LEVEL20.unpack_from(data, 243 + 10 * i)) for i in range(20))
        return AngelPacket(
            mode,
            exchange,
            _token(token),
            None,
            exch_ts,
            None,
            packet_received_time=received,
            depth_20_buy=buy,
            depth_20_sell=sell,
        )
    _, exchange, token, seq, exch_ts, ltp = _HEADER.unpack_from(data, 0)
    fields: dict[str, object] = {}
    if mode >= QUOTE:
        ltq, atp, vol, tbq, tsq, o, h, lo, c = _QUOTE.unpack_from(data, 51)
        fields.update(
            last_traded_quantity=ltq,
            average_traded_price=atp,
            volume_traded_today=vol,
            total_buy_quantity=tbq,
            total_sell_quantity=tsq,
            open=o,
            high=h,
            low=lo,
            close=c,
        )
    if mode == SNAP_QUOTE:
        ltt, oi, oi_pct = _SNAP.unpack_from(data, 123)
        records = [
            Level(qty, price, orders, flag)
            for flag, qty, price, orders in (
                _LEVEL5.unpack_from(data, 147 + 20 * i) for i in range(10)
            )
        ]
        buys, sells = _split_best5(records)
        uc, lc, hi52, lo52 = _CIRCUITS.unpack_from(data, 347)
        fields.update(
            last_traded_timestamp=ltt,
            open_interest=oi,
            open_interest_change_percentage=oi_pct,
            best_5_buy=buys,
            best_5_sell=sells,
            upper_circuit=uc,
            lower_circuit=lc,
            week_52_high=hi52,
            week_52_low=lo52,
        )
    return AngelPacket(mode, exchange, _token(token), seq, exch_ts, ltp, **fields)  # type: ignore[arg-type]


def price_divisor(exchange_type: int) -> float:
    """Paise → rupees (÷100); currency derivatives use ÷10^7 [unverified for the WS]."""
    return 1e7 if exchange_type == CURRENCY_SEGMENT else 100.0


def _price(value: int | None, divisor: float) -> float | None:
    """A positive price in rupees; 0 (no trade / no level) is absent, never a price."""
    return value / divisor if value is not None and value > 0 else None


def _best(levels: tuple[Level, ...], divisor: float) -> tuple[float | None, int | None]:
    if not levels or levels[0].price <= 0:
        return None, None
    return levels[0].price / divisor, levels[0].quantity if levels[0].quantity > 0 else None


def packet_to_tick(packet: AngelPacket, recv_ns: int) -> Tick:
    """The canonical tick: rupees, shares, ns. Index (cash-segment) packets carry no OI."""
    div = price_divisor(packet.exchange_type)
    ts_event = packet.exchange_timestamp * 1_000_000 if packet.exchange_timestamp > 0 else recv_ns
    cash = packet.exchange_type in CASH_SEGMENTS
    if packet.mode == DEPTH:
        bid, bid_qty = _best(packet.depth_20_buy, div)
        ask, ask_qty = _best(packet.depth_20_sell, div)
        return Tick(
            packet.token, ts_event, recv_ns, bid=bid, ask=ask, bid_qty=bid_qty, ask_qty=ask_qty
        )
    ltp = _price(packet.last_traded_price, div)
    if packet.mode == LTP:
        return Tick(packet.token, ts_event, recv_ns, ltp=ltp)
    volume = packet.volume_traded_today
    if cash and not volume:
        volume = None
    prev_close = _price(packet.close, div)
    if packet.mode == QUOTE:
        return Tick(packet.token, ts_event, recv_ns, ltp=ltp, volume=volume, prev_close=prev_close)
    bid, bid_qty = _best(packet.best_5_buy, div)
    ask, ask_qty = _best(packet.best_5_sell, div)
    oi = None if cash else packet.open_interest
    return Tick(
        packet.token,
        ts_event,
        recv_ns,
        ltp=ltp,
        bid=bid,
        ask=ask,
        bid_qty=bid_qty,
        ask_qty=ask_qty,
        volume=volume,
        oi=oi,
        prev_close=prev_close,
    )
