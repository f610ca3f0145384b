"""IngestorSettings: which feed, how to batch, how much stream to keep."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from fo_runtime.settings import CommonSettings


class IngestorSettings(CommonSettings):
    feed: Literal["simulator", "replay", "angel"] = Field(
        "simulator", description="Feed source: simulator (default), replay (a tape) or angel."
    )
    batch_interval_s: float = Field(
        0.2, gt=0, le=5, description="Seconds between batched writes (and simulator steps)."
    )
    stream_maxlen: int = Field(
        100_000, ge=1_000, description="Approximate entries kept per tick stream (MAXLEN ~)."
    )
    sim_seed: int = Field(7, description="Simulator seed: the same seed gives the same market.")
    sim_expiries: int = Field(2, ge=1, le=8, description="Expiries followed per symbol.")
    sim_strikes: int = Field(20, ge=1, le=200, description="Strikes followed each side of ATM.")
