"""Tapes: captured tick streams in a versioned, gzip-compressed JSON-lines file.

Layout (one JSON object per line, gzip as a whole)::

    {"format": "fo-tape", "schema": 1, "source": ..., "created_ns": ..., "symbols": [...],
     "instrument_sets": [<InstrumentSet wire>...], "meta": {...}}         # header
    {"t": <ns>, "ticks": [<Tick wire>...]}                                 # one per batch
    ...
    {"end": {"batches": <n>, "ticks": <m>}}                                # trailer

``t`` is the original time of the batch (integer ns since the epoch, non-decreasing); each
tick keeps its own ``ts_event``/``ts_recv``. Ticks use the bus's canonical units (prices in
rupees, quantities in shares) and leave absent fields out. The trailer makes truncation
detectable even when a file was cut at a line boundary.

Reading validates everything (header, every tick, the trailer) and raises ``TapeError``
whose message names the file and the problem in one line. Writing goes to a temporary file
that is renamed into place only when complete, so a failed write leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import orjson

from fo_models import InstrumentSet, Tick

FORMAT: Final = "fo-tape"
SCHEMA_VERSION: Final = 1
SUFFIX: Final = ".tape.gz"


class TapeError(ValueError):
    """A tape that cannot be used: the message names the file and the problem."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


@dataclass(frozen=True)
class TapeHeader:
    source: str
    instrument_sets: tuple[InstrumentSet, ...]
    created_ns: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    schema: int = SCHEMA_VERSION

    @property
    def symbols(self) -> list[str]:
        return [s.symbol for s in self.instrument_sets]

    def symbol_of(self) -> dict[str, str]:
        """token → symbol for every instrument (spot tokens included)."""
        out: dict[str, str] = {}
        for inst_set in self.instrument_sets:
            out[inst_set.spot_token] = inst_set.symbol
            for inst in inst_set.instruments:
                out[inst.token] = inst_set.symbol
        return out

    def to_wire(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "schema": self.schema,
            "source": self.source,
            "created_ns": self.created_ns,
            "symbols": self.symbols,
            "instrument_sets": [s.to_wire() for s in self.instrument_sets],
            "meta": self.meta,
        }


@dataclass(frozen=True, slots=True)
class Batch:
    """Ticks that arrived together at ``t`` (ns), as canonical wire dicts."""

    t: int
    ticks: list[dict[str, Any]]


@dataclass(frozen=True)
class Tape:
    header: TapeHeader
    batches: list[Batch]

    @property
    def tick_count(self) -> int:
        return sum(len(b.ticks) for b in self.batches)

    def ticks(self) -> Iterator[Tick]:
        for batch in self.batches:
            for wire in batch.ticks:
                yield Tick.from_wire(wire)


# --------------------------------------------------------------------------- writing


class TapeWriter:
    """Write a tape batch by batch; the file appears (atomically) only on ``close()``."""

    def __init__(self, path: str | os.PathLike[str], header: TapeHeader) -> None:
        self.path = Path(path)
        self.header = header
        self.batches = 0
        self.ticks = 0
        self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        self._raw = open(self._tmp, "wb")  # noqa: SIM115 - closed in close()/abort()
        self._gz = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=6, mtime=0)
        self._gz.write(orjson.dumps(header.to_wire()) + b"\n")

    def write(self, t: int, ticks: Iterable[Tick | dict[str, Any]]) -> None:
        wire = [tk.to_wire() if isinstance(tk, Tick) else tk for tk in ticks]
        if not wire:
            return
        self._gz.write(orjson.dumps({"t": int(t), "ticks": wire}) + b"\n")
        self.batches += 1
        self.ticks += len(wire)

    def close(self) -> Path:
        """Write the trailer and move the file into place."""
        self._gz.write(orjson.dumps({"end": {"batches": self.batches, "ticks": self.ticks}}))
        self._gz.write(b"\n")
        self._gz.close()
        self._raw.close()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._gz.close()
        with contextlib.suppress(OSError):
            self._raw.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> TapeWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_tape(path: str | os.PathLike[str], header: TapeHeader, batches: Iterable[Batch]) -> Path:
    with TapeWriter(path, header) as writer:
        for batch in batches:
            writer.write(batch.t, batch.ticks)
    return Path(path)


# --------------------------------------------------------------------------- reading


