"""Tapes against a real Redis: play (fast, paced, looping), record, round trip, bad input.

What arrives on the bus is read back with the bus's own decoder (fo_bus.codec) and compared
with the ticks the test wrote into the tape itself.
"""

from __future__ import annotations

import asyncio
import gzip
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
import redis
import redis.asyncio as aioredis
from tests.helpers import TEST_DATA, eventually_async

from fo_bus.codec import decode_instruments, decode_tick_batch
from fo_bus.names import BusNames
from fo_feeds.player import play, record
from fo_feeds.simulator import MarketSimulator, SimulatorConfig
from fo_feeds.tape import TapeHeader, TapeWriter, load_tape
from fo_ingestor.service import run
from fo_ingestor.settings import IngestorSettings
from fo_models import Tick

FO_TAPE = str(Path(sys.executable).with_name("fo-tape"))
START = 1_767_600_000_000_000_000  # Mon 5 Jan 2026 08:00 UTC = 13:30 IST
SECOND = 1_000_000_000


def simulated_tape(path: Path, steps: int = 20, spacing: int = SECOND // 5) -> list[Tick]:
    """A two-symbol tape written here from simulator steps; returns every tick in order."""
    sim = MarketSimulator(["NIFTY", "SENSEX"], START, SimulatorConfig(strikes_each_side=5))
    header = TapeHeader("test-simulator", tuple(sim.instrument_sets()), created_ns=START)
    written: list[Tick] = []
    with TapeWriter(path, header) as writer:
        for i in range(1, steps + 1):
            ticks = sim.step(START + i * spacing)
            writer.write(START + i * spacing, ticks)
            written.extend(ticks)
    return written


def per_symbol(ticks: list[Tick], header: TapeHeader) -> dict[str, list[Tick]]:
    symbol_of = header.symbol_of()
    out: dict[str, list[Tick]] = {}
    for t in ticks:
        out.setdefault(symbol_of[t.token], []).append(t)
    return out


def stream_ticks(sync: redis.Redis, names: BusNames, symbol: str) -> list[Tick]:
    return [t for _, f in sync.xrange(names.ticks_stream(symbol)) for t in decode_tick_batch(f)]


@pytest.fixture
def sync(redis_url: str):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def keys_in(sync: redis.Redis, namespace: str) -> list[bytes]:
    return list(sync.scan_iter(match=f"{namespace}:*"))


def test_play_fast_puts_every_tick_on_its_symbols_stream(
    tmp_path: Path, sync: redis.Redis, names: BusNames
) -> None:
    written = simulated_tape(tmp_path / "sim.tape.gz")
    tape = load_tape(tmp_path / "sim.tape.gz")
    stats = play(tape, sync, names, speed=None, entry_ticks=100, pipeline_entries=4)
    assert stats.ticks == len(written) and stats.rounds == 1
    expected = per_symbol(written, tape.header)
    for symbol in ("NIFTY", "SENSEX"):
        assert stream_ticks(sync, names, symbol) == expected[symbol]
        published = decode_instruments(sync.get(names.instruments_key(symbol)))
        assert published == next(s for s in tape.header.instrument_sets if s.symbol == symbol)


def test_play_keeps_the_pace_and_loops(tmp_path: Path, sync: redis.Redis, names: BusNames) -> None:
    # 10 batches 0.2 s apart span 1.8 s of tape time: 0.18 s at 10x speed.
    written = simulated_tape(tmp_path / "sim.tape.gz", steps=10)
    tape = load_tape(tmp_path / "sim.tape.gz")
    started = time.monotonic()
    stats = play(tape, sync, names, speed=10.0)
    elapsed = time.monotonic() - started
    assert 0.17 <= elapsed < 1.5
    assert stats.ticks == len(written)
    sync.delete(names.ticks_stream("NIFTY"), names.ticks_stream("SENSEX"))
    stats = play(tape, sync, names, speed=None, loop=True, max_rounds=3)
    assert stats.rounds == 3
    nifty = per_symbol(written, tape.header)["NIFTY"]
    assert stream_ticks(sync, names, "NIFTY") == nifty * 3


def test_recording_a_replayed_tape_reproduces_its_ticks(
    tmp_path: Path, sync: redis.Redis, names: BusNames
) -> None:
    written = simulated_tape(tmp_path / "sim.tape.gz")
    tape = load_tape(tmp_path / "sim.tape.gz")
    play(tape, sync, names, speed=None, entry_ticks=37)  # entries cut across batches
    stats = record(sync, names, ["NIFTY", "SENSEX"], tmp_path / "rec.tape.gz",
                   from_start=True, count=len(written), idle_timeout=5)  # fmt: skip
    assert stats.ticks == len(written) and stats.bad_entries == 0
    again = load_tape(tmp_path / "rec.tape.gz")
    assert again.header.instrument_sets == tape.header.instrument_sets
    assert per_symbol(list(again.ticks()), again.header) == per_symbol(written, tape.header)


def test_cli_round_trip_real_nse_tape(
    tmp_path: Path, redis_url: str, namespace: str, sync: redis.Redis, names: BusNames
) -> None:
    raw = TEST_DATA / "real" / "nse-oc-banknifty-2020-04-17T1530-capA.json.gz"
    src, rec = tmp_path / "bn.tape.gz", tmp_path / "rec.tape.gz"
    bus = ["--redis-url", redis_url, "--namespace", namespace]
    steps = [
        [FO_TAPE, "convert", str(raw), "-o", str(src)],
        [FO_TAPE, "play", str(src), "--fast", "--quiet", *bus],
        [FO_TAPE, "record", "--symbols", "BANKNIFTY", "--from-start", "--count", "362",
         "--idle-timeout", "5", "--quiet", "-o", str(rec), *bus],
    ]  # fmt: skip
    for argv in steps:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
    original, recorded = load_tape(src), load_tape(rec)
    assert list(recorded.ticks()) == list(original.ticks())
    assert len(list(original.ticks())) == 362  # 361 listed legs + spot (PROVENANCE: 361 legs)


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FO_TAPE, *argv], capture_output=True, text=True, timeout=60,
                          check=False)  # fmt: skip


