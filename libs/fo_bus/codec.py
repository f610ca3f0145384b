"""Byte formats on the bus (orjson), each carrying a schema version.

Tick batches are stream entries ``{v: <version>, d: <orjson list of ticks>}``; documents
(instruments, summaries, snapshots) are orjson objects with a top-level ``v``: each kind has
its own version (``DOCUMENT_VERSIONS``), so one kind's format can change without the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

import orjson

from fo_models import InstrumentSet, Tick

SCHEMA_VERSION: Final = 1  # tick batches
# Per document kind. chain 2: columnar (``fo_bus.chain``) instead of one object per leg.
DOCUMENT_VERSIONS: Final[Mapping[str, int]] = {"instruments": 1, "summary": 1, "chain": 2}


class DecodeError(ValueError):
    """Bytes on the bus that are not a message of a known kind and version."""


_VERSION_FIELD: Final = str(SCHEMA_VERSION).encode()


def encode_tick_batch(ticks: Iterable[Tick]) -> dict[bytes, bytes]:
    """Stream entry fields for one batch of ticks."""
    return encode_wire_batch([t.to_wire() for t in ticks])


def encode_wire_batch(wire_ticks: list[dict[str, Any]]) -> dict[bytes, bytes]:
    """Stream entry fields for ticks already in wire form (``Tick.to_wire``), as tapes hold them."""
    return {b"v": _VERSION_FIELD, b"d": orjson.dumps(wire_ticks)}


def decode_tick_batch(fields: Mapping[bytes, bytes]) -> list[Tick]:
    """Ticks of one stream entry; raises DecodeError on a bad or foreign entry."""
    version = fields.get(b"v")
    if version != _VERSION_FIELD:
        raise DecodeError(f"unsupported tick batch version {version!r}")
    try:
        return [Tick.from_wire(item) for item in orjson.loads(fields[b"d"])]
    except (KeyError, TypeError, ValueError, orjson.JSONDecodeError) as exc:
        raise DecodeError(f"malformed tick batch: {exc}") from exc


def document_version(kind: str) -> int:
    """The version this build writes and reads for a document kind (ValueError: unknown)."""
    try:
        return DOCUMENT_VERSIONS[kind]
    except KeyError:
        raise ValueError(f"unknown document kind {kind!r}") from None


def encode_document(kind: str, body: Mapping[str, Any]) -> bytes:
    """A versioned JSON document; numpy scalars and arrays are serialised natively."""
    return orjson.dumps(
        {"v": document_version(kind), "type": kind, **body},
        option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
    )


def decode_document(data: bytes, kind: str) -> dict[str, Any]:
    """Parse a document written by ``encode_document``, checking its kind and version."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"not JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("type") != kind:
        raise DecodeError(f"expected a {kind!r} document")
    if doc.get("v") != DOCUMENT_VERSIONS.get(kind):
        raise DecodeError(f"unsupported {kind} version {doc.get('v')!r}")
    return doc


def encode_instruments(instruments: InstrumentSet) -> bytes:
    return encode_document("instruments", instruments.to_wire())


def decode_instruments(data: bytes) -> InstrumentSet:
    doc = decode_document(data, "instruments")
    try:
        return InstrumentSet.from_wire(doc)
    except (KeyError, TypeError, ValueError) as exc:
        raise DecodeError(f"malformed instruments document: {exc}") from exc


def _peek_int(document: bytes, key: bytes, within: int) -> int | None:
    """The digits right after ``key`` if it occurs in the first ``within`` bytes, else None."""
    start = document.find(key, 0, within)
    if start < 0:
        return None
    begin = end = start + len(key)
    while end < len(document) and document[end : end + 1].isdigit():
        end += 1
    return int(document[begin:end]) if end > begin else None


def peek_seq(document: bytes) -> int:
    """The ``seq`` of a chain document without parsing all of it (it sits near the start)."""
    seq = _peek_int(document, b'"seq":', 256)
    return seq if seq is not None else int(decode_document(document, "chain")["seq"])


def peek_ts(document: bytes) -> int:
    """The top-level ``ts`` of a chain document (ns), read near the start; 0 when absent."""
    ts = _peek_int(document, b',"ts":', 320)
    if ts is not None:
        return ts
    try:
        value = orjson.loads(document).get("ts")
    except (orjson.JSONDecodeError, AttributeError):
        return 0
    return value if isinstance(value, int) else 0
