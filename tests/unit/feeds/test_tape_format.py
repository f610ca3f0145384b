"""The tape file format: round trip, and every kind of bad file refused with a one-line error."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import orjson
import pytest

from fo_feeds.tape import (
    SCHEMA_VERSION,
    Batch,
    TapeError,
    TapeHeader,
    TapeWriter,
    check_tape,
    load_tape,
    read_header,
    write_tape,
)
from fo_models import Instrument, InstrumentKind, InstrumentSet, Right, Tick

SPOT = Instrument("1", "NIFTY", InstrumentKind.INDEX, "NSE", "NIFTY")
CALL = Instrument(
    "101", "NIFTY", InstrumentKind.OPTION, "NFO", "NIFTY07APR2625000CE", 65, 0.05,
    date(2026, 4, 7), 25000.0, Right.CALL,
)  # fmt: skip
HEADER = TapeHeader("unit-test", (InstrumentSet("NIFTY", "1", "unit-test", (SPOT, CALL)),))
T0 = 1_775_000_000_000_000_000


def ticks_at(t: int) -> list[Tick]:
    return [
        Tick("1", t, t + 5, ltp=25010.5),
        Tick("101", t, t + 7, ltp=120.05, bid=120.0, ask=120.1, oi=650, volume=1300),
    ]


def a_tape(path: Path) -> Path:
    with TapeWriter(path, HEADER) as writer:
        writer.write(T0, ticks_at(T0))
        writer.write(T0 + 1_000_000_000, ticks_at(T0 + 1_000_000_000))
    return path


def lines_of(path: Path) -> list[bytes]:
    return gzip.decompress(path.read_bytes()).splitlines()


def rewrite(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    return path


def test_round_trip_keeps_every_tick_field_and_time(tmp_path: Path) -> None:
    tape = load_tape(a_tape(tmp_path / "a.tape.gz"))
    assert tape.header.symbols == ["NIFTY"]
    assert tape.header.instrument_sets[0].instruments == (SPOT, CALL)
    assert [b.t for b in tape.batches] == [T0, T0 + 1_000_000_000]
    assert list(tape.ticks()) == ticks_at(T0) + ticks_at(T0 + 1_000_000_000)
    assert tape.tick_count == 4
    assert check_tape(tmp_path / "a.tape.gz")[1:] == (2, 4)


def test_absent_fields_stay_absent(tmp_path: Path) -> None:
    path = a_tape(tmp_path / "a.tape.gz")
    spot_tick = orjson.loads(lines_of(path)[1])["ticks"][0]
    assert "oi" not in spot_tick and "bid" not in spot_tick  # never written as 0 or null
    assert load_tape(path).batches[0].ticks[0] == spot_tick


def test_header_carries_format_and_schema_version(tmp_path: Path) -> None:
    first = orjson.loads(lines_of(a_tape(tmp_path / "a.tape.gz"))[0])
    assert first["format"] == "fo-tape" and first["schema"] == 1 == SCHEMA_VERSION
    assert read_header(tmp_path / "a.tape.gz").source == "unit-test"


def test_a_failed_write_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "never.tape.gz"
    with pytest.raises(RuntimeError), TapeWriter(target, HEADER) as writer:
        writer.write(T0, ticks_at(T0))
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def assert_refused(path: Path, *words: str) -> None:
    with pytest.raises(TapeError) as err:
        load_tape(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path))
    for word in words:
        assert word in message, message


def test_truncated_gzip_is_refused(tmp_path: Path) -> None:
    data = a_tape(tmp_path / "a.tape.gz").read_bytes()
    cut = tmp_path / "cut.tape.gz"
    cut.write_bytes(data[: len(data) - 30])
    assert_refused(cut, "truncated")


def test_tape_cut_at_a_line_boundary_is_refused(tmp_path: Path) -> None:
    lines = lines_of(a_tape(tmp_path / "a.tape.gz"))
    assert_refused(rewrite(tmp_path / "b.tape.gz", lines[:-1]), "truncated", "no trailer")


def test_unknown_schema_version_is_refused(tmp_path: Path) -> None:
    lines = lines_of(a_tape(tmp_path / "a.tape.gz"))
    head = orjson.loads(lines[0])
    head["schema"] = 99
    path = rewrite(tmp_path / "v99.tape.gz", [orjson.dumps(head), *lines[1:]])
    assert_refused(path, "schema version 99")
    with pytest.raises(TapeError, match="schema version 99"):
        read_header(path)


def test_corrupt_record_is_refused_with_its_line(tmp_path: Path) -> None:
    lines = lines_of(a_tape(tmp_path / "a.tape.gz"))
    assert_refused(rewrite(tmp_path / "c.tape.gz", [lines[0], lines[1][:40], *lines[2:]]), "line 2")


def test_tick_for_an_unknown_token_is_refused(tmp_path: Path) -> None:
    lines = lines_of(a_tape(tmp_path / "a.tape.gz"))
    batch = orjson.loads(lines[1])
    batch["ticks"][0]["token"] = "999"
    path = rewrite(tmp_path / "t.tape.gz", [lines[0], orjson.dumps(batch), *lines[2:]])
    assert_refused(path, "999")


def test_time_going_backwards_is_refused(tmp_path: Path) -> None:
    lines = lines_of(a_tape(tmp_path / "a.tape.gz"))
    assert_refused(rewrite(tmp_path / "r.tape.gz", [lines[0], lines[2], lines[1], lines[3]]),
                   "backwards")  # fmt: skip


def test_trailer_that_disagrees_is_refused(tmp_path: Path) -> None:
    lines = lines_of(a_tape(tmp_path / "a.tape.gz"))
    assert_refused(rewrite(tmp_path / "d.tape.gz", [lines[0], lines[1], lines[3]]), "trailer")


def test_files_that_are_not_tapes_are_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain.json"
    plain.write_text('{"records": {}}')
    assert_refused(plain, "not a tape")
    foreign = tmp_path / "foreign.gz"
    foreign.write_bytes(gzip.compress(b'{"hello": 1}\n'))
    assert_refused(foreign, "not a tape")
    assert_refused(tmp_path / "missing.tape.gz", "cannot open")
    empty = tmp_path / "empty.tape.gz"
    empty.write_bytes(gzip.compress(b""))
    assert_refused(empty, "empty")


def test_write_tape_from_batches(tmp_path: Path) -> None:
    batches = [Batch(T0, [t.to_wire() for t in ticks_at(T0)])]
    tape = load_tape(write_tape(tmp_path / "w.tape.gz", HEADER, batches))
    assert tape.batches == batches
