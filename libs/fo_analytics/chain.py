"""ChainState: the latest quote of every followed contract of one underlying (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fo_models import QUOTE_FIELDS, Instrument, InstrumentKind, InstrumentSet, Right, Tick


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
class Leg:
    instrument: Instrument
    quote: Quote | None


@dataclass(frozen=True, slots=True)
class StrikeRow:
    strike: float
    call: Leg | None
    put: Leg | None


class ChainState:
    """Applies ticks to the followed contracts and lays them out by expiry and strike."""

    def __init__(self, instruments: InstrumentSet) -> None:
        self.instruments = instruments
        self._by_token = instruments.by_token()
        self.quotes: dict[str, Quote] = {}
        self.unknown_tokens = 0

    @property
    def symbol(self) -> str:
        return self.instruments.symbol

    def apply(self, tick: Tick) -> bool:
        """Merge a tick; returns False (and counts it) when the token is not followed."""
        if tick.token not in self._by_token:
            self.unknown_tokens += 1
            return False
        self.quotes.setdefault(tick.token, Quote()).merge(tick)
        return True

    def spot(self) -> tuple[float | None, int]:
        quote = self.quotes.get(self.instruments.spot_token)
        if quote is None or "ltp" not in quote.values:
            return None, 0
        return float(quote.values["ltp"]), quote.ts_event

    def expiries(self) -> list[date]:
        return self.instruments.expiries()

    def rows(self, expiry: date) -> list[StrikeRow]:
        """Option legs of one expiry by ascending strike; a missing leg is None."""
        table: dict[float, dict[Right, Leg]] = {}
        for inst in self.instruments.instruments:
            if inst.kind is not InstrumentKind.OPTION or inst.expiry != expiry:
                continue
            assert inst.strike is not None and inst.right is not None
            table.setdefault(inst.strike, {})[inst.right] = Leg(inst, self.quotes.get(inst.token))
        return [
            StrikeRow(k, legs.get(Right.CALL), legs.get(Right.PUT))
            for k, legs in sorted(table.items())
        ]

    def restore_leg(self, token: str, leg: dict[str, Any]) -> None:
        """Re-apply a leg from a stored snapshot (checkpoint restore after a worker handover)."""
        values = {k: leg[k] for k in QUOTE_FIELDS if leg.get(k) is not None}
        if values:
            ts = int(leg.get("ts") or 0)
            self.apply(Tick.from_wire({"token": token, "ts_event": ts, "ts_recv": ts, **values}))
