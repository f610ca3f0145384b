"""The snapshot contract the gateway and the worker rely on, and the chain-state plumbing."""

from __future__ import annotations

from datetime import date

import pytest

import fo_analytics
from fo_analytics.chain import ChainState, Quote
from fo_analytics.snapshot import SnapshotContext, symbol_summary
from fo_bus.chain import LEG_FIELDS, legs
from fo_models import Tick

from .conftest import (
    NseChain,
    expiry_ns,
    load_nse,
    published_snapshot,
    real_chain_files,
    synthetic_chain,
)

TOP = {"symbol", "expiry", "seq", "ts", "spot", "spot_ts", "lot_size", "units", "rate",
       "layout", "chain", "totals", "pcr", "max_pain", "forward", "forward_source", "T",
       "T_convention", "atm_strike", "atm_iv", "expected_move", "skew", "gex", "low_confidence",
       "expired"}  # fmt: skip
LEG = {"token", "ltp", "bid", "ask", "bid_qty", "ask_qty", "volume", "oi", "prev_close",
       "prev_oi", "ts", "oi_change", "iv", "iv_status", "delta", "gamma", "theta", "vega", "rho",
       "buildup"}  # fmt: skip
INTS = {"bid_qty", "ask_qty", "volume", "oi", "prev_oi", "ts", "oi_change"}
FLOATS = {"ltp", "bid", "ask", "prev_close", "iv", "delta", "gamma", "theta", "vega", "rho"}


@pytest.fixture(scope="module")
def chain() -> NseChain:
    return load_nse(real_chain_files()[0])


def test_expiry_snapshot_keys_and_types(chain: NseChain) -> None:
    ctx = SnapshotContext(now_ns=chain.now_ns, seq=7, rate=0.065)
    snap = published_snapshot(chain.state, chain.expiries[0], ctx)
    assert snap.keys() >= TOP and "strikes" not in snap
    assert snap["seq"] == 7 and snap["expiry"] == chain.expiries[0].isoformat()
    assert snap["units"]["oi"] == "shares" and snap["lot_size"] == chain.lot
    assert set(snap["totals"]) == {"ce_oi", "pe_oi", "ce_volume", "pe_volume"}
    assert {"oi", "volume"} <= snap["pcr"].keys() and {"strike", "tied", "rule"} <= snap[
        "max_pain"
    ].keys()
    # The columnar wire form: one list per field, one entry per strike, legs under CE and PE.
    assert snap["layout"] == "columns"
    cols = snap["chain"]
    assert list(cols) == ["strike", "iv", "gex_call", "gex_put", "gex_net", "CE", "PE"]
    strikes = cols["strike"]
    assert strikes and strikes == sorted(set(strikes))
    assert all(isinstance(k, float) for k in strikes)
    n = len(strikes)
    assert all(len(cols[k]) == n for k in ("iv", "gex_call", "gex_put", "gex_net"))
    for side in ("CE", "PE"):
        legs = cols[side]
        assert tuple(legs) == LEG_FIELDS and set(legs) == LEG
        assert all(len(column) == n for column in legs.values()), side
        for i, tok in enumerate(legs["token"]):
            if tok is None:  # no contract at this strike: nothing else either
                assert all(legs[f][i] is None for f in LEG), (side, strikes[i])
                continue
            assert isinstance(tok, str)
            assert isinstance(legs["oi"][i], int) and isinstance(legs["ts"][i], int)
            assert all(legs[f][i] is None or type(legs[f][i]) is int for f in INTS)
            assert all(legs[f][i] is None or type(legs[f][i]) is float for f in FLOATS)
            assert isinstance(legs["iv_status"][i], str)
            assert legs["buildup"][i] is None or isinstance(legs["buildup"][i], str)


def test_summary_has_across_expiry_views(chain: NseChain) -> None:
    ctx = SnapshotContext(now_ns=chain.now_ns, seq=1, rate=0.0)
    summary = symbol_summary(chain.state, chain.expiries, ctx, "5-0", 3)
    assert summary["checkpoint"] == {"last_id": "5-0", "epoch": 3}
    assert len(summary["term_structure"]) == len(chain.expiries)
    assert summary["pcr_all"]["oi"] == pytest.approx(
        summary["totals_all"]["pe_oi"] / summary["totals_all"]["ce_oi"]
    )
    assert summary["gex_all"]["sign_convention"] == "dealer_long_calls_short_puts"


def test_legs_restore_into_an_equal_chain(chain: NseChain) -> None:
    """The worker's checkpoint restore: legs of a snapshot re-applied give the same snapshot."""
    ctx = SnapshotContext(now_ns=chain.now_ns, seq=1, rate=0.0)
    snap = published_snapshot(chain.state, chain.expiries[0], ctx)
    fresh = ChainState(chain.state.instruments)
    listed = 0
    for token, leg in legs(snap):  # as the worker does on a takeover
        fresh.restore_leg(token, leg)
        listed += 1
    assert listed == sum(t is not None for s in ("CE", "PE") for t in snap["chain"][s]["token"])
    fresh.restore_leg("SPOT", {"ltp": snap["spot"], "ts": snap["spot_ts"]})
    assert published_snapshot(fresh, chain.expiries[0], ctx) == snap


def test_quotes_copied_into_a_new_state_are_seen() -> None:
    """The worker copies Quote objects into a new ChainState when instruments change."""
    expiry = date(2026, 4, 28)
    now = expiry_ns(expiry, 5)
    old = synthetic_chain(expiry, {("CE", 100.0): {"ltp": 3.0, "oi": 750}}, spot=100.0, now_ns=now)
    new = ChainState(old.instruments)
    for tok, quote in old.quotes.items():
        new.quotes[tok] = quote
    snap = published_snapshot(new, expiry, SnapshotContext(now, 1, 0.0))
    assert snap["chain"]["CE"]["oi"] == [750] and snap["spot"] == 100.0
    new.quotes["CE:2026-04-28:100"] = Quote({"ltp": 4.0, "oi": 1500}, now)
    assert published_snapshot(new, expiry, SnapshotContext(now, 2, 0.0))["totals"]["ce_oi"] == 1500


def test_cache_follows_new_ticks() -> None:
    expiry = date(2026, 4, 28)
    now = expiry_ns(expiry, 5)
    state = synthetic_chain(expiry, {("CE", 100.0): {"oi": 750}}, now_ns=now)
    ctx = SnapshotContext(now, 1, 0.0)
    assert published_snapshot(state, expiry, ctx)["totals"]["ce_oi"] == 750
    state.apply(Tick("CE:2026-04-28:100", now, now, oi=1500))
    assert published_snapshot(state, expiry, ctx)["totals"]["ce_oi"] == 1500


def test_context_rejects_unknown_conventions() -> None:
    with pytest.raises(ValueError):
        SnapshotContext(0, 0, 0.0, iv_model="bs")
    with pytest.raises(ValueError):
        SnapshotContext(0, 0, 0.0, gex_sign="up")


def test_warm_up_is_cheap_when_warm(monkeypatch: pytest.MonkeyPatch) -> None:
    fo_analytics.warm_up()

    def solve_again(*_: object, **__: object) -> None:
        raise AssertionError("warm_up solved IV again")

    monkeypatch.setattr(fo_analytics.iv, "black_iv", solve_again)
    fo_analytics.warm_up()  # second call: a no-op
