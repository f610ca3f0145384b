"""Named conventions: time to expiry, the two IV models and the GEX dealer-sign choices."""

from __future__ import annotations

from datetime import date, datetime

from fo_instruments.calendar import IST, years_to_expiry

IV_MODELS = ("black76", "nse")
NSE_RATE = 0.10  # NSE's stated rate for its published IV
LOW_CONFIDENCE_YEARS = 30 * 60 / (365 * 86_400)  # the last 30 minutes before expiry

# Dealer position sign per (call, put) for GEX. The first is the SqueezeMetrics/OpenBB default.
GEX_SIGNS: dict[str, tuple[float, float]] = {
    "dealer_long_calls_short_puts": (1.0, -1.0),
    "dealer_short_all": (-1.0, -1.0),
}

TIME_CONVENTION = "seconds to 15:30 IST on expiry / (365 × 86400)"
NSE_TIME_CONVENTION = "calendar days from today (IST) to expiry / 365; expiry day: seconds to 15:30"


def headline_years(expiry: date, now_ns: int) -> float:
    """Calendar time to 15:30 IST on the expiry day, in years (≤ 0 once expired)."""
    return years_to_expiry(expiry, now_ns)


def nse_years(expiry: date, now_ns: int) -> float:
    """NSE's time convention, found from its published IVs: whole calendar days / 365.

    On 28-Mar-2022 BANKNIFTY at the close this reproduces NSE's IV to a median 0.003 vol
    points, and on an intraday NIFTY snapshot it fits better than seconds-to-expiry. On the
    expiry day itself (0 days) the seconds-based time is used, so IV stays defined until 15:30.
    """
    today = datetime.fromtimestamp(now_ns / 1e9, tz=IST).date()
    days = (expiry - today).days
    if days >= 1:
        return days / 365.0
    return years_to_expiry(expiry, now_ns)
