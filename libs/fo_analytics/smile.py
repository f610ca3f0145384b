"""Views of one expiry's smile: strike IV, ATM IV, 25-delta skew and the expected move."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
SQRT_HALF_PI = math.sqrt(math.pi / 2.0)  # ATM straddle × this ≈ the 1σ move


def strike_iv(strikes: Array, forward: float, call_iv: Array, put_iv: Array) -> Array:
    """Headline IV per strike from the OTM leg: call if K > F, put if K < F, mean at K = F."""
    return np.where(
        strikes > forward,
        call_iv,
        np.where(strikes < forward, put_iv, 0.5 * (call_iv + put_iv)),
    )


def skew(c25: float | None, p25: float | None, atm: float | None) -> dict[str, float | None]:
    """25-delta risk reversal σ(25Δc) − σ(25Δp) and butterfly ½[σ(25Δc) + σ(25Δp)] − σ_ATM."""
    if c25 is None or p25 is None:
        return {"call_25d_iv": c25, "put_25d_iv": p25, "rr25": None, "bf25": None}
    bf = None if atm is None else 0.5 * (c25 + p25) - atm
    return {"call_25d_iv": c25, "put_25d_iv": p25, "rr25": c25 - p25, "bf25": bf}


def expected_move(
    forward: float, atm: float | None, years: float, straddle: float | None
) -> dict[str, float | None]:
    """1σ move to expiry from ATM IV (F·σ·√T), and from the ATM straddle (× √(π/2))."""
    iv_move = None if atm is None or years <= 0 else forward * atm * math.sqrt(years)
    return {
        "iv_1sd": iv_move,
        "straddle": straddle,
        "straddle_1sd": None if straddle is None else straddle * SQRT_HALF_PI,
    }
