"""Settings fail at start-up with the variable's name, and never echo a secret."""

import pytest

from fo_gateway.settings import GatewaySettings
from fo_ingestor.settings import IngestorSettings
from fo_runtime.settings import SettingsError, load_settings
from fo_worker.settings import WorkerSettings

STRONG = "k" * 40


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in ("SECRET_KEY", "ANGEL_API_KEY", "RISK_FREE_RATE", "SYMBOLS", "REDIS_URL", "FEED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env file


def test_rate_given_as_percent_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISK_FREE_RATE", "6.5")
    with pytest.raises(SettingsError) as err:
        load_settings(WorkerSettings)
    assert "RISK_FREE_RATE" in str(err.value) and "percent" in str(err.value)


def test_rate_defaults_to_six_and_a_half_percent() -> None:
    assert load_settings(WorkerSettings).risk_free_rate == 0.065


def test_unknown_symbol_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYMBOLS", "NIFTY,FOO")
    with pytest.raises(SettingsError) as err:
        load_settings(IngestorSettings)
    assert "SYMBOLS" in str(err.value) and "FOO" in str(err.value)


def test_bad_redis_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "localhost:6379")
    with pytest.raises(SettingsError, match="REDIS_URL"):
        load_settings(WorkerSettings)


def test_demo_mode_generates_a_secret_key() -> None:
    settings = load_settings(GatewaySettings)
    assert settings.demo_mode and settings.secret_key_generated
    assert settings.secret_key is not None and len(settings.secret_key.get_secret_value()) >= 32


def test_secret_key_required_with_broker_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANGEL_API_KEY", "broker-key")
    with pytest.raises(SettingsError, match="SECRET_KEY is required"):
        load_settings(GatewaySettings)
    monkeypatch.setenv("SECRET_KEY", STRONG)
    assert not load_settings(GatewaySettings).demo_mode


@pytest.mark.parametrize("service", [GatewaySettings, IngestorSettings])
@pytest.mark.parametrize("weak", ["changethis", "short-but-not-empty", "ChangeMe"])
def test_weak_secret_keys_are_refused_without_echo(
    monkeypatch: pytest.MonkeyPatch, weak: str, service: type
) -> None:
    """Both services that hold SECRET_KEY apply one rule (they must agree on the key)."""
    monkeypatch.setenv("SECRET_KEY", weak)
    with pytest.raises(SettingsError) as err:
        load_settings(service)
    assert "SECRET_KEY" in str(err.value)
    assert weak not in str(err.value)
    monkeypatch.setenv("SECRET_KEY", STRONG)
    assert load_settings(service).secret_key.get_secret_value() == STRONG


def test_wildcard_origin_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_ORIGINS", "*")
    with pytest.raises(SettingsError, match="ALLOWED_ORIGINS"):
        load_settings(GatewaySettings)


def test_iv_model_and_gex_sign_are_selectable_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IV_MODEL", "nse")
    monkeypatch.setenv("GEX_SIGN", "dealer_short_all")
    settings = load_settings(WorkerSettings)
    assert (settings.iv_model, settings.gex_sign) == ("nse", "dealer_short_all")
    monkeypatch.setenv("IV_MODEL", "bs")
    with pytest.raises(SettingsError, match="IV_MODEL"):
        load_settings(WorkerSettings)
