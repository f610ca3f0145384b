"""ChainState: the latest quote of every followed contract of one underlying (no I/O)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fo_models import QUOTE_FIELDS, Instrument, InstrumentKind, InstrumentSet, Right, Tick

COLUMNS: dict[str, int] = {name: i for i, name in enumerate(QUOTE_FIELDS)}


@dataclass(slots=True)
class Quote:
    """Latest known values of one token; a field stays as it was when a tick lacks it."""

    values: dict[str, float | int] = field(default_factory=dict)
    ts_event: int = 0

    def merge(self, tick: Tick) -> None:
        for name in QUOTE_FIELDS:
            value = getattr(tick, name)
            if value is not None:
                self.values[name] = value
        self.ts_event = max(self.ts_event, tick.ts_event)


@dataclass(frozen=True, slots=True)
class ExpiryLayout:
    """Static shape of one expiry: strikes ascending, and each leg's row in the quote table.

    A missing leg points at row ``-1``, a row of NaN kept at the end of the table.
    """

    strikes: NDArray[np.float64]
    call_row: NDArray[np.intp]
    put_row: NDArray[np.intp]
    call_token: list[str | None]
    put_token: list[str | None]
    lot_size: int | None
    tick_size: float
    future_row: int


class _Quotes(dict[str, Quote]):
    """The quotes dict; remembers which tokens were replaced so the table can follow."""

    def __init__(self) -> None:
        super().__init__()
        self.dirty: set[str] = set()

    def __setitem__(self, token: str, quote: Quote) -> None:
        super().__setitem__(token, quote)
        self.dirty.add(token)


class ChainState:
    """Applies ticks to the followed contracts and lays them out by expiry and strike.

    Besides ``quotes`` (per token) it keeps a columnar table of the same values, refreshed
    lazily for the tokens that changed, so a snapshot reads whole columns at once.
    """

    def __init__(self, instruments: InstrumentSet) -> None:
        self.instruments = instruments
        self._by_token = instruments.by_token()
        self.quotes = _Quotes()
        self.unknown_tokens = 0
        self.version = 0
        self.cache: dict[Any, Any] = {}
        self._row = {token: i for i, token in enumerate(self._by_token)}
        n = len(self._row) + 1  # the last row stays NaN: "no such leg"
        self._values = np.full((len(QUOTE_FIELDS), n), np.nan)
        self._ts = np.zeros(n, dtype=np.int64)
        self._layouts = _layouts(instruments, self._row)
        self._expiries = tuple(instruments.expiries())
        self.grids: dict[Any, Any] = {}  # padded layouts of expiry lists (fo_analytics.batch)

    @property
    def missing_row(self) -> int:
        """The table row that stays NaN: where a missing leg points."""
        return len(self._row)

    @property
    def symbol(self) -> str:
        return self.instruments.symbol

    def apply(self, tick: Tick) -> bool:
        """Merge a tick; returns False (and counts it) when the token is not followed."""
        if tick.token not in self._by_token:
            self.unknown_tokens += 1
            return False
        quote = self.quotes.get(tick.token)
        if quote is None:
            quote = self.quotes[tick.token] = Quote()
        quote.merge(tick)
        self.quotes.dirty.add(tick.token)
        return True

    def spot(self) -> tuple[float | None, int]:
        quote = self.quotes.get(self.instruments.spot_token)
        ltp = None if quote is None else quote.values.get("ltp")
        if ltp is None or not math.isfinite(ltp):  # a NaN or infinite print is no spot
            return None, 0
        return float(ltp), quote.ts_event

    def expiries(self) -> list[date]:
        return list(self._expiries)

    def layout(self, expiry: date) -> ExpiryLayout:
        return self._layouts.get(expiry) or _empty_layout(len(self._row))

    def table(self) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """(values[field, row], ts[row]) with every changed token written in; do not mutate.

        ``version`` moves on whenever this brings in a change, so it keys derived caches.
        """
        dirty = self.quotes.dirty
        if dirty:
            for token in dirty:
                row = self._row.get(token)
                quote = self.quotes.get(token)
                if row is None or quote is None:
                    continue
                vals = quote.values
                self._values[:, row] = [vals.get(name, np.nan) for name in QUOTE_FIELDS]
                self._ts[row] = quote.ts_event
            dirty.clear()
            self.version += 1
        return self._values, self._ts

    def restore_leg(self, token: str, leg: dict[str, Any]) -> None:
        """Re-apply a leg from a stored snapshot (checkpoint restore after a worker handover)."""
        values = {k: leg[k] for k in QUOTE_FIELDS if leg.get(k) is not None}
        if values:
            ts = int(leg.get("ts") or 0)
            self.apply(Tick.from_wire({"token": token, "ts_event": ts, "ts_recv": ts, **values}))


def _empty_layout(missing: int) -> ExpiryLayout:
    none = np.zeros(0, dtype=np.intp)
    return ExpiryLayout(np.zeros(0), none, none, [], [], None, 0.05, missing)


def _layouts(instruments: InstrumentSet, row: dict[str, int]) -> dict[date, ExpiryLayout]:
    missing = len(row)
    table: dict[date, dict[float, dict[Right, Instrument]]] = {}
    futures: dict[date, int] = {}
    for inst in instruments.instruments:
        if inst.kind is InstrumentKind.FUTURE and inst.expiry is not None:
            futures[inst.expiry] = row[inst.token]
        if inst.kind is not InstrumentKind.OPTION or inst.expiry is None:
            continue
        if inst.strike is None or inst.right is None:
            continue
        table.setdefault(inst.expiry, {}).setdefault(inst.strike, {})[inst.right] = inst
    out = {}
    for expiry, by_strike in table.items():
        strikes = sorted(by_strike)
        calls = [by_strike[k].get(Right.CALL) for k in strikes]
        puts = [by_strike[k].get(Right.PUT) for k in strikes]
        legs = [i for i in calls + puts if i is not None]
        out[expiry] = ExpiryLayout(
            strikes=np.asarray(strikes, dtype=np.float64),
            call_row=np.asarray([row[i.token] if i else missing for i in calls], dtype=np.intp),
            put_row=np.asarray([row[i.token] if i else missing for i in puts], dtype=np.intp),
            call_token=[i.token if i else None for i in calls],
            put_token=[i.token if i else None for i in puts],
            lot_size=legs[0].lot_size if legs else None,
            tick_size=legs[0].tick_size if legs else 0.05,
            future_row=futures.get(expiry, missing),
        )
    return out
