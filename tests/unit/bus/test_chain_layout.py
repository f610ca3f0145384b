"""fo_bus.chain on a hand-built columnar document, every expected output written out by hand."""

from __future__ import annotations

import copy

import pytest

from fo_bus import chain

# Three strikes: 24,050 lists no put, 24,100 no call (their fields are all null).
DOC = {
    "v": 2,
    "type": "chain",
    "symbol": "NIFTY",
    "expiry": "2099-12-29",
    "seq": 3,
    "ts": 10,
    "spot": 24_060.0,
    "layout": "columns",
    "chain": {
        "strike": [24_000.0, 24_050.0, 24_100.0],
        "iv": [0.12, 0.11, None],
        "gex_call": [1.0, 2.0, 0.0],
        "gex_put": [-3.0, 0.0, -1.0],
        "gex_net": [-2.0, 2.0, -1.0],
        "CE": {
            "token": ["c0", "c1", None],
            "ltp": [80.0, 50.5, None],
            "oi": [750, 1500, None],
            "iv_status": ["ok", "stale", None],
        },
        "PE": {
            "token": ["p0", None, "p2"],
            "ltp": [20.0, None, 70.25],
            "oi": [300, None, 0],
            "iv_status": ["ok", None, "no_quote"],
        },
    },
    "pcr": {"oi": 0.14},
}


@pytest.fixture
def doc() -> dict:
    return copy.deepcopy(DOC)


def test_rows_gives_one_object_per_strike(doc: dict) -> None:
    out = chain.rows(doc)
    assert out == {
        "v": 2,
        "type": "chain",
        "symbol": "NIFTY",
        "expiry": "2099-12-29",
        "seq": 3,
        "ts": 10,
        "spot": 24_060.0,
        "layout": "rows",
        "strikes": [
            {
                "strike": 24_000.0,
                "CE": {"token": "c0", "ltp": 80.0, "oi": 750, "iv_status": "ok"},
                "PE": {"token": "p0", "ltp": 20.0, "oi": 300, "iv_status": "ok"},
                "iv": 0.12,
                "gex_call": 1.0,
                "gex_put": -3.0,
                "gex_net": -2.0,
            },
            {
                "strike": 24_050.0,
                "CE": {"token": "c1", "ltp": 50.5, "oi": 1500, "iv_status": "stale"},
                "PE": None,
                "iv": 0.11,
                "gex_call": 2.0,
                "gex_put": 0.0,
                "gex_net": 2.0,
            },
            {
                "strike": 24_100.0,
                "CE": None,
                "PE": {"token": "p2", "ltp": 70.25, "oi": 0, "iv_status": "no_quote"},
                "iv": None,
                "gex_call": 0.0,
                "gex_put": -1.0,
                "gex_net": -1.0,
            },
        ],
        "pcr": {"oi": 0.14},
    }
    # ``strikes`` takes the place of ``chain``; every other key keeps its place.
    assert list(out) == [*list(DOC)[:7], "layout", "strikes", "pcr"]
    assert doc == DOC  # the input is not modified


def test_rows_with_fields_keeps_only_those(doc: dict) -> None:
    out = chain.rows(doc, ["oi", "teleport"])
    assert [(r["CE"], r["PE"]) for r in out["strikes"]] == [
        ({"oi": 750}, {"oi": 300}),
        ({"oi": 1500}, None),
        (None, {"oi": 0}),
    ]


def test_window_slices_every_column(doc: dict) -> None:
    out = chain.window(doc, 1, 3)
    assert out["chain"] == {
        "strike": [24_050.0, 24_100.0],
        "iv": [0.11, None],
        "gex_call": [2.0, 0.0],
        "gex_put": [0.0, -1.0],
        "gex_net": [2.0, -1.0],
        "CE": {
            "token": ["c1", None],
            "ltp": [50.5, None],
            "oi": [1500, None],
            "iv_status": ["stale", None],
        },
        "PE": {
            "token": [None, "p2"],
            "ltp": [None, 70.25],
            "oi": [None, 0],
            "iv_status": [None, "no_quote"],
        },
    }
    assert out["layout"] == "columns" and out["pcr"] == {"oi": 0.14} and doc == DOC
    assert chain.window(doc, 0, 0)["chain"]["CE"]["token"] == []


def test_select_legs_keeps_strike_token_and_the_named_fields(doc: dict) -> None:
    out = chain.select_legs(doc, ["oi", "oi", "delta"])  # delta: not carried, not invented
    assert out["chain"] == {
        "strike": [24_000.0, 24_050.0, 24_100.0],
        "CE": {"token": ["c0", "c1", None], "oi": [750, 1500, None]},
        "PE": {"token": ["p0", None, "p2"], "oi": [300, None, 0]},
    }
    assert doc == DOC
    assert chain.leg_fields(doc) == {"token", "ltp", "oi", "iv_status"}
    assert chain.leg_fields(out) == {"token", "oi"}


def test_nearest_strike(doc: dict) -> None:
    assert chain.nearest(doc, 24_060.0) == 1
    assert chain.nearest(doc, 24_075.0) == 1  # a tie goes to the lower strike
    assert chain.nearest(doc, 30_000.0) == 2
    assert chain.nearest(chain.window(doc, 0, 0), 24_060.0) is None


def test_legs_yields_every_listed_leg(doc: dict) -> None:
    assert list(chain.legs(doc)) == [
        ("c0", {"token": "c0", "ltp": 80.0, "oi": 750, "iv_status": "ok"}),
        ("c1", {"token": "c1", "ltp": 50.5, "oi": 1500, "iv_status": "stale"}),
        ("p0", {"token": "p0", "ltp": 20.0, "oi": 300, "iv_status": "ok"}),
        ("p2", {"token": "p2", "ltp": 70.25, "oi": 0, "iv_status": "no_quote"}),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        {"strikes": []},  # the version 1 per-strike form
        {"layout": "rows", "strikes": []},
        {"layout": "columns"},
        {"layout": "columns", "chain": {"CE": {}}},
    ],
)
def test_other_documents_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        chain.rows(bad)
    with pytest.raises(ValueError):
        list(chain.legs(bad))


def test_columns_of_unequal_length_are_refused(doc: dict) -> None:
    doc["chain"]["PE"]["oi"].pop()
    with pytest.raises(ValueError):
        chain.rows(doc)
