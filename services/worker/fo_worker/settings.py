"""WorkerSettings: rate, cadence and symbol leases."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from fo_runtime.settings import CommonSettings


class WorkerSettings(CommonSettings):
    risk_free_rate: float = Field(
        0.065, description="Annual risk-free rate as a fraction (0.065 = 6.5 %), used to discount."
    )
    snapshot_interval_s: float = Field(
        1.0, ge=0.05, le=60, description="Seconds between snapshots of a symbol (at most)."
    )
    lease_ttl_s: float = Field(
        6.0, ge=1, le=120, description="Seconds a symbol lease lives without renewal."
    )
    iv_model: Literal["black76", "nse"] = Field(
        "black76",
        description="IV convention: black76 (Black-76 on each expiry's forward) or nse "
        "(Black-Scholes on spot at 10 %, reproduces NSE's published IV).",
    )
    gex_sign: Literal["dealer_long_calls_short_puts", "dealer_short_all"] = Field(
        "dealer_long_calls_short_puts", description="Dealer position assumed for GEX signs."
    )
    history_maxlen: int = Field(
        50_000, ge=100, description="Approximate summaries kept in each history stream."
    )
    clock: Literal["wall", "feed"] = Field(
        "wall",
        description="'now' of the analytics: wall (default) or feed (latest tick time of the "
        "symbol, so a replayed tape is analysed as of its own time).",
    )

    @field_validator("risk_free_rate")
    @classmethod
    def _fraction(cls, value: float) -> float:
        if value >= 1:
            raise ValueError(
                f"{value} looks like a percent; give a fraction such as 0.065 for 6.5 %"
            )
        if not 0 <= value <= 0.5:
            raise ValueError("must be a fraction between 0 and 0.5")
        return value
