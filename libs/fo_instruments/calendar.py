"""Market hours and expiry dates in IST; every function takes the time it works on."""

from __future__ import annotations

import calendar as _cal
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from fo_instruments.catalogue import IndexSpec

IST: Final = ZoneInfo("Asia/Kolkata")
MARKET_OPEN: Final = time(9, 15)
MARKET_CLOSE: Final = time(15, 30)
SECONDS_PER_YEAR: Final = 365 * 86_400


def expiry_close(expiry: date) -> datetime:
    """15:30 IST on the expiry date: the instant a contract stops trading."""
    return datetime.combine(expiry, MARKET_CLOSE, tzinfo=IST)


def years_to_expiry(expiry: date, now_ns: int) -> float:
    """Calendar time to 15:30 IST on ``expiry`` in years (365 × 86,400 s); negative once expired."""
    return (expiry_close(expiry).timestamp() - now_ns / 1e9) / SECONDS_PER_YEAR


def is_market_open(now: datetime, holidays: frozenset[date] = frozenset()) -> bool:
    local = now.astimezone(IST)
    if local.weekday() >= 5 or local.date() in holidays:
        return False
    return MARKET_OPEN <= local.time() < MARKET_CLOSE


def _last_weekday(year: int, month: int, weekday: int) -> date:
    last = date(year, month, _cal.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _before_holidays(day: date, holidays: frozenset[date]) -> date:
    """An expiry that falls on a holiday or weekend moves to the previous trading day."""
    while day.weekday() >= 5 or day in holidays:
        day -= timedelta(days=1)
    return day


def listed_expiries(
    spec: IndexSpec, today: date, count: int, holidays: Iterable[date] = ()
) -> list[date]:
    """The next ``count`` expiries on or after ``today`` under the spec's weekday rules."""
    hol = frozenset(holidays)
    found: set[date] = set()
    year, month = today.year, today.month
    while len(found) < count * 2 + 2:
        found.add(_before_holidays(_last_weekday(year, month, spec.monthly_weekday), hol))
        if spec.weekly_weekday is not None:
            day = date(year, month, 1)
            day += timedelta(days=(spec.weekly_weekday - day.weekday()) % 7)
            while day.month == month:
                found.add(_before_holidays(day, hol))
                day += timedelta(days=7)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return sorted(d for d in found if d >= today)[:count]
