"""Worked values of specs/analytics.md §4.5–4.7: GEX case, max-pain table, tie, expected move."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from fo_analytics.black import black76_price
from fo_analytics.oi import max_pain, ratio_or_none
from fo_analytics.smile import expected_move
from fo_analytics.snapshot import SnapshotContext

from .conftest import expiry_ns, published_snapshot, synthetic_chain

EXPIRY = date(2026, 1, 27)
# §4.5 constructed case: K, call OI, put OI (contracts), IV; F = 24 000, T = 7/365, lot 75, r = 0.
GEX_CASE = [
    (23_500, 2_000, 14_000, 0.14),
    (23_750, 3_000, 11_000, 0.13),
    (24_000, 8_000, 9_000, 0.12),
    (24_250, 12_000, 4_000, 0.115),
    (24_500, 15_000, 1_500, 0.115),
]
GEX_NET = [-2_438_840_194, -2_680_236_147, -432_099_481, 2_934_054_427, 2_659_990_531]
GEX_CALL = [406_473_366, 1_005_088_555, 3_456_795_851, 4_401_081_640, 2_955_545_034]
GEX_PUT = [-2_845_313_559, -3_685_324_703, -3_888_895_332, -1_467_027_213, -295_554_503]


def _gex_snapshot(gex_sign: str = "dealer_long_calls_short_puts") -> dict:
    now = expiry_ns(EXPIRY, 7)
    legs = {}
    for k, c_oi, p_oi, iv in GEX_CASE:
        for side, oi in (("CE", c_oi), ("PE", p_oi)):
            px = float(black76_price(24_000.0, k, 7 / 365, 0.0, iv, side == "CE"))
            legs[(side, float(k))] = {"ltp": px, "bid": px, "ask": px, "oi": oi * 75}
    state = synthetic_chain(EXPIRY, legs, spot=23_990.0, lot=75, now_ns=now)
    ctx = SnapshotContext(now_ns=now, seq=1, rate=0.0, gex_sign=gex_sign)
    return published_snapshot(state, EXPIRY, ctx)


def test_gex_constructed_case_per_strike_total_walls_zero_gamma() -> None:
    snap = _gex_snapshot()
    assert snap["forward_source"] == "parity"
    assert snap["forward"] == pytest.approx(24_000.0, abs=1e-6)
    cols = snap["chain"]
    assert cols["strike"] == [float(k) for k, *_ in GEX_CASE]
    np.testing.assert_allclose(cols["gex_call"], GEX_CALL, rtol=2e-6)
    np.testing.assert_allclose(cols["gex_put"], GEX_PUT, rtol=2e-6)
    np.testing.assert_allclose(cols["gex_net"], GEX_NET, rtol=2e-6)
    gex = snap["gex"]
    assert gex["net"] == pytest.approx(42_869_135, abs=60)  # rounding of the per-strike table
    assert gex["call_wall_gamma"] == 24_250
    assert gex["put_wall_gamma"] == 24_000
    assert gex["zero_gamma"]["level"] == pytest.approx(23_998.16, abs=0.01)
    assert snap["pcr"]["oi"] == pytest.approx(39_500 / 40_000)
    assert snap["max_pain"]["strike"] == 24_000


def test_gex_sign_convention_short_all() -> None:
    base, short = _gex_snapshot(), _gex_snapshot("dealer_short_all")
    b, s = base["chain"], short["chain"]
    for bc, sc in zip(b["gex_call"], s["gex_call"], strict=True):
        assert sc == pytest.approx(-bc)
    for bp, sp in zip(b["gex_put"], s["gex_put"], strict=True):
        assert sp == pytest.approx(bp)
    assert short["gex"]["sign_convention"] == "dealer_short_all"
    assert short["gex"]["net"] < 0
    assert short["gex"]["zero_gamma"]["level"] is None  # short gamma everywhere: no flip
    assert "no sign change" in short["gex"]["zero_gamma"]["reason"]


# §4.6 published max-pain worksheet: strike, call OI, put OI, total payout (shares).
PAIN_TABLE = [
    (7000, 1_404_300, 4_087_050, 20_691_180_000),
    (7100, 335_700, 1_029_150, 17_538_622_500),
    (7200, 482_100, 2_977_875, 14_522_550_000),
    (7300, 422_475, 1_975_650, 11_852_475_000),
    (7400, 963_900, 2_336_700, 9_422_212_500),
    (7500, 999_975, 4_548_450, 7_322_010_000),
    (7600, 785_550, 3_690_900, 5_776_650_000),
    (7700, 1_823_400, 5_783_025, 4_678_935_000),
    (7800, 3_448_575, 4_864_125, 4_341_862_500),
    (7900, 5_367_450, 2_559_375, 4_836_060_000),
    (8000, 6_510_975, 1_447_125, 6_122_940_000),
    (8100, 5_900_325, 310_500, 8_205_630_000),
    (8200, 5_113_350, 248_775, 10_909_402_500),
    (8300, 3_844_500, 355_725, 14_149_387_500),
    (8400, 2_135_625, 255_525, 17_809_395_000),
    (8500, 2_252_250, 488_475, 21_708_517_500),
    (8600, 1_083_750, 58_500, 25_881_712_500),
]


def test_published_max_pain_table() -> None:
    k, c, p, _ = (np.array(col, float) for col in zip(*PAIN_TABLE, strict=True))
    pain = max_pain(k, c, p, reference=None)
    assert pain.strike == 7800 and pain.tied == (7800.0,)
    assert pain.payout == 4_341_862_500
    assert ratio_or_none(p.sum(), c.sum()) == pytest.approx(0.863385, abs=5e-7)
    assert max_pain(k[7:10], c[7:10], p[7:10], None).strike == 7800  # {7700, 7800, 7900}


def test_published_max_pain_table_through_snapshot() -> None:
    now = expiry_ns(EXPIRY, 3)
    legs = {
        (s, float(k)): {"oi": oi} for k, c, p, _ in PAIN_TABLE for s, oi in (("CE", c), ("PE", p))
    }
    snap = published_snapshot(
        synthetic_chain(EXPIRY, legs, now_ns=now), EXPIRY, SnapshotContext(now, 1, 0.0)
    )
    assert snap["max_pain"]["strike"] == 7800
    assert snap["pcr"]["oi"] == pytest.approx(0.863385, abs=5e-7)
    assert snap["totals"]["ce_oi"] == 42_874_200 and snap["totals"]["pe_oi"] == 37_016_925


@pytest.mark.parametrize(("reference", "chosen"), [(None, 100.0), (108.0, 110.0), (101.0, 100.0)])
def test_max_pain_tie_lists_both_and_applies_the_rule(
    reference: float | None, chosen: float
) -> None:
    pain = max_pain([100, 110], [10, 0], [0, 10], reference=reference)
    assert pain.tied == (100.0, 110.0)
    assert pain.payout == 100
    assert pain.strike == chosen


def test_expected_move_published_example() -> None:
    assert expected_move(425.0, 0.55, 6 / 365, None)["iv_1sd"] == pytest.approx(29.97, abs=0.005)


def test_expected_move_straddle_ratio() -> None:
    f, sigma, t = 100.0, 0.2, 30 / 365
    straddle = float(np.sum(black76_price(f, f, t, 0.0, sigma, [True, False])))
    assert straddle == pytest.approx(4.574301, abs=1e-6)
    move = expected_move(f, sigma, t, straddle)
    assert move["iv_1sd"] == pytest.approx(5.733822, abs=1e-6)
    assert straddle / move["iv_1sd"] == pytest.approx(0.79778, abs=1e-5)
    assert move["straddle_1sd"] == pytest.approx(straddle * math.sqrt(math.pi / 2))


def test_expected_move_through_snapshot() -> None:
    """A flat 20 % smile around F = 100: both expected-move figures come out of the chain."""
    now = expiry_ns(EXPIRY, 30)
    legs = {}
    for k in (90.0, 95.0, 100.0, 105.0, 110.0):
        for side in ("CE", "PE"):
            px = float(black76_price(100.0, k, 30 / 365, 0.0, 0.2, side == "CE"))
            legs[(side, k)] = {"ltp": px, "bid": px, "ask": px, "oi": 750}
    snap = published_snapshot(synthetic_chain(EXPIRY, legs, spot=100.0, now_ns=now), EXPIRY,
                           SnapshotContext(now, 1, 0.0))  # fmt: skip
    assert snap["atm_iv"] == pytest.approx(0.2, abs=1e-9)
    assert snap["expected_move"]["iv_1sd"] == pytest.approx(5.733822, abs=1e-5)
    assert snap["expected_move"]["straddle"] == pytest.approx(4.574301, abs=1e-5)
    assert snap["skew"]["rr25"] is None or abs(snap["skew"]["rr25"]) < 1e-9
