"""Row-wise helpers and the zero-gamma search against plain one-row references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from fo_analytics import gex, rowwise

NAN = float("nan")
# Few distinct values, so that ties, exact hits of the target and NaN all come up often.
values = st.sampled_from([-1.0, -0.25, 0.0, 0.25, 0.5, 1.0, 2.0, NAN])


@st.composite
def rows(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n, width = draw(st.integers(1, 4)), draw(st.integers(0, 7))
    cells = st.lists(values, min_size=n * width, max_size=n * width)
    x = np.array(draw(cells), float).reshape(n, width)
    y = np.array(draw(cells), float).reshape(n, width)
    use = np.array(draw(st.lists(st.booleans(), min_size=n * width, max_size=n * width)), bool)
    target = np.array(draw(st.lists(values, min_size=n, max_size=n)), float)
    return x, y, use.reshape(n, width), target


def _lerp(x: np.ndarray, y: np.ndarray, target: float) -> float | None:
    """One row, the plain way: y at ``target`` over ascending ``x``; None outside its range."""
    if x.size == 0 or not (x[0] <= target <= x[-1]):
        return None
    hi = int(np.searchsorted(x, target, side="left"))
    if x[hi] == target:
        return float(y[hi])
    w = (target - x[hi - 1]) / (x[hi] - x[hi - 1])
    return float(y[hi - 1] + w * (y[hi] - y[hi - 1]))


def _max_pain(
    strikes: np.ndarray, call_oi: np.ndarray, put_oi: np.ndarray, reference: float | None
) -> tuple[float | None, list[float]]:
    """One expiry by brute force: the payout at every strike summed leg by leg."""
    c, p = np.maximum(call_oi, 0.0), np.maximum(put_oi, 0.0)
    if strikes.size == 0 or c.sum() + p.sum() == 0:
        return None, []
    payout = [sum(c * np.maximum(x - strikes, 0) + p * np.maximum(strikes - x, 0))
              for x in strikes]  # fmt: skip
    tied = [float(k) for k, v in zip(strikes, payout, strict=True) if v == min(payout)]
    chosen = tied[0] if reference is None else min(tied, key=lambda k: abs(k - reference))
    return chosen, tied


@settings(max_examples=500, deadline=None)
@given(rows())
def test_lerp_matches_a_stable_sort_and_the_one_row_lerp(
    case: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    x, y, use, target = case
    with np.errstate(all="ignore"):
        got = rowwise.lerp(x, y, use, target)
    for i in range(x.shape[0]):
        xs, ys = x[i][use[i]], y[i][use[i]]
        order = np.argsort(xs, kind="stable")  # NaN sorts last
        with np.errstate(all="ignore"):
            want = _lerp(xs[order], ys[order], float(target[i]))
        assert math.isnan(got[i]) if want is None or math.isnan(want) else got[i] == want, i


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.sampled_from([0, 1, 2, 5, -3]), st.sampled_from([0, 1, 2, 4])),
                 max_size=6),
        min_size=1, max_size=4,
    ),
    st.sampled_from([NAN, 100.0, 250.0, 275.0, 1e6]),
)  # fmt: skip
def test_max_pain_matches_the_one_expiry_max_pain(
    chains: list[list[tuple[int, int]]], reference: float
) -> None:
    width = max(len(c) for c in chains)
    strikes = np.full((len(chains), width), NAN)
    call_oi, put_oi = np.zeros_like(strikes), np.zeros_like(strikes)
    for i, legs in enumerate(chains):
        n = len(legs)
        strikes[i, :n] = 100.0 + 50.0 * np.arange(n)
        call_oi[i, :n], put_oi[i, :n] = np.array(legs, float).reshape(n, 2).T
    both = np.stack([call_oi, put_oi])
    got = rowwise.max_pain(strikes, np.isfinite(strikes), both, np.full(len(chains), reference))
    for i, legs in enumerate(chains):
        n = len(legs)
        ref = None if math.isnan(reference) else reference
        assert got[i] == _max_pain(strikes[i, :n], call_oi[i, :n], put_oi[i, :n], ref)


def test_argmax_at_per_score_and_row() -> None:
    strikes = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, NAN]])
    scores = np.array([
        [[0.0, 2.0, 2.0], [NAN, 1.0, NAN]],  # first of equal maxima; NaN is not a score
        [[math.inf, -1.0, 0.5], [0.0, 0.0, NAN]],  # inf is not finite; nothing above 0: None
    ])  # fmt: skip
    assert rowwise.argmax_at(strikes, scores) == [[2.0, 3.0], [5.0, None]]
    assert rowwise.argmax_at(np.zeros((2, 0)), np.zeros((3, 2, 0))) == [[None] * 3] * 2


def _curves(seed: int, rows: int = 6, width: int = 40) -> tuple[gex.GammaCurves, np.ndarray]:
    """Random chains around F = 24 000: smiles, OI of both signs, some gaps and empty rows."""
    rng = np.random.default_rng(seed)
    strikes = 24_000.0 + 100.0 * (np.arange(width) - width // 2) + np.zeros((rows, 1))
    sigma = rng.uniform(0.08, 0.4, (rows, width))
    weight = rng.integers(-5_000, 5_000, (rows, width)).astype(float) * 75
    weight[rng.random((rows, width)) < 0.2] = 0.0
    sigma[rng.random((rows, width)) < 0.1] = NAN
    years = rng.choice([1 / 365, 3 / 365, 20 / 365, 0.5, 2.0], rows)
    weight[-1] = np.abs(weight[-1])  # one sign only: no zero gamma
    return gex.GammaCurves(strikes, sigma, weight, years, np.ones(rows)), years


def _reference_roots(curves: gex.GammaCurves, f: float, years: float, i: int) -> list[float]:
    """The old search: the same log-spaced grid, each sign change solved by brentq."""
    m, c, w = curves._m[i], curves._c[i], curves._w[i]

    def y(x: float) -> float:
        return 0.01 * x * float(np.dot(np.exp(c * (math.log(x) - m) ** 2), w))

    half = 0.05 if years <= gex.WEEKLY_YEARS else 0.10
    step = float(np.clip(curves.width[i] / 4.0, 0.0005, 0.01))
    grid = np.exp(np.arange(math.log(f * (1 - half)), math.log(f * (1 + half)) + step / 2, step))
    ys = np.array([y(g) for g in grid])
    grid, ys = grid[ys != 0], ys[ys != 0]
    cross = np.flatnonzero(np.sign(ys[:-1]) != np.sign(ys[1:]))
    return [brentq(y, grid[j], grid[j + 1], xtol=1e-9, rtol=1e-15) for j in cross]


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("newton", [True, False])
def test_zero_gamma_finds_every_grid_sign_change(
    seed: int, newton: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not newton:  # every bracket falls back to bisection
        monkeypatch.setattr(gex, "NEWTON_STEPS", 0)
    curves, years = _curves(seed)
    forward = np.full(years.size, 24_000.0)
    with np.errstate(all="ignore"):
        got = gex.zero_gammas(curves, forward, years, np.ones(years.size, bool))
    for i, z in enumerate(got):
        want = _reference_roots(curves, 24_000.0, float(years[i]), i)
        assert z["roots"] == pytest.approx(want, rel=1e-10), i
        if want:
            assert z["level"] == min(z["roots"], key=lambda r: abs(r - 24_000.0))
        else:
            assert z["level"] is None and "no sign change" in z["reason"]
    assert any(z["roots"] for z in got) and got[-1]["roots"] == []
