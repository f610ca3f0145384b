"""Instruments: the contracts a feed follows for one underlying, and their identity."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any


class InstrumentKind(StrEnum):
    INDEX = "index"
    FUTURE = "future"
    OPTION = "option"


class Right(StrEnum):
    CALL = "CE"
    PUT = "PE"


@dataclass(frozen=True, slots=True)
class Instrument:
    """One tradable (or index) token. ``strike`` in rupees; ``lot_size`` in shares."""

    token: str
    symbol: str
    kind: InstrumentKind
    exchange: str
    trading_symbol: str
    lot_size: int = 1
    tick_size: float = 0.05
    expiry: date | None = None
    strike: float | None = None
    right: Right | None = None

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "token": self.token,
            "symbol": self.symbol,
            "kind": self.kind.value,
            "exchange": self.exchange,
            "trading_symbol": self.trading_symbol,
            "lot_size": self.lot_size,
            "tick_size": self.tick_size,
        }
        if self.expiry is not None:
            out["expiry"] = self.expiry.isoformat()
        if self.strike is not None:
            out["strike"] = self.strike
        if self.right is not None:
            out["right"] = self.right.value
        return out

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Instrument:
        return cls(
            token=str(data["token"]),
            symbol=data["symbol"],
            kind=InstrumentKind(data["kind"]),
            exchange=data["exchange"],
            trading_symbol=data["trading_symbol"],
            lot_size=int(data.get("lot_size", 1)),
            tick_size=float(data.get("tick_size", 0.05)),
            expiry=date.fromisoformat(data["expiry"]) if data.get("expiry") else None,
            strike=float(data["strike"]) if data.get("strike") is not None else None,
            right=Right(data["right"]) if data.get("right") else None,
        )


@dataclass(frozen=True, slots=True)
class InstrumentSet:
    """Everything a feed follows for one underlying: its spot token and its contracts."""

    symbol: str
    spot_token: str
    source: str
    instruments: tuple[Instrument, ...] = field(default_factory=tuple)

    def by_token(self) -> dict[str, Instrument]:
        return {i.token: i for i in self.instruments}

    def expiries(self) -> list[date]:
        return sorted(
            {i.expiry for i in self.instruments if i.kind is InstrumentKind.OPTION and i.expiry}
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "spot_token": self.spot_token,
            "source": self.source,
            "instruments": [i.to_wire() for i in self.instruments],
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> InstrumentSet:
        return cls(
            symbol=data["symbol"],
            spot_token=str(data["spot_token"]),
            source=data.get("source", "unknown"),
            instruments=tuple(Instrument.from_wire(i) for i in data["instruments"]),
        )
