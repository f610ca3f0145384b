"""A realistic ~30 KB chain document (one expiry, 72 strikes, columnar quotes and Greeks)."""

from __future__ import annotations

import math
import random
import time
from typing import Any

import orjson

from fo_bus.chain import LEG_FIELDS, SIDES, STRIKE_FIELDS
from fo_bus.codec import DOCUMENT_VERSIONS

EXPIRY = "2099-12-29"
SPOT = 25_012.4


def _leg(rng: random.Random, strike: float, right: str) -> dict[str, Any]:
    intrinsic = max(0.0, SPOT - strike) if right == "CE" else max(0.0, strike - SPOT)
    ltp = round(intrinsic + 40 * math.exp(-abs(strike - SPOT) / 400) + rng.random(), 2)
    oi = rng.randrange(0, 9_000_000, 75)
    change = rng.randrange(-300_000, 300_000, 75)
    return {
        "token": str(rng.randrange(40_000, 99_999)),
        "ltp": ltp,
        "bid": round(ltp - 0.05, 2),
        "ask": round(ltp + 0.05, 2),
        "bid_qty": rng.randrange(75, 20_000, 75),
        "ask_qty": rng.randrange(75, 20_000, 75),
        "volume": rng.randrange(0, 5_000_000, 75),
        "oi": oi,
        "oi_change": change,
        "prev_close": round(ltp * 1.02, 2),
        "prev_oi": oi - change,
        "ts": time.time_ns(),
        "iv": round(0.11 + rng.random() * 0.05, 6),
        "iv_status": "ok",
        "delta": round(rng.random(), 6),
        "gamma": round(rng.random() / 1000, 8),
        "theta": round(-rng.random() * 20, 6),
        "vega": round(rng.random() * 15, 6),
        "rho": round(rng.random() * 3, 6),
        "buildup": "long_buildup",
    }


def body(strikes: int = 72, seed: int = 7) -> dict[str, Any]:
    """The columnar chain (layout ``columns``, as the worker publishes it) of ``strikes``."""
    rng = random.Random(seed)
    centre = round(SPOT / 50) * 50
    ks = [float(centre + 50 * (i - strikes // 2)) for i in range(strikes)]
    sides = {side: [_leg(rng, k, side) for k in ks] for side in SIDES}
    chain: dict[str, Any] = {"strike": ks}
    for name in STRIKE_FIELDS[1:]:
        chain[name] = [round(rng.random() * 1e7, 2) for _ in ks]
    for side, legs in sides.items():
        chain[side] = {f: [leg[f] for leg in legs] for f in LEG_FIELDS}
    return {
        "spot": SPOT,
        "spot_ts": time.time_ns(),
        "lot_size": 75,
        "units": {"oi": "shares", "volume": "shares", "price": "INR", "iv": "fraction"},
        "rate": 0.065,
        "layout": "columns",
        "chain": chain,
        "pcr": {"oi": 0.94, "volume": 1.08, "scope": "full chain of this expiry"},
        "max_pain": {"strike": centre, "tied": [centre], "rule": "tied strike nearest spot"},
    }


class Documents:
    """Chain documents with a fresh seq and ts each; the payload is serialised once."""

    def __init__(self, symbol: str = "NIFTY", strikes: int = 72) -> None:
        payload = orjson.dumps(body(strikes))
        self.tail = payload[1:]  # the payload object without its opening brace
        version = DOCUMENT_VERSIONS["chain"]
        self.head = (
            f'{{"v":{version},"type":"chain","symbol":"{symbol}","expiry":"{EXPIRY}",'
        ).encode()
        self.seq = 0

    def next(self) -> bytes:
        self.seq += 1
        return self.head + b'"seq":%d,"ts":%d,' % (self.seq, time.time_ns()) + self.tail
