"""REST: the option chain of one expiry, and spot."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, Response

from fo_gateway.deps import ReaderDep

router = APIRouter(prefix="/api", tags=["market data"])


@router.get(
    "/option-chain/{symbol}",
    summary="Latest option-chain snapshot of one expiry",
    responses={
        200: {"description": "The snapshot JSON, as the worker published it"},
        404: {"description": "Unknown symbol, or an expiry that is not followed"},
        422: {"description": "Malformed expiry (use YYYY-MM-DD)"},
        503: {"description": "No snapshot yet; retry after the Retry-After seconds"},
    },
)
async def option_chain(
    symbol: str,
    reader: ReaderDep,
    expiry: date | None = Query(None, description="Expiry date YYYY-MM-DD; default nearest"),
) -> Response:
    sym = reader.check_symbol(symbol)
    chosen = await reader.resolve_expiry(sym, expiry)
    return Response(await reader.chain_bytes(sym, chosen), media_type="application/json")


@router.get("/spot/{symbol}", summary="Latest spot (index value) of a symbol")
async def spot(symbol: str, reader: ReaderDep) -> dict[str, object]:
    sym = reader.check_symbol(symbol)
    summary = await reader.summary(sym)
    return {
        "symbol": sym,
        "spot": summary["spot"],
        "ts": summary["spot_ts"],
        "source": summary["source"],
        "expiries": summary["expiries"],
    }