def assert_one_line_error(done: subprocess.CompletedProcess[str], path: Path, word: str) -> None:
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(path) in lines[0] and word in lines[0], lines[0]


def test_bad_tapes_write_nothing_to_redis(
    tmp_path: Path, redis_url: str, namespace: str, sync: redis.Redis
) -> None:
    simulated_tape(tmp_path / "good.tape.gz")
    data = (tmp_path / "good.tape.gz").read_bytes()
    truncated = tmp_path / "truncated.tape.gz"
    truncated.write_bytes(data[: len(data) * 2 // 3])
    lines = gzip.decompress(data).splitlines()
    head = orjson.loads(lines[0])
    head["schema"] = 2
    future = tmp_path / "future.tape.gz"
    future.write_bytes(gzip.compress(b"\n".join([orjson.dumps(head), *lines[1:]]) + b"\n"))
    cut = tmp_path / "cut.tape.gz"  # whole lines, but the trailer is gone
    cut.write_bytes(gzip.compress(b"\n".join(lines[:-1]) + b"\n"))
    bus = ["--redis-url", redis_url, "--namespace", namespace, "--quiet"]
    for path, word in ((truncated, "truncated"), (future, "schema version 2"), (cut, "truncated")):
        assert_one_line_error(cli("play", str(path), "--fast", *bus), path, word)
        assert keys_in(sync, namespace) == []


def test_convert_refuses_the_wrong_kind_and_writes_no_tape(tmp_path: Path) -> None:
    csv_file = TEST_DATA / "real" / "nse-fo-bhavcopy-udiff-banknifty-2025-01-01.csv.gz"
    out = tmp_path / "out.tape.gz"
    done = cli("convert", "--kind", "nse-json", str(csv_file), "-o", str(out))
    assert_one_line_error(done, csv_file, "UDiFF")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\nworld\n")
    assert_one_line_error(cli("convert", str(notes), "-o", str(out)), notes, "not a recognised")
    assert not out.exists() and list(tmp_path.iterdir()) == [notes]


def test_every_subcommand_has_help() -> None:
    for sub in ("record", "play", "convert", "info"):
        done = cli(sub, "--help")
        assert done.returncode == 0 and "usage: fo-tape " + sub in done.stdout


async def test_ingestor_replay_feed_publishes_the_tape_and_stays_up(
    tmp_path: Path, redis_url: str, namespace: str, names: BusNames, client: aioredis.Redis
) -> None:
    written = simulated_tape(tmp_path / "sim.tape.gz")
    settings = IngestorSettings(
        redis_url=redis_url, fo_namespace=namespace, symbols="SENSEX", feed="replay",
        tape=tmp_path / "sim.tape.gz", replay_speed=0,
    )  # fmt: skip
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, stop))
    header = load_tape(tmp_path / "sim.tape.gz").header
    expected = per_symbol(written, header)["SENSEX"]

    async def all_arrived() -> list[Tick] | None:
        rows = await client.xrange(names.ticks_stream("SENSEX"))
        got = [t for _, f in rows for t in decode_tick_batch(f)]
        return got if len(got) >= len(expected) else None

    assert await eventually_async(all_arrived, timeout=10) == expected
    assert not await client.exists(names.ticks_stream("NIFTY"))  # not in SYMBOLS
    assert not task.done()  # the tape is over; the service idles until stopped
    stop.set()
    await asyncio.wait_for(task, timeout=5)
