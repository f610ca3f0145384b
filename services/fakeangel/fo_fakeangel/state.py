"""The fake's accounts, sessions, fault switches and simulated market (shared by REST and WS)."""

from __future__ import annotations

import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import jwt as pyjwt
import pyotp

from fo_fakeangel.packets import BookLevel, RawQuote
from fo_feeds.simulator import MarketSimulator, SimulatorConfig
from fo_models import InstrumentKind, Tick

SPOT_SYMBOLS = {
    "NIFTY": ("NSE", "Nifty 50", "NIFTY"),
    "BANKNIFTY": ("NSE", "Nifty Bank", "BANKNIFTY"),
    "FINNIFTY": ("NSE", "Nifty Fin Service", "FINNIFTY"),
    "MIDCPNIFTY": ("NSE", "NIFTY MID SELECT", "MIDCPNIFTY"),
    "SENSEX": ("BSE", "SENSEX", "SENSEX"),
}
EXCHANGE_TYPES = {"NSE": 1, "NFO": 2, "BSE": 3, "BFO": 4}
# Angel's published per-second limits per client code (spec §1.9).
RATE_LIMITS = {"login": 1, "token": 1, "profile": 3, "logout": 1, "quote": 10}
RATE_LIMIT_TEXT = "Access denied because of exceeding access rate"


@dataclass
class FakeConfig:
    api_key: str
    client_code: str
    mpin: str
    totp_secret: str
    name: str = "FAKE USER"
    symbols: tuple[str, ...] = ("NIFTY",)
    seed: int = 7
    expiries: int = 3
    strikes_each_side: int = 30
    tick_interval_s: float = 0.25
    token_ttl_s: int = 86_400
    max_connections: int = 3
    over_limit: str = "reject"  # "reject" (429 on the upgrade) or "close" (accept, then close)
    on_expiry: str = "mute"  # open sockets of expired sessions: "mute" or "close"
    jwt_key: str = field(default_factory=lambda: secrets.token_hex(32))


@dataclass
class Session:
    client_code: str
    jwt: str
    refresh: str
    feed: str
    expires_at: float
    alive: bool = True


@dataclass
class Faults:
    reject_handshakes: deque[int] = field(default_factory=deque)
    ping_loss: bool = False
    out_of_order: int = 0
    malformed: int = 0
    rate_limit_login: int = 0
    waf: int = 0
    login_error: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "reject_handshakes": list(self.reject_handshakes),
            "ping_loss": self.ping_loss,
            "out_of_order": self.out_of_order,
            "malformed": self.malformed,
            "rate_limit_login": self.rate_limit_login,
            "waf": self.waf,
            "login_error": self.login_error,
        }


