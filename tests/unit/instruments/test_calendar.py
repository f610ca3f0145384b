"""Expiry calendars and time to expiry, against dates read off a calendar by hand."""

from datetime import date, datetime

import pytest

from fo_instruments.calendar import IST, is_market_open, listed_expiries, years_to_expiry
from fo_instruments.catalogue import UnknownSymbol, index_spec


def test_nifty_weeklies_are_tuesdays_and_the_monthly_is_the_last_tuesday() -> None:
    got = listed_expiries(index_spec("NIFTY"), date(2026, 12, 3), 5)
    # December 2026: Tuesdays are 1, 8, 15, 22, 29; January 2027 starts on a Friday.
    assert got == [date(2026, 12, 8), date(2026, 12, 15), date(2026, 12, 22), date(2026, 12, 29),
                   date(2027, 1, 5)]  # fmt: skip


def test_banknifty_lists_monthlies_only() -> None:
    got = listed_expiries(index_spec("BANKNIFTY"), date(2026, 12, 3), 3)
    assert got == [date(2026, 12, 29), date(2027, 1, 26), date(2027, 2, 23)]


def test_sensex_weeklies_are_thursdays_and_expiry_day_counts() -> None:
    assert listed_expiries(index_spec("SENSEX"), date(2026, 12, 3), 2) == [
        date(2026, 12, 3),
        date(2026, 12, 10),
    ]


def test_a_holiday_moves_the_expiry_earlier() -> None:
    got = listed_expiries(index_spec("NIFTY"), date(2026, 12, 3), 2, holidays=[date(2026, 12, 8)])
    assert got == [date(2026, 12, 7), date(2026, 12, 15)]


def test_years_to_expiry_counts_calendar_seconds_to_1530_ist() -> None:
    now = datetime(2026, 12, 7, 15, 30, tzinfo=IST)  # exactly one day before the close
    assert years_to_expiry(date(2026, 12, 8), int(now.timestamp() * 1e9)) == pytest.approx(1 / 365)
    after = datetime(2026, 12, 8, 15, 31, tzinfo=IST)
    assert years_to_expiry(date(2026, 12, 8), int(after.timestamp() * 1e9)) < 0


def test_market_hours() -> None:
    assert is_market_open(datetime(2026, 12, 3, 9, 15, tzinfo=IST))
    assert not is_market_open(datetime(2026, 12, 3, 15, 30, tzinfo=IST))
    assert not is_market_open(datetime(2026, 12, 5, 11, 0, tzinfo=IST))  # Saturday


def test_unknown_symbol_lists_the_known_ones() -> None:
    with pytest.raises(UnknownSymbol, match="NIFTY"):
        index_spec("NIFTYX")
