"""The market simulator: calendars, determinism, price and OI shapes, hours, and its truth.

Expected dates are worked out by hand from a wall calendar (January 2026 starts on a
Thursday); lot sizes and strike steps are the exchange's (NIFTY 65/50, BANKNIFTY 30/100,
FINNIFTY 60/50, MIDCPNIFTY 120/25, SENSEX 20/100).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import date, datetime

import numpy as np
import pytest

from fo_analytics.chain import ChainState
from fo_analytics.snapshot import SnapshotContext, expiry_snapshot
from fo_feeds.simulator import MarketSimulator, SimulatorConfig
from fo_instruments.calendar import IST
from fo_models import InstrumentKind, Right

SYMBOLS = ["NIFTY", "BANKNIFTY", "FINNIFTY", "MIDCPNIFTY", "SENSEX"]
MONDAY_10AM = int(datetime(2026, 1, 5, 10, 0, tzinfo=IST).timestamp()) * 10**9
STEP = 200_000_000  # 0.2 s


def options(sim: MarketSimulator, symbol: str):
    (inst_set,) = [s for s in sim.instrument_sets() if s.symbol == symbol]
    return [i for i in inst_set.instruments if i.kind is InstrumentKind.OPTION]


def run(sim: MarketSimulator, steps: int, start: int = MONDAY_10AM) -> list[list]:
    return [sim.step(start + i * STEP) for i in range(steps)]


def test_all_five_symbols_with_real_lots_steps_and_expiry_weekdays() -> None:
    sim = MarketSimulator(SYMBOLS, MONDAY_10AM, SimulatorConfig(expiries=3, strikes_each_side=5))
    expected = {
        # weekly on Tuesday: 6, 13, 20 Jan 2026
        "NIFTY": (65, 50.0, [date(2026, 1, 6), date(2026, 1, 13), date(2026, 1, 20)]),
        # monthly on the last Tuesday: 27 Jan, 24 Feb, 31 Mar 2026
        "BANKNIFTY": (30, 100.0, [date(2026, 1, 27), date(2026, 2, 24), date(2026, 3, 31)]),
        "FINNIFTY": (60, 50.0, [date(2026, 1, 27), date(2026, 2, 24), date(2026, 3, 31)]),
        "MIDCPNIFTY": (120, 25.0, [date(2026, 1, 27), date(2026, 2, 24), date(2026, 3, 31)]),
        # weekly on Thursday: 8, 15, 22 Jan 2026
        "SENSEX": (20, 100.0, [date(2026, 1, 8), date(2026, 1, 15), date(2026, 1, 22)]),
    }
    for symbol, (lot, step, expiries) in expected.items():
        legs = options(sim, symbol)
        assert {i.lot_size for i in legs} == {lot}, symbol
        assert sorted({i.expiry for i in legs}) == expiries, symbol
        strikes = sorted({i.strike for i in legs})
        assert len(strikes) == 11 and set(np.diff(strikes)) == {step}, symbol
        assert {i.exchange for i in legs} == {"BFO" if symbol == "SENSEX" else "NFO"}


def test_a_holiday_moves_the_expiry_to_the_previous_trading_day() -> None:
    config = SimulatorConfig(expiries=3, holidays=(date(2026, 1, 13), date(2026, 1, 27)))
    sim = MarketSimulator(["NIFTY", "BANKNIFTY"], MONDAY_10AM, config)
    assert sorted({i.expiry for i in options(sim, "NIFTY")}) == [
        date(2026, 1, 6), date(2026, 1, 12), date(2026, 1, 20)]  # fmt: skip
    # the last Tuesday of January (27th) is a holiday here, so the monthly moves to Monday 26th
    assert min(i.expiry for i in options(sim, "BANKNIFTY")) == date(2026, 1, 26)


def test_same_seed_same_market_other_seed_other_market() -> None:
    a = run(MarketSimulator(SYMBOLS, MONDAY_10AM, SimulatorConfig(seed=3)), 30)
    b = run(MarketSimulator(SYMBOLS, MONDAY_10AM, SimulatorConfig(seed=3)), 30)
    c = run(MarketSimulator(SYMBOLS, MONDAY_10AM, SimulatorConfig(seed=4)), 30)
    assert a == b
    assert a != c


def test_prices_on_the_tick_and_spreads_widen_away_from_the_money() -> None:
    sim = MarketSimulator(["NIFTY"], MONDAY_10AM, SimulatorConfig(strikes_each_side=20))
    spot = sim.books["NIFTY"].spot
    legs = {i.token: i for i in options(sim, "NIFTY")}
    near, far = [], []
    for ticks in run(sim, 50):
        for t in ticks:
            if t.token not in legs:
                continue
            for price in (t.ltp, t.bid, t.ask):
                if price is not None:
                    assert abs(price / 0.05 - round(price / 0.05)) < 1e-6 and price > 0
            if t.bid is not None:
                assert t.bid < t.ask
                rel = (t.ask - t.bid) / (t.ask + t.bid)
                moneyness = abs(math.log(legs[t.token].strike / spot))
                (near if moneyness < 0.005 else far if moneyness > 0.02 else []).append(rel)
    assert near and far and np.mean(far) > 2 * np.mean(near)


def test_oi_profile_volume_accumulates_and_atm_ticks_more_often() -> None:
    sim = MarketSimulator(["NIFTY"], MONDAY_10AM, SimulatorConfig(expiries=1))
    spot = sim.books["NIFTY"].spot
    legs = {i.token: i for i in options(sim, "NIFTY")}
    history = run(sim, 300)
    first = {t.token: t for t in history[0] if t.token in legs}
    assert len(first) == len(legs)  # the first step quotes every leg
    oi = {legs[k].strike: {} for k in first}
    for token, tick in first.items():
        oi[legs[token].strike][legs[token].right] = tick.oi
    below = [k for k in oi if k < spot * 0.99]
    above = [k for k in oi if k > spot * 1.01]
    assert sum(oi[k][Right.PUT] for k in below) > 1.5 * sum(oi[k][Right.CALL] for k in below)
    assert sum(oi[k][Right.CALL] for k in above) > 1.5 * sum(oi[k][Right.PUT] for k in above)
    total = {k: v[Right.CALL] + v[Right.PUT] for k, v in oi.items()}
    near = min(total, key=lambda k: abs(k - spot))
    wings = sorted(total)[:5] + sorted(total)[-5:]
    assert total[near] > 3 * np.mean([total[k] for k in wings])  # concentrated near the money
    hundreds = [total[k] for k in total if k % 500 == 0 and abs(k - spot) < 400]
    odd = [total[k] for k in total if k % 100 == 50 and abs(k - spot) < 400]
    assert np.mean(hundreds) > np.mean(odd)  # round strikes carry more
    counts: Counter[str] = Counter()
    volumes: dict[str, list[int]] = defaultdict(list)
    oi_seen: dict[str, set[int]] = defaultdict(set)
    for ticks in history[1:]:
        for t in ticks:
            if t.token in legs:
                counts[t.token] += 1
                volumes[t.token].append(t.volume)
                oi_seen[t.token].add(t.oi)
    for series in volumes.values():
        assert series == sorted(series)
    assert any(len(v) > 1 and v[-1] > v[0] for v in volumes.values())
    assert any(len(s) > 1 for s in oi_seen.values())  # OI changes during the session
    atm_tokens = [k for k, i in legs.items() if abs(i.strike - spot) <= 50]
    far_tokens = [k for k, i in legs.items() if abs(i.strike - spot) >= 800]
    assert min(counts[k] for k in atm_tokens) > 3 * max(counts[k] for k in far_tokens)


def test_market_hours_only_is_quiet_outside_the_session() -> None:
    config = SimulatorConfig(market_hours_only=True, holidays=(date(2026, 1, 26),))
    evening = int(datetime(2026, 1, 5, 20, 0, tzinfo=IST).timestamp()) * 10**9
    saturday = int(datetime(2026, 1, 10, 11, 0, tzinfo=IST).timestamp()) * 10**9
    holiday = int(datetime(2026, 1, 26, 11, 0, tzinfo=IST).timestamp()) * 10**9
    opening = int(datetime(2026, 1, 5, 9, 15, tzinfo=IST).timestamp()) * 10**9
    sim = MarketSimulator(["NIFTY"], evening, config)
    assert sim.step(evening + STEP) == []
    assert sim.step(saturday) == [] and sim.step(holiday) == []
    assert sim.step(opening + 7 * 86_400 * 10**9)  # Monday 12 Jan, 09:15
    always = MarketSimulator(["NIFTY"], evening, SimulatorConfig())
    assert always.step(evening + STEP)


def test_spot_walks_and_the_surface_drifts() -> None:
    sim = MarketSimulator(["NIFTY"], MONDAY_10AM, SimulatorConfig(expiries=2))
    near, far = sorted({i.expiry for i in options(sim, "NIFTY")})
    spots, atm_near, atm_far = [], [], []
    for i in range(2_000):
        now = MONDAY_10AM + i * 1_000_000_000
        sim.step(now)
        spots.append(sim.books["NIFTY"].spot)
        atm_near.append(sim.true_vol("NIFTY", near, sim.true_forward("NIFTY", near)))
        atm_far.append(sim.true_vol("NIFTY", far, sim.true_forward("NIFTY", far)))
    returns = np.diff(np.log(spots))
    assert np.std(returns) > 0 and len(set(spots)) > 1_000
    assert max(atm_near) - min(atm_near) > 0.002  # the ATM level drifts
    assert np.std(np.array(atm_far) - np.array(atm_near)) > 0  # so does the term structure
    assert sim.true_forward("NIFTY", far) > sim.true_forward("NIFTY", near) > spots[-1]


@pytest.mark.parametrize("symbol", ["NIFTY", "BANKNIFTY", "SENSEX"])
def test_analytics_recover_the_simulated_atm_vol(symbol: str) -> None:
    """The analytics' ATM IV (fo_analytics, fed the simulator's ticks) is the truth ± 0.5 pt."""
    sim = MarketSimulator([symbol], MONDAY_10AM, SimulatorConfig(seed=11, expiries=3))
    (inst_set,) = sim.instrument_sets()
    state = ChainState(inst_set)
    for ticks in run(sim, 100):
        for t in ticks:
            state.apply(t)
    now = MONDAY_10AM + 100 * STEP
    for t in sim.snapshot(now):  # a full refresh at one instant
        state.apply(t)
    checked = 0
    for expiry in inst_set.expiries():
        days = datetime(*expiry.timetuple()[:3], 15, 30, tzinfo=IST).timestamp() - now / 1e9
        if days / 86_400 < 2:
            continue  # a few hours from expiry the 0.05 tick alone is worth more than 0.5 pt
        snap = expiry_snapshot(state, expiry, SnapshotContext(now_ns=now, seq=1, rate=0.065))
        truth_at_forward = sim.true_vol(symbol, expiry, sim.true_forward(symbol, expiry))
        assert snap["forward"] == pytest.approx(sim.true_forward(symbol, expiry), rel=2e-4)
        assert abs(snap["atm_iv"] - truth_at_forward) < 0.005, (expiry, snap["atm_iv"])
        checked += 1
    assert checked >= 2
