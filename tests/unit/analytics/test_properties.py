"""Property tests: IV round trip, put-call parity, Greek signs and bounds, GEX sign conventions."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from fo_analytics.black import black76_greeks, black76_price, bs_greeks
from fo_analytics.iv import MAX_IV, _solve, black_iv
from fo_analytics.snapshot import SnapshotContext

from .conftest import expiry_ns, published_snapshot, synthetic_chain

forwards = st.floats(50.0, 60_000.0)
moneyness = st.floats(0.7, 1.3)
years = st.floats(1 / (365 * 24), 2.0)
vols = st.floats(0.03, 2.0)
rates = st.floats(0.0, 0.15)


@settings(max_examples=300, deadline=None)
@given(forwards, moneyness, years, vols, rates, st.booleans())
def test_price_iv_price_round_trip(
    f: float, m: float, t: float, s: float, r: float, c: bool
) -> None:
    k = f * m
    price = float(black76_price(f, k, t, r, s, c))
    intrinsic = max((f - k) if c else (k - f), 0.0) * math.exp(-r * t)
    assume(price - intrinsic > 1e-9 * f)  # the price must carry time value to hold an IV
    iv, codes = black_iv(price, f, k, t, r, c)
    assert codes == 0 and iv > 0
    again = float(black76_price(f, k, t, r, float(iv), c))
    assert math.isclose(again, price, rel_tol=1e-9, abs_tol=1e-10 * f)


@settings(max_examples=200, deadline=None)
@given(forwards, moneyness, years, vols, rates)
def test_put_call_parity(f: float, m: float, t: float, s: float, r: float) -> None:
    k = f * m
    g = black76_greeks(f, k, t, r, s, [True, False])
    assert math.isclose(g.price[0] - g.price[1], math.exp(-r * t) * (f - k), abs_tol=1e-9 * f)
    spot = f * math.exp(-r * t)
    b = bs_greeks(spot, k, t, r, s, [True, False])
    assert math.isclose(b.price[0] - b.price[1], spot - k * math.exp(-r * t), abs_tol=1e-9 * f)


@settings(max_examples=200, deadline=None)
@given(forwards, moneyness, years, vols, rates)
def test_greek_signs_and_bounds(f: float, m: float, t: float, s: float, r: float) -> None:
    k, disc = f * m, math.exp(-r * t)
    call, put = (black76_greeks(f, k, t, r, s, flag) for flag in (True, False))
    assert -1e-15 <= call.delta <= disc + 1e-15 and -disc - 1e-15 <= put.delta <= 1e-15
    assert math.isclose(call.delta - put.delta, disc, abs_tol=1e-12)
    assert call.gamma >= 0 and call.gamma == put.gamma
    assert call.vega >= 0 and call.vega == put.vega
    assert call.price >= 0 and put.price >= 0
    if r == 0:
        assert call.theta <= 0 and put.theta <= 0
    assert call.rho <= 0 and put.rho <= 0  # F held fixed: rho is discounting only


@settings(max_examples=200, deadline=None)
@given(
    st.floats(-1e6, 1e6) | st.just(float("nan")) | st.just(0.0),
    forwards, moneyness, st.floats(-1.0, 2.0), st.booleans(),
)  # fmt: skip
@example(4.1e-168, 50.0, 1.0, 1.0, False)  # found by hypothesis: LBR divided by zero
def test_iv_is_positive_or_null_never_zero(
    price: float, f: float, m: float, t: float, c: bool
) -> None:
    iv, codes = black_iv(price, f, f * m, t, 0.0, c)
    assert (np.isnan(iv) and codes != 0) or (iv > 0 and codes == 0)


any_float = st.floats(allow_nan=True, allow_infinity=True)
magnitudes = st.floats(-1e300, 1e300) | st.floats(-1e-300, 1e-300) | any_float


@settings(max_examples=500, deadline=None)
@given(magnitudes, magnitudes, magnitudes, magnitudes, st.floats(-1.0, 1.0) | any_float,
       st.booleans())  # fmt: skip
@example(4.1e-168, 50.0, 50.0, 1.0, 0.0, False)
@example(1.0, 1e300, 1e300, 1.0, 0.0, True)  # the kernel raises on this one
@example(1e-5, 50.0, 50.0, 1e-300, 0.0, True)  # σ ≈ 5e143
@example(5e-324, 50.0, 50.0, 1.0, 0.0, True)
def test_iv_never_raises_on_any_floats(
    price: float, f: float, k: float, t: float, r: float, c: bool
) -> None:
    """Tiny, huge, subnormal, negative, NaN and infinite inputs: null with a reason, or σ > 0."""
    iv, codes = black_iv(price, f, k, t, r, c)
    assert (np.isnan(iv) and codes != 0) or (0 < iv < MAX_IV and codes == 0)
    if codes == 0:
        with np.errstate(all="ignore"):  # the engine calls the Greeks so; gamma may overflow
            assert np.isfinite(black76_greeks(f, k, t, r, float(iv), c).delta)


def test_solver_falls_back_per_leg_when_the_kernel_raises() -> None:
    """The raw kernel raises on F = K = 1e300; the legs around it still get their IV."""
    out = _solve(*(np.array(x) for x in ([5.637197779701664, 1.0, 0.1], [100.0, 1e300, 95.0],
                                         [100.0, 1e300, 100.0], [0.5, 1.0, 0.2],
                                         [1.0, 1.0, 1.0])))  # fmt: skip
    assert out[0] == pytest.approx(0.2, abs=1e-12) and np.isnan(out[1])
    assert float(black76_price(95.0, 100.0, 0.2, 0.0, out[2], True)) == pytest.approx(0.1, 1e-12)


EXPIRY = date(2026, 3, 26)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5_000), st.integers(0, 5_000)), min_size=3, max_size=7))
def test_gex_sign_flips_with_the_convention(ois: list[tuple[int, int]]) -> None:
    now = expiry_ns(EXPIRY, 10)
    legs = {}
    for i, (c_oi, p_oi) in enumerate(ois):
        k = 22_000.0 + 100 * (i - len(ois) // 2)
        for side, oi in (("CE", c_oi), ("PE", p_oi)):
            px = float(black76_price(22_000.0, k, 10 / 365, 0.0, 0.15, side == "CE"))
            legs[(side, k)] = {"ltp": px, "bid": px, "ask": px, "oi": oi * 50}
    state = synthetic_chain(EXPIRY, legs, spot=22_000.0, lot=50, now_ns=now)
    base = published_snapshot(state, EXPIRY, SnapshotContext(now, 1, 0.0))
    short = published_snapshot(
        state, EXPIRY, SnapshotContext(now, 1, 0.0, gex_sign="dealer_short_all")
    )
    b, s = base["chain"], short["chain"]
    assert len(b["strike"]) == len(s["strike"]) == len(ois)
    for bc, bp, sc, sp in zip(b["gex_call"], b["gex_put"], s["gex_call"], s["gex_put"],
                              strict=True):  # fmt: skip
        assert bc >= 0 and bp <= 0
        assert sc == -bc and sp == bp
    assert short["gex"]["net"] <= 0
    assert math.isclose(base["gex"]["call"], -short["gex"]["call"], rel_tol=1e-12, abs_tol=1e-6)
