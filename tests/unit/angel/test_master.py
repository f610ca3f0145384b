"""Scrip master: string fields, scaling, chains from fields, spot tokens, selection, limits."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from fo_ingestor.angel import master as m

DATA = Path(__file__).resolve().parents[2] / "data" / "angel"
NFO = json.loads((DATA / "angel-scripmaster-excerpt-nfo-optidx-2024-03.json").read_text())
INDEX = json.loads((DATA / "angel-scripmaster-excerpt-index-tokens.json").read_text())


def test_real_rows_parse_with_strike_over_100_and_mixed_case_expiry() -> None:
    rows = {r.token: r for r in m.parse_master(NFO + INDEX)}
    nifty = rows["45829"]  # NIFTY04APR2423000CE
    assert (nifty.strike, nifty.expiry, nifty.lot_size, nifty.tick_size) == (
        23000.0,
        date(2024, 4, 4),
        50,
        0.05,
    )
    assert rows["53414"].strike == 10275.0 and rows["50357"].strike == 9500.0
    assert rows["52239"].lot_size == 15 and rows["39239"].expiry == date(2024, 3, 12)
    assert rows["99926000"].strike is None and rows["99926000"].expiry is None  # "0.000000", ""
    assert "1008" not in rows  # equities are not kept


def test_currency_strikes_scale_by_ten_million_and_uppercase_expiry() -> None:
    row = m.parse_row(
        {
            "token": "1",
            "symbol": "USDINR24MAR75.25CE",
            "name": "USDINR",
            "expiry": "26MAR2024",
            "strike": "752500000.000000",
            "lotsize": "1000",
            "instrumenttype": "OPTCUR",
            "exch_seg": "CDS",
            "tick_size": "25000.000000",
        }
    )
    assert row.strike == 75.25 and row.expiry == date(2024, 3, 26) and row.tick_size == 0.0025


def test_spot_tokens_come_from_the_master_even_when_names_differ() -> None:
    rows = m.parse_master(INDEX)
    assert m.find_spot(rows, "NIFTY").token == "99926000"
    assert m.find_spot(rows, "BANKNIFTY").token == "99926009"
    assert m.find_spot(rows, "FINNIFTY").token == "99926037"
    assert m.find_spot(rows, "MIDCPNIFTY").token == "99926074"  # symbol "NIFTY MID SELECT"
    with pytest.raises(m.MasterError):
        m.find_spot(rows, "SENSEX")


def _row(token: str, name: str, expiry: str, strike: float, right: str, seg: str = "NFO") -> dict:
    return {
        "token": token,
        "symbol": f"{name}X{int(strike)}{right}",
        "name": name,
        "expiry": expiry,
        "strike": f"{strike * 100:.6f}",
        "lotsize": "65",
        "instrumenttype": "OPTIDX",
        "exch_seg": seg,
        "tick_size": "5.000000",
    }


def synthetic() -> list[dict]:
    rows = [INDEX[0]]
    n = 0
    for expiry in ("02JAN2025", "09JAN2025", "30JAN2025", "26DEC2024"):
        for k in range(23000, 24500, 50):
            for right in ("CE", "PE"):
                n += 1
                rows.append(_row(str(n), "NIFTY", expiry, k, right))
    rows.append(_row("x1", "NIFTYNXT50", "02JAN2025", 23700, "CE"))  # a prefix-alike underlying
    rows.append(
        {
            **_row("x2", "NIFTY", "02JAN2025", 0, "CE"),
            "strike": "-1.000000",
            "instrumenttype": "FUTIDX",
            "symbol": "NIFTY02JAN25FUT",
        }
    )
    return rows


def test_selection_nearest_expiries_and_strikes_around_spot() -> None:
    rows = m.parse_master(synthetic())
    chosen = m.select_contracts(
        rows, "NIFTY", 23712.0, date(2024, 12, 30), expiries=2, strikes_each_side=3
    )
    assert chosen.spot_token == "99926000" and chosen.instruments[0].kind.value == "index"
    assert chosen.expiries() == [date(2025, 1, 2), date(2025, 1, 9)]  # 26-Dec already expired
    strikes = sorted({i.strike for i in chosen.instruments if i.strike})
    assert strikes == [23550.0, 23600.0, 23650.0, 23700.0, 23750.0, 23800.0, 23850.0]
    assert len(chosen.instruments) == 1 + 2 * 7 * 2
    assert all(i.symbol == "NIFTY" and i.lot_size == 65 for i in chosen.instruments[1:])


def test_budget_narrows_the_window_and_connections_respect_limits() -> None:
    rows = m.parse_master(synthetic())
    pick = lambda each: [m.select_contracts(rows, "NIFTY", 23712.0, date(2024, 12, 30), 2, each)]  # noqa: E731
    sets = m.fit_budget(pick, strikes_each_side=20, budget=50)
    assert sum(len(s.instruments) for s in sets) <= 50
    subs = [(3, 2, str(i)) for i in range(2500)]
    plan = m.plan_connections(subs, 1000, 3)
    assert [len(p) for p in plan] == [1000, 1000, 500]
    with pytest.raises(m.MasterError):
        m.plan_connections([(3, 2, str(i)) for i in range(3001)], 1000, 3)


def test_master_day_switches_at_0830_ist() -> None:
    assert m.master_day(datetime(2025, 1, 2, 2, 59, tzinfo=UTC)) == date(2025, 1, 1)  # 08:29 IST
    assert m.master_day(datetime(2025, 1, 2, 2, 0, tzinfo=UTC)) == date(2025, 1, 1)  # 07:30 IST
    assert m.master_day(datetime(2025, 1, 2, 3, 0, tzinfo=UTC)) == date(2025, 1, 2)  # 08:30 IST


def test_download_once_a_day_with_dated_cache(tmp_path: Path) -> None:
    calls = []
    body = json.dumps(synthetic()).encode()

    def fetch(url: str, timeout: float) -> bytes:
        calls.append((url, timeout))
        return body

    now = datetime(2025, 1, 2, 4, 0, tzinfo=UTC)
    rows, day = m.load_master("http://x/master.json", tmp_path, now, 12.0, fetch)
    assert day == date(2025, 1, 2) and len(rows) == len(synthetic())
    assert (tmp_path / "OpenAPIScripMaster-2025-01-02.json").read_bytes() == body
    m.load_master("http://x/master.json", tmp_path, now, 12.0, fetch)
    assert calls == [("http://x/master.json", 12.0)]  # second call served from the cache

    def down(url: str, timeout: float) -> bytes:
        raise TimeoutError("read timed out")

    later = datetime(2025, 1, 3, 4, 0, tzinfo=UTC)
    rows, day = m.load_master("http://x/master.json", tmp_path, later, 12.0, down)
    assert day == date(2025, 1, 2)  # fell back to the newest cached copy
    with pytest.raises(m.MasterError):
        m.load_master("http://x/master.json", tmp_path / "empty", later, 12.0, down)
    with pytest.raises(m.MasterError):
        m.validate([{"token": "1", "instrumenttype": "OPTIDX"}])  # no index rows
