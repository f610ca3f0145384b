"""REST: the option chain of one expiry (full, as stored; or compact for mobile), and spot.

The stored document is columnar (``fo_bus.chain``); ``layout=rows`` reshapes it into one
object per strike. Derived bodies are cached per stored snapshot and variant.

Snapshot reads carry a strong ``ETag`` (symbol, expiry, seq and build time) and
``Cache-Control: public, max-age=1`` (snapshots change about once a second), so a polling
client revalidates with ``If-None-Match`` and gets an empty 304 until the next cycle.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from datetime import date
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Query, Request, Response

from fo_bus import chain as chain_doc
from fo_bus.codec import DecodeError, decode_document, peek_seq, peek_ts
from fo_gateway.deps import ReaderDep
from fo_gateway.models import ERRORS, ChainRows, ChainSnapshot, CompactChain, ErrorBody, Spot
from fo_gateway.snapshots import GatewayError, NotReady

router = APIRouter(prefix="/api", tags=["market data"])

CACHE_CONTROL = "public, max-age=1"
FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")
MAX_FIELDS = 24
DEFAULT_COMPACT_FIELDS = ("ltp", "oi", "volume", "iv", "delta")
_NAME = "|".join(chain_doc.LEG_FIELDS)
# What the schema documents for ``fields`` (leg names of the worker's documents); anything else
# is not refused by validation but answered 400 with the names the stored document has.
FIELDS_PATTERN = rf"^({_NAME})(,({_NAME})){{0,{MAX_FIELDS - 1}}}$"
# Derived bodies (compact view, rows layout) by (ETag of the stored bytes, variant).
_derived_cache: OrderedDict[tuple[str, str], bytes] = OrderedDict()
DERIVED_CACHE_SIZE = 256


def _etag(symbol: str, expiry: date | None, data: bytes, variant: str = "") -> str:
    scope = expiry.isoformat() if expiry else "summary"
    base = f"{symbol}-{scope}-{peek_seq(data)}-{peek_ts(data)}"
    if variant:
        base += "-" + hashlib.blake2b(variant.encode(), digest_size=6).hexdigest()
    return f'"{base}"'


def _not_modified(request: Request, etag: str) -> bool:
    wanted = request.headers.get("if-none-match")
    if not wanted:
        return False
    tags = {t.strip().removeprefix("W/") for t in wanted.split(",")}
    return etag in tags or "*" in tags


def _respond(request: Request, body: bytes, etag: str) -> Response:
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def compact(doc: dict[str, Any], fields: list[str], window: int | None) -> dict[str, Any]:
    """Selected leg fields, and ``window`` strikes each side of the strike nearest spot.

    Columnar like the stored document: ``strike``, and per side ``token`` (null: no such
    contract) with the named fields; the per-strike IV and GEX columns are left out.
    """
    spot = doc.get("spot")
    centre = chain_doc.nearest(doc, spot) if isinstance(spot, (int, float)) else None
    out = chain_doc.select_legs(doc, fields)
    if window is not None and centre is not None:
        out = chain_doc.window(out, max(0, centre - window), centre + window + 1)
    strikes = chain_doc.columns(doc)["strike"]
    body = {k: v for k, v in out.items() if k != "chain"}
    body["compact"] = {
        "fields": fields,
        "window": window,
        "centre_strike": strikes[centre] if centre is not None else None,
    }
    body["chain"] = out["chain"]
    return body


def derived(data: bytes, view: str, layout: str, fields: str | None, window: int | None) -> bytes:
    """The body of a compact view and/or the rows layout, built from the stored bytes.

    Only a chain document of this build's version can be reshaped; any other (an older
    worker's, during a rolling upgrade) is a 503 with Retry-After, as before a first snapshot.
    """
    try:
        doc = decode_document(data, "chain")
        available = chain_doc.leg_fields(doc)
    except (DecodeError, ValueError) as exc:
        raise NotReady(f"the stored snapshot cannot be reshaped by this gateway ({exc})") from exc
    names = None if view != "compact" else _parse_fields(fields, available)
    try:
        if names is not None:
            doc = compact(doc, names, window)
        if layout == chain_doc.ROWS:
            doc = chain_doc.rows(doc, names)
    except (ValueError, TypeError, IndexError, KeyError) as exc:  # columns of unequal lengths…
        raise NotReady(f"the stored snapshot is malformed ({exc})") from exc
    return orjson.dumps(doc)


def _parse_fields(raw: str | None, available: set[str]) -> list[str]:
    if raw is None or not raw.strip():  # ``fields=`` names none: the defaults
        return [f for f in DEFAULT_COMPACT_FIELDS if f in available] or sorted(available)[:5]
    names = list(dict.fromkeys(f.strip() for f in raw.split(",") if f.strip()))
    if not names or len(names) > MAX_FIELDS or not all(FIELD.match(f) for f in names):
        raise GatewayError(
            400, f"fields must be 1-{MAX_FIELDS} comma-separated leg field names", fields=raw[:200]
        )
    unknown = [f for f in names if f not in available]
    if unknown and available:
        raise GatewayError(
            400, f"unknown leg field(s): {', '.join(unknown)[:200]}", available=sorted(available)
        )
    return names


@router.get(
    "/option-chain/{symbol}",
    summary="Latest option-chain snapshot of one expiry",
    description=(
        "The snapshot exactly as the worker published it (`view=full`, the default): one list "
        "per field with one entry per strike (`layout=columns`, the default), or one object "
        "per strike with `layout=rows`. `view=compact` (mobile) keeps the leg fields named in "
        "`fields` and `strikes` strikes each side of the spot, in either layout. Revalidate "
        "with `If-None-Match`."
    ),
    response_model=None,
    responses={
        200: {
            "model": ChainSnapshot | ChainRows | CompactChain,
            "description": (
                "The snapshot (full: ChainSnapshot, or ChainRows with layout=rows; "
                "compact: CompactChain)"
            ),
            "headers": {
                "ETag": {"description": "Identifies this snapshot", "schema": {"type": "string"}},
                "Cache-Control": {"schema": {"type": "string"}},
            },
        },
        304: {"description": "Not modified since the ETag in If-None-Match"},
        400: {"model": ErrorBody, "description": "Unknown or malformed `fields`"},
        **ERRORS,
    },
)
async def option_chain(
    request: Request,
    symbol: str,
    reader: ReaderDep,
    expiry: date | None = Query(None, description="Expiry date YYYY-MM-DD; default nearest"),
    view: Literal["full", "compact"] = Query("full", description="full or compact"),
    layout: Literal["columns", "rows"] = Query(
        "columns",
        description="columns: one list per field, as stored; rows: one object per strike",
    ),
    fields: str | None = Query(
        None,
        max_length=400,
        description="Compact view: comma-separated leg fields (default ltp,oi,volume,iv,delta)",
        examples=["ltp,oi,iv"],
        json_schema_extra={"pattern": FIELDS_PATTERN},
    ),
    strikes: int | None = Query(
        None, ge=0, le=200, description="Compact view: strikes kept each side of the spot"
    ),
) -> Response:
    sym = reader.check_symbol(symbol)
    chosen = await reader.resolve_expiry(sym, expiry)
    data = await reader.chain_bytes(sym, chosen)
    full_tag = _etag(sym, chosen, data)
    if view == "full" and layout == chain_doc.COLUMNS:
        return _respond(request, data, full_tag)
    if view == "full":
        fields, strikes = None, None  # they apply to the compact view only
    variant = f"{view}|{layout}|{fields}|{strikes}"
    key = (full_tag, variant)
    body = _derived_cache.get(key)
    if body is None:
        body = derived(data, view, layout, fields, strikes)
        _derived_cache[key] = body
        if len(_derived_cache) > DERIVED_CACHE_SIZE:
            _derived_cache.popitem(last=False)
    return _respond(request, body, _etag(sym, chosen, data, variant))


@router.get(
    "/spot/{symbol}",
    summary="Latest spot (index value) of a symbol",
    response_model=Spot,
    responses=ERRORS,
)
async def spot(symbol: str, reader: ReaderDep) -> dict[str, object]:
    sym = reader.check_symbol(symbol)
    summary = await reader.summary(sym)
    return {
        "symbol": sym,
        "spot": summary.get("spot"),
        "ts": summary.get("spot_ts"),
        "source": summary.get("source"),
        "expiries": summary.get("expiries", []),
    }


@router.get(
    "/summary/{symbol}",
    summary="Across expiries: spot, ATM IV term structure, all-expiry PCR and GEX",
    description="The symbol summary exactly as the worker published it with the latest cycle.",
    response_model=None,
    responses={
        200: {"description": "The summary document (type `summary`)"},
        304: {"description": "Not modified since the ETag in If-None-Match"},
        **ERRORS,
    },
)
async def symbol_summary(request: Request, symbol: str, reader: ReaderDep) -> Response:
    sym = reader.check_symbol(symbol)
    data = await reader.summary_bytes(sym)
    return _respond(request, data, _etag(sym, None, data))


__all__ = ["ChainRows", "ChainSnapshot", "CompactChain", "router"]
