"""Prices, Greeks and IV against independent oracles: py_vollib's grid, Let's Be Rational, Hull."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import numpy as np
import pytest

from fo_analytics.black import black76_greeks, black76_price, bs_greeks
from fo_analytics.iv import black_iv, status_names

from .conftest import shared_file


def _vollib_grid() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Columns as floats, plus each price column's half unit in the last printed digit."""
    path = shared_file("data", "oracles", "py_vollib-test_data.json")
    raw = json.loads(path.read_text(), parse_float=Decimal)
    cols = raw["columns"]
    table = np.array([[float(x) for x in row] for row in raw["data"]])
    half_ulp = {
        name: np.array([0.5 * 10.0 ** Decimal(row[cols.index(name)]).as_tuple().exponent
                        for row in raw["data"]])
        for name in ("bs_call", "bs_put")
    }  # fmt: skip
    return {c: table[:, i] for i, c in enumerate(cols)}, half_ulp


SIDES = [(True, "C", "bs_call"), (False, "P", "bs_put")]


@pytest.mark.parametrize(("is_call", "prefix", "price_col"), SIDES)
def test_vollib_grid_prices_and_greeks(is_call: bool, prefix: str, price_col: str) -> None:
    d, _ = _vollib_grid()
    g = bs_greeks(d["S"], d["K"], d["t"], d["R"], d["v"], is_call)
    np.testing.assert_allclose(g.price, d[price_col], rtol=0, atol=1e-6)
    np.testing.assert_allclose(g.delta, d[prefix + "D"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(g.gamma, d[prefix + "G"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(g.theta, d[prefix + "T"] / 365, rtol=0, atol=1e-6)  # per day
    np.testing.assert_allclose(g.vega, d[prefix + "V"] * 0.01, rtol=0, atol=1e-6)  # per vol pt
    np.testing.assert_allclose(g.rho, d[prefix + "R"] * 0.01, rtol=0, atol=1e-6)  # per 1 %


@pytest.mark.parametrize(("is_call", "prefix", "price_col"), SIDES)
def test_vollib_grid_iv_recovers_v(is_call: bool, prefix: str, price_col: str) -> None:
    """Where the stored price pins σ to < 1e-9 (half its last digit / vega), IV = v to 1e-8."""
    d, half_ulp = _vollib_grid()
    forward = d["S"] * np.exp(d["R"] * d["t"])  # Black-Scholes on S = Black-76 on S·e^{rT}
    iv, codes = black_iv(d[price_col], forward, d["K"], d["t"], d["R"], is_call)
    with np.errstate(divide="ignore"):
        pinned = half_ulp[price_col] / np.abs(d[prefix + "V"]) <= 1e-9
    assert pinned.sum() >= 30
    np.testing.assert_allclose(iv[pinned], d["v"][pinned], rtol=0, atol=1e-8)
    assert not np.any(iv == 0)  # never a fake 0
    assert set(status_names(codes[np.isnan(iv)])) <= {"no_quote", "below_intrinsic"}


def _lbr() -> tuple[list[dict], list[dict]]:
    path = shared_file("data", "oracles", "lets_be_rational-TestValues.json")
    data = json.loads(path.read_text())
    return data["input"], data["output"]


def test_lets_be_rational_iv_to_1e_10() -> None:
    inputs, outputs = _lbr()
    f, k, t = (np.array([row[n] for row in inputs], float) for n in ("F", "K", "T"))
    call = np.array([row["q"] for row in inputs]) > 0
    price = np.array([row["black"] for row in outputs], float)
    want = np.array(
        [o["implied_volatility_from_a_transformed_rational_guess"] or np.nan for o in outputs]
    )
    iv, codes = black_iv(price, f, k, t, 0.0, call)
    names = np.array(status_names(codes))
    solved = (t > 0) & (want > 0)
    assert solved.sum() > 950
    np.testing.assert_allclose(iv[solved], want[solved], rtol=1e-10, atol=0)
    # T = 0: no IV, reason "expired" (the oracle has NaN there).
    assert (t == 0).sum() == 5
    assert np.isnan(iv[t == 0]).all() and set(names[t == 0]) == {"expired"}
    # Price exactly at intrinsic: LBR answers 0; we answer null with a reason, never 0.
    flat = (t > 0) & (want == 0)
    assert np.isnan(iv[flat]).all() and set(names[flat]) <= {"no_time_value"}


def test_hull_black_scholes_merton_example() -> None:
    g = bs_greeks(42.0, 40.0, 0.5, 0.10, 0.20, [True, False])
    np.testing.assert_allclose(g.price, [4.759422, 0.808599], atol=1e-6)


def test_hull_greeks_example() -> None:
    g = bs_greeks(49.0, 50.0, 0.3846, 0.05, 0.20, True)
    assert g.price == pytest.approx(2.400461, abs=1e-6)
    assert g.delta == pytest.approx(0.521602, abs=1e-6)
    assert g.gamma == pytest.approx(0.065545, abs=1e-6)
    assert g.theta * 365 == pytest.approx(-4.305390, abs=1e-5)
    assert g.vega * 100 == pytest.approx(12.105243, abs=1e-5)
    assert g.rho * 100 == pytest.approx(8.906574, abs=1e-5)
    put = bs_greeks(49.0, 50.0, 0.3846, 0.05, 0.20, False)
    assert put.price == pytest.approx(2.448147, abs=1e-6)


def test_py_vollib_black_doctests() -> None:
    assert black76_price(100, 100, 0.5, 0.02, 0.2, True) == pytest.approx(5.5811067246, abs=1e-10)
    assert black76_price(100, 100, 0.5, 0.0, 0.2, True) == pytest.approx(5.637197779701664, 1e-14)
    iv, _ = black_iv(5.5811067246, 100, 100, 0.5, 0.02, True)
    assert iv == pytest.approx(0.2, abs=1e-10)
    bs = bs_greeks(100, 100, 0.5, 0.01, 0.2, True)
    assert bs.price == pytest.approx(5.87602423383, abs=1e-10)


@pytest.mark.parametrize(
    ("is_call", "delta", "theta", "rho"),
    [
        (True, 0.45107017482, -0.00816236877462, -0.0074705380060),
        (False, None, -0.00802799155312, -0.0112432860013),
    ],
)
def test_py_vollib_black_greeks_doctests(
    is_call: bool, delta: float | None, theta: float, rho: float
) -> None:
    g = black76_greeks(49.0, 50.0, 0.3846, 0.05, 0.2, is_call)
    if delta is not None:
        assert g.delta == pytest.approx(delta, abs=1e-10)
    assert g.gamma == pytest.approx(0.0640646705882, abs=1e-10)
    assert g.theta == pytest.approx(theta, abs=1e-10)
    assert g.vega == pytest.approx(0.118317785624, abs=1e-10)
    assert g.rho == pytest.approx(rho, abs=1e-10)


@pytest.mark.parametrize(("strike", "is_call", "want"), [(100, True, 0.0775812880),
                                                          (90, False, 0.0817773179)])  # fmt: skip
def test_black_iv_issue_24_values(strike: float, is_call: bool, want: float) -> None:
    iv, _ = black_iv(0.10, 95.0, strike, 0.2, 0.2, is_call)
    assert iv == pytest.approx(want, abs=1e-9)


def test_nse_style_split_and_black76_on_forward() -> None:
    """§4.8: the same prices give one IV on the forward, and a split on spot at 10 %."""
    t, f, k = 7 / 365, 24_029.936463, 24_000.0
    prices = black76_price(f, k, t, 0.0, 0.12, [True, False])
    np.testing.assert_allclose(prices, [174.626153, 144.689690], atol=1e-6)
    assert k + prices[0] - prices[1] == pytest.approx(f, abs=1e-6)
    nse_forward = 24_000.0 * math.exp(0.10 * t)
    iv, _ = black_iv(prices, nse_forward, k, t, 0.10, [True, False])
    np.testing.assert_allclose(iv * 100, [11.3628, 12.5824], atol=1e-4)
    iv, _ = black_iv(prices, f, k, t, 0.065, [True, False])
    assert iv[0] * 100 == pytest.approx(12.0165, abs=1e-4)  # the note's figure (call)
    assert iv[1] * 100 == pytest.approx(12.02, abs=0.01)  # "12.02 % with r = 6.5 %" (§2.1)
