"""The instrument (scrip) master: download once a day, cache on disk, parse, choose contracts.

Every field of the master is a string; strike and tick size are ×100 (×10^7 for currency
options); expiries are ``DDMMMYYYY`` (real files mix the case: ``04Apr2024``). Chains are built
from ``name`` + ``expiry`` + ``strike`` fields, never by parsing trading symbols, and index spot
tokens are looked up among the ``AMXIDX`` rows, never hardcoded.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Final

from fo_ingestor.angel.parser import EXCHANGE_TYPES
from fo_instruments.calendar import IST
from fo_models import Instrument, InstrumentKind, InstrumentSet, Right

log = logging.getLogger(__name__)

MASTER_REFRESH: Final = time(8, 30)  # Angel regenerates the file at ~08:30 IST
CACHE_PREFIX: Final = "OpenAPIScripMaster-"

# Spot index rows: the master's exch_seg and the symbols it has used for each underlying.
# The spot ``name`` can differ from the option ``name`` (FINNIFTY, MIDCPNIFTY), so match on
# either the option name or one of these symbols.
INDEX_SPOT: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "NIFTY": ("NSE", ("Nifty 50",)),
    "BANKNIFTY": ("NSE", ("Nifty Bank",)),
    "FINNIFTY": ("NSE", ("Nifty Fin Service",)),
    "MIDCPNIFTY": ("NSE", ("NIFTY MID SELECT", "Nifty Mid Select")),
    "SENSEX": ("BSE", ("SENSEX",)),
}


class MasterError(RuntimeError):
    """The master could not be obtained or does not contain what we need."""


@dataclass(frozen=True, slots=True)
class MasterRow:
    token: str
    symbol: str
    name: str
    expiry: date | None
    strike: float | None  # rupees; None for futures/equities (-1) and indices (0)
    lot_size: int
    instrument_type: str
    exch_seg: str
    tick_size: float  # rupees

    @property
    def exchange_type(self) -> int:
        return EXCHANGE_TYPES[self.exch_seg]


def _scale(exch_seg: str) -> float:
    return 1e7 if exch_seg == "CDS" else 100.0


def parse_expiry(text: str) -> date | None:
    """``05MAY2022`` / ``04Apr2024`` → date; ``""`` → None."""
    text = text.strip()
    if not text:
        return None
    return datetime.strptime(text.title(), "%d%b%Y").date()


def parse_row(raw: dict[str, Any]) -> MasterRow:
    """One master row with its string fields parsed and scaled; raises ValueError/KeyError."""
    seg = str(raw["exch_seg"])
    scale = _scale(seg)
    strike_raw = float(raw.get("strike") or 0)
    return MasterRow(
        token=str(raw["token"]),
        symbol=str(raw.get("symbol", "")),
        name=str(raw.get("name", "")),
        expiry=parse_expiry(str(raw.get("expiry", ""))),
        strike=strike_raw / scale if strike_raw > 0 else None,
        lot_size=int(float(raw.get("lotsize") or 1)),
        instrument_type=str(raw.get("instrumenttype", "")),
        exch_seg=seg,
        tick_size=float(raw.get("tick_size") or 0) / scale,
    )


def parse_master(
    raw_rows: Iterable[dict[str, Any]], wanted: set[str] | None = None
) -> list[MasterRow]:
    """Rows of interest: index spot rows, and (when ``wanted`` is given) only index options of
    those underlyings. Rows that do not parse are skipped and counted in the log."""
    out, bad = [], 0
    for raw in raw_rows:
        itype = raw.get("instrumenttype", "")
        if itype not in ("AMXIDX", "OPTIDX", "FUTIDX"):
            continue
        if wanted is not None and itype != "AMXIDX" and raw.get("name") not in wanted:
            continue
        try:
            out.append(parse_row(raw))
        except (KeyError, ValueError, TypeError):
            bad += 1
    if bad:
        log.warning("scrip master rows skipped", extra={"bad_rows": bad})
    return out


def validate(raw_rows: Any) -> list[dict[str, Any]]:
    """The master as a list of rows; raises MasterError if it is empty or has no index rows."""
    if not isinstance(raw_rows, list) or not raw_rows:
        raise MasterError("scrip master is empty or not a JSON array")
    if not any(isinstance(r, dict) and r.get("instrumenttype") == "AMXIDX" for r in raw_rows):
        raise MasterError("scrip master has no index (AMXIDX) rows")
    return raw_rows


# --- the daily download with a dated disk cache -------------------------------------------


def master_day(now: datetime) -> date:
    """The date of the master that should be current at ``now``: today after 08:30 IST,
    yesterday before it."""
    local = now.astimezone(IST)
    return local.date() if local.time() >= MASTER_REFRESH else local.date() - timedelta(days=1)


def cache_path(cache_dir: Path, day: date) -> Path:
    return cache_dir / f"{CACHE_PREFIX}{day.isoformat()}.json"


Fetch = Callable[[str, float], bytes]


def http_fetch(url: str, timeout_s: float) -> bytes:
    """GET the master (public, no auth) with a connect and read timeout."""
    import requests  # runtime dependency already pinned; imported here to keep imports light

    response = requests.get(url, timeout=(min(timeout_s, 10.0), timeout_s))
    response.raise_for_status()
    return response.content


def load_master(
    url: str,
    cache_dir: Path,
    now: datetime,
    timeout_s: float,
    fetch: Fetch = http_fetch,
    keep_days: int = 3,
) -> tuple[list[dict[str, Any]], date]:
    """Today's master from the cache, else downloaded (and cached); falls back to the newest
    cached master with a warning when the download fails. Returns (rows, master date)."""
    day = master_day(now)
    path = cache_path(cache_dir, day)
    if path.exists():
        try:
            return validate(json.loads(path.read_bytes())), day
        except (ValueError, MasterError):
            log.warning("cached scrip master unreadable; downloading again")
    try:
        body = fetch(url, timeout_s)
        rows = validate(json.loads(body))
    except Exception as exc:
        older = sorted(cache_dir.glob(f"{CACHE_PREFIX}*.json")) if cache_dir.exists() else []
        if older:
            log.warning(
                "scrip master download failed; using an older cached copy",
                extra={"error": type(exc).__name__, "cached": older[-1].name},
            )
            stale_day = date.fromisoformat(older[-1].stem.removeprefix(CACHE_PREFIX))
            return validate(json.loads(older[-1].read_bytes())), stale_day
        raise MasterError(f"scrip master download failed: {type(exc).__name__}") from exc
    cache_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".master-", suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        handle.write(body)
    os.replace(tmp, path)
    for old in sorted(cache_dir.glob(f"{CACHE_PREFIX}*.json"))[:-keep_days]:
        old.unlink(missing_ok=True)
    return rows, day


# --- chains, spot tokens and the selection ------------------------------------------------


def find_spot(rows: Iterable[MasterRow], symbol: str) -> MasterRow:
    """The index row of an underlying (instrumenttype AMXIDX, on its cash segment)."""
    seg, symbols = INDEX_SPOT.get(symbol, ("NSE", ()))
    wanted = {s.lower() for s in symbols}
    candidates = [r for r in rows if r.instrument_type == "AMXIDX" and r.exch_seg == seg]
    for row in candidates:
        if row.symbol.lower() in wanted:
            return row
    for row in candidates:
        if row.name == symbol:
            return row
    raise MasterError(f"no index row for {symbol} in the scrip master")


def build_chains(rows: Iterable[MasterRow], symbol: str) -> dict[date, list[MasterRow]]:
    """Index options of ``symbol`` by expiry, from the structured fields only."""
    chains: dict[date, list[MasterRow]] = {}
    for row in rows:
        if (
            row.instrument_type == "OPTIDX"
            and row.exch_seg in ("NFO", "BFO")
            and row.name == symbol
            and row.expiry is not None
            and row.strike is not None
            and row.symbol[-2:] in ("CE", "PE")
        ):
            chains.setdefault(row.expiry, []).append(row)
    return chains


def _option(row: MasterRow, symbol: str) -> Instrument:
    return Instrument(
        token=row.token,
        symbol=symbol,
        kind=InstrumentKind.OPTION,
        exchange=row.exch_seg,
        trading_symbol=row.symbol,
        lot_size=row.lot_size,
        tick_size=row.tick_size or 0.05,
        expiry=row.expiry,
        strike=row.strike,
        right=Right(row.symbol[-2:]),
    )


def select_contracts(
    rows: list[MasterRow],
    symbol: str,
    spot: float,
    today: date,
    expiries: int,
    strikes_each_side: int,
) -> InstrumentSet:
    """The spot index and the options of the nearest ``expiries`` (expired ones skipped) at
    the ``2·strikes_each_side + 1`` listed strikes nearest to ``spot``."""
    spot_row = find_spot(rows, symbol)
    chains = build_chains(rows, symbol)
    chosen = [d for d in sorted(chains) if d >= today][:expiries]
    if not chosen:
        raise MasterError(f"no live {symbol} expiries in the scrip master")
    instruments = [
        Instrument(
            spot_row.token,
            symbol,
            InstrumentKind.INDEX,
            spot_row.exch_seg,
            spot_row.symbol,
            1,
            0.05,
        )
    ]
    for expiry in chosen:
        legs = chains[expiry]
        strikes = sorted({r.strike for r in legs if r.strike is not None})
        near = sorted(strikes, key=lambda k: (abs(k - spot), k))[: 2 * strikes_each_side + 1]
        keep = set(near)
        instruments.extend(
            _option(r, symbol)
            for r in sorted(legs, key=lambda r: (r.strike, r.symbol[-2:]))
            if r.strike in keep
        )
    return InstrumentSet(symbol, spot_row.token, "angel", tuple(instruments))


def fit_budget(
    select: Callable[[int], list[InstrumentSet]], strikes_each_side: int, budget: int
) -> list[InstrumentSet]:
    """Shrink the strike window until every token fits in ``budget`` (connections × 1,000)."""
    for each_side in range(strikes_each_side, -1, -1):
        sets = select(each_side)
        total = sum(len(s.instruments) for s in sets)
        if total <= budget:
            if each_side < strikes_each_side:
                log.warning(
                    "strike window narrowed to fit Angel's token limits",
                    extra={"strikes_each_side": each_side, "tokens": total, "budget": budget},
                )
            return sets
    raise MasterError("even the spot tokens do not fit the connection budget")


Subscription = tuple[int, int, str]  # (mode, exchange type, token)


def plan_connections(
    subscriptions: list[Subscription], per_connection: int = 1000, max_connections: int = 3
) -> list[list[Subscription]]:
    """Split subscriptions over as few connections as possible (≤ per_connection tokens each,
    ≤ max_connections), keeping an underlying's tokens together where they fit."""
    if len(subscriptions) > per_connection * max_connections:
        raise MasterError(
            f"{len(subscriptions)} tokens exceed {max_connections} connections × {per_connection}"
        )
    return [
        subscriptions[i : i + per_connection] for i in range(0, len(subscriptions), per_connection)
    ] or [[]]
