"""The index derivatives we know: exchange, lot size, strike step and expiry rule.

Lot sizes follow NSE's lot-size revision effective with the January 2026 contracts
(NIFTY 65, BANKNIFTY 30, FINNIFTY 60, MIDCPNIFTY 120) and BSE's SENSEX lot of 20.
Lot sizes change by circular: the Angel instrument master is the authority for live
contracts; these values drive the simulator and validation only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class IndexSpec:
    symbol: str
    exchange: str  # derivatives segment: NFO or BFO
    lot_size: int
    strike_step: float
    weekly_weekday: int | None  # Monday = 0; None when only monthlies are listed
    monthly_weekday: int  # monthlies expire on the last such weekday of the month
    reference_spot: float  # a plausible level, used to seed the simulator


INDICES: Final[dict[str, IndexSpec]] = {
    spec.symbol: spec
    for spec in (
        IndexSpec(
            "NIFTY", "NFO", 65, 50.0, weekly_weekday=1, monthly_weekday=1, reference_spot=25900.0
        ),
        IndexSpec("BANKNIFTY", "NFO", 30, 100.0, None, monthly_weekday=1, reference_spot=58800.0),
        IndexSpec("FINNIFTY", "NFO", 60, 50.0, None, monthly_weekday=1, reference_spot=27500.0),
        IndexSpec("MIDCPNIFTY", "NFO", 120, 25.0, None, monthly_weekday=1, reference_spot=13600.0),
        IndexSpec(
            "SENSEX", "BFO", 20, 100.0, weekly_weekday=3, monthly_weekday=3, reference_spot=84800.0
        ),
    )
}


class UnknownSymbol(KeyError):
    """A symbol that is not in the catalogue."""

    def __init__(self, symbol: str) -> None:
        super().__init__(symbol)
        self.symbol = symbol

    def __str__(self) -> str:
        return f"unknown symbol {self.symbol!r}; known: {', '.join(INDICES)}"


def index_spec(symbol: str) -> IndexSpec:
    try:
        return INDICES[symbol]
    except KeyError:
        raise UnknownSymbol(symbol) from None
