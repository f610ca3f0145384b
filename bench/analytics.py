"""Analytics benchmark: snapshot of a NIFTY-sized chain against the bare py_vollib_vectorized IV."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from py_vollib_vectorized import vectorized_implied_volatility

import fo_analytics
from fo_analytics.black import black76_price
from fo_analytics.chain import ChainState
from fo_analytics.expiry import analyse_many
from fo_analytics.snapshot import (
    SnapshotContext,
    analytics,
    chain_snapshots,
    expiry_snapshot,
    symbol_summary,
)
from fo_bus.chain import rows as chain_rows
from fo_bus.codec import decode_document, encode_document
from fo_instruments.calendar import years_to_expiry
from fo_models import Instrument, InstrumentKind, InstrumentSet, Right, Tick

RESULTS = Path(__file__).resolve().parent / "results" / "analytics.json"
SPOT, RATE, LOT, STEP = 24_000.0, 0.065, 75, 50.0
NOW_NS = 1_767_225_600 * 10**9  # 2026-01-01 05:30 IST: any fixed instant works
TARGETS_MS = {"nearest": 3.0, "full": 25.0, "full_vs_bare_iv": 3.0}
# Days to expiry and strikes each side of ATM: weeklies, monthlies, quarterlies, long-dated.
EXPIRIES = [(1, 80), (8, 75), (15, 65), (22, 55), (29, 75), (57, 60), (85, 50), (120, 50),
            (176, 50), (267, 30), (358, 30), (449, 25), (540, 25), (722, 25), (904, 20),
            (1086, 20), (1450, 20), (1814, 20)]  # fmt: skip


def _vol(k: float, f: float, years: float) -> float:
    x = math.log(k / f) / max(math.sqrt(years), 0.05)
    return 0.13 - 0.04 * x + 0.05 * x * x


def _leg_tick(tok: str, price: float, now: int, rng: np.random.Generator) -> Tick:
    price = max(round(price / 0.05) * 0.05, 0.05)
    half = max(0.05, round(price * 0.005 / 0.05) * 0.05)
    oi = int(rng.integers(0, 40_000)) * LOT
    return Tick(tok, now, now, ltp=price, bid=max(price - half, 0.05), ask=price + half,
                bid_qty=LOT * 10, ask_qty=LOT * 12, volume=int(rng.integers(0, 9_000)) * LOT,
                oi=oi, prev_close=price * 1.02, prev_oi=int(oi * 0.9))  # fmt: skip


def build_chain() -> tuple[ChainState, list[date]]:
    """A NIFTY-like chain: 18 expiries, a smile, quotes one tick or 0.5 % either side of fair."""
    rng = np.random.default_rng(7)
    today = date(2026, 1, 1)
    insts = [Instrument("SPOT", "NIFTY", InstrumentKind.INDEX, "NSE", "NIFTY 50")]
    ticks = [Tick("SPOT", NOW_NS, NOW_NS, ltp=SPOT)]
    expiries = []
    for days, half_width in EXPIRIES:
        expiry = today + timedelta(days=days)
        expiries.append(expiry)
        years = years_to_expiry(expiry, NOW_NS)
        fwd = SPOT * math.exp(RATE * years)
        atm = round(fwd / STEP) * STEP
        for k in atm + STEP * np.arange(-half_width, half_width + 1):
            for right in (Right.CALL, Right.PUT):
                tok = f"{expiry:%y%m%d}{k:.0f}{right.value}"
                insts.append(Instrument(tok, "NIFTY", InstrumentKind.OPTION, "NFO", tok, LOT,
                                        0.05, expiry, float(k), right))  # fmt: skip
                px = float(black76_price(fwd, k, years, RATE, _vol(k, fwd, years), right == "CE"))
                ticks.append(_leg_tick(tok, px, NOW_NS, rng))
    state = ChainState(InstrumentSet("NIFTY", "SPOT", "bench", tuple(insts)))
    for tick in ticks:
        state.apply(tick)
    return state, expiries


def _bare_iv_inputs(state: ChainState, expiries: list[date]) -> list[tuple[np.ndarray, ...]]:
    """Per expiry: mid price, F (parity-free: spot carried), K, t, flag — the same legs."""
    values, _ = state.table()
    out = []
    for expiry in expiries:
        lay = state.layout(expiry)
        years = years_to_expiry(expiry, NOW_NS)
        rows = np.concatenate([lay.call_row, lay.put_row])
        mid = 0.5 * (values[1, rows] + values[2, rows])
        k = np.concatenate([lay.strikes, lay.strikes])
        flag = np.array(["c"] * lay.strikes.size + ["p"] * lay.strikes.size)
        f = np.full(k.shape, SPOT * math.exp(RATE * years))
        out.append((mid, f, k, np.full(k.shape, years), flag))
    return out


def _bare_iv(batch: list[tuple[np.ndarray, ...]]) -> None:
    price, f, k, t, flag = (np.concatenate(parts) for parts in zip(*batch, strict=True))
    vectorized_implied_volatility(price, f, k, t, RATE, flag, model="black",
                                  return_as="numpy", on_error="ignore")  # fmt: skip


def _timed(cases: dict[str, tuple[Callable[[int], Any], int]], rounds: int) -> dict[str, Any]:
    """Median, p90 and min (ms) of each case, measured in ``rounds`` interleaved blocks.

    Interleaving keeps the cases' ratios fair when the machine's speed drifts during the run.
    """
    runs: dict[str, list[float]] = {name: [] for name in cases}
    for fn, _ in cases.values():
        fn(0)  # warm
    i = 0
    for _ in range(rounds):
        for name, (fn, per_round) in cases.items():
            for _ in range(per_round):
                i += 1
                t0 = time.perf_counter()
                fn(i)
                runs[name].append((time.perf_counter() - t0) * 1e3)
    out = {}
    for name, r in runs.items():
        r.sort()
        out[name] = {"median_ms": statistics.median(r), "p90_ms": r[int(0.9 * len(r)) - 1],
                     "min_ms": r[0], "repeats": len(r)}  # fmt: skip
    return out


def _payload(state: ChainState, expiry: date) -> dict[str, int]:
    """Bytes of one expiry's published document, as stored (columns) and as ``layout=rows``."""
    doc = expiry_snapshot(state, expiry, SnapshotContext(now_ns=NOW_NS, seq=1, rate=RATE))
    columns = encode_document("chain", doc)
    rows = orjson.dumps(chain_rows(decode_document(columns, "chain")))
    return {"columns_bytes": len(columns), "rows_bytes": len(rows)}