class FakeAngel:
    def __init__(self, config: FakeConfig, now_ns: int | None = None) -> None:
        self.config = config
        self.sessions: dict[str, Session] = {}  # jwt → session
        self.faults = Faults()
        self.issued: list[str] = []  # every token handed out (tests scan logs for them)
        self.counters: dict[str, int] = {
            "logins": 0,
            "login_failures": 0,
            "renewals": 0,
            "handshakes": 0,
            "handshakes_refused": 0,
            "packets_sent": 0,
            "stalled_connections": 0,
        }
        self._calls: dict[tuple[str, str], deque[float]] = {}
        start = now_ns if now_ns is not None else time.time_ns()
        self.sim = MarketSimulator(
            list(config.symbols),
            start,
            SimulatorConfig(
                seed=config.seed,
                expiries=config.expiries,
                strikes_each_side=config.strikes_each_side,
            ),
        )
        self.instruments = {i.token: i for s in self.sim.instrument_sets() for i in s.instruments}
        self.quotes: dict[str, RawQuote] = {}
        self.first_oi: dict[str, int] = {}
        self.connections: set[Any] = set()
        self.apply(self.sim.step(start), start)

    # --- accounts and tokens -------------------------------------------------------------

    def totp_ok(self, code: str) -> bool:
        return pyotp.TOTP(self.config.totp_secret).verify(str(code), valid_window=1)

    def rate_limited(self, endpoint: str, client_code: str, now: float) -> bool:
        calls = self._calls.setdefault((endpoint, client_code), deque())
        while calls and now - calls[0] >= 1.0:
            calls.popleft()
        if len(calls) >= RATE_LIMITS.get(endpoint, 10):
            return True
        calls.append(now)
        return False

    def _jwt(self, client_code: str, kind: str, now: float) -> str:
        claims = {
            "username": client_code,
            "usertype": "USER",
            "token": secrets.token_hex(8),
            "kind": kind,
            "iat": int(now),
            "exp": int(now + self.config.token_ttl_s),
        }
        return pyjwt.encode(claims, self.config.jwt_key, algorithm="HS512")

    def new_session(self, client_code: str, now: float) -> Session:
        jwt = self._jwt(client_code, "access", now)
        refresh = self._jwt(client_code, "refresh", now)
        feed = "eyJ" + secrets.token_urlsafe(48)
        session = Session(client_code, jwt, refresh, feed, now + self.config.token_ttl_s)
        self.sessions[jwt] = session
        self.issued.extend([jwt, refresh, feed])
        return session

    def session_for(self, bearer: str | None, now: float) -> Session | None:
        if not bearer:
            return None
        token = bearer.removeprefix("Bearer ").strip()
        session = self.sessions.get(token)
        if session is None or not session.alive or session.expires_at <= now:
            return None
        return session

    def by_refresh(self, refresh: str, now: float) -> Session | None:
        for session in self.sessions.values():
            if session.refresh == refresh and session.alive and session.expires_at > now:
                return session
        return None

    def expire_all(self) -> None:
        for session in self.sessions.values():
            session.alive = False

    # --- market ------------------------------------------------------------------------

    def exchange_type(self, token: str) -> int:
        return EXCHANGE_TYPES[self.instruments[token].exchange]

    def apply(self, ticks: list[Tick], now_ns: int) -> list[str]:
        """Fold simulator ticks into the per-token raw quotes; returns the tokens updated."""
        updated = []
        ms = now_ns // 1_000_000
        for t in ticks:
            inst = self.instruments.get(t.token)
            if inst is None or t.ltp is None:
                continue
            q = self.quotes.get(t.token)
            ltp = round(t.ltp * 100)
            if q is None:
                q = RawQuote(
                    self.exchange_type(t.token),
                    t.token,
                    open=ltp,
                    high=ltp,
                    low=ltp,
                    close=ltp,
                    upper_circuit=ltp * 3,
                    lower_circuit=max(ltp // 3, 5),
                    week_52_high=ltp * 2,
                    week_52_low=max(ltp // 4, 5),
                )
                self.quotes[t.token] = q
            q.sequence_number += 1
            q.exchange_timestamp = ms
            q.last_traded_price = ltp
            q.last_traded_timestamp = ms // 1000
            q.high, q.low = max(q.high, ltp), min(q.low, ltp)
            if inst.kind is not InstrumentKind.INDEX:
                q.last_traded_quantity = inst.lot_size
                q.average_traded_price = (q.open + q.high + q.low + ltp) // 4
                q.volume_traded_today = t.volume or q.volume_traded_today
                oi = t.oi if t.oi is not None else q.open_interest
                self.first_oi.setdefault(t.token, oi)
                q.open_interest = oi
                base = self.first_oi[t.token]
                q.open_interest_change_percentage = (oi - base) / base * 100 if base else 0.0
                if t.bid is not None and t.ask is not None:
                    bid, ask = round(t.bid * 100), round(t.ask * 100)
                    q.best_5_buy = [
                        BookLevel(t.bid_qty or inst.lot_size, max(bid - 5 * i, 5), 1 + i)
                        for i in range(5)
                    ]
                    q.best_5_sell = [
                        BookLevel((t.ask_qty or inst.lot_size), ask + 5 * i, 1 + i)
                        for i in range(5)
                    ]
                    q.total_buy_quantity = float(sum(lv.quantity for lv in q.best_5_buy) * 10)
                    q.total_sell_quantity = float(sum(lv.quantity for lv in q.best_5_sell) * 10)
            updated.append(t.token)
        return updated

    # --- scrip master ------------------------------------------------------------------

    def master_rows(self) -> list[dict[str, Any]]:
        """A small master with Angel's exact string formats (spec §3)."""
        rows: list[dict[str, Any]] = []
        for inst_set in self.sim.instrument_sets():
            seg, sym, name = SPOT_SYMBOLS[inst_set.symbol]
            rows.append(
                {
                    "token": inst_set.spot_token,
                    "symbol": sym,
                    "name": name,
                    "expiry": "",
                    "strike": "0.000000",
                    "lotsize": "1",
                    "instrumenttype": "AMXIDX",
                    "exch_seg": seg,
                    "tick_size": "0.000000",
                }
            )
            options = [i for i in inst_set.instruments if i.kind is InstrumentKind.OPTION]
            for inst in options:
                assert inst.expiry is not None and inst.strike is not None
                rows.append(
                    {
                        "token": inst.token,
                        "symbol": inst.trading_symbol,
                        "name": inst_set.symbol,
                        "expiry": f"{inst.expiry:%d%b%Y}".upper(),
                        "strike": f"{inst.strike * 100:.6f}",
                        "lotsize": str(inst.lot_size),
                        "instrumenttype": "OPTIDX",
                        "exch_seg": inst.exchange,
                        "tick_size": f"{inst.tick_size * 100:.6f}",
                    }
                )
            if options:
                first = options[0]
                assert first.expiry is not None
                rows.append(
                    {
                        "token": str(90_000 + len(rows)),
                        "symbol": f"{inst_set.symbol}{first.expiry:%d%b%y}FUT".upper(),
                        "name": inst_set.symbol,
                        "expiry": f"{first.expiry:%d%b%Y}".upper(),
                        "strike": "-1.000000",
                        "lotsize": str(first.lot_size),
                        "instrumenttype": "FUTIDX",
                        "exch_seg": first.exchange,
                        "tick_size": "10.000000",
                    }
                )
        rows.append(
            {
                "token": "3045",
                "symbol": "SBIN-EQ",
                "name": "SBIN",
                "expiry": "",
                "strike": "-1.000000",
                "lotsize": "1",
                "instrumenttype": "",
                "exch_seg": "NSE",
                "tick_size": "5.000000",
            }
        )
        return rows

    def state(self) -> dict[str, Any]:
        return {
            "counters": dict(self.counters),
            "connections": len(self.connections),
            "sessions": sum(1 for s in self.sessions.values() if s.alive),
            "faults": self.faults.as_dict(),
            "issued_tokens": list(self.issued),
        }
