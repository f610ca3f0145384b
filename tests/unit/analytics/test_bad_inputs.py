"""Bad inputs never raise out of the engine and never produce a number where there is none."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fo_analytics.black import black76_price
from fo_analytics.snapshot import SnapshotContext, expiry_snapshot, symbol_summary
from fo_bus.chain import rows
from fo_models import Tick

from .conftest import expiry_ns, published, published_snapshot, synthetic_chain

EXPIRY = date(2026, 2, 24)
F, T_DAYS = 25_000.0, 5


def _px(k: float, side: str) -> float:
    return float(black76_price(F, k, T_DAYS / 365, 0.0, 0.13, side == "CE"))


def _good_legs() -> dict[tuple[str, float], dict[str, float]]:
    return {
        (side, k): {"ltp": _px(k, side), "bid": _px(k, side) - 0.5, "ask": _px(k, side) + 0.5,
                    "oi": 7_500, "volume": 1_500}
        for k in (24_600.0, 24_800.0, 25_000.0, 25_200.0, 25_400.0) for side in ("CE", "PE")
    }  # fmt: skip


def _walk(x: Any) -> None:
    """No NaN or infinity anywhere in the document: unknown is None."""
    if isinstance(x, float):
        assert math.isfinite(x)
    elif isinstance(x, dict):
        for v in x.values():
            _walk(v)
    elif isinstance(x, list):
        for v in x:
            _walk(v)


def _snap(legs: dict, days_before: float = T_DAYS, **kw: Any) -> dict[str, Any]:
    now = expiry_ns(EXPIRY, days_before)
    state = synthetic_chain(EXPIRY, legs, spot=kw.pop("spot", 24_990.0), now_ns=now, **kw)
    ctx = SnapshotContext(now, 1, 0.065)
    raw = expiry_snapshot(state, EXPIRY, ctx)
    # The scalars as built (the codec would turn a stray NaN into null and hide it); the
    # columns are numpy arrays where NaN is the engine's "unknown", null once published.
    _walk({k: v for k, v in raw.items() if k != "chain"})
    _walk(symbol_summary(state, [EXPIRY], ctx, "0-0", 1))
    return published(raw)


def _rows(snap: dict) -> list[dict[str, Any]]:
    """The strikes one object each (the columnar document through fo_bus.chain.rows)."""
    return rows(snap)["strikes"]


def _leg(snap: dict, k: float, side: str) -> dict[str, Any]:
    return next(r[side] for r in _rows(snap) if r["strike"] == k)


BAD_QUOTES = [
    ({"ltp": 0.0, "bid": 0.0, "ask": 0.0}, "no_quote"),
    ({"ltp": -5.0, "bid": -6.0, "ask": -4.0}, "no_quote"),
    ({"ltp": float("nan"), "bid": float("nan"), "ask": float("nan")}, "no_quote"),
    ({}, "no_quote"),  # the leg exists but never ticked
    ({"bid": 30.0, "ask": 20.0}, "no_quote"),  # crossed, no LTP
    ({"ltp": 0.05, "bid": 0.05, "ask": 0.05}, "below_intrinsic"),  # deep ITM call at 5 paise
    ({"ltp": 30_000.0, "bid": 29_999.0, "ask": 30_001.0}, "above_max"),
]


@pytest.mark.parametrize(("quote", "reason"), BAD_QUOTES)
def test_bad_leg_quote_gives_null_iv_with_reason(quote: dict, reason: str) -> None:
    legs = _good_legs()
    legs[("CE", 24_600.0)] = quote
    leg = _leg(_snap(legs), 24_600.0, "CE")
    assert leg["iv"] is None and leg["iv_status"] == reason
    assert all(leg[g] is None for g in ("delta", "gamma", "theta", "vega", "rho"))


def test_crossed_quote_falls_back_to_fresh_ltp() -> None:
    legs = _good_legs()
    px = _px(25_200.0, "CE")
    legs[("CE", 25_200.0)] = {"ltp": px, "bid": px + 5, "ask": px - 5}
    leg = _leg(_snap(legs), 25_200.0, "CE")
    assert leg["iv"] == pytest.approx(0.13, abs=1e-3)


def test_stale_ltp_without_quote_is_null() -> None:
    legs = _good_legs()
    legs[("PE", 24_800.0)] = {"ltp": _px(24_800.0, "PE")}
    now = expiry_ns(EXPIRY, T_DAYS)
    state = synthetic_chain(EXPIRY, legs, spot=24_990.0, now_ns=now - 600 * 10**9)
    state.apply(Tick("SPOT", now, now, ltp=24_995.0))  # spot moves on
    snap = published_snapshot(state, EXPIRY, SnapshotContext(now, 1, 0.0))
    leg = _leg(snap, 24_800.0, "PE")
    assert leg["iv"] is None and leg["iv_status"] == "stale"


@pytest.mark.parametrize("days_before", [0.0, -0.5, -3.0])
def test_expired_expiry_has_no_iv(days_before: float) -> None:
    snap = _snap(_good_legs(), days_before=days_before)
    assert snap["expired"] is True
    for row in _rows(snap):
        for side in ("CE", "PE"):
            assert row[side]["iv"] is None and row[side]["iv_status"] == "expired"
    assert snap["atm_iv"] is None and snap["gex"]["net"] is None
    assert snap["gex"]["zero_gamma"]["level"] is None and snap["gex"]["zero_gamma"]["reason"]


def test_last_half_hour_is_low_confidence() -> None:
    snap = _snap(_good_legs(), days_before=10 / (24 * 60))
    assert snap["low_confidence"] is True and snap["expired"] is False


def test_strike_with_only_one_leg_and_expiry_with_one_strike() -> None:
    legs = _good_legs()
    del legs[("PE", 25_400.0)]
    snap = _snap(legs)
    row = next(r for r in _rows(snap) if r["strike"] == 25_400.0)
    assert row["PE"] is None and row["CE"]["iv"] is not None
    # On the wire: the put's token and every put field are null at that strike, the call's not.
    cols = snap["chain"]
    i = cols["strike"].index(25_400.0)
    assert cols["PE"]["token"][i] is None and all(v[i] is None for v in cols["PE"].values())
    assert cols["CE"]["token"][i] == "CE:2026-02-24:25400" and cols["CE"]["iv"][i] is not None
    assert cols["CE"]["iv_status"][i] == "ok" and cols["CE"]["oi"][i] == 7_500
    assert all(len(v) == len(cols["strike"]) == 5 for side in ("CE", "PE")
               for v in cols[side].values())  # fmt: skip
    one = _snap({("CE", 25_000.0): {"ltp": _px(25_000.0, "CE"), "oi": 750}})
    assert one["forward_source"] == "spot"
    assert one["pcr"]["oi"] == 0.0 and one["pcr"]["volume"] is None  # no volume: no ratio


def test_empty_chain_and_no_spot() -> None:
    snap = _snap({}, spot=None)
    assert snap["chain"]["strike"] == [] and snap["chain"]["CE"]["token"] == []
    assert snap["forward"] is None and snap["forward_source"] is None
    assert snap["max_pain"]["strike"] is None and snap["pcr"]["oi"] is None
    assert snap["atm_iv"] is None and snap["gex"]["zero_gamma"]["level"] is None


def test_unquoted_chain_without_spot_has_no_forward_and_no_numbers() -> None:
    legs = {(s, k): {} for (s, k) in _good_legs()}
    snap = _snap(legs, spot=None)
    assert snap["forward"] is None
    assert {r["CE"]["iv_status"] for r in _rows(snap)} == {"no_quote"}


prices = (
    st.floats(0.01, 5_000.0)
    | st.floats(-1e300, 1e300)
    | st.floats(0.0, 1e-300)
    | st.sampled_from([float("nan"), float("inf"), -float("inf"), 5e-324, 4.1e-168])
)
quotes = st.fixed_dictionaries(
    {},
    optional={"ltp": prices, "bid": prices, "ask": prices, "prev_close": prices,
              "oi": st.integers(-10**12, 10**12), "volume": st.integers(0, 10**12),
              "prev_oi": st.integers(-10**12, 10**12)},
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    st.lists(quotes, min_size=1, max_size=10),
    st.none() | prices,
    st.floats(-2.0, 800.0) | st.floats(0.0, 1e-6),
)
@example([{"ltp": 4.1e-168, "bid": 4.1e-168, "ask": 4.1e-168, "oi": 75}] * 4, 25_000.0, 5.0)
@example([{"ltp": 1e300, "bid": 1e300, "ask": 1e300, "oi": 10**12}] * 4, 1e300, 1e-7)
def test_any_quotes_never_raise_and_never_invent_numbers(
    legs: list[dict[str, Any]], spot: float | None, days: float
) -> None:
    strikes = [25_000.0 + 100.0 * (i // 2 - 2) for i in range(len(legs))]
    chain = {
        (("CE", "PE")[i % 2], k): q for i, (k, q) in enumerate(zip(strikes, legs, strict=True))
    }
    snap = _snap(chain, days_before=days, spot=spot)
    for side in ("CE", "PE"):  # a strike without this side's contract: no value at all
        cols = snap["chain"][side]
        for i, tok in enumerate(cols["token"]):
            assert tok is not None or all(v[i] is None for v in cols.values())
    for row in _rows(snap):
        for leg in (row["CE"], row["PE"]):
            if leg is None:
                continue
            solved = leg["iv_status"] in ("ok", "wide_spread")
            assert (leg["iv"] is not None) == solved
            assert solved or all(leg[g] is None for g in ("delta", "gamma", "vega", "rho"))
