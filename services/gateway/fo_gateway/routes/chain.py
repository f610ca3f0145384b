"""REST: the option chain of one expiry (full, as stored; or compact for mobile), and spot.

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

from fo_bus.codec import peek_seq
from fo_gateway.deps import ReaderDep
from fo_gateway.fanout import peek_ts
from fo_gateway.models import ERRORS, ChainSnapshot, CompactChain, ErrorBody, Spot
from fo_gateway.snapshots import GatewayError

router = APIRouter(prefix="/api", tags=["market data"])

CACHE_CONTROL = "public, max-age=1"
FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")
MAX_FIELDS = 24
DEFAULT_COMPACT_FIELDS = ("ltp", "oi", "volume", "iv", "delta")
_compact_cache: OrderedDict[tuple[str, str, int | None], bytes] = OrderedDict()
COMPACT_CACHE_SIZE = 256


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
    """Selected leg fields, and ``window`` strikes each side of the strike nearest spot."""
    rows = doc.get("strikes") or []
    spot = doc.get("spot")
    centre_index = None
    if rows and isinstance(spot, (int, float)):
        centre_index = min(range(len(rows)), key=lambda i: abs(rows[i]["strike"] - spot))
    if window is not None and centre_index is not None:
        rows = rows[max(0, centre_index - window) : centre_index + window + 1]

    def pick(leg: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if leg is None else {f: leg.get(f) for f in fields if f in leg}

    out = {k: v for k, v in doc.items() if k != "strikes"}
    out["compact"] = {
        "fields": fields,
        "window": window,
        "centre_strike": doc["strikes"][centre_index]["strike"]
        if centre_index is not None
        else None,
    }
    out["strikes"] = [
        {"strike": r["strike"], "CE": pick(r.get("CE")), "PE": pick(r.get("PE"))} for r in rows
    ]
    return out


def _leg_fields(doc: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for row in doc.get("strikes") or []:
        for side in ("CE", "PE"):
            if row.get(side):
                found.update(row[side])
    return found


def _parse_fields(raw: str | None, available: set[str]) -> list[str]:
    if raw is None:
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
        "The snapshot exactly as the worker published it (`view=full`, the default), or a "
        "compact form for mobile clients (`view=compact`): the leg fields named in `fields` "
        "and `strikes` strikes each side of the spot. Revalidate with `If-None-Match`."
    ),
    response_model=None,
    responses={
        200: {
            "model": ChainSnapshot | CompactChain,
            "description": "The snapshot (full: ChainSnapshot; compact: CompactChain)",
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
    fields: str | None = Query(
        None,
        max_length=400,
        description="Compact view: comma-separated leg fields (default ltp,oi,volume,iv,delta)",
        examples=["ltp,oi,iv"],
    ),
    strikes: int | None = Query(
        None, ge=0, le=200, description="Compact view: strikes kept each side of the spot"
    ),
) -> Response:
    sym = reader.check_symbol(symbol)
    chosen = await reader.resolve_expiry(sym, expiry)
    data = await reader.chain_bytes(sym, chosen)
    if view == "full":
        return _respond(request, data, _etag(sym, chosen, data))
    full_tag = _etag(sym, chosen, data)
    key = (full_tag, fields or "", strikes)
    body = _compact_cache.get(key)
    if body is None:
        doc = orjson.loads(data)
        body = orjson.dumps(compact(doc, _parse_fields(fields, _leg_fields(doc)), strikes))
        _compact_cache[key] = body
        if len(_compact_cache) > COMPACT_CACHE_SIZE:
            _compact_cache.popitem(last=False)
    return _respond(request, body, _etag(sym, chosen, data, f"{fields}|{strikes}"))


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


__all__ = ["ChainSnapshot", "CompactChain", "router"]
