"""Play a tape into the Redis tick streams, and record the live streams into a tape.

Both are the I/O shell around ``fo_feeds.tape``: a validated tape in memory goes out as
stream entries in the bus format (``{v, d}``, see ``fo_bus.codec``). Playing as fast as
possible packs many ticks into each entry and many entries into each pipeline round trip;
playing at a pace writes each due group of batches when its time comes.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from fo_bus.codec import (
    DecodeError,
    decode_instruments,
    decode_tick_batch,
    encode_instruments,
    encode_wire_batch,
)
from fo_bus.names import BusNames
from fo_feeds.progress import Progress
from fo_feeds.tape import Batch, Tape, TapeHeader, TapeWriter

MAX_GAP_S = 10.0  # a paced replay waits at most this long between two batches


def schedule(times: list[int], speed: float, max_gap_s: float = MAX_GAP_S) -> list[float]:
    """Seconds after the start at which each batch is due, at ``speed`` × the original pace.

    A gap longer than ``max_gap_s`` (after speed) — overnight, or between snapshots of
    different days — is shortened to ``max_gap_s``, so a paced replay never stalls for hours.
    """
    out: list[float] = []
    at = 0.0
    for i, t in enumerate(times):
        if i:
            at += min((t - times[i - 1]) / 1e9 / speed, max_gap_s)
        out.append(at)
    return out


@dataclass
class PlayStats:
    ticks: int = 0
    entries: int = 0
    batches: int = 0
    seconds: float = 0.0
    rounds: int = 0

    @property
    def ticks_per_s(self) -> float:
        return self.ticks / self.seconds if self.seconds > 0 else 0.0


class Player:
    """Writes tape batches to the bus: one XADD per symbol per group, pipelined."""

    def __init__(
        self,
        client: redis.Redis,
        names: BusNames,
        header: TapeHeader,
        maxlen: int = 100_000,
        entry_ticks: int = 1_000,
        pipeline_entries: int = 32,
    ) -> None:
        self.client = client
        self.names = names
        self.header = header
        self.maxlen = maxlen
        self.entry_ticks = entry_ticks
        self.pipeline_entries = pipeline_entries
        self.symbol_of = header.symbol_of()
        self.streams = {s: names.ticks_stream(s) for s in header.symbols}
        self.stats = PlayStats()

    def publish_instruments(self) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            for inst_set in self.header.instrument_sets:
                pipe.set(self.names.instruments_key(inst_set.symbol), encode_instruments(inst_set))
            pipe.execute()

    def write(self, batches: list[Batch]) -> int:
        """Write these batches now (grouped per symbol, ``entry_ticks`` per entry)."""
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        symbol_of = self.symbol_of
        for batch in batches:
            for tick in batch.ticks:
                groups[symbol_of[tick["token"]]].append(tick)
        pipe = self.client.pipeline(transaction=False)
        queued = written = 0
        size = self.entry_ticks
        for symbol, ticks in groups.items():
            stream = self.streams[symbol]
            for start in range(0, len(ticks), size):
                chunk = ticks[start : start + size]
                pipe.xadd(
                    stream,
                    encode_wire_batch(chunk),  # type: ignore[arg-type]
                    maxlen=self.maxlen,
                    approximate=True,
                )
                queued += 1
                written += len(chunk)
                if queued >= self.pipeline_entries:
                    pipe.execute()
                    self.stats.entries += queued
                    queued = 0
        if queued:
            pipe.execute()
            self.stats.entries += queued
        self.stats.ticks += written
        self.stats.batches += len(batches)
        return written


def play(
    tape: Tape,
    client: redis.Redis,
    names: BusNames,
    *,
    speed: float | None = None,
    loop: bool = False,
    maxlen: int = 100_000,
    entry_ticks: int = 1_000,
    pipeline_entries: int = 32,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    max_rounds: int | None = None,
) -> PlayStats:
    """Publish the instruments, then the batches: as fast as possible when ``speed`` is None
    (or 0), else at ``speed`` × the original pace. ``loop`` starts over at the end."""
    player = Player(client, names, tape.header, maxlen, entry_ticks, pipeline_entries)
    player.publish_instruments()
    started = time.perf_counter()
    batches = tape.batches
    while True:
        if speed:
            _paced(player, batches, speed, progress, should_stop)
        else:
            group_ticks = entry_ticks * pipeline_entries
            pending: list[Batch] = []
            count = 0
            for batch in batches:
                pending.append(batch)
                count += len(batch.ticks)
                if count >= group_ticks:
                    player.write(pending)
                    if progress:
                        progress.update(count)
                    pending, count = [], 0
                    if should_stop():
                        break
            if pending:
                player.write(pending)
                if progress:
                    progress.update(count)
        player.stats.rounds += 1
        if not loop or should_stop() or (max_rounds and player.stats.rounds >= max_rounds):
            break
    player.stats.seconds = time.perf_counter() - started
    return player.stats


def _paced(
    player: Player,
    batches: list[Batch],
    speed: float,
    progress: Progress | None,
    should_stop: Callable[[], bool],
) -> None:
    due = schedule([b.t for b in batches], speed)
    wall0 = time.monotonic()
    i = 0
    while i < len(batches):
        if should_stop():
            return
        wait = wall0 + due[i] - time.monotonic()
        if wait > 0:
            time.sleep(min(wait, 0.25))
            continue
        elapsed = time.monotonic() - wall0
        j = i + 1
        while j < len(batches) and due[j] <= elapsed:
            j += 1
        player.write(batches[i:j])
        if progress:
            progress.update(sum(len(b.ticks) for b in batches[i:j]))
        i = j


# --------------------------------------------------------------------------- recording


@dataclass
class RecordStats:
    ticks: int = 0
    batches: int = 0
    bad_entries: int = 0
    seconds: float = 0.0


class RecordError(RuntimeError):
    """Nothing to record from (for instance, no instruments published for a symbol)."""


def record(
    client: redis.Redis,
    names: BusNames,
    symbols: list[str],
    out: str | Path,
    *,
    duration: float | None = None,
    count: int | None = None,
    from_start: bool = False,
    idle_timeout: float | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    source: str = "recorded",
) -> RecordStats:
    """Record the tick streams of ``symbols`` into a tape at ``out``.

    Stops after ``duration`` seconds, after ``count`` ticks (the entry that crosses it is
    kept whole), after ``idle_timeout`` seconds without a new entry, or when ``should_stop``.
    Each stream entry becomes one batch at the latest receive time of its ticks.
    """
    sets = []
    for symbol in symbols:
        raw = client.get(names.instruments_key(symbol))
        if raw is None:
            raise RecordError(
                f"no instruments for {symbol} in namespace {names.namespace!r}; "
                "is an ingestor or a player running?"
            )
        try:
            sets.append(decode_instruments(raw))
        except DecodeError as exc:
            raise RecordError(f"instruments of {symbol} unreadable: {exc}") from None
    header = TapeHeader(
        source=source,
        instrument_sets=tuple(sets),
        created_ns=time.time_ns(),
        meta={"namespace": names.namespace, "recorded_from": "redis"},
    )
    streams: dict[str, str] = {}
    for symbol in symbols:
        stream = names.ticks_stream(symbol)
        if from_start:
            streams[stream] = "0-0"
        else:
            last = client.xrevrange(stream, count=1)
            streams[stream] = last[0][0].decode() if last else "0-0"
    stats = RecordStats()
    started = time.monotonic()
    last_entry = started
    last_t = 0
    with TapeWriter(out, header) as writer:
        while not should_stop():
            now = time.monotonic()
            if duration is not None and now - started >= duration:
                break
            if count is not None and stats.ticks >= count:
                break
            if idle_timeout is not None and now - last_entry >= idle_timeout:
                break
            response = client.xread(streams, count=1_000, block=200)
            for stream, entries in response or []:
                key = stream.decode()
                for entry_id, fields in entries:
                    streams[key] = entry_id.decode()
                    try:
                        ticks = decode_tick_batch(fields)
                    except DecodeError:
                        stats.bad_entries += 1
                        continue
                    if not ticks:
                        continue
                    last_t = max(last_t, max(t.ts_recv for t in ticks))
                    writer.write(last_t, ticks)
                    stats.ticks += len(ticks)
                    stats.batches += 1
                    if progress:
                        progress.update(len(ticks))
                    last_entry = time.monotonic()
    stats.seconds = time.monotonic() - started
    return stats
