"""The vocabulary shared by every service: canonical ticks and instruments (frozen, no I/O)."""

from fo_models.instrument import Instrument, InstrumentKind, InstrumentSet, Right
from fo_models.tick import QUOTE_FIELDS, Tick

__all__ = ["QUOTE_FIELDS", "Instrument", "InstrumentKind", "InstrumentSet", "Right", "Tick"]
