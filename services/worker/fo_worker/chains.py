"""Per-symbol worker state: the chain, the stream position and the publish cycle."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fo_analytics.chain import ChainState
from fo_models import InstrumentSet


@dataclass
class OwnedSymbol:
    """A symbol this worker holds the lease for."""

    symbol: str
    epoch: int
    state: ChainState
    instruments_raw: bytes
    last_id: str = "0-0"
    seq: int = 0
    dirty: bool = False  # set by ticks (and instrument changes); a clean chain is not republished
    bad_entries: int = 0
    ticks_applied: int = 0
    live_expiries: frozenset[date] = frozenset()  # as last published (to retire old keys)

    def replace_instruments(self, instruments: InstrumentSet, raw: bytes) -> None:
        """Adopt a new instrument set, keeping quotes of tokens that are still followed."""
        old = self.state
        self.state = ChainState(instruments)
        followed = instruments.by_token()
        for token, quote in old.quotes.items():
            if token in followed:
                self.state.quotes[token] = quote
        self.instruments_raw = raw
        self.dirty = True