def _header_from(path: str | os.PathLike[str], line: bytes) -> TapeHeader:
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise TapeError(path, "not a tape (first line is not a JSON header)") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise TapeError(path, f"not a tape (no '{FORMAT}' header)")
    schema = doc.get("schema")
    if schema != SCHEMA_VERSION:
        raise TapeError(
            path, f"unknown tape schema version {schema!r} (this build reads {SCHEMA_VERSION})"
        )
    try:
        sets = tuple(InstrumentSet.from_wire(s) for s in doc["instrument_sets"])
        return TapeHeader(
            source=str(doc.get("source", "unknown")),
            instrument_sets=sets,
            created_ns=int(doc.get("created_ns") or 0),
            meta=dict(doc.get("meta") or {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise TapeError(path, f"malformed tape header ({type(exc).__name__}: {exc})") from None


def _open(path: str | os.PathLike[str]) -> IO[bytes]:
    try:
        with open(path, "rb") as probe:
            magic = probe.read(2)
        if magic != b"\x1f\x8b":
            raise TapeError(path, "not a tape (not gzip-compressed)")
        return gzip.open(path, "rb")
    except OSError as exc:
        raise TapeError(path, f"cannot open ({exc.strerror or exc})") from None


def read_header(path: str | os.PathLike[str]) -> TapeHeader:
    """Only the header (cheap): kind and schema version are checked."""
    with _open(path) as fh:
        try:
            line = fh.readline()
        except (OSError, EOFError, zlib.error) as exc:
            raise TapeError(path, f"corrupt gzip data ({exc})") from None
    if not line:
        raise TapeError(path, "empty file")
    return _header_from(path, line)


class TapeReader:
    """Streams a tape's batches, validating each tick; the trailer is checked at the end."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)

    def __iter__(self) -> Iterator[Batch]:
        return self.batches()

    def header(self) -> TapeHeader:
        return read_header(self.path)

    def batches(self, header_out: list[TapeHeader] | None = None) -> Iterator[Batch]:
        path = self.path
        with _open(path) as fh:
            lines = _lines(path, fh)
            first = next(lines, None)
            if first is None:
                raise TapeError(path, "empty file")
            header = _header_from(path, first[1])
            if header_out is not None:
                header_out.append(header)
            known = header.symbol_of()
            count = ticks = 0
            last_t = None
            for lineno, line in lines:
                try:
                    doc = orjson.loads(line)
                except orjson.JSONDecodeError:
                    raise TapeError(path, f"line {lineno}: corrupt record (not JSON)") from None
                if not isinstance(doc, dict):
                    raise TapeError(path, f"line {lineno}: corrupt record (not an object)")
                if "end" in doc:
                    end = doc["end"]
                    if not isinstance(end, dict) or (end.get("batches"), end.get("ticks")) != (
                        count,
                        ticks,
                    ):
                        raise TapeError(
                            path,
                            f"line {lineno}: trailer says {end!r} but the tape holds "
                            f"{count} batches / {ticks} ticks",
                        )
                    if next(lines, None) is not None:
                        raise TapeError(path, f"line {lineno + 1}: data after the trailer")
                    return
                batch = _batch(path, lineno, doc, known)
                if last_t is not None and batch.t < last_t:
                    raise TapeError(path, f"line {lineno}: batch time goes backwards")
                last_t = batch.t
                count += 1
                ticks += len(batch.ticks)
                yield batch
            raise TapeError(
                path, f"truncated tape: no trailer after {count} batches / {ticks} ticks"
            )


def _lines(path: str, fh: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    lineno = 0
    try:
        for line in fh:
            lineno += 1
            if line.strip():
                yield lineno, line
    except EOFError:
        raise TapeError(
            path, f"truncated tape (gzip stream ends early, after line {lineno})"
        ) from None
    except (OSError, zlib.error) as exc:
        raise TapeError(path, f"corrupt gzip data after line {lineno} ({exc})") from None


def _batch(path: str, lineno: int, doc: dict[str, Any], known: dict[str, str]) -> Batch:
    t, raw = doc.get("t"), doc.get("ticks")
    if not isinstance(t, int) or not isinstance(raw, list):
        raise TapeError(path, f"line {lineno}: corrupt batch (needs integer 't' and 'ticks')")
    wire = []
    for item in raw:
        try:
            tick = Tick.from_wire(item)
        except (KeyError, TypeError, ValueError) as exc:
            raise TapeError(path, f"line {lineno}: malformed tick ({exc!r})") from None
        if tick.token not in known:
            raise TapeError(path, f"line {lineno}: tick for token {tick.token!r} not in header")
        wire.append(tick.to_wire())
    return Batch(t, wire)


def load_tape(path: str | os.PathLike[str]) -> Tape:
    """Read and validate a whole tape into memory (raises TapeError on any problem)."""
    headers: list[TapeHeader] = []
    batches = list(TapeReader(path).batches(headers))
    return Tape(headers[0], batches)


def check_tape(path: str | os.PathLike[str]) -> tuple[TapeHeader, int, int]:
    """Validate a tape without keeping it: (header, batches, ticks)."""
    headers: list[TapeHeader] = []
    count = ticks = 0
    for batch in TapeReader(path).batches(headers):
        count += 1
        ticks += len(batch.ticks)
    return headers[0], count, ticks
