"""FEED=replay settings: a missing or bad tape stops start-up with the variable and the file."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from tests.helpers import TEST_DATA

from fo_feeds.convert import convert_file, snapshots_to_tape
from fo_feeds.tape import write_tape
from fo_ingestor.settings import IngestorSettings
from fo_runtime.settings import SettingsError, load_settings
from fo_worker.settings import WorkerSettings

RAW = TEST_DATA / "real" / "nse-oc-banknifty-2020-04-17T1530-capA.json.gz"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("FEED", "TAPE", "SYMBOLS", "REPLAY_SPEED", "REPLAY_LOOP", "CLOCK", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env file


@pytest.fixture
def tape(tmp_path: Path) -> Path:
    header, batches = snapshots_to_tape([convert_file(RAW)])
    return write_tape(tmp_path / "bn.tape.gz", header, batches)


def test_replay_needs_a_tape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEED", "replay")
    with pytest.raises(SettingsError, match="TAPE"):
        load_settings(IngestorSettings)


def test_a_truncated_tape_is_refused_at_start_up(
    monkeypatch: pytest.MonkeyPatch, tape: Path, tmp_path: Path
) -> None:
    cut = tmp_path / "cut.tape.gz"
    cut.write_bytes(tape.read_bytes()[:-100])
    monkeypatch.setenv("FEED", "replay")
    monkeypatch.setenv("TAPE", str(cut))
    monkeypatch.setenv("SYMBOLS", "BANKNIFTY")
    with pytest.raises(SettingsError) as err:
        load_settings(IngestorSettings)
    message = str(err.value)
    assert "TAPE" in message and str(cut) in message and "truncated" in message
    assert "\n" not in message


def test_symbols_must_be_on_the_tape(monkeypatch: pytest.MonkeyPatch, tape: Path) -> None:
    monkeypatch.setenv("FEED", "replay")
    monkeypatch.setenv("TAPE", str(tape))
    monkeypatch.setenv("SYMBOLS", "NIFTY,BANKNIFTY")
    with pytest.raises(SettingsError, match="NIFTY not on tape"):
        load_settings(IngestorSettings)
    monkeypatch.setenv("SYMBOLS", "BANKNIFTY")
    settings = load_settings(IngestorSettings)
    assert settings.tape == tape and settings.replay_speed == 1.0 and not settings.replay_loop


def test_plain_gzip_that_is_not_a_tape(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    other = tmp_path / "other.gz"
    other.write_bytes(gzip.compress(RAW.read_bytes()))
    monkeypatch.setenv("FEED", "replay")
    monkeypatch.setenv("TAPE", str(other))
    with pytest.raises(SettingsError, match="not a tape"):
        load_settings(IngestorSettings)


def test_simulator_holidays_are_dates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_HOLIDAYS", "2026-01-26,26-01-2026")
    with pytest.raises(SettingsError, match="SIM_HOLIDAYS"):
        load_settings(IngestorSettings)


def test_worker_clock_defaults_to_the_wall(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(WorkerSettings).clock == "wall"
    monkeypatch.setenv("CLOCK", "feed")
    assert load_settings(WorkerSettings).clock == "feed"
    monkeypatch.setenv("CLOCK", "tape")
    with pytest.raises(SettingsError, match="CLOCK"):
        load_settings(WorkerSettings)