def run() -> dict[str, Any]:
    fo_analytics.warm_up()
    state, expiries = build_chain()
    nearest = expiries[0]
    legs_near = 2 * state.layout(nearest).strikes.size
    legs_all = sum(2 * state.layout(e).strikes.size for e in expiries)
    bare = _bare_iv_inputs(state, expiries)

    def ctx(i: int) -> SnapshotContext:  # a new instant per run: nothing is served from cache
        return SnapshotContext(now_ns=NOW_NS + i * 1_000_000, seq=i, rate=RATE)

    def full(i: int) -> tuple[dict[date, dict[str, Any]], dict[str, Any]]:
        """What the worker builds each cycle: every expiry's document and the summary."""
        c = ctx(i)
        return chain_snapshots(state, expiries, c), symbol_summary(state, expiries, c, "0-0", 1)

    def encoded(i: int) -> None:
        docs, summary = full(i)
        for doc in docs.values():
            encode_document("chain", doc)
        encode_document("summary", summary)

    results = _timed(
        {
            "nearest": (lambda i: expiry_snapshot(state, nearest, ctx(i)), 30),
            "nearest_bare_iv": (lambda i: _bare_iv(bare[:1]), 30),
            "full": (full, 6),
            "full_compute_only": (lambda i: analyse_many(state, expiries, ctx(i).params()), 6),
            "full_encoded": (encoded, 6),
            "full_bare_iv": (lambda i: _bare_iv(bare), 10),
        },
        rounds=10,
    )
    zero = analytics(state, nearest, ctx(0)).scalars["gex"]["zero_gamma"]
    bare_ms = results["full_bare_iv"]["median_ms"]
    ratio = results["full"]["median_ms"] / bare_ms
    # What ``full`` adds to the maths: the columnar documents of 18 expiries and the summary.
    build_ms = results["full"]["median_ms"] - results["full_compute_only"]["median_ms"]
    return {
        "benchmark": "analytics",
        "chain": {
            "expiries": len(expiries),
            "legs": legs_all,
            "nearest_legs": legs_near,
            "zero_gamma_nearest": zero["level"],
            "nearest_document": _payload(state, nearest),
        },
        "results": results,
        "full_vs_bare_iv": ratio,
        "full_compute_only_vs_bare_iv": results["full_compute_only"]["median_ms"] / bare_ms,
        "full_encoded_vs_bare_iv": results["full_encoded"]["median_ms"] / bare_ms,
        "full_build_ms": build_ms,
        "targets": TARGETS_MS,
        "met": {
            "nearest": results["nearest"]["median_ms"] <= TARGETS_MS["nearest"],
            "full": results["full"]["median_ms"] <= TARGETS_MS["full"],
            "full_vs_bare_iv": ratio <= TARGETS_MS["full_vs_bare_iv"],
        },
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
        },
    }


def main() -> None:
    report = run()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    r = report["results"]
    print(f"analytics: {report['chain']['legs']} legs over {report['chain']['expiries']} expiries")
    for name, row in r.items():
        print(f"  {name:20s} median {row['median_ms']:7.3f} ms   p90 {row['p90_ms']:7.3f} ms")
    print(f"  full / bare IV       {report['full_vs_bare_iv']:.2f}x "
          f"(compute only {report['full_compute_only_vs_bare_iv']:.2f}x; the documents add "
          f"{report['full_build_ms']:.2f} ms; encoded to bytes "
          f"{report['full_encoded_vs_bare_iv']:.2f}x)")  # fmt: skip
    size = report["chain"]["nearest_document"]
    print(
        f"  nearest document     {size['columns_bytes']:,} bytes as columns, "
        f"{size['rows_bytes']:,} as layout=rows"
    )
    print(f"  targets met: {report['met']}  -> {RESULTS.relative_to(Path.cwd())}")


if __name__ == "__main__":
    main()
