"""The tape kept in tests/data/tapes still loads and equals a fresh conversion of its sources."""

from __future__ import annotations

from tests.helpers import TEST_DATA

from fo_feeds.convert import convert_file, snapshots_to_tape
from fo_feeds.tape import load_tape

SOURCES = [
    "nse-oc-nifty-2022-03-28T104719.json.gz",
    "nse-oc-banknifty-2020-04-17T1530-capA.json.gz",
    "nse-oc-banknifty-2020-04-17T1530-capB.json.gz",
]


def test_kept_tape_matches_its_sources() -> None:
    kept = load_tape(TEST_DATA / "tapes" / "nse-nifty-2022-03-28-banknifty-2020-04-17.tape.gz")
    header, batches = snapshots_to_tape([convert_file(TEST_DATA / "real" / s) for s in SOURCES])
    assert kept.header.instrument_sets == header.instrument_sets
    assert kept.batches == batches
    assert kept.header.symbols == ["NIFTY", "BANKNIFTY"]
