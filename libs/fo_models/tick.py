"""Canonical tick: the latest market state of one instrument, as the bus carries it.

Units are fixed at the parser: prices in rupees (float), quantities in shares (int),
timestamps in integer nanoseconds since the epoch. A field the source did not send is
``None`` and is left out on the wire: a tick without OI must never erase known OI.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

# The market fields a tick may carry, in wire order. Everything but identity and time.
QUOTE_FIELDS: tuple[str, ...] = (
    "ltp",
    "bid",
    "ask",
    "bid_qty",
    "ask_qty",
    "volume",
    "oi",
    "prev_close",
    "prev_oi",
)
_INT_FIELDS = frozenset({"bid_qty", "ask_qty", "volume", "oi", "prev_oi"})


@dataclass(frozen=True, slots=True)
class Tick:
    """One update for one instrument token.

    ``ts_event`` is the exchange (or source) time, ``ts_recv`` our receipt time.
    ``prev_close`` and ``prev_oi`` are the previous session's close and OI (for change).
    """

    token: str
    ts_event: int
    ts_recv: int
    ltp: float | None = None
    bid: float | None = None
    ask: float | None = None
    bid_qty: int | None = None
    ask_qty: int | None = None
    volume: int | None = None
    oi: int | None = None
    prev_close: float | None = None
    prev_oi: int | None = None

    def to_wire(self) -> dict[str, Any]:
        """The tick as a dict with absent fields left out."""
        out: dict[str, Any] = {
            "token": self.token,
            "ts_event": self.ts_event,
            "ts_recv": self.ts_recv,
        }
        for name in QUOTE_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Tick:
        """Build a tick from its wire dict; unknown keys are ignored, types are normalised."""
        kwargs: dict[str, Any] = {
            "token": str(data["token"]),
            "ts_event": int(data["ts_event"]),
            "ts_recv": int(data["ts_recv"]),
        }
        for name in QUOTE_FIELDS:
            value = data.get(name)
            if value is not None:
                kwargs[name] = int(value) if name in _INT_FIELDS else float(value)
        return cls(**kwargs)


assert tuple(f.name for f in fields(Tick))[3:] == QUOTE_FIELDS
