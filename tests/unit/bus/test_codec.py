"""Codecs: models round-trip, absent fields stay absent, bad bytes raise DecodeError."""

from datetime import date

import orjson
import pytest

from fo_bus.codec import (
    DOCUMENT_VERSIONS,
    DecodeError,
    decode_document,
    decode_instruments,
    decode_tick_batch,
    encode_document,
    encode_instruments,
    encode_tick_batch,
    peek_seq,
)
from fo_models import Instrument, InstrumentKind, InstrumentSet, Right, Tick


def test_tick_batch_round_trip_keeps_absent_fields_absent() -> None:
    full = Tick("101", 1, 2, ltp=101.5, bid=101.45, ask=101.55, bid_qty=75, ask_qty=150,
                volume=9000, oi=123_000, prev_close=99.0, prev_oi=120_000)  # fmt: skip
    ltp_only = Tick("102", 3, 4, ltp=50.0)
    fields = encode_tick_batch([full, ltp_only])
    wire = orjson.loads(fields[b"d"])
    assert "oi" not in wire[1] and "volume" not in wire[1]
    assert decode_tick_batch(fields) == [full, ltp_only]
    assert decode_tick_batch(fields)[1].oi is None


def test_zero_is_a_value_not_an_absence() -> None:
    tick = Tick("7", 1, 1, oi=0, volume=0)
    assert decode_tick_batch(encode_tick_batch([tick]))[0] == tick


@pytest.mark.parametrize(
    "fields",
    [
        {b"v": b"2", b"d": b"[]"},
        {b"d": b"[]"},
        {b"v": b"1", b"d": b"not json"},
        {b"v": b"1", b"d": b'[{"ltp": 1}]'},
        {b"v": b"1"},
    ],
)
def test_bad_tick_entries_raise_decode_error(fields: dict[bytes, bytes]) -> None:
    with pytest.raises(DecodeError):
        decode_tick_batch(fields)


def test_instruments_round_trip() -> None:
    option = Instrument("55", "NIFTY", InstrumentKind.OPTION, "NFO", "NIFTY08DEC2625900CE", 65,
                        0.05, date(2026, 12, 8), 25900.0, Right.CALL)  # fmt: skip
    spot = Instrument("99926000", "NIFTY", InstrumentKind.INDEX, "NSE", "NIFTY")
    inst_set = InstrumentSet("NIFTY", "99926000", "test", (spot, option))
    assert decode_instruments(encode_instruments(inst_set)) == inst_set


def test_documents_carry_kind_and_version() -> None:
    raw = encode_document("chain", {"symbol": "NIFTY", "seq": 42, "layout": "columns"})
    doc = orjson.loads(raw)
    assert doc["v"] == 2 and doc["type"] == "chain"  # chain 2: the columnar layout
    assert decode_document(raw, "chain") == doc
    assert peek_seq(raw) == 42
    summary = encode_document("summary", {"seq": 1})
    assert orjson.loads(summary)["v"] == 1 == DOCUMENT_VERSIONS["summary"]
    assert decode_document(summary, "summary")["seq"] == 1
    with pytest.raises(DecodeError):
        decode_document(raw, "summary")
    with pytest.raises(DecodeError):
        decode_document(b'{"v": 99, "type": "chain"}', "chain")
    with pytest.raises(DecodeError, match="unsupported chain version 1"):  # per-strike form
        decode_document(b'{"v": 1, "type": "chain", "strikes": []}', "chain")
    with pytest.raises(DecodeError):
        decode_document(b'{"v": 2, "type": "summary"}', "summary")
    with pytest.raises(DecodeError):
        decode_document(b'{"v": 1, "type": "teleport"}', "teleport")
    with pytest.raises(ValueError, match="unknown document kind"):
        encode_document("teleport", {})
    with pytest.raises(DecodeError):
        decode_document(b"\xff", "chain")
