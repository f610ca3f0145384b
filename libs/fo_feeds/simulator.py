"""A deterministic market simulator for index options.

Spot follows a random walk with occasional jumps; each expiry has a forward with carry;
volatility is a smile with skew around a drifting ATM level; option prices are Black-76 on
that surface, rounded to the 0.05 tick, with spreads that widen away from the money. OI is
concentrated near the money and at round strikes (put-heavy below spot, call-heavy above)
and drifts; volume accumulates. Near-the-money legs tick more often than far ones.

Everything is a function of the seed and the ``now_ns`` values passed to ``step``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
from scipy.special import ndtr

from fo_instruments.calendar import IST, listed_expiries, years_to_expiry
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


@dataclass(frozen=True)
class SimulatorConfig:
    seed: int = 7
    expiries: int = 2
    strikes_each_side: int = 20
    carry: float = 0.065  # annual cost of carry in the forwards
    rate: float = 0.065  # discounting rate used to price
    spot_vol: float = 0.12  # annualised volatility of spot itself
    jump_probability: float = 0.002  # per step


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
    spot_volume: int = 0
    prev_close: np.ndarray = field(default_factory=lambda: np.zeros(0))


class MarketSimulator:
    """Deterministic simulated market for a set of index symbols."""

    def __init__(
        self, symbols: list[str], start_ns: int, config: SimulatorConfig | None = None
    ) -> None:
        self.config = config or SimulatorConfig()
        self.rng = np.random.default_rng(self.config.seed)
        self.now_ns = start_ns
        today = datetime.fromtimestamp(start_ns / 1e9, IST).date()
        self.books = {s: self._new_book(index_spec(s), today) for s in symbols}

    def _new_book(self, spec: IndexSpec, today: date) -> _Book:
        cfg = self.config
        spot = spec.reference_spot
        atm = round(spot / spec.strike_step) * spec.strike_step
        strikes = atm + spec.strike_step * np.arange(
            -cfg.strikes_each_side, cfg.strikes_each_side + 1
        )
        instruments: list[Instrument] = [
            Instrument(SPOT_TOKENS[spec.symbol], spec.symbol, InstrumentKind.INDEX,
                       "BSE" if spec.exchange == "BFO" else "NSE", spec.symbol, 1, 0.05)
        ]  # fmt: skip
        exp_list, k_list, c_list = [], [], []
        for expiry in listed_expiries(spec, today, cfg.expiries):
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
        lm = np.log(strike / spot)
        near = np.exp(-(lm**2) / (2 * 0.03**2))
        round_bonus = np.where(np.isclose(strike % (spec.strike_step * 10), 0), 1.8, 1.0)
        side = np.where(is_call, np.where(lm > 0, 1.3, 0.5), np.where(lm < 0, 1.4, 0.5))
        lots = 2_000 + 60_000 * near * round_bonus * side * self.rng.uniform(0.7, 1.3, strike.size)
        oi = (np.round(lots) * spec.lot_size).astype(np.int64)
        volume = (np.round(lots * self.rng.uniform(0.5, 3.0, strike.size)) * spec.lot_size).astype(
            np.int64
        )
        return _Book(
            spec, SPOT_TOKENS[spec.symbol], instruments, np.array(exp_list), strike, is_call,
            oi, volume, spot, BASE_VOL[spec.symbol],
        )  # fmt: skip

    def instrument_sets(self) -> list[InstrumentSet]:
        return [
            InstrumentSet(sym, b.spot_token, "simulator", tuple(b.instruments))
            for sym, b in self.books.items()
        ]

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
        term = 1.0 + 0.05 * np.log(np.maximum(t, 1 / 365) * 365 / 30)
        return np.clip(book.atm_vol * term + book.skew * m + book.curvature * m * m, 0.03, 3.0)

    def step(self, now_ns: int) -> list[Tick]:
        """Advance to ``now_ns`` and return the ticks that occurred."""
        dt_years = max(now_ns - self.now_ns, 0) / 1e9 / (365 * 86_400)
        self.now_ns = now_ns
        ticks: list[Tick] = []
        for book in self.books.values():
            self._evolve(book, dt_years)
            ticks.extend(self._quotes(book, now_ns))
        return ticks

    def _evolve(self, book: _Book, dt: float) -> None:
        cfg, rng = self.config, self.rng
        if dt <= 0:
            return
        shock = cfg.spot_vol * math.sqrt(dt) * rng.standard_normal()
        if rng.random() < cfg.jump_probability:
            shock += rng.normal(0, 0.004)
        book.spot *= math.exp(shock - 0.5 * cfg.spot_vol**2 * dt)
        base = BASE_VOL[book.spec.symbol]
        book.atm_vol += (
            2.0 * (base - book.atm_vol) * dt * 50 + 0.3 * math.sqrt(dt) * rng.standard_normal()
        )
        book.atm_vol = min(max(book.atm_vol, 0.05), 0.8)
        book.skew = min(max(book.skew + 0.2 * math.sqrt(dt) * rng.standard_normal(), -0.3), 0.0)

    def _quotes(self, book: _Book, now_ns: int) -> list[Tick]:
        rng, lot = self.rng, book.spec.lot_size
        ticks = [Tick(book.spot_token, now_ns, now_ns, ltp=round(book.spot, 2))]
        t = self.years(book, now_ns)
        live = t > 0
        fwd = self.forward(book, t)
        lm = np.abs(np.log(book.strike / fwd))
        chance = np.where(live, 0.9 * np.exp(-lm / 0.01), 0.0)
        hit = np.flatnonzero(rng.random(book.strike.size) < np.maximum(chance, 0.02 * live))
        if hit.size == 0:
            return ticks
        tt = t[hit]
        vol = self.vol(book, fwd[hit], book.strike[hit], tt)
        price = black76(fwd[hit], book.strike[hit], tt, vol, self.config.rate, book.is_call[hit])
        ltp = np.maximum(np.round(price / TICK) * TICK, TICK)
        half = np.maximum(np.round(ltp * (0.002 + 0.02 * lm[hit] / 0.05) / TICK) * TICK, TICK)
        book.oi[hit] = np.maximum(book.oi[hit] + rng.integers(-20, 25, hit.size) * lot, 0)
        book.volume[hit] += rng.integers(1, 40, hit.size) * lot
        for j, i in enumerate(hit):
            bid = max(ltp[j] - half[j], 0.0)
            ticks.append(
                Tick(
                    book.instruments[i + 1].token, now_ns, now_ns,
                    ltp=round(float(ltp[j]), 2), bid=round(float(bid), 2) if bid > 0 else None,
                    ask=round(float(ltp[j] + half[j]), 2),
                    bid_qty=int(rng.integers(1, 50)) * lot, ask_qty=int(rng.integers(1, 50)) * lot,
                    volume=int(book.volume[i]), oi=int(book.oi[i]),
                )
            )  # fmt: skip
        return ticks
