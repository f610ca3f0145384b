"""A deterministic market simulator for index options.

Spot follows a random walk in trading time (intraday volatility) with occasional jumps; each
expiry has a forward with carry; volatility is a smile with skew and curvature around an ATM
level with a term structure, all of which drift; option prices are Black-76 on that surface,
rounded to the 0.05 tick, with bid/ask spreads that widen away from the money. OI is
concentrated near the money and at round strikes (put-heavy below spot, call-heavy above) and
builds up during the session; volume accumulates. Near-the-money legs tick more often than
far ones, and some steps are busier than others.

Contracts follow the catalogue (lot sizes, strike steps, weekly/monthly expiry weekdays) and
the holiday list given in the config (an expiry on a holiday moves to the previous trading
day). With ``market_hours_only`` the market is quiet outside 09:15–15:30 IST on trading days.

Everything is a function of the seed and the ``now_ns`` values passed to ``step``. The
simulated truth (forward and volatility of any leg) is exposed by ``true_forward`` and
``true_vol`` so tests can check what the analytics recover.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
from scipy.special import ndtr

from fo_instruments.calendar import IST, is_market_open, listed_expiries, years_to_expiry
from fo_instruments.catalogue import INDICES, IndexSpec, index_spec
from fo_models import Instrument, InstrumentKind, InstrumentSet, Right, Tick

# Angel One's index tokens (scrip master), so simulated and live spot tokens agree.
SPOT_TOKENS = {
    "NIFTY": "99926000",
    "BANKNIFTY": "99926009",
    "FINNIFTY": "99926037",
    "MIDCPNIFTY": "99926074",
    "SENSEX": "99919000",
}
BASE_VOL = {"NIFTY": 0.12, "BANKNIFTY": 0.14, "FINNIFTY": 0.13, "MIDCPNIFTY": 0.17, "SENSEX": 0.12}
TICK = 0.05
# Trading time: 252 sessions of 6h15m a year. Spot variance accrues in trading time.
TRADING_SECONDS_PER_YEAR = 252 * 6.25 * 3600
CALENDAR_SECONDS_PER_YEAR = 365 * 86_400


@dataclass(frozen=True)
class SimulatorConfig:
    seed: int = 7
    expiries: int = 2
    strikes_each_side: int = 20
    carry: float = 0.065  # annual cost of carry in the forwards
    rate: float = 0.065  # discounting rate used to price
    spot_vol: float = 0.12  # annualised (trading-time) volatility of spot itself
    jump_probability: float = 0.002  # per step
    jump_size: float = 0.004  # standard deviation of a jump (log)
    market_hours_only: bool = False  # quiet outside 09:15–15:30 IST on trading days
    holidays: tuple[date, ...] = ()  # exchange holidays: expiries move earlier, market shut
    spot_overrides: tuple[tuple[str, float], ...] = ()  # (symbol, starting spot)


def _option_token(symbol: str, index: int) -> str:
    """Unique per symbol and leg: 1,000,000 × (catalogue position + 1) + leg index."""
    return str(1_000_000 * (list(INDICES).index(symbol) + 1) + index)


def black76(
    forward: np.ndarray,
    strike: np.ndarray,
    t: np.ndarray,
    vol: np.ndarray,
    rate: float,
    is_call: np.ndarray,
) -> np.ndarray:
    """Black-76 prices (rupees) of calls where ``is_call`` else puts."""
    sd = vol * np.sqrt(t)
    d1 = (np.log(forward / strike) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    disc = np.exp(-rate * t)
    call = disc * (forward * ndtr(d1) - strike * ndtr(d2))
    put = disc * (strike * ndtr(-d2) - forward * ndtr(-d1))
    return np.where(is_call, call, put)


@dataclass
class _Book:
    """State of one underlying."""

    spec: IndexSpec
    spot_token: str
    instruments: list[Instrument]
    expiry: np.ndarray  # per option leg, as datetime64[D]
    strike: np.ndarray
    is_call: np.ndarray
    oi: np.ndarray  # shares
    volume: np.ndarray  # shares
    spot: float
    atm_vol: float
    skew: float = -0.10
    curvature: float = 0.6
    term_slope: float = 0.05  # ATM vol grows by this × log(T / 30 days)
    spot_volume: int = 0
    round_bonus: np.ndarray = field(default_factory=lambda: np.zeros(0))


class MarketSimulator:
    """Deterministic simulated market for a set of index symbols."""

    def __init__(
        self, symbols: list[str], start_ns: int, config: SimulatorConfig | None = None
    ) -> None:
        self.config = config or SimulatorConfig()
        self.rng = np.random.default_rng(self.config.seed)
        self.now_ns = start_ns
        self.holidays = frozenset(self.config.holidays)
        today = datetime.fromtimestamp(start_ns / 1e9, IST).date()
        self.books = {s: self._new_book(index_spec(s), today) for s in symbols}
        self._snapshot_due = True

    # ------------------------------------------------------------------ set-up

    def _new_book(self, spec: IndexSpec, today: date) -> _Book:
        cfg = self.config
        spot = dict(cfg.spot_overrides).get(spec.symbol, spec.reference_spot)
        atm = round(spot / spec.strike_step) * spec.strike_step
        strikes = atm + spec.strike_step * np.arange(
            -cfg.strikes_each_side, cfg.strikes_each_side + 1
        )
        instruments: list[Instrument] = [
            Instrument(SPOT_TOKENS[spec.symbol], spec.symbol, InstrumentKind.INDEX,
                       "BSE" if spec.exchange == "BFO" else "NSE", spec.symbol, 1, 0.05)
        ]  # fmt: skip
        exp_list, k_list, c_list = [], [], []
        for expiry in listed_expiries(spec, today, cfg.expiries, self.holidays):
            for k in strikes:
                for right in (Right.CALL, Right.PUT):
                    instruments.append(
                        Instrument(
                            _option_token(spec.symbol, len(k_list)), spec.symbol,
                            InstrumentKind.OPTION, spec.exchange,
                            f"{spec.symbol}{expiry:%d%b%y}{int(k)}{right.value}".upper(),
                            spec.lot_size, TICK, expiry, float(k), right,
                        )
                    )  # fmt: skip
                    exp_list.append(np.datetime64(expiry, "D"))
                    k_list.append(float(k))
                    c_list.append(right is Right.CALL)
        strike = np.array(k_list)
        is_call = np.array(c_list)
        round_bonus = np.where(np.isclose(strike % (spec.strike_step * 10), 0), 1.8, 1.0)
        round_bonus = np.where(
            np.isclose(strike % (spec.strike_step * 2), 0) & (round_bonus == 1.0), 1.2, round_bonus
        )
        book = _Book(
            spec, SPOT_TOKENS[spec.symbol], instruments, np.array(exp_list), strike, is_call,
            np.zeros(strike.size, np.int64), np.zeros(strike.size, np.int64), spot,
            BASE_VOL[spec.symbol], round_bonus=round_bonus,
        )  # fmt: skip
        lots = self._oi_profile(book) * self.rng.uniform(0.7, 1.3, strike.size)
        book.oi = (np.round(lots) * spec.lot_size).astype(np.int64)
        book.volume = (
            np.round(lots * self.rng.uniform(0.05, 0.3, strike.size)) * spec.lot_size
        ).astype(np.int64)
        return book

    def _oi_profile(self, book: _Book) -> np.ndarray:
        """Target OI in lots: near the money, at round strikes, puts below and calls above."""
        lm = np.log(book.strike / book.spot)
        near = np.exp(-(lm**2) / (2 * 0.015**2))
        side = np.where(book.is_call, np.where(lm > 0, 1.3, 0.4), np.where(lm < 0, 1.4, 0.4))
        return 2_000 + 60_000 * near * book.round_bonus * side

    def instrument_sets(self) -> list[InstrumentSet]:
        return [
            InstrumentSet(sym, b.spot_token, "simulator", tuple(b.instruments))
            for sym, b in self.books.items()
        ]

    # ------------------------------------------------------------------ the truth

    def years(self, book: _Book, now_ns: int) -> np.ndarray:
        expiries = {d: years_to_expiry(d.astype(date), now_ns) for d in np.unique(book.expiry)}
        return np.array([expiries[d] for d in book.expiry])

    def forward(self, book: _Book, t: np.ndarray) -> np.ndarray:
        return book.spot * np.exp(self.config.carry * t)

    def vol(
        self, book: _Book, forward: np.ndarray, strike: np.ndarray, t: np.ndarray
    ) -> np.ndarray:
        """The simulated truth: the volatility surface the prices are drawn from."""
        m = np.log(strike / forward) / np.sqrt(np.maximum(t, 1e-6) / (30 / 365))
        term = 1.0 + book.term_slope * np.log(np.maximum(t, 1 / 365) * 365 / 30)
        return np.clip(book.atm_vol * term + book.skew * m + book.curvature * m * m, 0.03, 3.0)

    def true_forward(self, symbol: str, expiry: date, now_ns: int | None = None) -> float:
        """The forward the simulator prices ``expiry`` on, at its current state."""
        book = self.books[symbol]
        t = np.array([years_to_expiry(expiry, self.now_ns if now_ns is None else now_ns)])
        return float(self.forward(book, t)[0])

    def true_vol(
        self, symbol: str, expiry: date, strike: float, now_ns: int | None = None
    ) -> float:
        """The volatility the simulator prices (``expiry``, ``strike``) with, right now."""
        book = self.books[symbol]
        t = np.array([years_to_expiry(expiry, self.now_ns if now_ns is None else now_ns)])
        return float(self.vol(book, self.forward(book, t), np.array([strike]), t)[0])

    # ------------------------------------------------------------------ stepping

    def is_open(self, now_ns: int) -> bool:
        if not self.config.market_hours_only:
            return True
        return is_market_open(datetime.fromtimestamp(now_ns / 1e9, IST), self.holidays)

    def step(self, now_ns: int) -> list[Tick]:
        """Advance to ``now_ns`` and return the ticks that occurred (none while closed).

        The first step after construction quotes every live leg (as a broker's snapshot on
        subscribe does); later steps quote a random, moneyness-weighted subset.
        """
        elapsed_s = max(now_ns - self.now_ns, 0) / 1e9
        self.now_ns = now_ns
        if not self.is_open(now_ns):
            return []
        full = self._snapshot_due
        self._snapshot_due = False
        activity = float(self.rng.lognormal(0.0, 0.5))  # busy and quiet moments
        ticks: list[Tick] = []
        for book in self.books.values():
            self._evolve(book, elapsed_s)
            ticks.extend(self._quotes(book, now_ns, full, activity))
        return ticks

    def snapshot(self, now_ns: int) -> list[Tick]:
        """Advance to ``now_ns`` and quote every live leg at the current state."""
        self._snapshot_due = True
        return self.step(now_ns)

    def _evolve(self, book: _Book, elapsed_s: float) -> None:
        cfg, rng = self.config, self.rng
        if elapsed_s <= 0:
            return
        dt_trade = elapsed_s / TRADING_SECONDS_PER_YEAR
        dt = elapsed_s / CALENDAR_SECONDS_PER_YEAR
        shock = cfg.spot_vol * math.sqrt(dt_trade) * rng.standard_normal()
        if rng.random() < cfg.jump_probability:
            shock += rng.normal(0, cfg.jump_size)
        book.spot *= math.exp(shock - 0.5 * cfg.spot_vol**2 * dt_trade)
        base = BASE_VOL[book.spec.symbol]
        book.atm_vol += (
            100.0 * (base - book.atm_vol) * dt + 0.3 * math.sqrt(dt) * rng.standard_normal()
        )
        book.atm_vol = min(max(book.atm_vol, 0.05), 0.8)
        book.skew = min(max(book.skew + 0.2 * math.sqrt(dt) * rng.standard_normal(), -0.3), 0.0)
        book.curvature = min(
            max(book.curvature + 0.5 * math.sqrt(dt) * rng.standard_normal(), 0.2), 1.2
        )
        book.term_slope = min(
            max(book.term_slope + 0.2 * math.sqrt(dt) * rng.standard_normal(), -0.1), 0.2
        )
        book.spot_volume += int(rng.integers(1_000, 50_000))

    def _quotes(self, book: _Book, now_ns: int, full: bool, activity: float) -> list[Tick]:
        rng, lot = self.rng, book.spec.lot_size
        ticks = [Tick(book.spot_token, now_ns, now_ns, ltp=round(book.spot, 2))]
        t = self.years(book, now_ns)
        live = t > 0
        fwd = self.forward(book, t)
        lm = np.abs(np.log(book.strike / fwd))
        if full:
            hit = np.flatnonzero(live)
        else:
            chance = np.where(live, np.minimum(0.9 * activity * np.exp(-lm / 0.01), 0.95), 0.0)
            hit = np.flatnonzero(rng.random(book.strike.size) < np.maximum(chance, 0.02 * live))
        if hit.size == 0:
            return ticks
        tt = t[hit]
        vol = self.vol(book, fwd[hit], book.strike[hit], tt)
        price = black76(fwd[hit], book.strike[hit], tt, vol, self.config.rate, book.is_call[hit])
        ltp = np.maximum(np.round(price / TICK) * TICK, TICK)
        half = np.maximum(np.round(ltp * (0.002 + 0.02 * lm[hit] / 0.05) / TICK) * TICK, TICK)
        if not full:
            # OI drifts toward the session's profile (which follows spot) and builds up.
            target = self._oi_profile(book)[hit] * lot * 1.2
            pull = (target - book.oi[hit]) * 0.002
            noise = rng.integers(-5, 8, hit.size) * lot
            book.oi[hit] = np.maximum(book.oi[hit] + (np.round(pull / lot) * lot) + noise, 0)
            book.volume[hit] += rng.integers(1, 40, hit.size) * lot
        bid_lots = rng.integers(1, 50, hit.size)
        ask_lots = rng.integers(1, 50, hit.size)
        for j, i in enumerate(hit):
            bid = ltp[j] - half[j]
            ticks.append(
                Tick(
                    book.instruments[i + 1].token, now_ns, now_ns,
                    ltp=round(float(ltp[j]), 2),
                    bid=round(float(bid), 2) if bid > 0 else None,
                    ask=round(float(ltp[j] + half[j]), 2),
                    bid_qty=int(bid_lots[j]) * lot if bid > 0 else None,
                    ask_qty=int(ask_lots[j]) * lot,
                    volume=int(book.volume[i]), oi=int(book.oi[i]),
                )
            )  # fmt: skip
        return ticks
